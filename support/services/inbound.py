"""Support by e-mail: a received message opens a ticket, is added to one, waits for triage, is ignored or
is refused with a reply to the sender. Both ways in (the IMAP job and the provider's POST) end here.

Each message is handled once: the InboundMail row, unique by Message-ID, is written first in the same
transaction as the ticket it opens, so a second delivery (fetched twice, posted again, two workers at
once) finds it and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.entitlements import organization_entitlement
from contracts.models import Contract
from customers.models import Contact, Membership, Organization
from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.services import audit, enqueue_on_commit
from support import mailparse
from support.errors import SupportError
from support.mailparse import ParsedMail
from support.models import (
    TRIAGE_DONE,
    Channel,
    InboundMail,
    InboundSource,
    InboundStatus,
    Ticket,
    TicketMailId,
    TicketStatus,
)
from support.services.tickets import ticket_create, ticket_customer_reply
from support.validators import attachment_extensions, attachment_max_bytes, attachment_max_files

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    inbound: InboundMail
    duplicate: bool = False


def inbound_max_bytes() -> int:
    return getattr(settings, "SUPPORT_INBOUND_MAIL_MAX_BYTES", 40 * 1024 * 1024)


def own_addresses() -> set[str]:
    """Addresses we send from: mail from them is a loop."""
    from email.utils import parseaddr

    candidates = [
        getattr(settings, "SUPPORT_MAIL_ADDRESS", ""),
        settings.DEFAULT_FROM_EMAIL,
        settings.SERVER_EMAIL,
        *getattr(settings, "SUPPORT_MAIL_OWN_ADDRESSES", []),
    ]
    return {parseaddr(value)[1].lower() for value in candidates if value and "@" in value}


# Who wrote ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    organization: Organization
    user: Any = None  # a member's account; None for a contact without one


def senders_for(address: str) -> list[Sender]:
    """The organizations an address may write for: as an active member's account, or as a contact."""
    if not address:
        return []
    found: dict[int, Sender] = {}
    users = get_user_model().objects.filter(email__iexact=address, is_active=True)
    for membership in Membership.objects.filter(user__in=users).select_related("organization", "user"):
        found.setdefault(membership.organization_id, Sender(membership.organization, membership.user))
    for contact in Contact.objects.filter(email__iexact=address).select_related("organization"):
        found.setdefault(contact.organization_id, Sender(contact.organization, None))
    return list(found.values())


def _ticket_answered(parsed: ParsedMail) -> Ticket | None:
    """The ticket this mail answers: a Message-ID of its thread in In-Reply-To/References, else the ticket
    number in the subject."""
    ids = parsed.thread_ids
    if ids:
        known = {
            row.message_id: row.ticket_id
            for row in TicketMailId.objects.filter(message_id__in=ids).only("message_id", "ticket_id")
        }
        for message_id in ids:
            if message_id in known:
                return Ticket.objects.get(pk=known[message_id])
    number = parsed.ticket_number
    return Ticket.objects.filter(number=number).first() if number else None


def _contract_for(organization: Organization) -> Contract | None:
    """As the portal preselects it: of the organization's contracts in force and in their term
    (contracts.entitlements), the one that started last."""
    contracts = organization_entitlement(organization).contracts
    return max(contracts, key=lambda c: (c.start_date, c.pk), default=None)


# Attachments --------------------------------------------------------------------------------------------------


def _check_attachments(parsed: ParsedMail) -> tuple[list[ContentFile[bytes]], list[str], str]:
    """(files to attach, names dropped for their type, refusal reason or "")."""
    allowed = set(attachment_extensions())
    files, dropped = [], []
    for attachment in parsed.attachments:
        if PurePath(attachment.filename).suffix.lower() not in allowed or attachment.size == 0:
            dropped.append(attachment.filename)
            continue
        files.append(ContentFile(attachment.content, name=attachment.filename[-200:]))
    too_big = [f for f in files if f.size > attachment_max_bytes()]
    if too_big:
        return (
            [],
            dropped,
            f"attachment {too_big[0].name} is {filesizeformat(too_big[0].size)}, "
            f"more than {filesizeformat(attachment_max_bytes())}",
        )
    if len(files) > attachment_max_files():
        return [], dropped, f"{len(files)} attachments, more than {attachment_max_files()}"
    return files, dropped, ""


def _body_with_notes(parsed: ParsedMail, dropped: Iterable[str]) -> str:
    body = parsed.body or _("(no text; see the attachments)")
    dropped = list(dropped)
    if dropped:
        body += "\n\n" + _("[Not attached, file type not accepted: %(names)s]") % {
            "names": ", ".join(dropped)
        }
    return body


# The service ------------------------------------------------------------------------------------------------


def inbound_mail_process(*, raw: bytes, source: str = InboundSource.IMAP) -> Outcome:
    """Handle one received message (raw RFC 822 bytes). Messages above SUPPORT_INBOUND_MAIL_MAX_BYTES go
    to inbound_mail_refuse_oversized instead; the transports check the size before reading them."""
    return _handle(mailparse.parse_mail(raw), raw=raw, source=source)


def inbound_mail_refuse_oversized(*, raw_start: bytes, size: int, source: str) -> Outcome:
    """A message too large to accept: recorded from its headers, the sender told (unless a machine)."""
    parsed = mailparse.parse_headers(raw_start, size)
    reason = f"message is {filesizeformat(size)}, more than {filesizeformat(inbound_max_bytes())}"
    return _handle(parsed, raw=b"", source=source, refuse=reason)


@transaction.atomic(durable=True)
def _handle(parsed: ParsedMail, *, raw: bytes, source: str, refuse: str = "") -> Outcome:
    existing = InboundMail.objects.filter(message_id=parsed.message_id).first()
    if existing is not None:
        return Outcome(existing, duplicate=True)
    inbound = InboundMail(
        message_id=parsed.message_id,
        source=source,
        status=InboundStatus.TRIAGE,
        from_address=parsed.from_address[:254],
        from_name=parsed.from_name,
        subject=parsed.subject,
        size=parsed.size,
        body=parsed.body,
    )
    try:
        with transaction.atomic():
            inbound.save()
    except IntegrityError:  # the same message, handled by someone else a moment ago
        return Outcome(InboundMail.objects.get(message_id=parsed.message_id), duplicate=True)

    status, reason, ticket = _route(parsed, inbound, refuse)
    inbound.status, inbound.reason, inbound.ticket = status, reason[:300], ticket
    if status == InboundStatus.TRIAGE and raw:
        inbound.raw.save("message.eml", ContentFile(raw), save=False)
    inbound.save()
    audit(
        actor=None,
        action=f"inbound_mail.{status}",
        target=inbound,
        data={"message_id": parsed.message_id, "ticket": ticket.number if ticket else None, "reason": reason},
    )
    if status == InboundStatus.REFUSED:
        enqueue_on_commit("support.tasks.inbound_mail_reply", inbound.pk)
    return Outcome(inbound)


def _route(parsed: ParsedMail, inbound: InboundMail, refuse: str) -> tuple[str, str, Ticket | None]:
    ours = own_addresses()
    if parsed.machine:
        return InboundStatus.IGNORED, parsed.machine, None
    if not parsed.from_address:
        return InboundStatus.IGNORED, "no sender address", None
    if parsed.from_address in ours or ours & set(parsed.loop_markers):
        return InboundStatus.IGNORED, "loop: sent by our own address", None
    if refuse:
        return InboundStatus.REFUSED, refuse, None
    files, dropped, refusal = _check_attachments(parsed)
    if refusal:
        return InboundStatus.REFUSED, refusal, None
    body = _body_with_notes(parsed, dropped)

    answered = _ticket_answered(parsed)
    senders = senders_for(parsed.from_address)
    if answered is not None:
        sender = next((s for s in senders if s.organization.pk == answered.organization_id), None)
        if sender is None:
            return InboundStatus.TRIAGE, f"reply to {answered.number} from outside its organization", None
        if answered.status != TicketStatus.CLOSED:
            _append(answered, sender, parsed, body, files)
            return InboundStatus.APPENDED, "", answered
        body = _("Follow-up to the closed ticket %(number)s.") % {"number": answered.number} + "\n\n" + body
        return InboundStatus.CREATED, "", _open(sender, parsed, body, files)
    if not senders:
        return InboundStatus.TRIAGE, "unknown sender", None
    if len(senders) > 1:
        names = ", ".join(sorted(s.organization.name for s in senders))
        return InboundStatus.TRIAGE, f"sender belongs to several organizations: {names}", None
    return InboundStatus.CREATED, "", _open(senders[0], parsed, body, files)


def _open(sender: Sender, parsed: ParsedMail, body: str, files: list[ContentFile[bytes]]) -> Ticket:
    user = sender.user
    return ticket_create(
        actor=user,
        organization=sender.organization,
        requester=user,
        requester_email=parsed.from_address,
        contract=_contract_for(sender.organization),
        subject=parsed.clean_subject or _("(no subject)"),
        body=body,
        attachments=files,
        language=parsed.language,
        channel=Channel.EMAIL,
        mail_message_id=parsed.message_id,
    )


def _append(
    ticket: Ticket, sender: Sender, parsed: ParsedMail, body: str, files: list[ContentFile[bytes]]
) -> None:
    ticket_customer_reply(
        actor=sender.user,
        ticket=ticket,
        body=body,
        attachments=files,
        sender_email=parsed.from_address,
        channel=Channel.EMAIL,
        mail_message_id=parsed.message_id,
    )


# Triage by staff ------------------------------------------------------------------------------------------


@transaction.atomic
def inbound_mail_triage(
    *,
    actor: Actor,
    inbound: InboundMail,
    organization: Organization | None = None,
    ticket: Ticket | None = None,
    add_contact: bool = False,
) -> Ticket:
    """Staff decide where a waiting mail goes: a new ticket of `organization` (adding the sender as its
    contact when asked), or a customer message on `ticket`."""
    inbound = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.status != InboundStatus.TRIAGE:
        raise ApplicationError(
            SupportError.ALREADY_HANDLED, _("This mail has already been handled."), status=409
        )
    if (organization is None) == (ticket is None):
        raise ApplicationError(SupportError.INVALID_INPUT, _("Choose an organization or a ticket."))
    if not inbound.raw:
        raise ApplicationError(SupportError.INVALID_INPUT, _("The original message is no longer stored."))
    with inbound.raw.open("rb") as handle:
        parsed = mailparse.parse_mail(handle.read())
    files, dropped, refusal = _check_attachments(parsed)
    if refusal:
        raise ApplicationError(SupportError.INVALID_ATTACHMENT, refusal)
    body = _body_with_notes(parsed, dropped)
    target = organization or ticket.organization  # type: ignore[union-attr]
    if (
        add_contact
        and not Contact.objects.filter(email__iexact=parsed.from_address, organization=target).exists()
    ):
        Contact.objects.create(
            organization=target,
            name=(parsed.from_name or parsed.from_address)[:100],
            email=parsed.from_address,
        )
    sender = next((s for s in senders_for(parsed.from_address) if s.organization.pk == target.pk), None)
    if sender is None:
        raise ApplicationError(
            SupportError.UNKNOWN_SENDER,
            _("%(address)s is neither a member nor a contact of %(org)s; add them as a contact.")
            % {"address": parsed.from_address, "org": target},
        )
    if ticket is not None:
        if ticket.status == TicketStatus.CLOSED:
            raise ApplicationError(SupportError.TICKET_CLOSED, _("This ticket is closed."), status=409)
        _append(ticket, sender, parsed, body, files)
        inbound.status, result = InboundStatus.APPENDED, ticket
    else:
        result = _open(sender, parsed, body, files)
        inbound.status = InboundStatus.CREATED
    inbound.ticket, inbound.handled_by = result, actor_user(actor)
    inbound.raw.delete(save=False)
    inbound.save()
    audit(actor=actor, action="inbound_mail.triage", target=inbound, data={"ticket": result.number})
    return result


@transaction.atomic
def inbound_mail_discard(*, actor: Actor, inbound: InboundMail) -> InboundMail:
    inbound = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.status in TRIAGE_DONE:
        return inbound
    if inbound.status != InboundStatus.TRIAGE:
        raise ApplicationError(
            SupportError.ALREADY_HANDLED, _("This mail has already been handled."), status=409
        )
    inbound.status, inbound.handled_by = InboundStatus.DISCARDED, actor_user(actor)
    if inbound.raw:
        inbound.raw.delete(save=False)
    inbound.save()
    audit(actor=actor, action="inbound_mail.discard", target=inbound)
    return inbound


def inbound_mail_mark_replied(*, inbound_id: int) -> bool:
    """Claim the refusal reply of a message: True once, so the reply goes out at most once."""
    return bool(
        InboundMail.objects.filter(pk=inbound_id, reply_sent_at__isnull=True).update(
            reply_sent_at=timezone.now()
        )
    )
