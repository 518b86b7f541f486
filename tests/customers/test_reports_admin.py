"""The admin report pages and the inquiry admin: staff only, permissions, CSV downloads, stage changes
and conversion through the services."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import ContractRevenueShare, Inquiry, InquiryNote, InquiryStage
from portal.core.models import AuditEvent
from tests.customers.factories import InquiryFactory, issued_invoice, pay
from tests.factories import ContractFactory, OrganizationFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

REPORTS = [
    ("admin:customers_revenuedashboard_changelist", ()),
    ("admin:customers_inquiry_analysis", ()),
]


@pytest.fixture
def boss(client):
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("name", ["dashboard", "analysis", "statement"])
def test_reports_are_staff_only(client, name):
    partner = PartnerFactory()
    url = {
        "dashboard": reverse("admin:customers_revenuedashboard_changelist"),
        "analysis": reverse("admin:customers_inquiry_analysis"),
        "statement": reverse("admin:customers_partner_statement", args=[partner.pk]),
    }[name]
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("admin:login"))
    client.force_login(UserFactory(username="customer", is_staff=False))
    customer = client.get(url + "?format=csv")
    assert customer.status_code == 302 and customer["Location"].startswith(reverse("admin:login"))
    # Staff without the report's view permission: 403.
    client.force_login(UserFactory(username="support", is_staff=True))
    assert client.get(url).status_code == 403


def test_staff_with_the_view_permission_sees_the_dashboard(client):
    user = UserFactory(username="cfo", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_revenuedashboard"))
    client.force_login(user)
    assert client.get(reverse("admin:customers_revenuedashboard_changelist")).status_code == 200
    index = client.get(reverse("admin:index")).content.decode()
    assert 'id="reports-module"' in index and reverse("admin:customers_revenuedashboard_changelist") in index


def test_dashboard_page_and_figure_csvs(client, boss):
    organization = OrganizationFactory(industry="finance")
    ContractFactory(
        number="CT-DASH-1",
        organization=organization,
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        price=Decimal("120000"),
    )
    invoice = issued_invoice(organization=organization, net="50000", issue_date=datetime.date(2026, 2, 1))
    pay(invoice, "20000", datetime.date(2026, 2, 10))
    url = reverse("admin:customers_revenuedashboard_changelist")
    query = "?as_of=2026-03-31&date_from=2026-01-01&date_to=2026-03-31"
    response = client.get(url + query)
    assert response.status_code == 200
    body = response.content.decode()
    for key in ("arr", "mrr", "bookings", "renewals_due", "renewal_rate", "revenue", "receivables"):
        assert f'id="card-{key}"' in body
    assert "<svg" in body and "120,000.00" in body
    assert "Annual recurring revenue on the as-of date" in body  # definitions on the page

    arr = _csv(client.get(url + query + "&figure=arr"))
    assert arr[0][0] == "ARR" and arr[4][:2] == ["value", "120000.00"]
    assert arr[6][0] == "contract" and arr[7][0] == "CT-DASH-1"
    receivables = _csv(client.get(url + query + "&figure=receivables"))
    assert receivables[4][1] == "33000.00"  # 53,000 gross − 20,000 paid
    response = client.get(url + query + "&figure=revenue_by_industry")
    assert response["Content-Disposition"].startswith(
        'attachment; filename="revenue_by_industry-20260331.csv"'
    )
    assert _csv(response)[7] == ["finance", "50000.00", "0", "50000.00"]
    assert client.get(url + "?figure=nonsense").status_code == 404


def test_dashboard_in_chinese(client, boss):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    body = client.get(reverse("admin:customers_revenuedashboard_changelist")).content.decode()
    assert "收入看板" in body and "年度经常性收入" in body


def test_inquiry_analysis_page_and_csv(client, boss):
    InquiryFactory(industry="retail", interests=["source_code", "price"], stage="won")
    InquiryFactory(industry="retail", interests=["saas"], stage="lost", lost_reason="price")
    url = reverse("admin:customers_inquiry_analysis")
    body = client.get(url).content.decode()
    assert 'id="by-industry"' in body and "<svg" in body and "50.0 %" in body
    rows = _csv(client.get(url + "?format=csv"))
    header = rows[1]
    retail = rows[2]
    assert header[:3] == ["dimension", "segment", "inquiries"]
    assert retail[1] == "retail" and retail[2] == "2"
    assert retail[header.index("source code share")] == "0.5000"
    assert retail[header.index("won ÷ (won + lost)")] == "0.5000"
    assert retail[header.index("won ÷ all")] == "0.5000"


def test_partner_statement_page_and_downloads(client, boss):
    partner = PartnerFactory(name="OEM Alpha", kind="oem")
    organization = OrganizationFactory(partner=partner)
    contract = ContractFactory(organization=organization, partner=partner)
    invoice = issued_invoice(
        organization=organization, contract=contract, net="10000", issue_date=datetime.date(2026, 4, 2)
    )
    pay(invoice, "10600", datetime.date(2026, 4, 3))
    url = reverse("admin:customers_partner_statement", args=[partner.pk])
    query = "?date_from=2026-04-01&date_to=2026-04-30"
    body = client.get(url + query).content.decode()
    assert "3,000.00" in body and contract.number in body
    assert client.get(url + query + "&format=csv")["Content-Type"].startswith("text/csv")
    assert client.get(url + query + "&format=xlsx")["Content-Type"].startswith("application/vnd.openxml")
    pdf = client.get(url + query + "&format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    # The default period is the previous calendar month; the partner list links the statement.
    assert client.get(url).status_code == 200
    assert url in client.get(reverse("admin:customers_partner_changelist")).content.decode()
    change = client.get(reverse("admin:customers_partner_change", args=[partner.pk])).content.decode()
    assert url in change and contract.number in change


def _inquiry_form_data(inquiry: Inquiry, **changes) -> dict:
    data = {
        "organization": "",
        "company_name": inquiry.company_name,
        "contact_name": inquiry.contact_name,
        "contact_email": inquiry.contact_email,
        "contact_phone": inquiry.contact_phone,
        "partner": "",
        "industry": inquiry.industry,
        "company_size": "",
        "country": "CN",
        "interests": inquiry.interests,
        "motives": inquiry.motives,
        "message": "",
        "recommended_offer": inquiry.recommended_offer,
        "owner": "",
        "stage": inquiry.stage,
        "lost_reason": inquiry.lost_reason,
        "notes-TOTAL_FORMS": "1",
        "notes-INITIAL_FORMS": "0",
        "notes-MIN_NUM_FORMS": "0",
        "notes-MAX_NUM_FORMS": "1000",
        "notes-0-body": "",
        "portal-auditevent-target_type-target_id-TOTAL_FORMS": "0",
        "portal-auditevent-target_type-target_id-INITIAL_FORMS": "0",
        "portal-auditevent-target_type-target_id-MIN_NUM_FORMS": "0",
        "portal-auditevent-target_type-target_id-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_admin_stage_change_goes_through_the_pipeline(client, boss):
    inquiry = InquiryFactory(recommended_offer="standard")
    url = reverse("admin:customers_inquiry_change", args=[inquiry.pk])
    form = client.get(url).context["adminform"].form
    assert {code for code, _label in form.fields["stage"].choices} == {"new", "qualified", "lost"}

    response = client.post(url, _inquiry_form_data(inquiry, stage="lost"))
    assert response.status_code == 200  # lost without a reason: the form says so
    assert "lost_reason" in response.context["adminform"].form.errors
    inquiry.refresh_from_db()
    assert inquiry.stage == "new"

    response = client.post(
        url, _inquiry_form_data(inquiry, stage="qualified", **{"notes-0-body": "Met at the expo"})
    )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.stage == InquiryStage.QUALIFIED
    assert AuditEvent.objects.filter(action="inquiry.stage", target_id=str(inquiry.pk)).exists()
    assert list(InquiryNote.objects.filter(inquiry=inquiry).values_list("kind", "author")) == [
        ("stage", boss.pk),
        ("note", boss.pk),
    ]


def test_admin_converts_a_won_inquiry(client, boss):
    inquiry = InquiryFactory(company_name="Won Co.", recommended_offer="standard", stage="won")
    change = reverse("admin:customers_inquiry_change", args=[inquiry.pk])
    assert 'id="convert-inquiry"' in client.get(change).content.decode()
    assert client.get(reverse("admin:customers_inquiry_convert", args=[inquiry.pk])).status_code == 403
    response = client.post(reverse("admin:customers_inquiry_convert", args=[inquiry.pk]), follow=True)
    assert response.status_code == 200
    inquiry.refresh_from_db()
    assert inquiry.contract is not None and inquiry.contract.status == "draft"
    assert inquiry.organization.name == "Won Co."
    assert 'id="convert-inquiry"' not in response.content.decode()


def test_admin_action_reports_what_could_not_be_converted(client, boss):
    open_one = InquiryFactory(recommended_offer="standard")
    won = InquiryFactory(recommended_offer="enterprise", stage="won")
    response = client.post(
        reverse("admin:customers_inquiry_changelist"),
        {"action": "convert_selected", "_selected_action": [open_one.pk, won.pk]},
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Only won inquiries" in text and "draft contract" in text
    won.refresh_from_db()
    open_one.refresh_from_db()
    assert won.contract is not None and open_one.contract is None


def test_admin_changelist_filters(client, boss):
    InquiryFactory(interests=["source_code"], motives=["cost"])
    InquiryFactory(interests=["saas"])
    url = reverse("admin:customers_inquiry_changelist")
    assert client.get(url + "?asked=source_code").context["cl"].result_count == 1
    assert client.get(url + "?motive=cost").context["cl"].result_count == 1
    assert client.get(url).status_code == 200


def test_contract_revenue_share_admin_uses_the_service(client, boss):
    partner = PartnerFactory(kind="oem")
    contract = ContractFactory(partner=partner)
    response = client.post(
        reverse("admin:customers_contractrevenueshare_add"),
        {"contract": contract.pk, "percent": "22.5", "reason": "strategic account"},
    )
    assert response.status_code == 302
    share = ContractRevenueShare.objects.get()
    assert (share.percent, share.set_by) == (Decimal("22.50"), boss)
    assert AuditEvent.objects.filter(action="contract.revenue_share").exists()
    assert client.get(reverse("admin:customers_contractrevenueshare_changelist")).status_code == 200


def test_report_filters_show_the_dates_used(client, boss):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    body = client.get(reverse("admin:customers_revenuedashboard_changelist")).content.decode()
    today = timezone.localdate()
    assert f'name="as_of" value="{today.isoformat()}"' in body  # ISO even in Chinese: <input type="date">
    body = client.get(reverse("admin:customers_inquiry_analysis")).content.decode()
    assert f'name="date_to" value="{today.isoformat()}"' in body


def test_the_dashboard_reads_in_a_fixed_number_of_queries(client, boss):
    url = reverse("admin:customers_revenuedashboard_changelist") + "?as_of=2026-06-30"

    def book(n: int) -> None:
        for _ in range(n):
            organization = OrganizationFactory()
            contract = ContractFactory(
                organization=organization,
                start_date=datetime.date(2026, 1, 1),
                end_date=datetime.date(2026, 12, 31),
            )
            issued_invoice(
                organization=organization, contract=contract, net="1000", issue_date=datetime.date(2026, 2, 1)
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    book(2)
    client.get(url)
    few = queries()
    book(12)
    assert queries() == few
