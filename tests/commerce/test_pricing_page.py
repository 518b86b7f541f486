"""The public pricing page: rendered from the catalog (never hard-coded) in CNY and USD, Chinese and
English, in a bounded number of queries; the SaaS calculator; "Contact sales" records an inquiry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Inquiry, InquiryMotive
from editions.models import Edition, Price
from editions.selectors import pricing_catalog, saas_estimate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/pricing/"


def test_anonymous_visitors_see_the_five_editions_with_their_cny_prices(client):
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    for code in ("community", "standard", "enterprise", "source", "saas"):
        assert f'id="edition-{code}"' in html
    # Chinese readers get CNY by default, here asked for explicitly
    html = client.get(URL + "?currency=CNY", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¥30,000.00" in html and "¥150,000.00" in html and "¥500,000.00" in html
    assert "up to 1000" in html and "50 hours a year" in html
    assert "Helm chart" in html and "private Docker image" in html and "email, 5x8" in html


def test_usd_and_chinese(client):
    html = client.get(URL + "?currency=USD", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "$4,200.00" in html and "¥" not in html.split('id="guide"')[1]
    zh = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "版本与价格" in zh and "标准版" in zh and "¥30,000.00" in zh
    assert "中小企业" in zh  # the seed's segment for Standard in the guide


def test_pricing_page_stays_within_ten_queries(client, django_assert_max_num_queries):
    """Correctness, not timing: the page reads the catalog in a constant number of queries."""
    with django_assert_max_num_queries(10):
        assert client.get(URL + "?devices=250&months=6&modules=retail&modules=finance").status_code == 200
    member = UserFactory()
    client.force_login(member)
    client.get(URL)  # the first request of a session records it (allauth user sessions)
    with django_assert_max_num_queries(10):
        assert client.get(URL).status_code == 200


def test_prices_change_when_the_price_list_changes_in_admin(client):
    standard = Edition.objects.get(code="standard")
    line = Price.objects.get(edition=standard, module=None, kind="subscription", currency="CNY")
    staff = UserFactory(username="pricing-boss", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(
        reverse("admin:editions_price_change", args=[line.pk]),
        {
            "edition": standard.pk,
            "module": "",
            "kind": "subscription",
            "term": "year",
            "currency": "CNY",
            "amount": "32800",
            "valid_from": line.valid_from.isoformat(),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    html = client.get(URL + "?currency=CNY").content.decode()
    assert "¥32,800.00" in html and "¥30,000.00" not in html


def test_calculator_computes_devices_times_months_plus_modules(client):
    html = client.get(
        URL + "?currency=CNY&devices=200&months=12&modules=retail", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    # 200 devices × 12 months × ¥50 = ¥120,000; retail ¥2,000 × 12 = ¥24,000
    assert "¥144,000.00" in html and "120,000.00" in html and "24,000.00" in html
    saas = pricing_catalog(currency="USD").offer("saas")
    estimate = saas_estimate(offer=saas, devices=3, months=5, module_codes=["vehicle", "nope", "vehicle"])
    assert estimate.total == Decimal("3") * 5 * 7 + 280 * 5
    assert estimate.modules == ("vehicle",)


@pytest.mark.parametrize("query", ["devices=0&months=12", "devices=abc&months=1", "devices=5&months=999"])
def test_calculator_rejects_bad_input_with_a_form_error(client, query):
    response = client.get(URL + "?" + query)
    assert response.status_code == 400
    assert b"has-error" in response.content


def test_contact_sales_records_an_inquiry_with_the_offer_and_motive(client):
    html = client.get(URL).content.decode()
    assert "/contact/?offer=enterprise" in html and "/contact/?offer=source" in html
    form = client.get("/contact/?offer=source").content.decode()
    assert 'value="source"' in form
    response = client.post(
        "/contact/",
        {
            "company_name": "Huadong Grid",
            "contact_name": "Wang Fang",
            "contact_email": "wang@huadong-grid.example",
            "industry": "energy",
            "interests": ["source_code"],
            "motives": [InquiryMotive.COMPLIANCE],
            "offer": "source",
        },
    )
    assert response.status_code == 302
    inquiry = Inquiry.objects.get(contact_email="wang@huadong-grid.example")
    assert inquiry.recommended_offer == "source" and inquiry.motives == ["compliance"]
