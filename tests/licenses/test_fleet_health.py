"""Deployment health and the silent-deployment alert (issue 18, item 1), with a frozen clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from customers.models import Role
from licenses import insights
from licenses.models import SilenceEpisode
from licenses.services import license_checkin
from licenses.services.fleet import fleet_health_scan
from portal.core.mail import SEND_TASK
from portal.core.models import Job
from support.models import Ticket, TicketStatus
from support.services import silence_alerts_process
from tests.licenses.factories import activate, active_contract
from tests.portal.portal_helpers import member

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _alert_mails(email: str, deployment: str) -> list[Job]:
    """Mails to `email` about the silence of `deployment` (its name is in the subject, in any language)."""
    return [
        job
        for job in Job.objects.filter(task=SEND_TASK)
        if job.args[0]["to"] == [email] and deployment in job.args[0]["subject"]
    ]


def _scan_and_alert(at: dt.datetime) -> Any:
    with time_machine.travel(at, tick=False):
        result = fleet_health_scan()
        silence_alerts_process()
    return result


@pytest.fixture
def silent_setup() -> dict[str, Any]:
    with time_machine.travel(T0, tick=False):
        contract = active_contract(edition_code="enterprise")
        owner = member(contract.organization, Role.OWNER, email="owner@fleet.example", totp=False)
        answer = activate(contract, machine_id="m-1", hostname="plant-1", platform_version="3.1.0")
        license_checkin(
            token=answer.license.token, machine_id="m-1", device_count=42, platform_version="3.1.0"
        )
    return {"contract": contract, "owner": owner, "answer": answer}


def test_one_alert_and_one_ticket_per_silence_closed_when_it_returns(silent_setup: dict[str, Any]) -> None:
    answer, deployment = silent_setup["answer"], silent_setup["answer"].deployment
    # Late but not silent after two days: nothing happens.
    assert _scan_and_alert(T0 + dt.timedelta(days=2)).opened == 0
    deployment.refresh_from_db()
    assert insights.health_of(deployment, T0 + dt.timedelta(days=2)) == insights.Health.LATE
    assert insights.health_of(deployment, T0 + dt.timedelta(hours=20)) == insights.Health.HEALTHY

    assert _scan_and_alert(T0 + dt.timedelta(days=3, hours=1)).opened == 1
    assert _scan_and_alert(T0 + dt.timedelta(days=4)).opened == 0  # the same silence: no second alert
    assert _scan_and_alert(T0 + dt.timedelta(days=6)).opened == 0
    episode = SilenceEpisode.objects.get()
    ticket = Ticket.objects.get()
    assert episode.ticket == ticket and ticket.organization == silent_setup["contract"].organization
    body = ticket.messages.get().body
    assert "3.1.0" in body and "42" in body and "plant-1" in body
    assert len(_alert_mails("owner@fleet.example", "plant-1")) == 1

    returned = T0 + dt.timedelta(days=6, hours=2)
    with time_machine.travel(returned, tick=False):
        license_checkin(token=answer.license.token, machine_id="m-1", device_count=40)
    assert _scan_and_alert(returned + dt.timedelta(minutes=10)).ended == 1
    episode.refresh_from_db()
    ticket.refresh_from_db()
    assert episode.ended_at == returned and episode.closed_at is not None
    assert ticket.status == TicketStatus.RESOLVED
    assert len(_alert_mails("owner@fleet.example", "plant-1")) == 2  # the ticket's "resolved" notice

    # A second silence is a second episode: one more alert, one more ticket.
    assert _scan_and_alert(returned + dt.timedelta(days=3, hours=1)).opened == 1
    _scan_and_alert(returned + dt.timedelta(days=4))
    assert SilenceEpisode.objects.count() == 2 and Ticket.objects.count() == 2
    assert len(_alert_mails("owner@fleet.example", "plant-1")) == 3


def test_standard_customers_get_the_mail_without_a_ticket_and_community_nothing() -> None:
    with time_machine.travel(T0, tick=False):
        standard = active_contract(edition_code="standard")
        member(standard.organization, Role.OWNER, email="std@fleet.example", totp=False)
        answer = activate(standard, machine_id="s-1", hostname="store-1")
        license_checkin(token=answer.license.token, machine_id="s-1", device_count=5)
    _scan_and_alert(T0 + dt.timedelta(days=5))
    assert SilenceEpisode.objects.count() == 1 and Ticket.objects.count() == 0
    (mail,) = _alert_mails("std@fleet.example", "store-1")
    # In the owner's language (Simplified Chinese by default), with the evidence.
    assert "已停止签到" in mail.args[0]["subject"] and "最后签到" in mail.args[0]["body"]


def test_the_scan_takes_the_same_number_of_queries_for_a_bigger_fleet(
    silent_setup: dict[str, Any], django_assert_max_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from licenses.services import fleet

    enqueued: list[str] = []
    monkeypatch.setattr(fleet, "enqueue_on_commit", lambda name, *args: enqueued.append(name))
    with time_machine.travel(T0, tick=False):
        for i in range(5):
            answer = activate(silent_setup["contract"], machine_id=f"more-{i}")
            license_checkin(token=answer.license.token, machine_id=f"more-{i}", device_count=1)
    with time_machine.travel(T0 + dt.timedelta(days=5), tick=False), django_assert_max_num_queries(8):
        result = fleet_health_scan()
    assert result.opened == 6
    assert enqueued == ["support.tasks.fleet_alerts_process"]  # the alerts: one task, after commit


def test_availability_strip_marks_the_days_with_a_check_in(silent_setup: dict[str, Any]) -> None:
    deployment = silent_setup["answer"].deployment
    today = timezone.localdate(T0 + dt.timedelta(days=2))
    strip = insights.availability([deployment.pk], days=5, today=today)[deployment.pk]
    assert [seen for _day, seen in strip] == [False, False, True, False, False]
