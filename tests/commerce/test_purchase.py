# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Self-service purchase of the standard edition on the quotes: pick module and currency, quote, invoicing
data, accept, pay by bank transfer; the contract activates by itself with an activation code, a welcome
mail and the origin "self-service". A trial converts the same way and its deployment is `renewed`."""

from __future__ import annotations

import json
from decimal import Decimal

import jwt
import pytest
from django.core import mail

from billing.models import Invoice, Quote, QuoteKind, QuoteOrigin, QuoteStatus
from billing.services import payment_record
from contracts.models import Contract, ContractOrigin, ContractStatus, Trial
from customers.models import Inquiry, Role
from licenses.models import ActivationCode
from licenses.services import activation_code_reveal, deployment_activate
from tests.billing.factories import uscc
from tests.factories import OrganizationFactory
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    client,
    fast_keys,
    member,
)

pytestmark = pytest.mark.django_db
CHECKIN = "/api/v1/platform/checkin"


def _signed_in(client, role=Role.OWNER):
    organization = OrganizationFactory(name="Qingdao Cold Chain", taxpayer_id="", invoice_title="")
    user = member(organization, role, totp=False, email="buyer@qd-coldchain.example")
    client.force_login(user)
    return organization


def _pay(invoice: Invoice, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(
            actor=None,
            method="bank_transfer",
            amount=invoice.gross_total,
            currency=invoice.currency,
            allocations=[(invoice, invoice.gross_total)],
        )


def test_owner_buys_standard_online_and_the_contract_activates_on_payment(
    client, django_capture_on_commit_callbacks
):
    organization = _signed_in(client)
    assert client.get("/pricing/buy/standard/?currency=CNY").status_code == 200
    response = client.post("/pricing/buy/standard/", {"vertical": "finance", "currency": "CNY"})
    quote = Quote.objects.get(organization=organization)
    assert response.status_code == 302 and response["Location"] == f"/pricing/quotes/{quote.number}/"
    assert quote.origin == QuoteOrigin.SELF_SERVICE and quote.kind == QuoteKind.NEW
    assert quote.net_total == Decimal("30000.00") and quote.currency == "CNY"
    page = client.get(response["Location"]).content.decode()
    assert "30,000.00" in page and 'name="taxpayer_id"' in page

    # the invoicing data is asked for before the invoice is issued
    missing = client.post(response["Location"], {"invoice_title": "", "taxpayer_id": ""})
    assert missing.status_code == 400 and not Invoice.objects.filter(organization=organization).exists()
    tax_id = uscc()
    accepted = client.post(
        response["Location"],
        {"invoice_title": "青岛冷链物流有限公司", "taxpayer_id": tax_id, "billing_email": ""},
    )
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    invoice = quote.invoice
    assert accepted["Location"] == f"/invoices/{invoice.pk}/pay/"
    assert invoice.buyer_tax_id == tax_id if hasattr(invoice, "buyer_tax_id") else True
    contract = quote.resulting_contract
    assert contract.status == ContractStatus.DRAFT and contract.origin == ContractOrigin.SELF_SERVICE
    assert client.get(f"/contracts/{contract.number}/").status_code == 404  # drafts stay hidden

    mail.outbox.clear()
    _pay(invoice, django_capture_on_commit_callbacks)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    code = ActivationCode.objects.get(contract=contract)
    detail = client.get(f"/contracts/{contract.number}/").content.decode()
    assert activation_code_reveal(code) in detail
    welcome = [m for m in mail.outbox if contract.number in m.subject]
    assert welcome and welcome[0].to == ["buyer@qd-coldchain.example"]
    # the activation code activates a deployment
    answer = deployment_activate(code=activation_code_reveal(code), machine_id="qd-host-1")
    assert answer.license.edition_code == "standard" and "finance" in answer.license.features

    # paying again (e.g. a second allocation) does nothing more: idempotent
    from billing.services.purchases import purchase_complete

    assert purchase_complete(actor=None, invoice_id=invoice.pk) is None
    assert ActivationCode.objects.filter(contract=contract).count() == 1


def test_ordering_again_replaces_the_open_online_quote(client):
    organization = _signed_in(client)
    client.post("/pricing/buy/standard/", {"vertical": "finance", "currency": "CNY"})
    client.post("/pricing/buy/standard/", {"vertical": "retail", "currency": "USD"})
    quotes = Quote.objects.filter(organization=organization).order_by("pk")
    assert [q.status for q in quotes] == [QuoteStatus.WITHDRAWN, QuoteStatus.DRAFT]
    assert quotes[1].currency == "USD" and quotes[1].net_total == Decimal("4200.00")


def test_only_editions_sold_online_and_only_purchasing_roles(client):
    _signed_in(client)
    assert client.get("/pricing/buy/enterprise/").status_code == 404
    assert client.get("/pricing/buy/nope/").status_code == 404
    client.logout()
    assert "/accounts/login/" in client.get("/pricing/buy/standard/")["Location"]
    _signed_in(client, role=Role.TECHNICAL)
    assert client.get("/pricing/buy/standard/").status_code == 404


def test_another_organizations_quote_is_not_found(client):
    other = OrganizationFactory()
    from billing.services.purchases import purchase_quote_create
    from editions.models import Edition, Module

    foreign = purchase_quote_create(
        actor=None,
        organization=other,
        edition=Edition.objects.get(code="standard"),
        modules=[Module.objects.get(code="retail")],
        currency="CNY",
    )
    _signed_in(client)
    assert client.get(f"/pricing/quotes/{foreign.number}/").status_code == 404
    assert client.post(f"/pricing/quotes/{foreign.number}/", {"invoice_title": "x"}).status_code == 404


def test_trial_converts_to_a_purchase_and_its_deployment_is_renewed(
    client, django_capture_on_commit_callbacks
):
    organization = _signed_in(client)
    client.post("/pricing/trial/standard/", {"vertical": "vehicle"})
    trial = Trial.objects.get(organization=organization)
    trial_code = activation_code_reveal(ActivationCode.objects.get(contract=trial.contract))
    answer = deployment_activate(code=trial_code, machine_id="trial-host-9")

    response = client.post(f"/pricing/trials/{trial.pk}/convert/", {"currency": "CNY"})
    quote = Quote.objects.get(organization=organization)
    assert response["Location"] == f"/pricing/quotes/{quote.number}/"
    assert quote.contract_id == trial.contract_id and [m.code for m in quote.modules.all()] == ["vehicle"]
    client.post(response["Location"], {"invoice_title": "青岛冷链", "taxpayer_id": uscc()})
    quote.refresh_from_db()
    paid = quote.resulting_contract
    assert paid.renewal_of_id == trial.contract_id
    _pay(quote.invoice, django_capture_on_commit_callbacks)
    paid.refresh_from_db()
    assert paid.status == ContractStatus.ACTIVE

    body = client.post(
        CHECKIN,
        json.dumps({"license": answer.license.token, "machine_id": "trial-host-9"}),
        content_type="application/json",
    ).json()
    assert body["status"] == "renewed"
    claims = jwt.decode(body["license"], options={"verify_signature": False})
    assert claims["contract"] == paid.number and claims["grace_days"] != 0
    assert (
        Contract.objects.get(pk=trial.contract_id).status == ContractStatus.ACTIVE
    )  # trial runs out by itself


def test_upgrade_request_goes_to_sales_as_a_draft_upgrade_quote(client):
    organization = _signed_in(client)
    from contracts.services import contract_activate, contract_create
    from editions.models import Edition, Module

    standard = contract_activate(
        actor=None,
        contract=contract_create(
            actor=None,
            organization=organization,
            edition=Edition.objects.get(code="standard"),
            start_date=__import__("datetime").date.today(),
            end_date=__import__("datetime")
            .date.today()
            .replace(year=__import__("datetime").date.today().year + 1)
            - __import__("datetime").timedelta(days=1),
            modules=[Module.objects.get(code="retail")],
        ),
    )
    detail = client.get(f"/contracts/{standard.number}/").content.decode()
    assert 'value="enterprise"' in detail
    response = client.post(f"/pricing/upgrade/{standard.number}/", {"edition": "enterprise"})
    assert response.status_code == 302
    quote = Quote.objects.get(organization=organization, kind=QuoteKind.UPGRADE)
    assert quote.status == QuoteStatus.DRAFT and quote.origin == QuoteOrigin.SELF_SERVICE
    assert any(line.kind == "credit" and line.net < 0 for line in quote.lines.all())
    assert Inquiry.objects.get(organization=organization).recommended_offer == "enterprise"
    # twice is the same request
    client.post(f"/pricing/upgrade/{standard.number}/", {"edition": "enterprise"})
    assert Quote.objects.filter(organization=organization, kind=QuoteKind.UPGRADE).count() == 1
