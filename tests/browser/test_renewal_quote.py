"""The renewal loop in a real browser: sales creates the renewal quote over the integration API (its PDF
read back with pdftotext), a billing member accepts it in the portal and lands on the pay page, the
invoice is paid by bank transfer (recorded over the API), and the standard renewal activates itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from billing.models import Quote
from contracts.models import Contract, ContractStatus
from contracts.services import contract_activate, contract_create
from customers.models import Role
from editions.models import Module
from tests.billing.factories import chinese_organization
from tests.billing.pdfutil import needs_pdftotext, pdf_text
from tests.conftest import bearer
from tests.factories import edition
from tests.portal.portal_helpers import fast_keys, member  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, user) -> None:
    """Hand the browser a session of `user` (the login form itself is walked in test_portal_walk)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


@needs_pdftotext
def test_renewal_quote_accepted_in_the_portal_and_paid_activates_the_renewal(
    page, live_server, http, write_token, screenshot, settings
):
    settings.SITE_URL = live_server.url
    organization = chinese_organization(name="Gamma Sensors 有限公司")
    today = timezone.localdate()
    contract = contract_activate(
        actor=None,
        contract=contract_create(
            actor=None,
            organization=organization,
            edition=edition("standard"),
            start_date=today - dt.timedelta(days=305),
            end_date=today + dt.timedelta(days=60),
            modules=[Module.objects.get(code="retail")],
        ),
    )
    billing_user = member(organization, Role.BILLING, email="finance@gamma.example.cn")

    # Sales: the renewal quote over the API, sent to the customer; its PDF reads back.
    response = http.post(
        f"/api/v1/contracts/{contract.number}/renewal-quote",
        json={"uplift_percent": "5", "send": True},
        headers=bearer(write_token),
    )
    assert response.status_code == 201, response.text
    quote = response.json()
    assert quote["status"] == "sent" and Decimal(quote["gross_total"]) == Decimal("35595.00")
    pdf = http.get(f"/api/v1/quotes/{quote['id']}/pdf", headers=bearer(write_token))
    text = pdf_text(pdf.content)
    assert "报价单 / Quote" in text and quote["number"] in text and "35,595.00" in text

    # The billing member sees it on the dashboard and accepts it.
    _login(page, live_server, billing_user)
    page.goto("/")
    assert quote["number"] in page.content()
    screenshot("renewal-01-dashboard")
    page.get_by_role("link", name="View and accept the renewal quote").first.click()
    page.wait_for_url(f"**/quotes/{quote['id']}/**")
    assert page.locator("#quote-total").inner_text().replace("\xa0", " ").endswith("35,595.00")
    screenshot("renewal-02-quote")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Accept the quote").click()
    accepted = Quote.objects.select_related("invoice", "resulting_contract").get(pk=quote["id"])
    page.wait_for_url(f"**/invoices/{accepted.invoice_id}/pay/")
    assert accepted.invoice.number in page.content()
    screenshot("renewal-03-pay")
    renewal = accepted.resulting_contract
    assert renewal.renewal_of_id == contract.pk and renewal.status == ContractStatus.DRAFT

    # Finance records the bank transfer; the standard renewal activates itself.
    paid = http.post(
        "/api/v1/payments",
        json={
            "method": "bank_transfer",
            "amount": str(accepted.invoice.gross_total),
            "currency": "CNY",
            "payer_name": organization.name,
            "allocations": [{"invoice": accepted.invoice_id, "amount": str(accepted.invoice.gross_total)}],
        },
        headers=bearer(write_token),
    )
    assert paid.status_code == 201, paid.text
    assert Contract.objects.get(pk=renewal.pk).status == ContractStatus.ACTIVE
    page.goto("/")
    assert f"Renewed: contract {renewal.number} continues it." in page.content()
    screenshot("renewal-04-renewed")
