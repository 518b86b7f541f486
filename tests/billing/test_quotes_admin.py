"""Sales' quote admin: create from the price list (refusals shown on the form), the list with filters
and true-up evidence, and the actions (approve discount, send, accept on behalf, withdraw)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Quote, QuoteStatus
from contracts.services import contract_activate, contract_create
from editions.models import Module
from tests.billing.factories import chinese_organization
from tests.factories import edition

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/billing/quote/"


def standard_contract(org):
    today = dt.date.today()
    return contract_activate(
        actor=None,
        contract=contract_create(
            actor=None,
            organization=org,
            edition=edition("standard"),
            start_date=today - dt.timedelta(days=300),
            end_date=today + dt.timedelta(days=64),
            modules=[Module.objects.get(code="retail")],
        ),
    )


def test_create_in_admin_and_refusals_on_the_form(admin_client):
    org = chinese_organization()
    contract = standard_contract(org)
    refused = admin_client.post(
        f"{CHANGELIST}add/", {"organization": org.pk, "kind": "renewal", "discount_percent": "0"}
    )
    assert refused.status_code == 200 and "errornote" in refused.content.decode()
    assert not Quote.objects.exists()
    empty = admin_client.post(
        f"{CHANGELIST}add/",
        {"organization": org.pk, "kind": "new", "edition": edition("community").pk, "discount_percent": "0"},
    )
    assert empty.status_code == 200 and "价目表中没有" in empty.content.decode()  # the service's refusal
    assert not Quote.objects.exists()
    created = admin_client.post(
        f"{CHANGELIST}add/",
        {"organization": org.pk, "kind": "renewal", "contract": contract.pk, "discount_percent": "20"},
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    quote = Quote.objects.get()
    assert quote.kind == "renewal" and quote.lines.count() == 1


def test_list_and_actions(admin_client, admin_user):
    org = chinese_organization()
    contract = standard_contract(org)
    from billing.services.quotes import quote_renewal_for_contract

    quote = quote_renewal_for_contract(actor=None, contract=contract, discount_percent=20)
    for params in ({}, {"status__exact": "draft"}, {"q": org.name}, {"kind__exact": "renewal"}):
        assert admin_client.get(CHANGELIST, params).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(CHANGELIST)
    assert len(queries) < 20
    assert admin_client.get(f"{CHANGELIST}{quote.pk}/change/").status_code == 200

    admin_client.post(CHANGELIST, {"action": "send_quotes", ACTION_CHECKBOX_NAME: [quote.pk]})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT  # the 20 % discount awaits approval
    admin_client.post(CHANGELIST, {"action": "approve_discounts", ACTION_CHECKBOX_NAME: [quote.pk]})
    admin_client.post(CHANGELIST, {"action": "send_quotes", ACTION_CHECKBOX_NAME: [quote.pk]})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and quote.discount_approved_by == admin_user
    admin_client.post(CHANGELIST, {"action": "accept_on_behalf", ACTION_CHECKBOX_NAME: [quote.pk]})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.accepted_on_behalf and quote.invoice.number
    admin_client.post(CHANGELIST, {"action": "withdraw_quotes", ACTION_CHECKBOX_NAME: [quote.pk]})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
