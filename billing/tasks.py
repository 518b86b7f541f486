"""Celery tasks of the billing app: take ids, re-fetch, call a service; all idempotent."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="billing.tasks.usage_invoice_run", ignore_result=True)
def usage_invoice_run() -> dict[str, Any]:
    """Monthly SaaS usage invoices (scheduled daily: it only bills closed months not yet billed)."""
    from billing.services.contract_billing import usage_invoice_run as run

    result = run(actor=None)
    if result.held:
        usage_holds_notify.delay()
    if result.errors:
        logger.warning("SaaS usage run could not bill: %s", result.errors)
    return {"invoices": len(result.invoices), "held": len(result.held), "errors": len(result.errors)}


@shared_task(name="billing.tasks.usage_holds_notify", ignore_result=True)
def usage_holds_notify() -> int:
    """Tell finance once about months held for review."""
    from billing.models import UsageHold
    from billing.services.mail import send_usage_holds_email

    with transaction.atomic():
        holds = list(
            UsageHold.objects.select_for_update(skip_locked=True)
            .filter(notified_at__isnull=True, released_at__isnull=True)
            .select_related("contract")
        )
        if not holds:
            return 0
        send_usage_holds_email(holds)
        UsageHold.objects.filter(pk__in=[h.pk for h in holds]).update(notified_at=timezone.now())
    return len(holds)


@shared_task(name="billing.tasks.contract_invoices_due", ignore_result=True)
def contract_invoices_due() -> int:
    """Invoice contract term fees (annual, one-time, maintenance, renewals) falling due soon."""
    from billing.services.contract_billing import contracts_due_for_invoicing, invoice_for_contract
    from contracts.models import Contract

    count = 0
    for contract_id, period_start in contracts_due_for_invoicing():
        try:
            invoice = invoice_for_contract(actor=None, contract=Contract(pk=contract_id), on=period_start)
        except Exception:
            logger.exception("could not invoice contract %s for %s", contract_id, period_start)
            continue
        count += invoice is not None
    return count


@shared_task(name="billing.tasks.dunning_run", ignore_result=True)
def dunning_run() -> int:
    from billing.services.dunning import dunning_run as run

    with transaction.atomic():
        return len(run())


@shared_task(
    name="billing.tasks.dunning_send",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def dunning_send(reminder_id: int) -> None:
    from billing.services.dunning import reminder_send

    reminder_send(reminder_id=reminder_id)


@shared_task(
    name="billing.tasks.invoice_send",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def invoice_send(invoice_id: int, recipients: list[str] | None = None) -> list[str]:
    from billing.models import Invoice
    from billing.services.mail import send_invoice_email
    from portal.core.services import audit

    invoice = Invoice.objects.select_related("organization", "contract", "credit_for").get(pk=invoice_id)
    sent_to = send_invoice_email(invoice, recipients)
    if sent_to:
        Invoice.objects.filter(pk=invoice_id).update(sent_at=timezone.now())
        audit(actor=None, action="invoice.send", target=invoice, data={"to": sent_to})
    return sent_to


@shared_task(name="billing.tasks.export_run", ignore_result=True)
def export_run(job_id: int) -> None:
    from billing.services.exports import export_job_run

    export_job_run(job_id=job_id)


@shared_task(name="billing.tasks.stripe_events_retry", ignore_result=True)
def stripe_events_retry() -> int:
    from billing.services.stripe import stripe_events_retry as retry

    return retry()


@shared_task(name="billing.tasks.provider_payments_sync", ignore_result=True)
def provider_payments_sync() -> dict[str, int]:
    """Ask Alipay / WeChat Pay about open orders (a lost notification) and refunds still under way."""
    from billing.payments import provider_payments_sync as sync

    return sync()
