"""Payment writes: record money in or out, allocate it to invoices, keep payment status in step.

Payments and allocations are append-only; a mistake is corrected by a reversing entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.models import (
    PAYMENT_STATUS_TRANSITIONS,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from billing.money import ZERO, round_money
from billing.selectors import invoice_numbers_in
from billing.services import commissions
from portal.core.actors import Actor, actor_user
from portal.core.services import audit, enqueue_on_commit


def _payment_status_for(*, due: Decimal, paid: Decimal, refunded: bool) -> str:
    if refunded and paid <= 0:
        return PaymentStatus.REFUNDED
    if paid > 0 and paid >= due:
        return PaymentStatus.PAID
    if paid > 0:
        return PaymentStatus.PARTIAL
    if due <= 0:
        return PaymentStatus.CREDITED
    return PaymentStatus.UNPAID


def invoice_refresh_payment_state(invoice: Invoice) -> Invoice:
    """Re-derive paid amount and payment status from the allocations; the invoice row must be locked
    by the caller. The move is checked against PAYMENT_STATUS_TRANSITIONS."""
    sums = invoice.allocations.aggregate(
        paid=Sum("amount"), refunds=Sum("amount", filter=Q(payment__kind=PaymentKind.REFUND))
    )
    paid = sums["paid"] or ZERO
    status = _payment_status_for(due=invoice.amount_due, paid=paid, refunded=(sums["refunds"] or ZERO) < 0)
    current = invoice.payment_status
    if status != current and status not in PAYMENT_STATUS_TRANSITIONS[PaymentStatus(current)]:
        raise billing_error(
            BillingError.INVALID_TRANSITION,
            _("The payment status of %(invoice)s cannot go from %(current)s to %(target)s.")
            % {
                "invoice": invoice,
                "current": invoice.get_payment_status_display(),
                "target": PaymentStatus(status).label,
            },
        )
    if paid != invoice.amount_paid or status != current:
        invoice.amount_paid = paid
        invoice.payment_status = status
        invoice.save(update_fields=["amount_paid", "payment_status", "updated_at"])
    if status == PaymentStatus.PAID and current != PaymentStatus.PAID:
        # quotes builds on invoices, which build on this module: imported where the rule applies.
        from billing.services.quotes import quote_contract_activate_on_payment

        quote_contract_activate_on_payment(invoice=invoice)
        if invoice.contract_id is not None:
            # an online order's activation code and welcome mail (billing.services.purchases)
            enqueue_on_commit("billing.tasks.purchase_complete", invoice.pk)
    return invoice


def lock_invoice(invoice: Invoice | int) -> Invoice:
    pk = invoice.pk if isinstance(invoice, Invoice) else invoice
    locked: Invoice = Invoice.objects.select_for_update(of=("self",)).select_related("partner").get(pk=pk)
    return locked


def _unallocated(payment: Payment) -> Decimal:
    allocated = payment.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    return payment.amount - allocated


def allocate(*, actor: Actor, payment: Payment, invoice: Invoice, amount: Decimal) -> PaymentAllocation:
    """Put part of a locked payment on a locked invoice and bring status and commissions in step."""
    amount = round_money(Decimal(amount))
    if invoice.kind != DocumentKind.INVOICE or invoice.status != InvoiceStatus.ISSUED:
        raise billing_error(BillingError.NOT_PAYABLE, _("Only issued invoices can be paid."))
    if payment.currency != invoice.currency:
        raise billing_error(
            BillingError.CURRENCY_MISMATCH,
            _("A %(pc)s payment cannot pay a %(ic)s invoice.")
            % {"pc": payment.currency, "ic": invoice.currency},
        )
    if payment.kind == PaymentKind.PAYMENT:
        if amount <= 0:
            raise billing_error(BillingError.OVER_ALLOCATION, _("Allocate a positive amount."), status=400)
        if amount > _unallocated(payment):
            raise billing_error(BillingError.PAYMENT_EXHAUSTED, _("The payment has less left to allocate."))
        if amount > invoice.open_balance:
            raise billing_error(
                BillingError.OVER_ALLOCATION,
                _("%(invoice)s has only %(open)s %(currency)s open.")
                % {"invoice": invoice, "open": invoice.open_balance, "currency": invoice.currency},
            )
    elif amount >= 0 or -amount > invoice.amount_paid:
        raise billing_error(
            BillingError.OVER_ALLOCATION,
            _("A refund or correction cannot exceed what was paid on the invoice."),
        )
    allocation = PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount=amount, created_by=actor_user(actor)
    )
    invoice_refresh_payment_state(invoice)
    commissions.commission_sync(invoice=invoice, allocation=allocation)
    return allocation


@transaction.atomic
def payment_record(
    *,
    actor: Actor,
    method: str,
    amount: Decimal,
    currency: str,
    received_at: datetime | None = None,
    payer_name: str = "",
    payer_account: str = "",
    reference: str = "",
    memo: str = "",
    note: str = "",
    external_id: str | None = None,
    allocations: Sequence[tuple[Invoice, Decimal]] = (),
) -> Payment:
    """Record money received (a bank transfer, typically) and optionally allocate it right away."""
    amount = round_money(Decimal(amount))
    if amount <= 0:
        raise billing_error(BillingError.OVER_ALLOCATION, _("A payment amount must be positive."), status=400)
    payment = Payment(
        kind=PaymentKind.PAYMENT,
        method=PaymentMethod(method),
        amount=amount,
        currency=currency.upper(),
        received_at=received_at or timezone.now(),
        payer_name=payer_name,
        payer_account=payer_account,
        reference=reference,
        memo=memo,
        note=note,
        external_id=external_id,
        created_by=actor_user(actor),
    )
    payment.full_clean(exclude=["reverses", "created_by"], validate_unique=False, validate_constraints=False)
    payment.save()
    for invoice, part in allocations:
        allocate(actor=actor, payment=payment, invoice=lock_invoice(invoice), amount=part)
    audit(
        actor=actor,
        action="payment.record",
        target=payment,
        data={"amount": str(amount), "currency": payment.currency, "method": method, "reference": reference},
    )
    return payment


@transaction.atomic
def payment_allocate(
    *, actor: Actor, payment: Payment, invoice: Invoice, amount: Decimal
) -> PaymentAllocation:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    invoice = lock_invoice(invoice)
    allocation = allocate(actor=actor, payment=payment, invoice=invoice, amount=amount)
    audit(
        actor=actor,
        action="payment.allocate",
        target=invoice,
        data={"payment": payment.pk, "amount": str(allocation.amount)},
    )
    return allocation


@transaction.atomic
def payment_allocate_by_memo(*, actor: Actor, payment: Payment) -> list[PaymentAllocation]:
    """Settle the invoices named in the transfer's memo or reference, in the order named, as far as the
    money goes. Invoices in another currency or already settled are left for a human."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    remaining = _unallocated(payment)
    done: list[PaymentAllocation] = []
    for number in invoice_numbers_in(f"{payment.memo} {payment.reference}"):
        if remaining <= 0:
            break
        pk = Invoice.objects.filter(number=number).values_list("pk", flat=True).first()
        if pk is None:
            continue
        invoice = lock_invoice(pk)
        if (
            invoice.currency != payment.currency
            or invoice.open_balance <= 0
            or invoice.kind != DocumentKind.INVOICE
        ):
            continue
        part = min(remaining, invoice.open_balance)
        done.append(allocate(actor=actor, payment=payment, invoice=invoice, amount=part))
        remaining -= part
    if done:
        audit(
            actor=actor,
            action="payment.allocate_by_memo",
            target=payment,
            data={"invoices": [a.invoice.number for a in done], "amounts": [str(a.amount) for a in done]},
        )
    return done


@transaction.atomic
def payment_refund(
    *,
    actor: Actor,
    invoice: Invoice,
    amount: Decimal,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    note: str = "",
    external_id: str | None = None,
    reverses: Payment | None = None,
    paid_out_at: datetime | None = None,
) -> Payment:
    """Money paid back to the customer for an invoice (a negative payment allocated to it)."""
    amount = round_money(Decimal(amount))
    if amount <= 0:
        raise billing_error(
            BillingError.OVER_ALLOCATION, _("Give the refund as a positive amount."), status=400
        )
    invoice = lock_invoice(invoice)
    refund = Payment.objects.create(
        kind=PaymentKind.REFUND,
        method=PaymentMethod(method),
        amount=-amount,
        currency=invoice.currency,
        received_at=paid_out_at or timezone.now(),
        reference=reference,
        note=note,
        external_id=external_id,
        reverses=reverses,
        created_by=actor_user(actor),
    )
    allocate(actor=actor, payment=refund, invoice=invoice, amount=-amount)
    audit(
        actor=actor,
        action="payment.refund",
        target=invoice,
        data={"amount": str(amount), "reference": reference},
    )
    return refund


@transaction.atomic
def payment_reverse(*, actor: Actor, payment: Payment, note: str = "") -> Payment:
    """Correct a payment recorded by mistake: a reversing entry that undoes each of its allocations."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.kind != PaymentKind.PAYMENT:
        raise billing_error(BillingError.APPEND_ONLY, _("Only payments received can be reversed."))
    if payment.corrections.filter(kind=PaymentKind.REVERSAL).exists():
        raise billing_error(BillingError.APPEND_ONLY, _("This payment has already been reversed."))
    reversal = Payment.objects.create(
        kind=PaymentKind.REVERSAL,
        method=payment.method,
        amount=-payment.amount,
        currency=payment.currency,
        received_at=timezone.now(),
        reference=payment.reference,
        note=note,
        reverses=payment,
        created_by=actor_user(actor),
    )
    per_invoice = (
        payment.allocations.values("invoice_id").annotate(total=Sum("amount")).order_by("invoice_id")
    )
    for row in per_invoice:
        if row["total"]:
            allocate(
                actor=actor, payment=reversal, invoice=lock_invoice(row["invoice_id"]), amount=-row["total"]
            )
    audit(actor=actor, action="payment.reverse", target=payment, data={"note": note})
    return reversal
