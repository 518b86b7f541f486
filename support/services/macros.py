"""Macros (canned responses): render a macro for a ticket and apply it (reply, status, tags) at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.services import audit
from support.errors import SupportError
from support.models import EventKind, Macro, Ticket, TicketEvent, TicketMessage, TicketTag
from support.models.macros import PLACEHOLDER
from support.services.tickets import ticket_reply


def _person(user: Any) -> str:
    if user is None:
        return ""
    return (user.get_full_name() if hasattr(user, "get_full_name") else "") or user.get_username()


def _when(moment: Any) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else "–"


def macro_language(ticket: Ticket) -> str:
    return "zh-hans" if (ticket.language or "").lower().startswith("zh") else "en"


def macro_render(*, macro: Macro, ticket: Ticket, agent: Any) -> str:
    """The macro's text in the ticket's language (the other one when that is empty), placeholders filled.
    Unknown placeholders cannot be saved (Macro validation), so only known names are replaced."""
    language = macro_language(ticket)
    chosen = macro.body_zh if language == "zh-hans" else macro.body_en
    text = chosen.strip() or (macro.body_en if language == "zh-hans" else macro.body_zh).strip()
    try:
        portal_url = settings.SITE_URL + reverse("support:ticket_detail", args=[ticket.number])
    except NoReverseMatch:
        portal_url = settings.SITE_URL
    with translation.override(language):
        values = {
            "ticket_number": ticket.number,
            "ticket_subject": ticket.subject,
            "organization": str(ticket.organization),
            "requester_name": _person(ticket.requester) or ticket.requester_email,
            "agent_name": _person(agent),
            "first_response_due": _when(ticket.first_response_due_at),
            "resolution_due": _when(ticket.resolution_due_at),
            "portal_url": portal_url,
        }
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


@transaction.atomic
def ticket_tags_add(*, actor: Actor, ticket: Ticket, tags: Iterable[TicketTag]) -> list[str]:
    """Add tags to a ticket; returns the names that were new on it."""
    have = set(ticket.tags.values_list("pk", flat=True))
    new = [tag for tag in tags if tag.pk not in have]
    if new:
        ticket.tags.add(*new)
        names = [tag.name for tag in new]
        TicketEvent.objects.create(
            ticket=ticket,
            kind=EventKind.TAGGED,
            actor=actor_user(actor),
            data={"added": names},
        )
        audit(actor=actor, action="ticket.tags", target=ticket, data={"added": names})
    return [tag.name for tag in new]


@transaction.atomic
def macro_apply(*, actor: Actor, ticket: Ticket, macro: Macro) -> TicketMessage:
    """Post the macro's text (reply or internal note), set its status, add its tags: all or nothing."""
    if not macro.is_active:
        raise ApplicationError(SupportError.MACRO_INACTIVE, _("This macro is switched off."), status=409)
    body = macro_render(macro=macro, ticket=ticket, agent=actor)
    message = ticket_reply(
        actor=actor, ticket=ticket, body=body, internal=macro.internal, status=macro.set_status or None
    )
    ticket_tags_add(actor=actor, ticket=ticket, tags=macro.add_tags.all())
    TicketEvent.objects.create(
        ticket=ticket,
        kind=EventKind.MACRO,
        actor=actor_user(actor),
        data={"macro": macro.pk, "name": macro.name, "message": message.pk},
    )
    audit(actor=actor, action="ticket.macro", target=ticket, data={"macro": macro.name})
    return message
