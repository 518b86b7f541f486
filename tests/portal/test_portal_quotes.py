# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Renewal in the portal: from 90 days before the end the dashboard and the contract page show the
renewal quote; an owner or billing member accepts it (other roles and other organizations get 404),
which issues the invoice and leads to the pay page; a draft quote is never shown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import QuoteStatus
from billing.services import quotes as q
from contracts.models import ContractStatus
from contracts.services import contract_activate, contract_create
from customers.models import Role
from editions.models import Module
from tests.billing.factories import chinese_organization
from tests.factories import edition
from tests.portal.portal_helpers import client, fast_keys, member  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def standard_contract(org, days_left: int):
    today = timezone.localdate()
    contract = contract_create(
        actor=None,
        organization=org,
        edition=edition("standard"),
        start_date=today - dt.timedelta(days=365 - days_left),
        end_date=today + dt.timedelta(days=days_left),
        modules=[Module.objects.get(code="retail")],
    )
    return contract_activate(actor=None, contract=contract)


@pytest.fixture
def renewal():
    org = chinese_organization(name="Gamma Sensors 有限公司")
    contract = standard_contract(org, days_left=60)
    quote = q.quote_renewal_for_contract(actor=None, contract=contract, send=True)
    return org, contract, quote


def test_dashboard_and_contract_page_show_the_renewal_quote_to_billing(client, renewal):
    org, contract, quote = renewal
    client.force_login(member(org, Role.BILLING))
    dashboard = client.get(reverse("home")).content.decode()
    assert quote.number in dashboard and reverse("portal:quote_detail", args=[quote.pk]) in dashboard
    page = client.get(reverse("portal:contract_detail", args=[contract.number])).content.decode()
    assert quote.number in page


def test_technical_members_do_not_see_or_accept_quotes(client, renewal):
    org, _contract, quote = renewal
    client.force_login(member(org, Role.TECHNICAL))
    assert quote.number not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("portal:quote_detail", args=[quote.pk])).status_code == 404
    response = client.post(reverse("portal:quote_accept", args=[quote.pk]), {"confirm": "1"})
    assert response.status_code == 404
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_another_organization_gets_404(client, renewal):
    _org, _contract, quote = renewal
    other = chinese_organization(name="Delta 有限公司")
    client.force_login(member(other, Role.OWNER, totp=False))
    assert client.get(reverse("portal:quote_detail", args=[quote.pk])).status_code == 404
    assert client.get(reverse("portal:quote_pdf", args=[quote.pk])).status_code == 404
    assert client.post(reverse("portal:quote_accept", args=[quote.pk]), {"confirm": "1"}).status_code == 404


def test_a_draft_quote_is_not_shown(client):
    org = chinese_organization()
    contract = standard_contract(org, days_left=60)
    draft = q.quote_renewal_for_contract(actor=None, contract=contract)
    client.force_login(member(org, Role.OWNER, totp=False))
    assert client.get(reverse("portal:quote_detail", args=[draft.pk])).status_code == 404
    assert draft.number not in client.get(reverse("home")).content.decode()


def test_billing_member_accepts_and_is_sent_to_the_pay_page(client, renewal):
    org, contract, quote = renewal
    user = member(org, Role.BILLING)
    client.force_login(user)
    unconfirmed = client.post(reverse("portal:quote_accept", args=[quote.pk]), {})
    assert unconfirmed.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    response = client.post(reverse("portal:quote_accept", args=[quote.pk]), {"confirm": "1"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.accepted_by == user and not quote.accepted_on_behalf
    assert response.status_code == 302
    assert response.url == reverse("portal:invoice_pay", args=[quote.invoice_id])
    assert quote.resulting_contract.renewal_of == contract
    assert quote.resulting_contract.status == ContractStatus.DRAFT
    again = client.post(reverse("portal:quote_accept", args=[quote.pk]), {"confirm": "1"}, follow=True)
    assert "cannot become" in again.content.decode()  # a form error, not a 500
