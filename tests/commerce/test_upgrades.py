# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Upgrades with proration computed by one function (billing.proration.prorate), checked to the cent
against hand computations; licenses follow at the next check-in (`renewed`)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import jwt
import pytest
import time_machine
from django.utils import timezone

from billing.models import ModuleOrder, ModuleOrderState, QuoteKind, QuoteLineKind
from billing.proration import days_inclusive, prorate
from billing.services import payment_record
from billing.services.purchases import module_order_create, upgrade_quote_request
from billing.services.quotes import quote_accept
from contracts.models import ContractStatus
from contracts.services import contract_activate, contract_create
from customers.models import Role
from editions.models import Edition, Module
from licenses.services import activation_code_create, deployment_activate
from portal.core.errors import ApplicationError
from tests.factories import OrganizationFactory
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    client,
    fast_keys,
    member,
)

pytestmark = pytest.mark.django_db
TZ = timezone.get_default_timezone()
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=TZ)  # 60 days (Nov 2 – Dec 31, both included) left
CHECKIN = "/api/v1/platform/checkin"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _standard(organization=None):
    contract = contract_create(
        actor=None,
        organization=organization or OrganizationFactory(),
        edition=Edition.objects.get(code="standard"),
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
        modules=[Module.objects.get(code="retail")],
        price=Decimal("30000.00"),
    )
    return contract_activate(actor=None, contract=contract)


def _checkin(client, token, machine_id):
    return client.post(
        CHECKIN, json.dumps({"license": token, "machine_id": machine_id}), content_type="application/json"
    ).json()


def _pay(invoice, capture):
    with capture(execute=True):
        payment_record(
            actor=None,
            method="bank_transfer",
            amount=invoice.gross_total,
            currency=invoice.currency,
            allocations=[(invoice, invoice.gross_total)],
        )


def test_prorate_is_the_one_rule():
    assert days_inclusive(dt.date(2026, 11, 2), dt.date(2026, 12, 31)) == 60
    # 30,000 × 60 / 365 = 4,931.5068… → 4,931.51
    assert prorate(Decimal("30000"), days=60, of_days=365) == Decimal("4931.51")
    # half-up at the cent: 1 × 1 / 8 = 0.125 → 0.13
    assert prorate(Decimal("1"), days=1, of_days=8) == Decimal("0.13")
    assert prorate(Decimal("100"), days=400, of_days=365) == Decimal("100.00")  # clamped
    with pytest.raises(ValueError):
        prorate(Decimal("1"), days=1, of_days=0)


def test_standard_to_enterprise_upgrade_quote_to_the_cent_and_licenses_follow(
    client, django_capture_on_commit_callbacks
):
    standard = _standard()
    _code, plain = activation_code_create(actor=None, contract=standard)
    answer = deployment_activate(code=plain, machine_id="plant-1")
    quote = upgrade_quote_request(
        actor=None, contract=standard, edition=Edition.objects.get(code="enterprise")
    )
    assert quote.kind == QuoteKind.UPGRADE and quote.term_start == dt.date(2026, 11, 2)
    lines = {line.kind: line for line in quote.lines.all()}
    # by hand: enterprise 150,000 × 60/365 = 24,657.534246… → 24,657.53;
    # credit for the unused standard term: 30,000 × 60/365 (term of 365 days) = 4,931.51
    assert lines[QuoteLineKind.EDITION].net == Decimal("24657.53")
    assert lines[QuoteLineKind.CREDIT].net == Decimal("-4931.51")
    assert quote.net_total == Decimal("19726.02")

    # sales send and the customer accepts; paid; sales activate (enterprise is sold with negotiation)
    accepted = quote_accept(actor=None, quote=quote, on_behalf=True)
    enterprise = accepted.resulting_contract
    assert enterprise.renewal_of_id == standard.pk
    _pay(accepted.invoice, django_capture_on_commit_callbacks)
    enterprise.refresh_from_db()
    assert enterprise.status == ContractStatus.DRAFT
    contract_activate(actor=None, contract=enterprise)
    body = _checkin(client, answer.license.token, "plant-1")
    assert body["status"] == "renewed"
    claims = jwt.decode(body["license"], options={"verify_signature": False})
    assert claims["edition"] == "enterprise" and "sso" in claims["features"]


def test_a_module_added_mid_term_is_prorated_to_the_term_end_and_licenses_follow(
    client, django_capture_on_commit_callbacks
):
    organization = OrganizationFactory()
    standard = _standard(organization)
    _code, plain = activation_code_create(actor=None, contract=standard)
    answer = deployment_activate(code=plain, machine_id="store-1")
    owner = member(organization, Role.OWNER, totp=False)
    client.force_login(owner)
    page = client.get(f"/contracts/{standard.number}/").content.decode()
    assert 'value="vehicle"' in page and 'value="retail"' not in page.split('id="add-module"')[1]
    response = client.post(f"/pricing/modules/{standard.number}/", {"module": "vehicle"})
    order = ModuleOrder.objects.get(contract=standard)
    assert response["Location"] == f"/invoices/{order.invoice_id}/pay/"
    # by hand: the vehicle module's ¥10,000 a year × 60/365 = 1,643.8356… → 1,643.84
    assert order.amount == Decimal("1643.84") and order.invoice.net_total == Decimal("1643.84")
    assert _checkin(client, answer.license.token, "store-1")["status"] == "valid"  # not before payment

    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):  # the transfer arrives later
        _pay(order.invoice, django_capture_on_commit_callbacks)
        order.refresh_from_db()
        assert order.state == ModuleOrderState.APPLIED
        body = _checkin(client, answer.license.token, "store-1")
    assert body["status"] == "renewed"
    assert jwt.decode(body["license"], options={"verify_signature": False})["features"] == [
        "core",
        "retail",
        "vehicle",
    ]
    with pytest.raises(ApplicationError):
        module_order_create(actor=None, contract=standard, module=Module.objects.get(code="vehicle"))


def test_module_orders_of_another_organization_are_not_found(client):
    standard = _standard()
    client.force_login(member(OrganizationFactory(), Role.OWNER, totp=False))
    assert client.post(f"/pricing/modules/{standard.number}/", {"module": "vehicle"}).status_code == 404
    assert client.post(f"/pricing/upgrade/{standard.number}/", {"edition": "enterprise"}).status_code == 404
