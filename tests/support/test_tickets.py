"""Ticket services: the state machine, messages and notes, attachments, e-mails in the recipient's
language, satisfaction once."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent, UserPreference
from support import services
from support.mailparse import CJK
from support.models import TICKET_TRANSITIONS, EventKind, TicketRating, TicketStatus
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_numbers_events_and_audit(member, standard_contract):
    ticket = open_ticket(member, standard_contract)
    assert ticket.number.startswith("TK-") and ticket.status == TicketStatus.NEW
    assert list(ticket.events.values_list("kind", flat=True)) == [EventKind.CREATED]
    assert AuditEvent.objects.filter(action="ticket.create", target_id=str(ticket.pk)).exists()


def test_transition_map_is_enforced(member, standard_contract, agent):
    ticket = open_ticket(member, standard_contract)
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.CLOSED)
    with pytest.raises(ApplicationError) as excinfo:
        services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.OPEN)
    assert excinfo.value.code == "invalid_transition"
    assert TICKET_TRANSITIONS[TicketStatus.CLOSED] == frozenset()


def test_design_lifecycle(member, standard_contract, agent):
    ticket = open_ticket(member, standard_contract)
    services.ticket_reply(
        actor=agent, ticket=ticket, body="Which version?", status=TicketStatus.PENDING_CUSTOMER
    )
    services.ticket_customer_reply(actor=member, ticket=ticket, body="2.3")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.CLOSED)
    statuses = [e.data["to"] for e in ticket.events.filter(kind=EventKind.STATUS)]
    assert statuses == ["pending_customer", "open", "resolved", "closed"]
    with pytest.raises(ApplicationError):
        services.ticket_customer_reply(actor=member, ticket=ticket, body="again")


def test_internal_note_does_not_open_or_answer(member, standard_contract, agent):
    ticket = open_ticket(member, standard_contract)
    services.ticket_reply(actor=agent, ticket=ticket, body="checking logs", internal=True)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    assert ticket.first_response_met_at is None


def test_requester_must_belong_to_the_organization(outsider, standard_contract):
    with pytest.raises(ApplicationError):
        services.ticket_create(
            actor=outsider,
            organization=standard_contract.organization,
            requester=outsider,
            contract=standard_contract,
            subject="x",
            body="y",
        )


def test_attachment_limits(member, standard_contract, settings):
    settings.SUPPORT_ATTACHMENT_MAX_FILES = 1
    files = [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.txt", b"b")]
    with pytest.raises(ApplicationError) as excinfo:
        open_ticket(member, standard_contract, attachments=files)
    assert excinfo.value.code == "invalid_attachment"
    with pytest.raises(ApplicationError):
        open_ticket(member, standard_contract, attachments=[SimpleUploadedFile("run.sh.exe", b"MZ")])


def test_attachment_goes_through_storage(member, standard_contract):
    ticket = open_ticket(member, standard_contract, attachments=[SimpleUploadedFile("Shot.PNG", b"\x89PNG")])
    attachment = ticket.messages.get().attachments.get()
    assert attachment.content_type == "image/png"  # from the extension, not the client
    assert attachment.size == 4 and attachment.file.name.startswith("support/")
    assert attachment.file.read() == b"\x89PNG"


def test_mail_in_the_recipients_language(
    member, standard_contract, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(member, standard_contract, language="zh-hans", assignee=agent)
    to_customer = next(m for m in mail.outbox if m.to == [member.email])
    assert "已收到" in to_customer.subject  # Chinese for the customer who wrote in Chinese
    assert to_customer.alternatives and to_customer.alternatives[0].mimetype == "text/html"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(actor=agent, ticket=ticket, body="Please restart the gateway.")
    assert "新回复" in mail.outbox[0].subject
    assert "Please restart the gateway." in mail.outbox[0].body


def test_support_mail_follows_the_stored_preference_over_the_tickets_language(
    member, standard_contract, agent, django_capture_on_commit_callbacks
):
    UserPreference.objects.create(user=member, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(member, standard_contract, language="zh-hans", assignee=agent)
    to_customer = next(m for m in mail.outbox if m.to == [member.email])
    assert "已收到" not in to_customer.subject and not CJK.search(to_customer.subject)


def test_mails_are_sent_after_commit_only(member, standard_contract):
    mail.outbox.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        open_ticket(member, standard_contract)
        raise RuntimeError("rolled back")
    assert mail.outbox == []


def test_rating_once(member, standard_contract, agent):
    ticket = open_ticket(member, standard_contract)
    with pytest.raises(ApplicationError):
        services.ticket_rate(actor=member, ticket=ticket, rating=5)  # not resolved yet
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    services.ticket_rate(actor=member, ticket=ticket, rating=5, comment="great")
    with pytest.raises(ApplicationError) as excinfo:
        services.ticket_rate(actor=member, ticket=ticket, rating=1)
    assert excinfo.value.code == "already_rated"
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketRating.objects.create(ticket=ticket, rating=3)  # the database says no too
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketRating.objects.filter(ticket=ticket).update(rating=6)


def test_staff_cannot_rate_for_the_customer(member, standard_contract, agent):
    ticket = open_ticket(member, standard_contract)
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    with pytest.raises(ApplicationError):
        services.ticket_rate(actor=agent, ticket=ticket, rating=5)


def test_auto_close_resolved_tickets(member, standard_contract, agent):
    import time_machine

    from support.tasks import close_resolved_tickets
    from tests.support.conftest import sh

    with time_machine.travel(sh(2026, 3, 2, 10), tick=False):
        ticket = open_ticket(member, standard_contract)
        services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    with time_machine.travel(sh(2026, 3, 12, 10), tick=False):
        assert close_resolved_tickets() == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
