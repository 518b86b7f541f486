"""Issue 16 "Done when", in a real browser: a partner registers a deal, sales approve it in the admin,
the deal is won, the partner sees the new customer and its contract, the end customer's first paid
invoice shows in the partner's ledger at the agreed share; another partner reaching for those pages
gets 404. Screenshots in English and Chinese go to tests/screenshots/partner-*.png."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from billing import services as billing_services
from customers.models import DealRegistration, DealStatus, PartnerMembership, PartnerRole
from tests.conftest import SCREENSHOTS
from tests.factories import PartnerFactory, UserFactory, edition
from tests.portal.portal_helpers import issued_invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def _partner_user(partner, email):
    user = UserFactory(email=email)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    PartnerMembership.objects.create(partner=partner, user=user, role=PartnerRole.ADMIN)
    return user


def _log_in(page, email):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()


def _staff_page(browser, live_server, client):
    staff = UserFactory(username="sales-lead", email="sales@vendor.example", is_staff=True, is_superuser=True)
    client.force_login(staff)
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context, context.new_page()


def test_partner_walk(page, browser, live_server, client, screenshot, settings):
    settings.SITE_URL = live_server.url
    partner = PartnerFactory(
        name="华南渠道科技", kind="oem", revenue_share_percent=Decimal("28.00"), brand_name="SouthCloud IoT"
    )
    _partner_user(partner, "chen@southcloud.example")
    rival = PartnerFactory(name="Rival Channel", kind="source")
    _partner_user(rival, "zhao@rival.example")

    # 1. The partner logs in and lands in the partner area.
    _log_in(page, "chen@southcloud.example")
    page.wait_for_url(re.compile(r".*/partner/$"))
    screenshot("partner-01-overview")

    # 2. It registers a deal.
    page.goto("/partner/deals/new/")
    page.fill("input[name=company_name]", "广州港智慧物流有限公司")
    page.select_option("select[name=industry]", "logistics")
    page.fill("input[name=contact_name]", "刘工")
    page.fill("input[name=contact_email]", "liu@gzport.example.cn")
    page.select_option("select[name=edition]", str(edition("enterprise").pk))
    page.fill("input[name=expected_devices]", "3000")
    page.fill("input[name=expected_value]", "100000")
    page.fill("input[name=expected_close_date]", (timezone.localdate() + dt.timedelta(days=40)).isoformat())
    screenshot("partner-02-deal-form")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    deal = DealRegistration.objects.get(partner=partner)
    assert page.url.endswith(f"/partner/deals/{deal.pk}/")
    assert "submitted" in page.locator("[data-testid=deal-status]").inner_text()
    screenshot("partner-03-deal-submitted")

    # 3. Sales approve it in the admin, then mark it won.
    context, admin = _staff_page(browser, live_server, client)
    admin.goto(f"/admin/customers/dealregistration/{deal.pk}/change/")
    admin.select_option("select[name=decision]", "approve")
    admin.screenshot(path=str(SCREENSHOTS / "partner-04-admin-approve.png"), full_page=True)
    with admin.expect_navigation():
        admin.locator("input[name=_save]").click()
    deal.refresh_from_db()
    assert deal.status == DealStatus.APPROVED and deal.protected_until is not None
    admin.goto(f"/admin/customers/dealregistration/{deal.pk}/change/")
    admin.select_option("select[name=decision]", "won")
    with admin.expect_navigation():
        admin.locator("input[name=_save]").click()
    context.close()
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON
    organization, contract = deal.organization, deal.contract
    assert organization.partner == partner and contract.partner == partner

    # 4. The partner sees the new customer and its contract.
    page.goto("/partner/customers/")
    assert "广州港智慧物流有限公司" in page.content()
    screenshot("partner-05-customers")
    page.get_by_role("link", name="广州港智慧物流有限公司").click()
    page.wait_for_url(f"**/partner/customers/{organization.pk}/")
    assert contract.number in page.content()
    screenshot("partner-06-customer")

    # 5. The end customer's first invoice is paid: the partner's ledger shows 28 % of the net.
    invoice = issued_invoice(organization, "100000.00", contract=contract)
    billing_services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=invoice.gross_total,
        currency="CNY",
        allocations=[(invoice, invoice.gross_total)],
    )
    page.goto("/partner/commissions/")
    row = page.locator(f"tr[data-invoice='{invoice.number}']")
    assert row.locator("[data-testid=commission-amount]").inner_text() == "CNY 28000.00"
    assert "28.00" in row.inner_text()
    screenshot("partner-07-commissions")

    # 6. The same pages in Chinese.
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot("partner-07-commissions-zh")
    for path, name in (
        ("/partner/", "partner-01-overview-zh"),
        ("/partner/deals/new/", "partner-02-deal-form-zh"),
        (f"/partner/deals/{deal.pk}/", "partner-03-deal-won-zh"),
        ("/partner/customers/", "partner-05-customers-zh"),
        (f"/partner/customers/{organization.pk}/", "partner-06-customer-zh"),
    ):
        page.goto(path)
        screenshot(name)
    page.goto("/partner/customers/")
    assert "客户" in page.content()

    # 7. Another partner reaching for those pages gets 404 and sees nothing of them.
    page.context.clear_cookies()
    _log_in(page, "zhao@rival.example")
    for path in (f"/partner/customers/{organization.pk}/", f"/partner/deals/{deal.pk}/"):
        response = page.goto(path)
        assert response.status == 404, path
        assert "广州港智慧物流有限公司" not in page.content()
    page.goto("/partner/customers/")
    assert "广州港智慧物流有限公司" not in page.content()

    # 8. White label: the OEM partner's customer sees the partner's brand and support contact.
    from customers.models import Membership, Role

    partner.support_email = "support@southcloud.example"
    partner.save()
    customer_user = UserFactory(email="it@gzport.example.cn")
    EmailAddress.objects.create(user=customer_user, email=customer_user.email, verified=True, primary=True)
    Membership.objects.create(organization=organization, user=customer_user, role=Role.OWNER)
    page.context.clear_cookies()
    _log_in(page, "it@gzport.example.cn")
    page.goto("/")
    assert page.locator("header .brand").inner_text().strip() == "SouthCloud IoT"
    assert "support@southcloud.example" in page.locator("footer").inner_text()
    assert "IoT Platform" not in page.locator("header").inner_text()
    assert page.locator("main a[href='mailto:support@southcloud.example']").count() == 1  # contact sales
    screenshot("partner-08-oem-customer-dashboard")
