"""Renewal continuity on the platform (issue 13 item 2), over real HTTP on PostgreSQL with a frozen
clock: a renewal activated 40 days before the end reaches a live deployment's next check-in as
`renewed`, with `entitlement_end` = the end of the chain of active renewals, no `expiring_soon`, exp
within 30 days of iat, and a token the seed's LicenseManager accepts; the fast path never serves the
stale token once the renewal is active; modules change only at the renewal's start."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
import time_machine
from django.utils import timezone

from contracts.services import contract_activate, contract_cancel, contract_renew, contract_update
from tests.licenses.factories import contract_through_services
from tests.licenses.test_e2e import _seed_verify

pytestmark = pytest.mark.django_db(transaction=True)
TZ = timezone.get_default_timezone()


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


def checkin(http, token: str, **extra) -> dict:
    response = http.post("/api/v1/platform/checkin", json={"license": token, "machine_id": "m-1", **extra})
    assert response.status_code == 200, response.text
    return response.json()


def codes(answer: dict) -> set[str]:
    return {m["code"] for m in answer["messages"]}


def test_renewal_activated_40_days_before_the_end_reaches_the_next_checkin(http, staff_user, tmp_path):
    start = dt.date(2026, 1, 1)
    with time_machine.travel(at(start), tick=False):
        contract = contract_through_services(
            actor=staff_user, edition_code="enterprise", start_date=start, end_date=dt.date(2026, 12, 31)
        )
        from tests.licenses.factories import activate

        token = activate(contract, machine_id="m-1").license.token
    end = contract.end_date

    # 45 days out: valid, twice (the second through the fast path), no warning yet.
    with time_machine.travel(at(end - dt.timedelta(days=45)), tick=False):
        first = checkin(http, token)
        token = first["license"]
        assert first["status"] == "valid" and "expiring_soon" not in codes(first)
        assert checkin(http, token)["license"] == token

    # Sales renews and activates the renewal 40 days before the end; it starts the day after.
    renewal_day = end - dt.timedelta(days=40)
    with time_machine.travel(at(renewal_day, 10), tick=False):
        renewal = contract_renew(actor=staff_user, contract=contract)
        renewal = contract_update(actor=staff_user, contract=renewal, device_limit=5000)
        contract_activate(actor=staff_user, contract=renewal)
        answer = checkin(http, token, device_count=10)
    assert answer["status"] == "renewed" and answer["license"] != token
    assert "expiring_soon" not in codes(answer)
    claims = jwt.decode(answer["license"], options={"verify_signature": False})
    assert claims["entitlement_end"] == renewal.end_date.isoformat() == "2027-12-31"
    assert claims["contract"] == contract.number  # the renewal takes effect at its start
    assert claims["device_limit"] is None  # enterprise: unlimited until the renewal's own limit starts
    assert claims["exp"] <= claims["iat"] + 30 * 86400
    assert _seed_verify(tmp_path, answer["license"], "m-1")["entitlement_end"] == "2027-12-31"
    token = answer["license"]

    # Inside the last 30 days of the old term: no expiring_soon, fast path and full path alike.
    with time_machine.travel(at(end - dt.timedelta(days=35)), tick=False):
        for _ in range(2):
            quiet = checkin(http, token)
            assert quiet["status"] == "valid" and quiet["license"] == token
            assert "expiring_soon" not in codes(quiet)
    with time_machine.travel(at(end - dt.timedelta(days=10)), tick=False):
        refreshed = checkin(http, token)  # past renew_after: a fresh token, same entitlement
        assert refreshed["status"] == "valid" and "expiring_soon" not in codes(refreshed)
        token = refreshed["license"]

    # At the renewal's start its modules take effect.
    with time_machine.travel(at(renewal.start_date), tick=False):
        started = checkin(http, token)
    assert started["status"] == "renewed"
    claims = jwt.decode(started["license"], options={"verify_signature": False})
    assert claims["contract"] == renewal.number and claims["device_limit"] == 5000


def test_cancelling_the_renewal_takes_the_extension_back(http, staff_user):
    start = dt.date(2026, 1, 1)
    with time_machine.travel(at(start), tick=False):
        contract = contract_through_services(
            actor=staff_user, edition_code="enterprise", start_date=start, end_date=dt.date(2026, 12, 31)
        )
        from tests.licenses.factories import activate

        token = activate(contract, machine_id="m-1").license.token
    with time_machine.travel(at(dt.date(2026, 12, 5)), tick=False):
        renewal = contract_activate(
            actor=staff_user, contract=contract_renew(actor=staff_user, contract=contract)
        )
        token = checkin(http, token)["license"]
    with time_machine.travel(at(dt.date(2026, 12, 5), 11), tick=False):
        contract_cancel(actor=staff_user, contract=renewal, reason="customer withdrew")
        back = checkin(http, token)
    assert back["status"] == "renewed" and "expiring_soon" in codes(back)
    claims = jwt.decode(back["license"], options={"verify_signature": False})
    assert claims["entitlement_end"] == "2026-12-31"
