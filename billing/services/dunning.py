"""Payment reminders for overdue invoices: one per stage (days after the due date), DB-enforced."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import DunningReminder, Invoice
from billing.services.mail import invoice_recipients, send_reminder_email
from portal.core.i18n import organization_language
from portal.core.services import audit, enqueue_on_commit

logger = logging.getLogger(__name__)


def dunning_run(*, today: date | None = None) -> list[int]:
    """Create the reminders that have fallen due and return the ids of those to send. When several
    stages are due at once (a run was missed, or a stage was added), only the latest is sent; the
    others are recorded as skipped so they are never sent later either."""
    today = today or timezone.localdate()
    stages = sorted(set(settings.BILLING_DUNNING_DAYS))
    if not stages:
        return []
    overdue = Invoice.objects.overdue(today).filter(due_date__lte=today - timedelta(days=stages[0]))
    existing: dict[int, set[int]] = {}
    for invoice_id, stage in DunningReminder.objects.filter(invoice__in=overdue).values_list(
        "invoice_id", "stage_days"
    ):
        existing.setdefault(invoice_id, set()).add(stage)
    to_send: list[int] = []
    for invoice in overdue.select_related("organization").order_by("due_date", "id"):
        due = [s for s in stages if invoice.due_date + timedelta(days=s) <= today]
        missing = [s for s in due if s not in existing.get(invoice.pk, set())]
        if not missing:
            continue
        latest = max(due)
        for stage in missing:
            try:
                with transaction.atomic():
                    reminder = DunningReminder.objects.create(
                        invoice=invoice,
                        stage_days=stage,
                        skipped=stage != latest,
                        language=organization_language(invoice.organization),
                    )
            except IntegrityError:  # a concurrent run created it
                continue
            if not reminder.skipped:
                to_send.append(reminder.pk)
    for reminder_id in to_send:
        enqueue_on_commit("billing.tasks.dunning_send", reminder_id)
    return to_send


@transaction.atomic
def reminder_send(*, reminder_id: int) -> DunningReminder:
    """Send one reminder if it is still due (unsent, not skipped, invoice still open)."""
    reminder = (
        DunningReminder.objects.select_for_update()
        .select_related("invoice__organization")
        .get(pk=reminder_id)
    )
    invoice = reminder.invoice
    if reminder.sent_at is not None or reminder.skipped:
        return reminder
    if invoice.open_balance <= 0:
        reminder.skipped = True
        reminder.last_error = "settled before sending"
        reminder.save(update_fields=["skipped", "last_error"])
        return reminder
    recipients = invoice_recipients(invoice)
    if not recipients:
        reminder.last_error = "no billing email or billing contact"
        reminder.save(update_fields=["last_error"])
        return reminder
    send_reminder_email(invoice, stage_days=reminder.stage_days, recipients=recipients)
    reminder.sent_at = timezone.now()
    reminder.recipient = ", ".join(recipients)[:500]
    reminder.last_error = ""
    reminder.save(update_fields=["sent_at", "recipient", "last_error"])
    audit(actor=None, action="invoice.reminder", target=invoice, data={"stage_days": reminder.stage_days})
    return reminder
