"""E-mails of the support desk: composed in the recipient's language, HTML + text, sent by tasks after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from support.models import SlaMetric, Ticket

logger = logging.getLogger(__name__)


@dataclass
class Recipient:
    email: str
    language: str
    user: Any = None


@dataclass
class Mail:
    subject: str
    lines: list[str] = field(default_factory=list)
    quote: str = ""
    action_url: str = ""
    action_label: str = ""


def recipient_language(user: Any, fallback: str | None = None) -> str:
    """The user's stored language if the user model has one, else the fallback, else zh-hans."""
    supported = {code for code, _name in settings.LANGUAGES}
    for language in (getattr(user, "language", ""), fallback, settings.LANGUAGE_CODE):
        if language and language.lower() in supported:
            return language.lower()
    return settings.LANGUAGE_CODE


def user_recipient(user: Any, fallback: str | None = None) -> Recipient | None:
    if user is None or not user.email or not user.is_active:
        return None
    return Recipient(email=user.email, language=recipient_language(user, fallback), user=user)


def escalation_recipients() -> list[Recipient]:
    """The support leads: members of the SUPPORT_ESCALATION_GROUP staff group plus SUPPORT_ESCALATION_EMAILS."""
    group = getattr(settings, "SUPPORT_ESCALATION_GROUP", "")
    users = get_user_model().objects.filter(groups__name=group, is_active=True) if group else []
    out = [r for r in (user_recipient(u) for u in users) if r]
    out += [
        Recipient(email=e, language=settings.LANGUAGE_CODE)
        for e in getattr(settings, "SUPPORT_ESCALATION_EMAILS", [])
    ]
    return out


def _dedupe(recipients: Iterable[Recipient | None]) -> list[Recipient]:
    seen: dict[str, Recipient] = {}
    for recipient in recipients:
        if recipient and recipient.email.lower() not in seen:
            seen[recipient.email.lower()] = recipient
    return list(seen.values())


def _absolute(view: str, *args: Any) -> str:
    try:
        return settings.SITE_URL + reverse(view, args=args)
    except NoReverseMatch:  # the portal URLs are not mounted (e.g. a worker-only deployment)
        return settings.SITE_URL


def _when(moment: Any) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else "–"


def _compose(kind: str, ticket: Ticket, context: dict[str, Any]) -> Mail:
    """Called inside translation.override(recipient language)."""
    head = f"[{ticket.number}] {ticket.subject}"
    portal = _absolute("support:ticket_detail", ticket.number)
    admin = _absolute("admin:support_ticket_change", ticket.pk)
    message = context.get("message")
    if kind == "created":
        lines = [_("We have received your request and will answer as soon as possible.")]
        if ticket.first_response_due_at:
            lines.append(_("First response due by: %(due)s") % {"due": _when(ticket.first_response_due_at)})
        return Mail(
            _("Ticket received: %(head)s") % {"head": head},
            lines,
            context.get("body", ""),
            portal,
            _("View ticket"),
        )
    if kind == "new_for_staff":
        lines = [
            _("New ticket from %(org)s, priority %(priority)s.")
            % {"org": ticket.organization, "priority": ticket.get_priority_display()},
            _("First response due by: %(due)s") % {"due": _when(ticket.first_response_due_at)},
        ]
        return Mail(
            _("New ticket: %(head)s") % {"head": head},
            lines,
            context.get("body", ""),
            admin,
            _("Open in back office"),
        )
    if kind == "agent_reply":
        return Mail(
            _("New reply: %(head)s") % {"head": head},
            [_("Our support team has replied to your ticket.")],
            message.body if message else "",
            portal,
            _("Reply"),
        )
    if kind == "customer_message":
        return Mail(
            _("Customer replied: %(head)s") % {"head": head},
            [_("%(org)s has written on this ticket.") % {"org": ticket.organization}],
            message.body if message else "",
            admin,
            _("Open in back office"),
        )
    if kind == "resolved":
        return Mail(
            _("Resolved: %(head)s") % {"head": head},
            [
                _("We consider this ticket resolved. If the problem persists, simply reply to reopen it."),
                _("How did we do? Please rate our support."),
            ],
            "",
            _absolute("support:ticket_rate", ticket.number),
            _("Rate this ticket"),
        )
    if kind == "assigned":
        return Mail(
            _("Assigned to you: %(head)s") % {"head": head},
            [
                _("Priority %(priority)s, next SLA deadline: %(due)s")
                % {"priority": ticket.get_priority_display(), "due": _when(ticket.sla_due_at)}
            ],
            "",
            admin,
            _("Open in back office"),
        )
    if kind in {"sla_warning", "sla_breach"}:
        metric = SlaMetric(context["metric"]).label
        due = _when(context.get("due_at"))
        if kind == "sla_warning":
            subject = _("SLA warning (%(metric)s): %(head)s") % {"metric": metric, "head": head}
            lines = [
                _("The %(metric)s target of this ticket is due at %(due)s.") % {"metric": metric, "due": due}
            ]
        else:
            subject = _("SLA breached (%(metric)s): %(head)s") % {"metric": metric, "head": head}
            lines = [
                _("The %(metric)s target of this ticket was due at %(due)s and has been missed.")
                % {"metric": metric, "due": due}
            ]
        lines.append(
            _("Organization: %(org)s; priority %(priority)s; assignee: %(assignee)s.")
            % {
                "org": ticket.organization,
                "priority": ticket.get_priority_display(),
                "assignee": ticket.assignee or _("nobody"),
            }
        )
        return Mail(subject, lines, "", admin, _("Open in back office"))
    raise ValueError(f"unknown ticket mail {kind}")


def render_mail(mail: Mail, recipient: Recipient) -> EmailMultiAlternatives:
    context = {"mail": mail, "recipient": recipient}
    text = render_to_string("support/email/notification.txt", context)
    html = render_to_string("support/email/notification.html", context)
    prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
    message = EmailMultiAlternatives(
        f"{prefix}{mail.subject}", text, settings.DEFAULT_FROM_EMAIL, [recipient.email]
    )
    message.attach_alternative(html, "text/html")
    return message


def send_ticket_mail(
    kind: str, ticket: Ticket, recipients: Iterable[Recipient | None], **context: Any
) -> list[str]:
    """Compose and send one e-mail per recipient, each in that recipient's language."""
    return send_mail_to(recipients, lambda: _compose(kind, ticket, context))


def send_mail_to(recipients: Iterable[Recipient | None], compose: Any) -> list[str]:
    """Generic form for mails not about one ticket: `compose()` runs in each recipient's language."""
    messages, sent_to = [], []
    for recipient in _dedupe(recipients):
        with translation.override(recipient.language):
            messages.append(render_mail(compose(), recipient))
        sent_to.append(recipient.email)
    if messages:
        get_connection().send_messages(messages)
    return sent_to
