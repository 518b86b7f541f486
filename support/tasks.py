"""Celery tasks of the support desk: take ids, re-fetch, call a service; safe to run twice."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.dates import last_closed_month_end, month_end, month_start
from support import imap
from support.models import (
    HoursBucket,
    InboundMail,
    InboundStatus,
    NotificationKind,
    SlaNotification,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from support.services import hours_overage_invoice as invoice_month
from support.services import notifications, silence_alerts_process, ticket_transition
from support.services.inbound import inbound_mail_mark_replied
from support.services.sla import sla_check_due, sla_coverage_refresh
from support.services.sla import sla_recompute_dirty as recompute_dirty

logger = logging.getLogger(__name__)

# How many flagged tickets the minute job recomputes itself if the recompute task was lost.
DIRTY_PER_MINUTE = 5000


@shared_task(name="support.tasks.sla_check", ignore_result=True)
def sla_check() -> dict[str, int]:
    """Every minute (portal/schedule.py): finish recomputes after calendar/policy changes, then warn
    and escalate whatever has become due."""
    sla_coverage_refresh()
    recomputed = recompute_dirty(limit=DIRTY_PER_MINUTE)
    stats = sla_check_due()
    stats["recomputed"] = recomputed
    if any(stats.values()):
        logger.info("sla_check %s", stats)
    return stats


@shared_task(name="support.tasks.sla_recompute_dirty", ignore_result=True)
def sla_recompute_dirty() -> int:
    return recompute_dirty()


@shared_task(name="support.tasks.sla_notifications_send", ignore_result=True)
def sla_notifications_send(notification_ids: list[int]) -> int:
    sent = 0
    for pk in notification_ids:
        with transaction.atomic():
            note = (
                SlaNotification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("ticket__assignee", "ticket__organization")
                .filter(pk=pk, sent_at__isnull=True)
                .first()
            )
            if note is None:
                continue  # sent already, or another worker has it
            ticket = note.ticket
            assignee = notifications.user_recipient(ticket.assignee)
            recipients = [assignee] if assignee else []
            if note.kind == NotificationKind.BREACH or not recipients:
                recipients += notifications.escalation_recipients()
            kind = "sla_breach" if note.kind == NotificationKind.BREACH else "sla_warning"
            note.recipients = notifications.send_ticket_mail(
                kind, ticket, recipients, metric=note.metric, due_at=note.due_at
            )
            note.sent_at = timezone.now()
            note.save(update_fields=["recipients", "sent_at"])
            sent += 1
    return sent


@shared_task(name="support.tasks.ticket_notify", ignore_result=True)
def ticket_notify(kind: str, ticket_id: int, message_id: int | None = None) -> list[str]:
    ticket = (
        Ticket.objects.select_related("requester", "assignee", "organization").filter(pk=ticket_id).first()
    )
    if ticket is None:
        return []
    message = TicketMessage.objects.filter(pk=message_id).first() if message_id else None
    requester = notifications.requester_recipient(ticket)
    assignee = notifications.user_recipient(ticket.assignee)
    if kind == "created":
        sent = notifications.send_ticket_mail(
            "created", ticket, [requester], body=message.body if message else ""
        )
        if assignee:
            sent += notifications.send_ticket_mail(
                "new_for_staff", ticket, [assignee], body=message.body if message else ""
            )
        return sent
    if kind in {"agent_reply", "resolved"}:
        return notifications.send_ticket_mail(kind, ticket, [requester], message=message)
    if kind in {"customer_message", "assigned"}:
        return notifications.send_ticket_mail(kind, ticket, [assignee], message=message)
    raise ValueError(f"unknown notification {kind}")


@shared_task(name="support.tasks.hours_bucket_warn", ignore_result=True)
def hours_bucket_warn(bucket_id: int) -> list[str]:
    bucket = (
        HoursBucket.objects.select_related("contract__organization__account_owner")
        .filter(pk=bucket_id)
        .first()
    )
    if bucket is None:
        return []
    contract = bucket.contract

    def compose() -> notifications.Mail:
        return notifications.Mail(
            _("Custom-development hours at 80%% for %(contract)s") % {"contract": contract},
            [
                _(
                    "%(org)s has used at least 80%% of the %(hours)d custom-development hours of %(start)s–%(end)s."
                )
                % {
                    "org": contract.organization,
                    "hours": bucket.granted_minutes // 60,
                    "start": bucket.period_start,
                    "end": bucket.period_end,
                },
                _("Hours beyond the grant are flagged as overage for billing."),
            ],
        )

    owner = notifications.user_recipient(contract.organization.account_owner)
    return notifications.send_mail_to([owner, *notifications.escalation_recipients()], compose)


@shared_task(name="support.tasks.close_resolved_tickets", ignore_result=True)
def close_resolved_tickets() -> int:
    """Resolved tickets the customer has not reopened within SUPPORT_AUTO_CLOSE_DAYS become closed."""
    cutoff = timezone.now() - timedelta(days=getattr(settings, "SUPPORT_AUTO_CLOSE_DAYS", 7))
    closed = 0
    for ticket in Ticket.objects.filter(status=TicketStatus.RESOLVED, resolved_at__lte=cutoff).only("pk")[
        :1000
    ]:
        ticket_transition(actor=None, ticket=ticket, status=TicketStatus.CLOSED)
        closed += 1
    return closed


@shared_task(name="support.tasks.hours_overage_invoice", ignore_result=True)
def hours_overage_invoice(day: str | None = None) -> int:
    """Monthly (portal/schedule.py): invoice the custom-development overage logged in the calendar
    month of `day` (ISO date), by default the month that has just ended. Safe to run again."""
    on = date.fromisoformat(day) if day else last_closed_month_end(timezone.localdate())
    invoices = invoice_month(actor=None, period=(month_start(on), month_end(on)))
    if invoices:
        logger.info("custom-development overage invoiced for %s: %s", on.strftime("%Y-%m"), len(invoices))
    return len(invoices)


@shared_task(name="support.tasks.inbound_mail_reply", ignore_result=True)
def inbound_mail_reply(inbound_id: int) -> list[str]:
    """Tell the sender of a refused mail why (at most once per message)."""
    inbound = InboundMail.objects.filter(pk=inbound_id, status=InboundStatus.REFUSED).first()
    if inbound is None or not inbound.from_address or not inbound_mail_mark_replied(inbound_id=inbound.pk):
        return []
    return notifications.send_messages([notifications.build_refusal_mail(inbound)])


@shared_task(name="support.tasks.inbound_mail_fetch", ignore_result=True)
def inbound_mail_fetch() -> dict[str, int]:
    """Every minute (portal/schedule.py): read new mail from SUPPORT_IMAP_URL (off when empty)."""

    if not getattr(settings, "SUPPORT_IMAP_URL", ""):
        return {}
    stats = imap.imap_fetch()
    if any(stats.values()):
        logger.info("inbound_mail_fetch %s", stats)
    return stats


@shared_task(name="support.tasks.fleet_alerts_process", ignore_result=True)
def fleet_alerts_process() -> dict[str, int]:
    """Enqueued by licenses' fleet scan: one alert per new silence, its ticket resolved when it ends."""
    alerted, closed = silence_alerts_process()
    return {"alerted": alerted, "closed": closed}
