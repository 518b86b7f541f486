# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Invoices in the portal: list, PDF, online payment through billing's Stripe Checkout service; only
owners and billing members see them (everyone else gets 404)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import stripe_gateway
from billing.services.invoices import LineSpec, invoice_create
from customers.models import Role
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    client,
    enterprise_org,
    fast_keys,
    issued_invoice,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def billed():
    organization, contract = enterprise_org(name="Acme")
    invoice = issued_invoice(organization, "10000.00", contract=contract)
    usd = issued_invoice(organization, "200.00", currency="USD")
    return organization, invoice, usd


def test_billing_member_sees_issued_invoices_with_currency(client, billed):
    organization, invoice, usd = billed
    from decimal import Decimal

    draft = invoice_create(
        actor=None,
        organization=organization,
        currency="CNY",
        lines=[
            LineSpec(description="draft", quantity=Decimal(1), unit_price=Decimal(1), tax_rate=Decimal(0))
        ],
    )
    client.force_login(member(organization, Role.BILLING))
    page = client.get(reverse("portal:invoices")).content.decode()
    assert invoice.number in page and usd.number in page
    assert "¥10,600.00" in page and "US$212.00" in page
    assert reverse("portal:invoice_pdf", kwargs={"invoice_id": draft.pk}) not in page  # drafts stay internal


def test_open_filter(client, billed):
    organization, invoice, _usd = billed
    client.force_login(member(organization, Role.OWNER))
    page = client.get(reverse("portal:invoices") + "?status=open").content.decode()
    assert invoice.number in page


def test_pdf_download(client, billed):
    organization, invoice, _usd = billed
    client.force_login(member(organization, Role.BILLING))
    response = client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]


def test_pay_online_redirects_to_stripe_checkout(client, billed, settings, monkeypatch):
    organization, invoice, _usd = billed
    settings.STRIPE_SECRET_KEY = "sk_test_portal"
    calls = []

    def fake_session(**kwargs):
        calls.append(kwargs)
        return stripe_gateway.CheckoutSessionData(
            id="cs_test_1",
            url="https://checkout.stripe.com/c/pay/cs_test_1",
            status="open",
            payment_status="unpaid",
            amount_total=kwargs["amount_minor"],
            currency=kwargs["currency"],
            expires_at=timezone.now() + dt.timedelta(hours=24),
        )

    monkeypatch.setattr(stripe_gateway, "create_checkout_session", fake_session)
    client.force_login(member(organization, Role.BILLING))
    assert "Pay online" in client.get(reverse("portal:invoices")).content.decode()

    response = client.post(reverse("portal:invoice_pay", kwargs={"invoice_id": invoice.pk}))

    assert response.status_code == 302
    assert response.url == "https://checkout.stripe.com/c/pay/cs_test_1"
    assert calls[0]["amount_minor"] == 1060000 and calls[0]["currency"] == "CNY"
    assert calls[0]["success_url"].startswith(settings.BILLING_PAYMENT_RETURN_URL)


def test_pay_is_post_only_and_without_stripe_explains(client, billed, settings):
    organization, invoice, _usd = billed
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(member(organization, Role.OWNER))
    url = reverse("portal:invoice_pay", kwargs={"invoice_id": invoice.pk})
    page = client.get(url).content.decode()  # the pay page: without online rails, bank transfer only
    assert settings.SELLER_ACCOUNT in page and invoice.number in page
    response = client.post(url, follow=True)
    assert "Online payment is not available." in response.content.decode()
    assert "Pay online" not in client.get(reverse("portal:invoices")).content.decode()


def test_payment_return_message(client, billed):
    organization, invoice, _usd = billed
    client.force_login(member(organization, Role.BILLING))
    page = client.get(
        reverse("portal:invoices") + f"?invoice={invoice.number}&payment=success"
    ).content.decode()
    assert "The payment is being confirmed" in page


@pytest.mark.parametrize("role", [Role.TECHNICAL, Role.ADMIN])
def test_technical_and_admin_members_cannot_see_invoices(client, billed, role):
    organization, invoice, _usd = billed
    client.force_login(member(organization, role))
    assert client.get(reverse("portal:invoices")).status_code == 404
    assert client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk})).status_code == 404
    assert client.post(reverse("portal:invoice_pay", kwargs={"invoice_id": invoice.pk})).status_code == 404
    page = client.get("/").content.decode()
    assert reverse("portal:invoices") not in page  # not even in the navigation
    assert invoice.number not in page
