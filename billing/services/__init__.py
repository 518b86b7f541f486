"""Billing writes. Import from here: `from billing import services`."""

from billing.services.commissions import commission_sync, commission_totals
from billing.services.contract_billing import (
    invoice_custom_development_overage,
    invoice_for_contract,
    usage_hold_release,
    usage_invoice_run,
)
from billing.services.dunning import dunning_run, reminder_send
from billing.services.exports import export_job_create, export_job_run
from billing.services.invoices import (
    LineSpec,
    invoice_add_line,
    invoice_create,
    invoice_credit,
    invoice_delete,
    invoice_email_queue,
    invoice_issue,
    invoice_recalculate,
    invoice_set_fapiao,
    invoice_void,
)
from billing.services.payments import (
    invoice_refresh_payment_state,
    payment_allocate,
    payment_allocate_by_memo,
    payment_record,
    payment_refund,
    payment_reverse,
)
from billing.services.stripe import invoice_checkout_start, stripe_event_process, stripe_webhook_receive

__all__ = [
    "LineSpec",
    "commission_sync",
    "commission_totals",
    "dunning_run",
    "export_job_create",
    "export_job_run",
    "invoice_add_line",
    "invoice_checkout_start",
    "invoice_create",
    "invoice_credit",
    "invoice_custom_development_overage",
    "invoice_delete",
    "invoice_email_queue",
    "invoice_for_contract",
    "invoice_issue",
    "invoice_recalculate",
    "invoice_refresh_payment_state",
    "invoice_set_fapiao",
    "invoice_void",
    "payment_allocate",
    "payment_allocate_by_memo",
    "payment_record",
    "payment_refund",
    "payment_reverse",
    "reminder_send",
    "stripe_event_process",
    "stripe_webhook_receive",
    "usage_hold_release",
    "usage_invoice_run",
]
