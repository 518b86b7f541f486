"""Two reminder runs at the same moment on PostgreSQL (real threads, real row locks): every reminder
mail goes out once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test import override_settings

from contracts import lifecycle, reminders
from contracts.models import ContractReminder, ReminderState
from tests.conftest import requires_postgres
from tests.contracts.factories import at, customer, signed_contract

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

START = dt.date(2027, 3, 1)


class SlowBackend(EmailBackend):
    """Sending takes a moment, so the two runs overlap on the same reminders."""

    def send_messages(self, messages: Any) -> int:
        time.sleep(0.02)
        return super().send_messages(messages)


@override_settings(EMAIL_BACKEND="tests.contracts.test_reminders_concurrency.SlowBackend")
def test_two_concurrent_runs_send_each_reminder_once(monkeypatch):
    outcomes: list[str] = []
    real_send_one = reminders._send_one

    def recording_send_one(*args: Any, **kwargs: Any) -> str:
        outcome = real_send_one(*args, **kwargs)
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(reminders, "_send_one", recording_send_one)
    with time_machine.travel(at(START, 10), tick=False):
        contracts = []
        for index in range(12):
            people = customer(prefix=f"c{index}")
            contracts.append(signed_contract(organization=people.organization, start=START))
    when = at(contracts[0].end_date - dt.timedelta(days=30))
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with time_machine.travel(when, tick=True):
                barrier.wait(timeout=10)
                reports.append(lifecycle.lifecycle_run())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(reports) == 2 and all(r.failures == 0 for r in reports)

    sent = ContractReminder.objects.filter(state=ReminderState.SENT, milestone="30d")
    assert sent.count() == len(contracts)
    assert ContractReminder.objects.count() == len(contracts)
    assert len(mail.outbox) == len(contracts)
    recipients = sorted(tuple(sorted(m.to)) for m in mail.outbox)
    assert len(set(recipients)) == len(contracts)  # one mail per customer, none twice
    # Both runs went for the same reminders; the row lock turned the second attempt away.
    assert outcomes.count("sent") == len(contracts)
    assert set(outcomes) <= {"sent", "busy"}
    print("send attempts:", len(outcomes), "sent:", outcomes.count("sent"), "busy:", outcomes.count("busy"))
