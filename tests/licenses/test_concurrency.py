"""Races on PostgreSQL: the activation code's row lock keeps allowances exact, and concurrent
check-ins that both want a fresh token sign only one."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from licenses.models import Deployment, License, LicenseState, UsageReport
from licenses.services import (
    activation_code_create,
    deployment_activate,
    license_checkin,
    signing_key_for_issuing,
)
from portal.core.errors import ApplicationError
from tests.conftest import race, requires_postgres
from tests.licenses.factories import active_contract

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_two_activations_for_the_last_slot_exactly_one_wins():
    signing_key_for_issuing()  # key generation outside the race
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract, max_deployments=1)
    results = race(
        [
            lambda: deployment_activate(code=plain, machine_id="machine-1"),
            lambda: deployment_activate(code=plain, machine_id="machine-2"),
        ]
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and isinstance(losers[0], ApplicationError)
    assert losers[0].code == "activation_code_exhausted" and losers[0].status == 409
    assert Deployment.objects.count() == 1
    assert License.objects.filter(state=LicenseState.ACTIVE).count() == 1


def test_same_machine_activating_twice_at_once_gets_one_deployment():
    signing_key_for_issuing()
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract, max_deployments=3)
    results = race([lambda: deployment_activate(code=plain, machine_id="machine-1") for _ in range(3)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.deployment.pk for r in results}) == 1
    assert len({r.license.pk for r in results}) == 1
    assert Deployment.objects.count() == 1


def test_concurrent_refreshing_checkins_sign_once():
    signing_key_for_issuing()
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    token = deployment_activate(code=plain, machine_id="machine-1").license.token
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        results = race([lambda: license_checkin(token=token, machine_id="machine-1") for _ in range(3)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.license.pk for r in results}) == 1
    assert License.objects.filter(state=LicenseState.ACTIVE).count() == 1
    assert License.objects.count() == 2


def test_a_check_in_does_not_wait_for_a_transaction_that_holds_its_license_row():
    """A usage report references its license and deployment without a database constraint, so
    recording a check-in locks neither row: a revocation or a re-issue in progress (which holds the
    license FOR UPDATE) does not hold up that deployment's check-ins. With the foreign-key checks,
    the commit waited for FOR KEY SHARE on the license row."""
    signing_key_for_issuing()
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    issued = deployment_activate(code=plain, machine_id="machine-1").license
    license_checkin(
        token=issued.token, machine_id="machine-1"
    )  # fills the memo: the next takes the fast path
    holder = connection.get_new_connection(connection.get_connection_params())
    holder.execute("SELECT 1 FROM licenses_license WHERE id = %s FOR UPDATE", [issued.pk])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # a wait fails the check-in instead of hanging
        answer = license_checkin(token=issued.token, machine_id="machine-1", device_count=7)
    finally:
        holder.rollback()
        holder.close()
    assert answer.status == "valid" and answer.license.pk == issued.pk
    assert UsageReport.objects.filter(license_id=issued.pk).count() == 2
    assert UsageReport.objects.filter(license_id=issued.pk, device_count=7).count() == 1


def _terminate_this_connection() -> None:
    from django.db import connection

    killer = connection.get_new_connection(connection.get_connection_params())
    killer.autocommit = True
    killer.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    killer.close()


def test_a_dropped_database_connection_fails_the_check_in_once_and_never_runs_it_twice():
    """The single statement is never re-run on the full path after a connection error (it may have
    committed before the connection broke): the check-in fails with the database error (503 over
    HTTP, the platform retries), the broken connection is dropped, and the next one reconnects."""
    from django.db import OperationalError

    from licenses.models import UsageReport
    from portal.core.outage import database_unavailable

    signing_key_for_issuing()
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    token = deployment_activate(code=plain, machine_id="machine-1").license.token
    assert license_checkin(token=token, machine_id="machine-1").status == "valid"  # warm the fast path
    _terminate_this_connection()
    with pytest.raises(OperationalError) as failure:
        license_checkin(token=token, machine_id="machine-1", device_count=2)
    assert database_unavailable(failure.value)
    assert connection.connection is None  # dropped, not reused
    assert license_checkin(token=token, machine_id="machine-1", device_count=3).status == "valid"
    assert Deployment.objects.get().last_device_count == 3
    assert sorted(UsageReport.objects.values_list("device_count", flat=True), key=str) == [3, None]


def test_a_connection_idle_through_a_database_restart_is_checked_before_the_check_in(monkeypatch):
    """A worker that sat idle (here: 3 s by its clock) checks its connection as Django would
    before the statement, so its first check-in after the database came back succeeds."""
    import time

    from licenses.services import platform

    signing_key_for_issuing()
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    token = deployment_activate(code=plain, machine_id="machine-1").license.token
    assert license_checkin(token=token, machine_id="machine-1").status == "valid"
    assert license_checkin(token=token, machine_id="machine-1").status == "valid"  # the fast path ran
    _terminate_this_connection()
    connection.health_check_done = False  # a new request (Django resets it when one starts)
    later = time.monotonic() + 3
    monkeypatch.setattr(platform.time, "monotonic", lambda: later)
    assert license_checkin(token=token, machine_id="machine-1", device_count=4).status == "valid"
    assert Deployment.objects.get().last_device_count == 4
