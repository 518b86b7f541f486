"""Spec §5 #19–#22 against the database: derived columns, the every-minute job, notifications once."""

from __future__ import annotations

from datetime import time

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail

from support import services, tasks
from support.models import (
    Calendar,
    CalendarDay,
    CalendarDayKind,
    SlaNotification,
    SlaState,
    Ticket,
    TicketStatus,
)
from tests.support.conftest import sh
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


def run_job(capture) -> dict:
    with capture(execute=True):
        return tasks.sla_check()


def test_ticket_gets_derived_sla_columns(member, enterprise_contract):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        ticket = open_ticket(member, enterprise_contract, priority="P1")
    ticket.refresh_from_db()
    assert ticket.sla_policy.edition.code == "enterprise"
    assert ticket.first_response_state == SlaState.RUNNING
    assert ticket.first_response_due_at == sh(2026, 3, 4, 10, 30)
    assert ticket.resolution_due_at == sh(2026, 3, 4, 14)
    assert ticket.sla_due_at == ticket.first_response_due_at
    assert ticket.sla_check_at == sh(2026, 3, 4, 10, 24)  # the 80 % warning comes first


def test_case_18_ticket_due_at_is_the_first_response_deadline(member, standard_contract, agent):
    """A customer's follow-up before the first reply does not arm next response (Zammad #5177)."""
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        ticket = open_ticket(member, standard_contract, priority="P2")  # FR 4 h, NR 8 h (5x8)
    with time_machine.travel(sh(2026, 3, 4, 10, 10), tick=False):
        services.ticket_customer_reply(actor=member, ticket=ticket, body="Any news?")
    ticket.refresh_from_db()
    assert ticket.next_response_state == SlaState.NA
    assert ticket.sla_due_at == ticket.first_response_due_at == sh(2026, 3, 4, 14)


def test_case_19_priority_change_breaches_once(
    member, enterprise_contract, agent, django_capture_on_commit_callbacks
):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        ticket = open_ticket(member, enterprise_contract, priority="P3", assignee=agent)  # FR 4 h
    with time_machine.travel(sh(2026, 3, 4, 13), tick=False):
        services.ticket_change_priority(actor=agent, ticket=ticket, priority="P1")  # FR 30 min
        ticket.refresh_from_db()
        assert ticket.first_response_breached_at == sh(2026, 3, 4, 10, 30)
        assert ticket.first_response_state == SlaState.BREACHED
        mail.outbox.clear()
        run_job(django_capture_on_commit_callbacks)
        run_job(django_capture_on_commit_callbacks)
    notes = list(SlaNotification.objects.filter(ticket=ticket).values_list("metric", "kind"))
    assert notes == [("first_response", "breach")]
    assert len(mail.outbox) == 1
    assert "SLA 已超时" in mail.outbox[0].subject  # staff without a stored language get zh-hans


def test_case_21_scheduler_twice_past_the_breach_sends_one_mail(
    member, enterprise_contract, agent, django_capture_on_commit_callbacks
):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        ticket = open_ticket(member, enterprise_contract, priority="P1", assignee=agent)
    mail.outbox.clear()
    with time_machine.travel(sh(2026, 3, 4, 10, 25), tick=False):  # past the 80 % warning
        assert run_job(django_capture_on_commit_callbacks)["warnings"] == 1
        assert run_job(django_capture_on_commit_callbacks)["warnings"] == 0
    assert [m.subject for m in mail.outbox] == [
        f"[IoT Platform] SLA 预警（首次响应）：[{ticket.number}] {ticket.subject}"
    ]
    assert mail.outbox[0].to == ["agent@vendor.example"]
    mail.outbox.clear()
    with time_machine.travel(sh(2026, 3, 4, 10, 31), tick=False):
        first = run_job(django_capture_on_commit_callbacks)
        second = run_job(django_capture_on_commit_callbacks)
    assert (first["breaches"], second["breaches"]) == (1, 0)
    assert len(mail.outbox) == 1
    assert "SLA 已超时" in mail.outbox[0].subject
    ticket.refresh_from_db()
    assert ticket.first_response_state == SlaState.BREACHED
    assert ticket.first_response_breached_at == sh(2026, 3, 4, 10, 30)
    assert SlaNotification.objects.filter(ticket=ticket).count() == 2
    assert SlaNotification.objects.filter(ticket=ticket, sent_at__isnull=True).count() == 0


def test_breach_escalates_to_the_support_leads(
    member, enterprise_contract, agent, django_capture_on_commit_callbacks, settings
):
    from tests.factories import UserFactory

    lead = UserFactory(username="lead", email="lead@vendor.example", is_staff=True)
    lead.groups.add(Group.objects.create(name="Support leads"))
    settings.SUPPORT_ESCALATION_EMAILS = ["queue@vendor.example"]
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        open_ticket(member, enterprise_contract, priority="P1", assignee=agent)
    mail.outbox.clear()
    with time_machine.travel(sh(2026, 3, 4, 11), tick=False):
        run_job(django_capture_on_commit_callbacks)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["agent@vendor.example", "lead@vendor.example", "queue@vendor.example"]
    assert all("SLA 已超时" in m.subject for m in mail.outbox)


def test_warning_goes_to_the_leads_when_nobody_is_assigned(
    member, enterprise_contract, django_capture_on_commit_callbacks, settings
):
    settings.SUPPORT_ESCALATION_EMAILS = ["queue@vendor.example"]
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        open_ticket(member, enterprise_contract, priority="P1")
    mail.outbox.clear()
    with time_machine.travel(sh(2026, 3, 4, 10, 25), tick=False):
        run_job(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["queue@vendor.example"]]


def test_case_22_community_ticket_has_no_sla(member, community_contract, django_capture_on_commit_callbacks):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        ticket = open_ticket(member, community_contract, priority="P1")
    ticket.refresh_from_db()
    assert ticket.sla_policy is None
    assert {m["state"] for m in ticket.metrics()} == {SlaState.NA}
    assert ticket.sla_due_at is None and ticket.sla_check_at is None
    mail.outbox.clear()
    with time_machine.travel(sh(2026, 4, 4, 10), tick=False):
        run_job(django_capture_on_commit_callbacks)
    assert not SlaNotification.objects.exists()
    assert mail.outbox == []


def test_case_20_calendar_edit_recomputes_open_tickets_only(
    member, standard_contract, agent, django_capture_on_commit_callbacks
):
    with time_machine.travel(sh(2026, 3, 2, 10), tick=False):  # Monday
        open_one = open_ticket(member, standard_contract, priority="P2")  # FR 4 h → 14:00
        done = open_ticket(member, standard_contract, priority="P2")
    with time_machine.travel(sh(2026, 3, 2, 10, 30), tick=False):
        services.ticket_reply(actor=agent, ticket=done, body="Fixed.", status=TicketStatus.RESOLVED)
    done.refresh_from_db()
    closed_stats = {
        f: getattr(done, f) for f in ("first_response_met_at", "resolution_met_at", "resolution_due_at")
    }
    open_one.refresh_from_db()
    assert open_one.first_response_due_at == sh(2026, 3, 2, 14)
    calendar = Calendar.objects.get(name__startswith="5x8")
    with (
        time_machine.travel(sh(2026, 3, 2, 10, 45), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        CalendarDay.objects.create(
            calendar=calendar,
            date=sh(2026, 3, 2, 0).date(),
            kind=CalendarDayKind.CLOSED,
            start_time=time(11),
            end_time=time(18),
            name="Office move",
        )
        assert services.calendar_changed(actor=agent, calendar=calendar) == 1
    open_one.refresh_from_db()
    done.refresh_from_db()
    assert open_one.first_response_due_at == sh(2026, 3, 3, 12)  # 1 h on Monday, 3 h on Tuesday
    assert {f: getattr(done, f) for f in closed_stats} == closed_stats
    assert not Ticket.objects.filter(sla_dirty=True).exists()


def test_policy_edit_recomputes_and_the_minute_job_catches_up(member, standard_contract, agent):
    with time_machine.travel(sh(2026, 3, 2, 10), tick=False):
        ticket = open_ticket(member, standard_contract, priority="P2")
    policy = ticket.sla_policy
    policy.targets.filter(priority="P2").update(first_response_minutes=60)
    with time_machine.travel(sh(2026, 3, 2, 10, 5), tick=False):
        services.sla_policy_changed(actor=agent, policy=policy)  # the on-commit task is "lost" here
        ticket.refresh_from_db()
        assert ticket.sla_dirty
        tasks.sla_check()
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == sh(2026, 3, 2, 11)
    assert not ticket.sla_dirty


def test_contract_override_policy_wins(member, standard_contract, agent):
    from support.models import SlaPolicy, SlaTarget

    calendar = Calendar.objects.get(name="7x24")
    override = SlaPolicy.objects.create(
        name="VIP", contract=standard_contract, calendar=calendar, default_assignee=agent
    )
    SlaTarget.objects.create(policy=override, priority="P2", first_response_minutes=15)
    with time_machine.travel(sh(2026, 3, 7, 10), tick=False):  # a Saturday: 7x24 counts it
        ticket = open_ticket(member, standard_contract, priority="P2")
    ticket.refresh_from_db()
    assert ticket.sla_policy == override
    assert ticket.assignee == agent  # e.g. the named advisor of a source-license contract
    assert ticket.first_response_due_at == sh(2026, 3, 7, 10, 15)


def test_china_p2_ticket_before_national_day(member, standard_contract):
    """The seeded 5x8 calendar carries the official 2026 list."""
    with time_machine.travel(sh(2026, 9, 30, 16), tick=False):
        ticket = open_ticket(member, standard_contract, priority="P2")
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == sh(2026, 10, 8, 11)
    assert ticket.resolution_due_at == sh(2026, 10, 13, 16)  # counts make-up Saturday 10 October


def test_china_ticket_on_make_up_sunday(member, standard_contract):
    with time_machine.travel(sh(2026, 9, 20, 10), tick=False):
        ticket = open_ticket(member, standard_contract, priority="P2")
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == sh(2026, 9, 20, 14)


def test_job_batches_and_only_reads_due_tickets(
    member, enterprise_contract, agent, django_capture_on_commit_callbacks
):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        tickets = [open_ticket(member, enterprise_contract, priority="P1", assignee=agent) for _ in range(5)]
        later = open_ticket(member, enterprise_contract, priority="P4", assignee=agent)
    with (
        time_machine.travel(sh(2026, 3, 4, 10, 40), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        stats = services.sla_check_due(batch_size=2)
    assert stats["tickets"] == 5
    assert stats["breaches"] == 5
    assert not SlaNotification.objects.filter(ticket=later).exists()
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.sla_check_at == sh(2026, 3, 4, 13, 12)  # next: resolution warning (80 % of 4 h)


def test_reply_after_breach_keeps_breached_at(member, enterprise_contract, agent):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        ticket = open_ticket(member, enterprise_contract, priority="P1", assignee=agent)
    with time_machine.travel(sh(2026, 3, 4, 11), tick=False):
        services.sla_check_due()
        services.ticket_reply(actor=agent, ticket=ticket, body="Looking into it.")
    ticket.refresh_from_db()
    assert ticket.first_response_met_at == sh(2026, 3, 4, 11)
    assert ticket.first_response_breached_at == sh(2026, 3, 4, 10, 30)
    assert ticket.first_response_state == SlaState.BREACHED
    assert ticket.status == TicketStatus.OPEN


def test_ticket_rebuild_is_idempotent(member, enterprise_contract, agent):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        ticket = open_ticket(member, enterprise_contract, priority="P2", assignee=agent)
        services.ticket_reply(actor=agent, ticket=ticket, body="Hi", status=TicketStatus.PENDING_CUSTOMER)
    with time_machine.travel(sh(2026, 3, 4, 12), tick=False):
        ticket.refresh_from_db()
        before = {f: getattr(ticket, f) for f in services.sla.SLA_FIELDS}
        services.tickets_sla_recompute(ticket_ids=[ticket.pk])
        ticket.refresh_from_db()
        assert {f: getattr(ticket, f) for f in services.sla.SLA_FIELDS} == before
        assert ticket.resolution_state == SlaState.PAUSED
        assert ticket.resolution_due_at is None
