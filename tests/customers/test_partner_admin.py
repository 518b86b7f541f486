"""The partner area's back office: sales decide on deal registrations in the admin (a rejection needs a
reason, errors are messages, never a 500), invite a partner's first user, finance records payouts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import PartnerPayout
from customers.models import DealRegistration, DealStatus, PartnerInvitation, PartnerMembership, PartnerRole
from customers.partner_services import deal_approve, deal_register
from tests.factories import PartnerFactory, UserFactory, edition

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _deal(partner, name="Epsilon Labs"):
    return deal_register(
        actor=None,
        partner=partner,
        edition=edition("enterprise"),
        company_name=name,
        industry="software",
        contact_email="cio@epsilon.example",
        expected_value=Decimal("9000"),
        expected_close_date=timezone.localdate() + dt.timedelta(days=10),
    )


def _decide(admin_client, deal, decision, reason=""):
    url = reverse("admin:customers_dealregistration_change", args=[deal.pk])
    data = {"decision": decision, "decision_reason_input": reason, "protected_until": "", "_save": "1"}
    for inline in admin_client.get(url).context["inline_admin_formsets"]:  # the audit timeline's
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
    return admin_client.post(url, data)


def test_the_changelist_shows_conflicts_without_n_plus_one(admin_client, django_assert_max_num_queries):
    first, second = PartnerFactory(), PartnerFactory()
    _deal(first)
    for i in range(5):
        _deal(second, name=f"Other {i}")
    _deal(second)  # conflicts with the first partner's
    url = reverse("admin:customers_dealregistration_changelist")
    admin_client.get(url)
    with django_assert_max_num_queries(30) as few:
        assert admin_client.get(url).status_code == 200
    for i in range(10):
        _deal(second, name=f"More {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):  # the same whatever the number of rows
        assert admin_client.get(url).status_code == 200
    conflicted = DealRegistration.objects.filter(partner=second, company_name="Epsilon Labs").get()
    detail = admin_client.get(reverse("admin:customers_dealregistration_change", args=[conflicted.pk]))
    assert first.name in detail.content.decode()


def test_reject_needs_a_reason_and_approve_then_win(admin_client):
    deal = _deal(PartnerFactory(kind="oem"))
    response = _decide(admin_client, deal, "reject")
    assert response.status_code == 200
    assert "decision_reason_input" in response.context["adminform"].form.errors
    deal.refresh_from_db()
    assert deal.status == DealStatus.SUBMITTED
    assert _decide(admin_client, deal, "approve").status_code == 302
    deal.refresh_from_db()
    assert deal.status == DealStatus.APPROVED
    assert _decide(admin_client, deal, "won").status_code == 302
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON and deal.contract.partner == deal.partner


def test_a_refused_decision_is_a_message_not_a_500(admin_client):
    holder, rival = PartnerFactory(), PartnerFactory()
    deal_approve(actor=None, deal=_deal(holder))
    contested = _deal(rival)
    response = _decide(admin_client, contested, "approve")
    assert response.status_code == 302, response.context["adminform"].form.errors
    messages = [str(m) for m in admin_client.get(response.url).context["messages"]]
    assert any(holder.name in m and contested.company_name in m for m in messages)
    contested.refresh_from_db()
    assert contested.status == DealStatus.SUBMITTED


def test_sales_invite_a_partners_first_user(admin_client, django_capture_on_commit_callbacks, mailoutbox):
    partner = PartnerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:customers_partnerinvitation_add"),
            {"partner": partner.pk, "email": "boss@partner.example", "role": PartnerRole.ADMIN},
        )
    assert response.status_code == 302
    assert PartnerInvitation.objects.get(partner=partner).email == "boss@partner.example"
    assert "/partner/invitations/" in mailoutbox[-1].body
    user = UserFactory(email="boss@partner.example")
    PartnerMembership.objects.create(partner=partner, user=user, role=PartnerRole.ADMIN)
    again = admin_client.post(
        reverse("admin:customers_partnerinvitation_add"),
        {"partner": partner.pk, "email": "boss@partner.example", "role": PartnerRole.ADMIN},
    )
    assert again.status_code == 200 and "email" in again.context["adminform"].form.errors


def test_finance_records_a_payout(admin_client):
    partner = PartnerFactory()
    response = admin_client.post(
        reverse("admin:billing_partnerpayout_add"),
        {
            "partner": partner.pk,
            "month": "2026-11-17",
            "amount": "1234.50",
            "currency": "CNY",
            "paid_on": "2026-12-03",
            "reference": "ICBC-778",
        },
    )
    assert response.status_code == 302
    payout = PartnerPayout.objects.get(partner=partner)
    assert payout.month == dt.date(2026, 11, 1) and payout.amount == Decimal("1234.50")
    bad = admin_client.post(
        reverse("admin:billing_partnerpayout_add"),
        {
            "partner": partner.pk,
            "month": "2026-11-01",
            "amount": "-5",
            "currency": "CNY",
            "paid_on": "2026-12-03",
        },
    )
    assert bad.status_code == 200 and PartnerPayout.objects.count() == 1
    assert admin_client.get(reverse("admin:customers_partner_change", args=[partner.pk])).status_code == 200


def test_sales_extend_the_protection_with_an_audit_row(admin_client):
    from portal.core.models import AuditEvent

    deal = deal_approve(actor=None, deal=_deal(PartnerFactory()))
    later = deal.protected_until + dt.timedelta(days=30)
    url = reverse("admin:customers_dealregistration_change", args=[deal.pk])
    data = {"decision": "", "decision_reason_input": "", "protected_until": later.isoformat(), "_save": "1"}
    for inline in admin_client.get(url).context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
    assert admin_client.post(url, data).status_code == 302
    deal.refresh_from_db()
    assert deal.protected_until == later
    assert AuditEvent.objects.filter(action="deal.protection").count() == 1
