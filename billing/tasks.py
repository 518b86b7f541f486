"""Celery tasks of the billing app: take ids, re-fetch, call a service; all idempotent."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import transaction

from billing import payments
from billing.services import contract_billing, dunning, exports, mail, purchases, quotes
from billing.services import stripe as stripe_services
from contracts.models import Contract
from portal.core.services import enqueue_on_commit

logger = logging.getLogger(__name__)


@shared_task(name="billing.tasks.usage_invoice_run", ignore_result=True)
def usage_invoice_run() -> dict[str, Any]:
    """Monthly SaaS usage invoices (scheduled daily: it only bills closed months not yet billed)."""
    result = contract_billing.usage_invoice_run(actor=None)
    if result.held:
        enqueue_on_commit("billing.tasks.usage_holds_notify")
    if result.errors:
        logger.warning("SaaS usage run could not bill: %s", result.errors)
    return {"invoices": len(result.invoices), "held": len(result.held), "errors": len(result.errors)}


@shared_task(name="billing.tasks.usage_holds_notify", ignore_result=True)
def usage_holds_notify() -> int:
    """Tell finance once about months held for review."""
    return mail.usage_holds_notify()


@shared_task(name="billing.tasks.contract_invoices_due", ignore_result=True)
def contract_invoices_due() -> int:
    """Invoice contract term fees (annual, one-time, maintenance, renewals) falling due soon."""
    count = 0
    for contract_id, period_start in contract_billing.contracts_due_for_invoicing():
        try:
            invoice = contract_billing.invoice_for_contract(
                actor=None, contract=Contract(pk=contract_id), on=period_start
            )
        except Exception:
            logger.exception("could not invoice contract %s for %s", contract_id, period_start)
            continue
        count += invoice is not None
    return count


@shared_task(name="billing.tasks.dunning_run", ignore_result=True)
def dunning_run() -> int:
    with transaction.atomic():
        return len(dunning.dunning_run())


@shared_task(
    name="billing.tasks.dunning_send",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def dunning_send(reminder_id: int) -> None:
    dunning.reminder_send(reminder_id=reminder_id)


@shared_task(
    name="billing.tasks.invoice_send",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def invoice_send(invoice_id: int, recipients: list[str] | None = None) -> list[str]:
    return mail.invoice_email_send(invoice_id=invoice_id, recipients=recipients)


@shared_task(
    name="billing.tasks.quote_send",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def quote_send(quote_id: int, recipients: list[str] | None = None) -> list[str]:
    return mail.quote_email_send(quote_id=quote_id, recipients=recipients)


@shared_task(name="billing.tasks.quotes_expire", ignore_result=True)
def quotes_expire() -> int:
    """Open quotes past their validity become expired."""
    return quotes.quotes_expire_due()


@shared_task(name="billing.tasks.renewal_quotes_offer", ignore_result=True)
def renewal_quotes_offer() -> int:
    """Renewal quotes for contracts of editions sold without negotiation, from 90 days before the end."""
    return quotes.renewal_quotes_offer()


@shared_task(name="billing.tasks.export_run", ignore_result=True)
def export_run(job_id: int) -> None:
    exports.export_job_run(job_id=job_id)


@shared_task(name="billing.tasks.stripe_events_retry", ignore_result=True)
def stripe_events_retry() -> int:
    return stripe_services.stripe_events_retry()


@shared_task(name="billing.tasks.provider_payments_sync", ignore_result=True)
def provider_payments_sync() -> dict[str, int]:
    """Ask Alipay / WeChat Pay about open orders (a lost notification) and refunds still under way."""
    return payments.provider_payments_sync()


@shared_task(name="billing.tasks.purchase_complete", ignore_result=True)
def purchase_complete(invoice_id: int) -> str | None:
    """An invoice of a contract became paid: activate it if it is an online order (idempotent)."""
    contract = purchases.purchase_complete(actor=None, invoice_id=invoice_id)
    return contract.number if contract is not None else None
