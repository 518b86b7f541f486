"""The revenue dashboard separates self-service from sales-led bookings and shows trial-to-paid
conversion per edition and channel; admin lists online orders with their origin."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.reports.dashboard import revenue_dashboard
from contracts.models import ContractOrigin, TrialKind
from contracts.services import contract_activate, contract_create, trial_start
from editions.models import Edition, Module
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _paid(organization, edition_code, *, origin, renewal_of=None, price="30000"):
    today = timezone.localdate()
    contract = contract_create(
        actor=None,
        organization=organization,
        edition=Edition.objects.get(code=edition_code),
        start_date=today,
        end_date=today + dt.timedelta(days=364),
        modules=[Module.objects.get(code="retail")] if edition_code == "standard" else [],
        price=Decimal(price),
        origin=origin,
        renewal_of=renewal_of,
    )
    return contract_activate(actor=None, contract=contract)


def test_bookings_by_origin_and_trial_conversion():
    today = timezone.localdate()
    standard, enterprise = Edition.objects.get(code="standard"), Edition.objects.get(code="enterprise")
    converted_org, lost_org, poc_org = OrganizationFactory(), OrganizationFactory(), OrganizationFactory()
    converted = trial_start(actor=None, organization=converted_org, edition=standard)
    trial_start(actor=None, organization=lost_org, edition=standard)
    trial_start(actor=None, organization=poc_org, edition=enterprise, kind=TrialKind.POC, days=45)
    _paid(converted_org, "standard", origin=ContractOrigin.SELF_SERVICE, renewal_of=converted.contract)
    _paid(poc_org, "enterprise", origin=ContractOrigin.SALES, price="150000")

    board = revenue_dashboard(
        as_of=today,
        date_from=today - dt.timedelta(days=30),
        date_to=today,
        renewals_from=today - dt.timedelta(days=90),
        renewals_to=today,
    )
    assert board.figures["bookings_self_service"].value == Decimal("30000.00")
    assert board.figures["bookings_sales_led"].value == Decimal("150000.00")
    conversion = board.figures["trial_conversion"]
    # 1 of 2 self-service standard trials converted; the enterprise POC's org bought a new contract that
    # does not continue the trial, so it does not count
    assert conversion.value == Decimal("0.3333") and conversion.count == 3
    rows = {(row[0], row[2], row[3]) for row in conversion.rows}
    assert rows == {("standard", 2, 1), ("enterprise", 1, 0)}


def test_dashboard_page_and_contract_admin_show_origin(client):
    staff = UserFactory(username="cfo", is_staff=True, is_superuser=True)
    client.force_login(staff)
    organization = OrganizationFactory()
    online = _paid(organization, "standard", origin=ContractOrigin.SELF_SERVICE)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(reverse("admin:contracts_contract_changelist") + "?origin__exact=self_service")
    html = response.content.decode()
    assert response.status_code == 200 and online.number in html and "self-service" in html, html[-4000:]
    dashboard = client.get(reverse("admin:customers_revenuedashboard_changelist"))
    assert dashboard.status_code == 200
    page = dashboard.content.decode()
    assert "card-bookings_self_service" in page and "card-trial_conversion" in page


def test_sales_grant_a_poc_and_extend_trials_in_admin(client):
    from contracts.models import Trial

    staff = UserFactory(username="sales-lead", is_staff=True, is_superuser=True)
    client.force_login(staff)
    organization = OrganizationFactory(name="Wuxi Grid")
    enterprise = Edition.objects.get(code="enterprise")
    response = client.post(
        reverse("admin:contracts_trial_add"),
        {"organization": organization.pk, "edition": enterprise.pk, "days": 90},
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    trial = Trial.objects.get(organization=organization)
    assert trial.kind == TrialKind.POC and (trial.contract.end_date - trial.contract.start_date).days == 89
    end = trial.contract.end_date
    changelist = reverse("admin:contracts_trial_changelist")
    assert client.get(changelist).status_code == 200
    response = client.post(
        changelist, {"action": "extend", "_selected_action": [trial.pk], "apply": "1", "days": 10}
    )
    assert response.status_code == 302
    trial.refresh_from_db()
    assert trial.contract.end_date == end + dt.timedelta(days=10) and trial.extended_days == 10
