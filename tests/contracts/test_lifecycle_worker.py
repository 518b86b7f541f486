"""The daily job end to end on a real Celery worker with Redis as the broker (not eager): the beat task
runs on the worker, which queues the reminder batches to itself and sends them."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail

from contracts import tasks
from contracts.models import Contract, ContractReminder, ContractStatus, ReminderState
from portal.celery import app
from tests.conftest import requires_postgres, requires_redis
from tests.contracts.factories import at, customer, signed_contract

pytestmark = [
    requires_redis,
    requires_postgres,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

START = dt.date(2027, 3, 1)


@pytest.fixture
def celery_worker():
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.REDIS_URL
    app.control.purge()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        app.conf.update(saved)


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_daily_job_on_a_real_worker(celery_worker):
    with time_machine.travel(at(START, 10), tick=False):
        people = customer()
        due = signed_contract(organization=people.organization, start=START)
        ending = signed_contract(organization=people.organization, start=START, days=60)
    # The worker thread shares the clock: the morning 30 days before `due` ends, after `ending` ended.
    with time_machine.travel(at(due.end_date - dt.timedelta(days=30)), tick=True):
        tasks.daily_lifecycle.delay()
        assert wait_for(
            lambda: ContractReminder.objects.filter(contract=due, state=ReminderState.SENT).exists()
        )
    assert Contract.objects.get(pk=ending.pk).status == ContractStatus.EXPIRED
    (message,) = [m for m in mail.outbox if due.number in m.subject]
    assert sorted(message.to) == ["billing@acme.example", "owner@acme.example"]
    assert message.cc == ["acme-sales@vendor.example"]
