# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""SaaS sign-up from /pricing/: an active metered contract with the chosen modules, one per organization;
the contract page shows the month-to-date peak of devices and the estimated bill."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from billing.services.contract_billing import usage_month_to_date
from contracts.models import Contract, ContractOrigin, ContractStatus
from customers.models import Role
from licenses.models import UsageReport
from licenses.services import activation_code_create, deployment_activate
from tests.factories import OrganizationFactory
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    client,
    fast_keys,
    member,
)

pytestmark = pytest.mark.django_db
TZ = timezone.get_default_timezone()
NOW = dt.datetime(2026, 12, 20, 15, 0, tzinfo=TZ)


@time_machine.travel(NOW, tick=False)
def test_start_saas_and_see_the_month_to_date_peak_and_estimate(client):
    organization = OrganizationFactory(name="Shenzhen Fleet")
    client.force_login(member(organization, Role.OWNER, totp=False))
    assert 'data-action="saas"' in client.get("/pricing/").content.decode()
    assert client.get("/pricing/saas/?currency=CNY").status_code == 200
    response = client.post("/pricing/saas/", {"currency": "CNY", "modules": ["retail"]})
    contract = Contract.objects.get(organization=organization)
    assert response.status_code == 302 and response["Location"] == f"/contracts/{contract.number}/"
    assert contract.status == ContractStatus.ACTIVE and contract.origin == ContractOrigin.SELF_SERVICE
    assert contract.edition.is_metered and contract.auto_renew and contract.price == 0

    # as if it had started at the beginning of the month
    Contract.objects.filter(pk=contract.pk).update(start_date=dt.date(2026, 12, 1))
    contract.refresh_from_db()
    _code, plain = activation_code_create(actor=None, contract=contract)
    answer = deployment_activate(code=plain, machine_id="sz-fleet-1")
    for day, devices in ((2, 80), (10, 120), (19, 95)):
        UsageReport.objects.create(
            deployment=answer.deployment,
            contract=contract,
            license=answer.license,
            reported_at=dt.datetime(2026, 12, day, 9, 0, tzinfo=TZ),
            device_count=devices,
            platform_version="3.2.0",
            status="valid",
        )
    usage = usage_month_to_date(contract)
    # peak 120 devices × ¥50 + the retail module ¥2,000 a month
    assert usage.peak == 120 and usage.net == Decimal("8000.00")
    page = client.get(response["Location"]).content.decode()
    assert "data-saas-peak>120<" in page and "8,000.00" in page

    again = client.post("/pricing/saas/", {"currency": "CNY"})
    assert again.status_code == 400 and b"already has SaaS" in again.content


def test_saas_start_needs_the_purchase_permission(client):
    organization = OrganizationFactory()
    client.force_login(member(organization, Role.BILLING, totp=False))
    assert client.get("/pricing/saas/").status_code == 404
