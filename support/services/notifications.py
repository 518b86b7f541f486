"""E-mails of the support desk: composed in the recipient's language, HTML + text, sent by tasks after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.core.i18n import recipient_language
from portal.core.mail import mail_enqueue
from support.mailparse import CJK
from support.models import InboundMail, SlaMetric, Ticket, TicketMailId
from support.services.inbound import inbound_max_bytes
from support.validators import attachment_max_bytes, attachment_max_files

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


def user_recipient(user: Any, *, organization: Any = None, fallback: str = "") -> Recipient | None:
    """A user as a recipient, in their language (portal.core.i18n.recipient_language); staff have no
    organization, so theirs is their preference or the default."""
    if user is None or not user.email or not user.is_active:
        return None
    language = recipient_language(user=user, organization=organization, fallback=fallback)
    return Recipient(email=user.email, language=language, user=user)


def requester_recipient(ticket: Ticket) -> Recipient | None:
    """The customer side: the requester's account, or the address a contact wrote in from."""
    if ticket.requester_id:
        return user_recipient(ticket.requester, organization=ticket.organization, fallback=ticket.language)
    if ticket.requester_email:
        language = recipient_language(organization=ticket.organization, fallback=ticket.language)
        return Recipient(email=ticket.requester_email, language=language)
    return None


def escalation_recipients() -> list[Recipient]:
    """The support leads: members of the SUPPORT_ESCALATION_GROUP staff group plus SUPPORT_ESCALATION_EMAILS."""
    group = getattr(settings, "SUPPORT_ESCALATION_GROUP", "")
    users = get_user_model().objects.filter(groups__name=group, is_active=True) if group else []
    out = [r for r in (user_recipient(u) for u in users) if r]
    out += [
        Recipient(email=e, language=recipient_language())
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
        return str(settings.SITE_URL) + reverse(view, args=args)
    except NoReverseMatch:  # the portal URLs are not mounted (e.g. a worker-only deployment)
        return str(settings.SITE_URL)


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


def render_mail(
    mail: Mail, recipient: Recipient, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    context = {"mail": mail, "recipient": recipient}
    text = render_to_string("support/email/notification.txt", context)
    html = render_to_string("support/email/notification.html", context)
    prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
    message = EmailMultiAlternatives(
        f"{prefix}{mail.subject}", text, settings.DEFAULT_FROM_EMAIL, [recipient.email], headers=headers
    )
    message.attach_alternative(html, "text/html")
    return message


# Threading: every ticket mail gets its own Message-ID, In-Reply-To/References naming the thread, and
# (to customers) Reply-To the support address, so a reply comes back to the desk and finds its ticket.
CUSTOMER_KINDS = frozenset({"created", "agent_reply", "resolved"})
AUTOMATIC_KINDS = frozenset({"created", "resolved"})


def support_address() -> str:
    return getattr(settings, "SUPPORT_MAIL_ADDRESS", "") or ""


def mail_domain() -> str:
    for value in (support_address(), settings.DEFAULT_FROM_EMAIL):
        address = parseaddr(value or "")[1]
        if "@" in address:
            return address.rsplit("@", 1)[1].lower()
    return "localhost"


def thread_root(ticket: Ticket) -> str:
    """The Message-ID the ticket's mail thread hangs from: the customer's first mail, or one we make."""
    if not ticket.mail_thread_id:
        root = f"<{ticket.number}.{ticket.pk}@{mail_domain()}>"
        Ticket.objects.filter(pk=ticket.pk, mail_thread_id="").update(mail_thread_id=root)
        ticket.mail_thread_id = Ticket.objects.values_list("mail_thread_id", flat=True).get(pk=ticket.pk)
        TicketMailId.objects.get_or_create(message_id=ticket.mail_thread_id, defaults={"ticket": ticket})
    return ticket.mail_thread_id


def thread_headers(ticket: Ticket, *, to_customer: bool, automatic: bool) -> dict[str, str]:
    """Headers of one new ticket mail; its Message-ID is recorded so a reply naming it threads."""
    root = thread_root(ticket)
    last_incoming = (
        TicketMailId.objects.filter(ticket=ticket, outgoing=False)
        .order_by("-created_at", "-pk")
        .values_list("message_id", flat=True)
        .first()
    )
    message_id = make_msgid(idstring=ticket.number, domain=mail_domain())
    TicketMailId.objects.create(ticket=ticket, message_id=message_id, outgoing=True)
    references = [root] + ([last_incoming] if last_incoming and last_incoming != root else [])
    headers = {
        "Message-ID": message_id,
        "In-Reply-To": references[-1],
        "References": " ".join(references),
        "X-Support-Ticket": ticket.number,
    }
    if to_customer and support_address():
        headers["Reply-To"] = support_address()
    if automatic:
        headers["Auto-Submitted"] = "auto-replied" if ticket.channel == "email" else "auto-generated"
    return headers


def build_ticket_mail(
    kind: str, ticket: Ticket, recipient: Recipient, **context: Any
) -> EmailMultiAlternatives:
    """One ticket mail as an EmailMessage, in the recipient's language, with its threading headers."""
    with translation.override(recipient.language):
        mail = _compose(kind, ticket, context)
        headers = thread_headers(
            ticket, to_customer=kind in CUSTOMER_KINDS, automatic=kind in AUTOMATIC_KINDS
        )
        return render_mail(mail, recipient, headers)


def send_ticket_mail(
    kind: str, ticket: Ticket, recipients: Iterable[Recipient | None], **context: Any
) -> list[str]:
    """Compose and send one e-mail per recipient, each in that recipient's language."""
    messages = [build_ticket_mail(kind, ticket, r, **context) for r in _dedupe(recipients)]
    return send_messages(messages)


def send_messages(messages: list[Any]) -> list[str]:
    """The one place ticket mail leaves: each message is its own outbox job, sent and retried alone, so
    a mail server that fails half-way never repeats the messages that went."""
    for message in messages:
        mail_enqueue(message)
    return [address for message in messages for address in message.to]


def send_mail_to(recipients: Iterable[Recipient | None], compose: Any) -> list[str]:
    """Generic form for mails not about one ticket: `compose()` runs in each recipient's language."""
    messages = []
    for recipient in _dedupe(recipients):
        with translation.override(recipient.language):
            messages.append(render_mail(compose(), recipient))
    return send_messages(messages)


# Refusal of an inbound mail ------------------------------------------------------------------------------


def build_refusal_mail(inbound: InboundMail) -> EmailMultiAlternatives:
    """The answer to a mail we could not accept (too large, too many attachments), as an EmailMessage."""
    language = "zh-hans" if CJK.search(f"{inbound.subject} {inbound.body}") else "en"
    recipient = Recipient(email=inbound.from_address, language=recipient_language(fallback=language))
    with translation.override(recipient.language):
        from django.template.defaultfilters import filesizeformat

        mail = Mail(
            _("Not accepted: %(subject)s") % {"subject": inbound.subject or _("(no subject)")},
            [
                _(
                    "We could not accept your e-mail to our support desk: it is too large or has too "
                    "many attachments, so no ticket was opened."
                ),
                _(
                    "Limits: at most %(files)d attachments of %(size)s each; the whole message at most %(total)s."
                )
                % {
                    "files": attachment_max_files(),
                    "size": filesizeformat(attachment_max_bytes()),
                    "total": filesizeformat(inbound_max_bytes()),
                },
                _(
                    "Please send large files such as logs or packet captures as a download link, or "
                    "attach them to a ticket in the customer portal."
                ),
            ],
            "",
            _absolute("support:ticket_new"),
            _("Open a ticket in the portal"),
        )
        headers = {
            "Message-ID": make_msgid(idstring="refused", domain=mail_domain()),
            "In-Reply-To": inbound.message_id,
            "References": inbound.message_id,
            "Auto-Submitted": "auto-replied",
        }
        if support_address():
            headers["Reply-To"] = support_address()
        return render_mail(mail, recipient, headers)
