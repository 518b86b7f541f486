"""Ticket writes: create, reply (agent or customer), transition, assign, re-prioritise, rate.

Every write locks the ticket, appends to its event log, rebuilds its SLA columns and audits, all in one
transaction; e-mails go out after commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Contact, Membership
from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.services import audit, enqueue_on_commit, sequence_next
from support.errors import SupportError
from support.models import (
    DONE_STATUSES,
    TICKET_TRANSITIONS,
    Category,
    Channel,
    EventKind,
    Priority,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMailId,
    TicketMessage,
    TicketRating,
    TicketStatus,
)
from support.services.sla import sla_policy_for_contract, ticket_sla_recompute
from support.validators import attachment_content_type, validate_attachments

TICKET_SERIES = "TK"


def _notify(kind: str, ticket: Ticket, message: TicketMessage | None = None) -> None:
    enqueue_on_commit("support.tasks.ticket_notify", kind, ticket.pk, message.pk if message else None)


def _event(ticket: Ticket, kind: str, actor: Actor, **data: Any) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor_user(actor),
        data=data,
    )


def _lock(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("sla_policy__calendar")
        .get(pk=ticket.pk)
    )


def _attach(message: TicketMessage, uploads: Sequence[Any]) -> None:
    try:
        validate_attachments(list(uploads))
    except ValidationError as exc:
        raise ApplicationError(SupportError.INVALID_ATTACHMENT, " ".join(exc.messages)) from exc
    for upload in uploads:
        attachment = TicketAttachment(
            message=message,
            filename=upload.name[-200:],
            content_type=attachment_content_type(upload.name),
            size=upload.size,
        )
        attachment.file.save(upload.name, upload, save=False)  # through the storage API
        attachment.save()


def _is_member(user: Any, organization_id: int) -> bool:
    return Membership.objects.filter(user=user, organization_id=organization_id).exists()


def _is_contact(email: str, organization_id: int) -> bool:
    return (
        bool(email) and Contact.objects.filter(email__iexact=email, organization_id=organization_id).exists()
    )


def _remember_mail_id(ticket: Ticket, message_id: str) -> None:
    """An incoming Message-ID of the thread: replies that name it in References belong to this ticket."""
    if message_id:
        TicketMailId.objects.get_or_create(
            message_id=message_id, defaults={"ticket": ticket, "outgoing": False}
        )


def _set_status(ticket: Ticket, target: str, actor: Actor) -> None:
    """The one place the transition map is checked."""
    if target == ticket.status:
        return
    if target not in TICKET_TRANSITIONS[TicketStatus(ticket.status)]:
        raise ApplicationError(
            SupportError.INVALID_TRANSITION,
            _("A ticket that is %(status)s cannot become %(target)s.")
            % {"status": ticket.get_status_display(), "target": TicketStatus(target).label},
            status=409,
        )
    now = timezone.now()
    _event(ticket, EventKind.STATUS, actor, **{"from": ticket.status, "to": target})
    ticket.status = target
    if target == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif target == TicketStatus.CLOSED:
        ticket.closed_at = now
    elif target == TicketStatus.OPEN:
        ticket.resolved_at = None


def _save(ticket: Ticket, *fields: str) -> None:
    ticket.save(update_fields=[*fields, "updated_at"])
    ticket_sla_recompute(ticket=ticket)


@transaction.atomic
def ticket_create(
    *,
    actor: Actor,
    organization: Any,
    requester: Any,
    subject: str,
    body: str,
    priority: str = Priority.P3,
    category: str = Category.QUESTION,
    contract: Any = None,
    deployment_ref: str = "",
    attachments: Sequence[Any] = (),
    language: str = "",
    assignee: Any = None,
    requester_email: str = "",
    channel: str = Channel.PORTAL,
    mail_message_id: str = "",
) -> Ticket:
    """A new ticket. The requester is a portal user (member or staff), or None with `requester_email`
    naming a contact of the organization (a customer who wrote in by e-mail without an account);
    `mail_message_id` is the Message-ID of the mail that opened it (it roots the mail thread)."""
    if contract is not None and contract.organization_id != organization.pk:
        raise ApplicationError(
            SupportError.INVALID_INPUT, _("This contract belongs to another organization.")
        )
    if requester is None:
        if not _is_contact(requester_email, organization.pk):
            raise ApplicationError(
                SupportError.FORBIDDEN, _("The requester is not a contact of this organization."), status=403
            )
    elif not requester.is_staff and not _is_member(requester, organization.pk):
        raise ApplicationError(
            SupportError.FORBIDDEN, _("The requester is not a member of this organization."), status=403
        )
    if not subject.strip() or not body.strip():
        raise ApplicationError(SupportError.INVALID_INPUT, _("A ticket needs a subject and a description."))
    policy = sla_policy_for_contract(contract)
    if assignee is None and policy is not None:
        assignee = policy.default_assignee
    year = timezone.localdate().year
    ticket = Ticket(
        number=f"{TICKET_SERIES}-{year}-{sequence_next(series=TICKET_SERIES, year=year):06d}",
        organization=organization,
        contract=contract,
        deployment_ref=deployment_ref,
        requester=requester,
        requester_email=(requester_email or (requester.email if requester else "")).lower(),
        channel=channel,
        mail_thread_id=mail_message_id,
        subject=subject.strip()[:200],
        priority=priority,
        category=category,
        assignee=assignee,
        language=language or "zh-hans",
        sla_policy=policy,
    )
    ticket.full_clean(exclude=["number"])
    ticket.save()
    _event(ticket, EventKind.CREATED, actor, priority=priority, category=category, channel=channel)
    message = TicketMessage.objects.create(
        ticket=ticket,
        author=requester,
        from_customer=True,
        body=body,
        sender_email=ticket.requester_email,
        channel=channel,
    )
    _attach(message, attachments)
    _remember_mail_id(ticket, mail_message_id)
    if assignee is not None:
        _event(ticket, EventKind.ASSIGNED, actor, to=assignee.pk)
    ticket_sla_recompute(ticket=ticket)
    audit(
        actor=actor, action="ticket.create", target=ticket, data={"priority": priority, "category": category}
    )
    _notify("created", ticket, message)
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    actor: Actor,
    ticket: Ticket,
    body: str,
    internal: bool = False,
    attachments: Sequence[Any] = (),
    status: str | None = None,
) -> TicketMessage:
    """An agent's public reply or internal note; a public reply opens a new ticket."""
    ticket = _lock(ticket)
    if not body.strip():
        raise ApplicationError(SupportError.INVALID_INPUT, _("The message is empty."))
    if ticket.status == TicketStatus.CLOSED:
        raise ApplicationError(SupportError.TICKET_CLOSED, _("This ticket is closed."), status=409)
    message = TicketMessage.objects.create(
        ticket=ticket,
        author=actor_user(actor),
        is_internal=internal,
        body=body,
        channel=Channel.ADMIN,
    )
    _attach(message, attachments)
    _event(ticket, EventKind.INTERNAL_NOTE if internal else EventKind.AGENT_REPLY, actor, message=message.pk)
    if status is None and not internal and ticket.status == TicketStatus.NEW:
        status = TicketStatus.OPEN
    if status:
        _set_status(ticket, status, actor)
    _save(ticket, "status", "resolved_at", "closed_at")
    audit(
        actor=actor,
        action="ticket.note" if internal else "ticket.reply",
        target=ticket,
        data={"message": message.pk},
    )
    if not internal:
        _notify("agent_reply", ticket, message)
    if status == TicketStatus.RESOLVED:
        _notify("resolved", ticket)
    return message


@transaction.atomic
def ticket_customer_reply(
    *,
    actor: Actor,
    ticket: Ticket,
    body: str,
    attachments: Sequence[Any] = (),
    sender_email: str = "",
    channel: str = Channel.PORTAL,
    mail_message_id: str = "",
) -> TicketMessage:
    """A customer's message (the caller has checked who may write); it takes a pending or resolved
    ticket back to open. By e-mail: `sender_email` and the mail's Message-ID are recorded."""
    ticket = _lock(ticket)
    if not body.strip():
        raise ApplicationError(SupportError.INVALID_INPUT, _("The message is empty."))
    if ticket.status == TicketStatus.CLOSED:
        raise ApplicationError(
            SupportError.TICKET_CLOSED, _("This ticket is closed; please open a new one."), status=409
        )
    author = actor_user(actor)
    message = TicketMessage.objects.create(
        ticket=ticket,
        author=author,
        from_customer=True,
        body=body,
        sender_email=(sender_email or (author.email if author else "")).lower(),
        channel=channel,
    )
    _attach(message, attachments)
    _remember_mail_id(ticket, mail_message_id)
    _event(ticket, EventKind.CUSTOMER_MESSAGE, actor, message=message.pk, channel=channel)
    if ticket.status in {TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED}:
        _set_status(ticket, TicketStatus.OPEN, actor)
    _save(ticket, "status", "resolved_at", "closed_at")
    audit(actor=actor, action="ticket.customer_reply", target=ticket, data={"message": message.pk})
    _notify("customer_message", ticket, message)
    return message


@transaction.atomic
def ticket_transition(*, actor: Actor, ticket: Ticket, status: str) -> Ticket:
    ticket = _lock(ticket)
    before = ticket.status
    _set_status(ticket, status, actor)
    _save(ticket, "status", "resolved_at", "closed_at")
    audit(actor=actor, action="ticket.status", target=ticket, data={"from": before, "to": status})
    if status == TicketStatus.RESOLVED and before != status:
        _notify("resolved", ticket)
    return ticket


@transaction.atomic
def ticket_assign(*, actor: Actor, ticket: Ticket, assignee: Any) -> Ticket:
    ticket = _lock(ticket)
    if assignee is not None and not assignee.is_staff:
        raise ApplicationError(SupportError.INVALID_INPUT, _("Tickets can only be assigned to staff."))
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    ticket.assignee = assignee
    _event(ticket, EventKind.ASSIGNED, actor, to=assignee.pk if assignee else None)
    _save(ticket, "assignee")
    audit(
        actor=actor,
        action="ticket.assign",
        target=ticket,
        data={"assignee": assignee.pk if assignee else None},
    )
    if assignee is not None and assignee != actor:
        _notify("assigned", ticket)
    return ticket


@transaction.atomic
def ticket_change_priority(*, actor: Actor, ticket: Ticket, priority: str) -> Ticket:
    """The new priority's targets apply from `created` (spec §3); recorded pauses are kept."""
    ticket = _lock(ticket)
    if priority not in Priority.values:
        raise ApplicationError(SupportError.INVALID_INPUT, _("Unknown priority."))
    if priority == ticket.priority:
        return ticket
    _event(ticket, EventKind.PRIORITY, actor, **{"from": ticket.priority, "to": priority})
    before, ticket.priority = ticket.priority, priority
    _save(ticket, "priority")
    audit(actor=actor, action="ticket.priority", target=ticket, data={"from": before, "to": priority})
    return ticket


@transaction.atomic
def ticket_rate(*, actor: Actor, ticket: Ticket, rating: int, comment: str = "") -> TicketRating:
    """Satisfaction after resolution, once per ticket (enforced by the database too)."""
    ticket = _lock(ticket)
    if ticket.status not in DONE_STATUSES:
        raise ApplicationError(
            SupportError.NOT_RESOLVED, _("Only resolved tickets can be rated."), status=409
        )
    if not 1 <= int(rating) <= 5:
        raise ApplicationError(SupportError.INVALID_INPUT, _("Rate from 1 to 5."))
    if not _is_member(actor, ticket.organization_id):
        raise ApplicationError(SupportError.FORBIDDEN, _("Only the customer can rate a ticket."), status=403)
    try:
        with transaction.atomic():
            rated = TicketRating.objects.create(
                ticket=ticket, rating=int(rating), comment=comment, rated_by=actor_user(actor)
            )
    except IntegrityError as exc:
        raise ApplicationError(
            SupportError.ALREADY_RATED, _("This ticket has already been rated."), status=409
        ) from exc
    _event(ticket, EventKind.RATED, actor, rating=int(rating))
    audit(actor=actor, action="ticket.rate", target=ticket, data={"rating": int(rating)})
    return rated
