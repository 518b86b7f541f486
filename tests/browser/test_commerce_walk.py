"""The done-when walk of issue 17 in a real browser, in English and in Chinese: /pricing/ (screenshot) →
a 30-day trial of the standard edition → its activation code activates a deployment over the platform
API → one click converts the trial into a purchase (quote, invoicing data, invoice) → the bank transfer
arrives → the trial's deployment checks in and is `renewed` (no new activation). Separately, buying a
standard contract from /pricing/ gives an activation code that activates a deployment over the API."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from billing.models import Quote
from billing.services import payment_record
from contracts.models import ContractStatus, Trial
from customers.models import Role
from tests.billing.factories import uscc
from tests.factories import OrganizationFactory
from tests.portal.portal_helpers import fast_keys, member  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"heading": "Editions and pricing", "buy": "Buy it now"},
    "zh-hans": {"heading": "版本与价格", "buy": "立即购买"},
}


def _sign_in(page, live_server, language: str):
    organization = OrganizationFactory(
        name=f"Hangzhou Smart Retail {language}", taxpayer_id="", invoice_title=""
    )
    user = member(organization, Role.OWNER, totp=False, email=f"owner-{language}@hz-retail.example")
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        ]
    )
    return organization


def _pay_by_bank_transfer(quote: Quote) -> None:
    """What the bank statement import records when the customer's transfer arrives."""
    invoice = quote.invoice
    payment_record(
        actor=None,
        method="bank_transfer",
        amount=invoice.gross_total,
        currency=invoice.currency,
        reference=invoice.number,
        allocations=[(invoice, invoice.gross_total)],
    )


def _accept_quote(page) -> None:
    page.fill("input[name=invoice_title]", "杭州智慧零售有限公司")
    page.fill("input[name=taxpayer_id]", uscc())
    page.click("button[data-action=accept]")
    page.wait_for_url("**/invoices/*/pay/")


def _activate(http, code: str, machine_id: str) -> dict:
    response = http.post(
        "/api/v1/platform/activate",
        json={
            "activation_code": code,
            "machine_id": machine_id,
            "hostname": machine_id,
            "platform_version": "3.2.0",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_pricing_trial_conversion_and_purchase(page, live_server, http, screenshot, language):
    settings.SITE_URL = live_server.url
    organization = _sign_in(page, live_server, language)
    text = TEXT[language]

    # /pricing/ from the catalog
    page.goto("/pricing/")
    assert page.locator("h1").first.inner_text() == text["heading"]
    standard = page.locator("[data-edition=standard]")
    assert (
        "30,000.00" in standard.inner_text() if language == "zh-hans" else "4,200.00" in standard.inner_text()
    )
    screenshot(f"pricing_{language}")

    # a trial of the standard edition
    standard.locator("[data-action=trial]").click()
    page.wait_for_url("**/pricing/trial/standard/")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/contracts/*/")
    trial = Trial.objects.get(organization=organization)
    code = page.locator("code.activation-code").first.inner_text().strip()
    activated = _activate(http, code, f"trial-{language}")
    assert activated["edition"] == "standard"

    # one click converts it into a purchase: quote → invoicing data → invoice → bank transfer
    page.click("button[data-action=convert]")
    page.wait_for_url("**/pricing/quotes/*/")
    _accept_quote(page)
    conversion = Quote.objects.get(organization=organization, contract=trial.contract)
    _pay_by_bank_transfer(conversion)
    conversion.refresh_from_db()
    assert conversion.resulting_contract.status == ContractStatus.ACTIVE
    checkin = http.post(
        "/api/v1/platform/checkin", json={"license": activated["license"], "machine_id": f"trial-{language}"}
    )
    assert checkin.status_code == 200 and checkin.json()["status"] == "renewed"

    # separately: buy a standard contract from /pricing/
    page.goto("/pricing/")
    page.locator("[data-edition=standard] [data-action=buy]").click()
    page.wait_for_url("**/pricing/buy/standard/**")
    page.select_option("select[name=vertical]", "finance")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/pricing/quotes/*/")
    _accept_quote(page)
    purchase = Quote.objects.filter(organization=organization, contract__isnull=True).get()
    _pay_by_bank_transfer(purchase)
    purchase.refresh_from_db()
    contract = purchase.resulting_contract
    assert contract.status == ContractStatus.ACTIVE
    page.goto(f"/contracts/{contract.number}/")
    code = page.locator("code.activation-code").first.inner_text().strip()
    bought = _activate(http, code, f"bought-{language}")
    assert bought["edition"] == "standard" and "finance" in bought["features"]
