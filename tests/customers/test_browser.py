"""Browser tests of the report pages and the public inquiry form: headless chromium (Playwright) against
the live test server, with screenshots in tests/screenshots/ (gitignored)."""

from __future__ import annotations

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (CI always runs these)", allow_module_level=True)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def staff_page(browser, live_server, client):
    """A page logged in as a superuser: the session cookie from force_login, injected into the browser."""
    from tests.factories import UserFactory

    user = UserFactory(username="cfo", is_staff=True, is_superuser=True)
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    yield page
    context.close()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def book(db):
    from billing.models import ExchangeRate
    from contracts.models import ContractStatus
    from tests.customers.factories import SHANGHAI, InquiryFactory, credit, issued_invoice, pay
    from tests.factories import ContractFactory, OrganizationFactory, PartnerFactory, edition

    today = datetime.date.today()
    ExchangeRate.objects.create(
        currency="USD", rate_to_cny=Decimal("7.15"), valid_from=today - datetime.timedelta(days=800)
    )
    alpha = PartnerFactory(name="阿尔法系统集成 Alpha SI", kind="oem")
    retail = OrganizationFactory(name="华东零售集团", industry="retail", partner=alpha)
    bank = OrganizationFactory(name="Pacific Bank", industry="finance", country="SG")
    plant = OrganizationFactory(name="深圳智能制造", industry="manufacturing")
    year_ago = today - datetime.timedelta(days=300)
    ContractFactory(
        organization=retail,
        partner=alpha,
        edition=edition("enterprise"),
        price=Decimal("180000"),
        start_date=year_ago,
        end_date=year_ago + datetime.timedelta(days=364),
        activated_at=datetime.datetime.combine(year_ago, datetime.time(10), SHANGHAI),
    )
    usd = ContractFactory(
        organization=bank,
        edition=edition("source"),
        price=Decimal("90000"),
        currency="USD",
        start_date=today - datetime.timedelta(days=40),
        end_date=today + datetime.timedelta(days=324),
    )
    ContractFactory(
        organization=plant,
        edition=edition("standard"),
        price=Decimal("30000"),
        start_date=today - datetime.timedelta(days=200),
        end_date=today + datetime.timedelta(days=165),
    )
    ContractFactory(
        organization=plant,
        edition=edition("standard"),
        price=Decimal("30000"),
        status=ContractStatus.EXPIRED,
        start_date=today - datetime.timedelta(days=565),
        end_date=today - datetime.timedelta(days=201),
    )
    invoice = issued_invoice(
        organization=retail,
        contract=retail.contracts.get(),
        net="180000",
        tax_rate="0.13",
        issue_date=today - datetime.timedelta(days=40),
    )
    pay(invoice, "203400", today - datetime.timedelta(days=30))
    credit(invoice, "0.05", today - datetime.timedelta(days=20))
    issued_invoice(
        organization=bank,
        contract=usd,
        currency="USD",
        net="90000",
        issue_date=today - datetime.timedelta(days=35),
    )
    for industry, interests, stage in [
        ("retail", ["source_code", "price"], "won"),
        ("retail", ["saas"], "lost"),
        ("retail", ["source_code"], "new"),
        ("finance", ["source_code", "private_deployment"], "won"),
        ("finance", ["private_deployment", "customization"], "proposal"),
        ("manufacturing", ["customization"], "qualified"),
        ("government", ["source_code", "private_deployment"], "lost"),
    ]:
        InquiryFactory(
            industry=industry,
            interests=interests,
            stage=stage,
            lost_reason="price" if stage == "lost" else "",
            motives=["data_security", "compliance"] if "source_code" in interests else ["cost"],
        )
    return alpha


def test_revenue_dashboard(staff_page, live_server, book):
    page = staff_page
    page.goto(live_server.url + "/admin/")
    assert page.locator("#reports-module").is_visible()
    page.click("#reports-module >> text=Revenue dashboard")
    page.wait_for_selector("#card-arr")
    assert "Revenue dashboard" in page.title()
    # ARR, MRR, bookings (all, self-service, sales-led), trial conversion, renewals due, rate, revenue, receivables
    assert page.locator(".report-card").count() == 10
    assert page.locator("svg.chart").count() >= 5
    # The definition is the card's hover text.
    assert "Annual recurring revenue" in page.locator("#card-arr").get_attribute("title")
    assert page.locator("#card-arr .value").inner_text().startswith("¥")
    _shot(page, "revenue_dashboard")
    with page.expect_download() as download:
        page.click("#card-arr >> text=CSV")
    assert download.value.suggested_filename.startswith("arr-")


def test_revenue_dashboard_in_chinese(browser, live_server, client, book):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="ceo", is_staff=True, is_superuser=True))
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(live_server.url + "/admin/customers/revenuedashboard/")
    page.wait_for_selector("#card-arr")
    assert "年度经常性收入" in page.locator("#card-arr").inner_text()
    _shot(page, "revenue_dashboard_zh")
    context.close()


def test_inquiry_analysis(staff_page, live_server, book):
    page = staff_page
    page.goto(live_server.url + "/admin/customers/inquiry/")
    page.click("text=Inquiry analysis")
    page.wait_for_selector("#by-industry")
    rows = page.locator("#by-industry tbody tr")
    assert rows.count() == 5  # retail, finance, manufacturing, government + total
    assert page.locator("svg.chart.stacked").is_visible()
    _shot(page, "inquiry_analysis")


def test_partner_statement(staff_page, live_server, book):
    page = staff_page
    today = datetime.date.today()
    start = (today - datetime.timedelta(days=60)).isoformat()
    page.goto(
        f"{live_server.url}/admin/customers/partner/{book.pk}/statement/?date_from={start}&date_to={today.isoformat()}"
    )
    page.wait_for_selector("#statement-lines")
    # 180,000 × 30 % paid, less 5 % credited: 54,000 − 2,700.
    assert page.locator("#statement-total").inner_text() == "51,300.00"
    _shot(page, "partner_statement")
    with page.expect_download() as download:
        page.click("a.button >> text=PDF")
    assert download.value.suggested_filename.endswith(".pdf")


def test_public_inquiry_form(browser, live_server, settings):
    from django.core.cache import cache

    from customers.models import Inquiry

    cache.clear()
    page = browser.new_page(viewport={"width": 1100, "height": 1200}, locale="zh-CN")
    page.goto(live_server.url + "/contact/")
    # The honeypot is in the form for bots but off-screen and out of the tab order for people.
    box = page.locator("input[name=website]").bounding_box()
    assert box is not None and box["x"] + box["width"] < 0
    assert page.locator("input[name=website]").get_attribute("tabindex") == "-1"
    page.fill("input[name=company_name]", "杭州物联科技有限公司")
    page.fill("input[name=contact_name]", "陈静")
    page.fill("input[name=contact_email]", "chen@hz-iot.example")
    page.select_option("select[name=industry]", "logistics")
    page.check("input[name=interests][value=source_code]")
    page.check("input[name=motives][value=compliance]")
    page.fill("textarea[name=message]", "需要私有化部署和源码审计。")
    _shot(page, "inquiry_form")
    page.click("button[type=submit]")
    page.wait_for_url("**/contact/thanks/")
    _shot(page, "inquiry_thanks")
    inquiry = Inquiry.objects.get()
    assert inquiry.company_name == "杭州物联科技有限公司" and inquiry.interests == ["source_code"]
    page.close()
