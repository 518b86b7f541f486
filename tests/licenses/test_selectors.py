"""Reads other teams call: usage peaks for SaaS invoicing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from licenses.models import Deployment, UsageReport
from licenses.selectors import contract_peak_device_counts
from tests.licenses.factories import activate, active_contract

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()


def _report(answer, when: dt.datetime, count: int | None) -> None:
    UsageReport.objects.create(
        deployment=answer.deployment,
        contract_id=answer.license.contract_id,
        license=answer.license,
        reported_at=when,
        device_count=count,
        status="valid",
    )


def test_peak_sums_deployments_per_day_then_takes_the_highest_day(db):
    contract = active_contract(edition_code="saas")
    a = activate(contract, machine_id="a")
    b = activate(contract, machine_id="b")
    staging = activate(contract, machine_id="s", environment="staging")
    other = active_contract(edition_code="saas")
    day1 = dt.datetime(2026, 3, 1, 10, tzinfo=TZ)
    day2 = dt.datetime(2026, 3, 2, 10, tzinfo=TZ)
    _report(a, day1, 100)
    _report(a, day1 + dt.timedelta(hours=5), 120)  # a's peak on day 1: 120, not 220
    _report(b, day1, 50)  # day 1: 170
    _report(a, day2, 90)
    _report(b, day2, 95)  # day 2: 185
    _report(b, day2 + dt.timedelta(hours=1), None)  # a check-in without a count
    _report(staging, day2, 1000)  # staging is left out by default
    _report(a, dt.datetime(2026, 4, 1, 0, 30, tzinfo=TZ), 5000)  # outside the period
    start, end = dt.datetime(2026, 3, 1, tzinfo=TZ), dt.datetime(2026, 4, 1, tzinfo=TZ)
    assert contract_peak_device_counts([contract.pk, other.pk], start, end) == {contract.pk: 185, other.pk: 0}
    assert contract_peak_device_counts([contract.pk], start, end, include_staging=True) == {contract.pk: 1185}
    assert contract_peak_device_counts([], start, end) == {}


def test_days_are_shanghai_days(db):
    contract = active_contract(edition_code="saas")
    a = activate(contract, machine_id="a")
    b = activate(contract, machine_id="b")
    # 23:30 and 00:30 Shanghai time fall on different days even though both are 15:30/16:30 UTC.
    _report(a, dt.datetime(2026, 3, 1, 23, 30, tzinfo=TZ), 10)
    _report(b, dt.datetime(2026, 3, 2, 0, 30, tzinfo=TZ), 10)
    start, end = dt.datetime(2026, 3, 1, tzinfo=TZ), dt.datetime(2026, 3, 3, tzinfo=TZ)
    assert contract_peak_device_counts([contract.pk], start, end) == {contract.pk: 10}
    assert Deployment.objects.count() == 2


def test_stale_deployments_are_flagged_for_billing(db):
    from licenses.selectors import contract_stale_deployments

    contract = active_contract(edition_code="saas")
    fresh = activate(contract, machine_id="fresh")
    silent = activate(contract, machine_id="silent")
    activate(contract, machine_id="stage", environment="staging")
    Deployment.objects.update(created_at=dt.datetime(2026, 1, 1, tzinfo=TZ))
    _report(fresh, dt.datetime(2026, 3, 30, tzinfo=TZ), 10)
    _report(silent, dt.datetime(2026, 3, 2, tzinfo=TZ), 10)
    start, end = dt.datetime(2026, 3, 1, tzinfo=TZ), dt.datetime(2026, 4, 1, tzinfo=TZ)
    stale = contract_stale_deployments([contract.pk], start, end, 7)
    assert [d["deployment"] for d in stale[contract.pk]] == [silent.deployment.pk]
    assert contract_stale_deployments([contract.pk], start, end, 40) == {}
