"""The direct online rails (Alipay, WeChat Pay): orders for an invoice, verified notifications applied
once, status queries, refunds.

As with Stripe, network calls happen outside database transactions. Every verified notification or
status answer goes through one function (`provider_event_apply`): stored once by the provider's id,
checked against our order (app id, merchant, amount, currency), then applied under row locks. A payment
is keyed by the provider's transaction id and a refund by its refund number, so replays, duplicate
deliveries and any order of arrival record money once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.models import (
    ORDER_STATUS_RANK,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    NotificationStatus,
    OnlineProvider,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    ProviderNotification,
    ProviderOrder,
    ProviderRefund,
    RefundStatus,
)
from billing.money import ZERO, round_money
from billing.services.payments import allocate, lock_invoice
from portal.core.actors import Actor, actor_user
from portal.core.services import audit

logger = logging.getLogger(__name__)

ORDER_LIFETIME = timedelta(hours=2)
METHOD = {OnlineProvider.ALIPAY: PaymentMethod.ALIPAY, OnlineProvider.WECHATPAY: PaymentMethod.WECHAT_PAY}
PREFIX: dict[str, str] = {
    OnlineProvider.ALIPAY: "A",
    OnlineProvider.WECHATPAY: "W",
    OnlineProvider.STRIPE: "S",
}


def payment_external_id(provider: str, trade_no: str) -> str:
    return f"{provider}:{trade_no}"


def refund_external_id(provider: str, refund_no: str) -> str:
    return f"{provider}:refund:{refund_no}"


def out_trade_no_for(invoice: Invoice, provider: str, attempt: int) -> str:
    """Ours, deterministic per invoice, provider and attempt (a retry after a crash repeats the same
    request, which both providers answer idempotently). Letters, digits and '-' only; ≤ 32 chars."""
    return f"{(invoice.number or str(invoice.pk)).replace('-', '')}-{PREFIX[provider]}{attempt}"


def _payable(invoice: Invoice) -> None:
    if (
        invoice.kind != DocumentKind.INVOICE
        or invoice.status != InvoiceStatus.ISSUED
        or invoice.open_balance <= 0
    ):
        raise billing_error(BillingError.NOT_PAYABLE, _("This invoice has nothing left to pay."))


def provider_order_open(
    *,
    actor: Actor,
    invoice: Invoice,
    provider: str,
    channel: str,
    create_remote: Callable[[str, Decimal, datetime], str],
    close_remote: Callable[[str], None],
) -> ProviderOrder:
    """An order at the provider for the invoice's open balance. An open order of the same channel and
    amount that is not about to expire is reused; a new amount gets the next attempt, and open orders
    for an outdated amount are closed (so the buyer cannot pay what is no longer due)."""
    with transaction.atomic():
        invoice = lock_invoice(invoice)
        _payable(invoice)
        amount = invoice.open_balance
        soon = timezone.now() + timedelta(minutes=10)
        orders = list(invoice.provider_orders.filter(provider=provider).order_by("-attempt"))
        for order in orders:
            if (
                order.status == OrderStatus.OPEN
                and order.channel == channel
                and order.amount == amount
                and order.pay_url
                and (order.expires_at is None or order.expires_at > soon)
            ):
                return order
        attempt = (orders[0].attempt + 1) if orders else 1
        superseded = [o.out_trade_no for o in orders if o.status == OrderStatus.OPEN and o.amount != amount]
    out_trade_no = out_trade_no_for(invoice, provider, attempt)
    expires_at = timezone.now() + ORDER_LIFETIME
    url = create_remote(out_trade_no, amount, expires_at)
    for number in superseded:
        close_remote(number)
    try:
        with transaction.atomic():
            order, created = ProviderOrder.objects.get_or_create(
                out_trade_no=out_trade_no,
                defaults={
                    "provider": provider,
                    "channel": channel,
                    "invoice": invoice,
                    "attempt": attempt,
                    "amount": amount,
                    "currency": invoice.currency,
                    "pay_url": url,
                    "expires_at": expires_at,
                },
            )
            if created:
                audit(
                    actor=actor,
                    action=f"invoice.{provider}_order",
                    target=invoice,
                    data={"order": out_trade_no, "channel": channel, "amount": str(amount)},
                )
    except IntegrityError:  # a concurrent request stored the same order (same attempt)
        order = ProviderOrder.objects.get(out_trade_no=out_trade_no)
    if superseded:
        ProviderOrder.objects.filter(out_trade_no__in=superseded, status=OrderStatus.OPEN).update(
            status=OrderStatus.CLOSED
        )
    return order


def latest_order(invoice: Invoice, provider: str) -> ProviderOrder | None:
    return invoice.provider_orders.filter(provider=provider).order_by("-attempt").first()


# Notifications and status answers -----------------------------------------------------------------


@dataclass
class ProviderEvent:
    """A genuine notification or status answer of one provider, in our terms."""

    provider: str
    event_id: str
    kind: str  # payment | closed | pending | refund
    out_trade_no: str
    trade_no: str
    amount: Decimal | None
    currency: str
    app_id: str
    expected_app_id: str
    occurred_at: datetime | None = None
    payer: str = ""
    merchant_id: str | None = None
    expected_merchant_id: str | None = None
    refund_no: str = ""
    refund_amount: Decimal | None = None
    refunded_total: Decimal | None = None
    refund_id: str = ""
    refund_succeeded: bool = True
    payload: dict[str, Any] = field(default_factory=dict)


def provider_event_apply(*, event: ProviderEvent) -> tuple[ProviderNotification, bool]:
    """Store the event once and apply it. Returns (notification, duplicate). A refused event (another
    app or merchant, unknown order, different amount) changes no money and is logged and kept."""
    try:
        with transaction.atomic():
            notification = ProviderNotification.objects.create(
                provider=event.provider,
                event_id=event.event_id[:128],
                kind=event.kind,
                out_trade_no=event.out_trade_no[:64],
                trade_no=event.trade_no[:64],
                payload=event.payload,
                status=NotificationStatus.FAILED,
            )
            status, outcome, order = _apply(event)
            notification.status, notification.outcome, notification.order = status, outcome[:300], order
            notification.save(update_fields=["status", "outcome", "order"])
    except IntegrityError:
        notification = ProviderNotification.objects.get(
            provider=event.provider, event_id=event.event_id[:128]
        )
        ProviderNotification.objects.filter(pk=notification.pk).update(deliveries=notification.deliveries + 1)
        logger.info("%s notification %s delivered again: not applied twice", event.provider, event.event_id)
        return notification, True
    if notification.status == NotificationStatus.REFUSED:
        logger.warning(
            "%s notification %s for %s refused: %s",
            event.provider,
            event.event_id,
            event.out_trade_no,
            notification.outcome,
        )
    return notification, False


def _apply(event: ProviderEvent) -> tuple[str, str, ProviderOrder | None]:
    if event.app_id != event.expected_app_id:
        return NotificationStatus.REFUSED, f"app id {event.app_id!r} is not ours", None
    if event.expected_merchant_id is not None and event.merchant_id != event.expected_merchant_id:
        return NotificationStatus.REFUSED, f"merchant {event.merchant_id!r} is not ours", None
    order = (
        ProviderOrder.objects.select_for_update()
        .filter(provider=event.provider, out_trade_no=event.out_trade_no)
        .first()
    )
    if order is None:
        return NotificationStatus.REFUSED, f"unknown order {event.out_trade_no!r}", None
    if event.kind == "refund":
        status, outcome = _apply_refund(event, order)
        return status, outcome, order
    if event.amount is None or event.amount != order.amount or event.currency != order.currency:
        return (
            NotificationStatus.REFUSED,
            f"amount {event.amount} {event.currency} differs from the order's {order.amount} {order.currency}",
            order,
        )
    if event.kind == "payment":
        outcome = _record_payment(event, order)
        _advance(order, OrderStatus.PAID, trade_no=event.trade_no, paid_at=event.occurred_at)
        return NotificationStatus.APPLIED, outcome, order
    if event.kind == "closed":
        moved = _advance(order, OrderStatus.CLOSED, trade_no=event.trade_no)
        return (
            NotificationStatus.APPLIED if moved else NotificationStatus.IGNORED,
            ("order closed" if moved else f"order already {order.status}: not reopened or closed"),
            order,
        )
    return NotificationStatus.IGNORED, f"order {order.status}; provider says {event.kind}", order


def _advance(
    order: ProviderOrder, status: str, *, trade_no: str = "", paid_at: datetime | None = None
) -> bool:
    """Move the order forward only (a late 'closed' never undoes 'paid')."""
    if ORDER_STATUS_RANK[OrderStatus(status)] <= ORDER_STATUS_RANK[OrderStatus(order.status)]:
        if trade_no and not order.trade_no:
            order.trade_no = trade_no
            order.save(update_fields=["trade_no"])
        return False
    order.status = status
    order.trade_no = order.trade_no or trade_no
    if status == OrderStatus.PAID:
        order.paid_at = paid_at or timezone.now()
    order.save(update_fields=["status", "trade_no", "paid_at"])
    return True


def _record_payment(event: ProviderEvent, order: ProviderOrder) -> str:
    """One Payment per provider transaction, allocated to the invoice as far as it is still open; any
    excess stays unallocated for finance to refund."""
    external_id = payment_external_id(event.provider, event.trade_no)
    invoice = lock_invoice(order.invoice_id)
    if Payment.objects.filter(external_id=external_id).exists():
        return f"payment {event.trade_no} already recorded"
    amount = round_money(event.amount or ZERO)
    payment = Payment.objects.create(
        kind=PaymentKind.PAYMENT,
        method=METHOD[OnlineProvider(event.provider)],
        amount=amount,
        currency=event.currency,
        received_at=event.occurred_at or timezone.now(),
        payer_name=event.payer[:200],
        reference=event.trade_no[:100],
        memo=order.out_trade_no,
        external_id=external_id,
        note=f"{event.provider} {event.event_id}"[:300],
    )
    allocated = ZERO
    if invoice.currency == payment.currency and invoice.open_balance > 0:
        allocated = min(amount, invoice.open_balance)
        allocate(actor=None, payment=payment, invoice=invoice, amount=allocated)
    audit(
        actor=None,
        action=f"payment.{event.provider}",
        target=invoice,
        via=event.provider,
        data={"trade_no": event.trade_no, "amount": str(amount), "allocated": str(allocated)},
    )
    return f"payment {amount} {event.currency} recorded, {allocated} allocated"


def _refunded_so_far(payment: Payment) -> Decimal:
    return -(payment.corrections.filter(kind=PaymentKind.REFUND).aggregate(t=Sum("amount"))["t"] or ZERO)


def _record_refund(
    *,
    provider: str,
    payment: Payment,
    refund_no: str,
    amount: Decimal,
    at: datetime | None,
    note: str,
    actor: Actor = None,
) -> Payment | None:
    """The money that left, as its own refund row (once per refund number), taken off the invoices the
    payment paid (newest allocation first) as far as they were paid."""
    external_id = refund_external_id(provider, refund_no)
    if Payment.objects.filter(external_id=external_id).exists() or amount <= 0:
        return None
    refund = Payment.objects.create(
        kind=PaymentKind.REFUND,
        method=payment.method,
        amount=-amount,
        currency=payment.currency,
        received_at=at or timezone.now(),
        reference=refund_no[:100],
        external_id=external_id,
        reverses=payment,
        note=note[:300],
        created_by=actor_user(actor),
    )
    left = amount
    per_invoice = (
        payment.allocations.values("invoice_id").annotate(total=Sum("amount")).order_by("-invoice_id")
    )
    for row in per_invoice:
        if left <= 0:
            break
        invoice = lock_invoice(row["invoice_id"])
        part = min(left, row["total"], invoice.amount_paid)
        if part > 0:
            allocate(actor=actor, payment=refund, invoice=invoice, amount=-part)
            left -= part
    target = payment.allocations.select_related("invoice").first()
    audit(
        actor=actor,
        action=f"payment.{provider}_refund",
        target=target.invoice if target else payment,
        via=provider if actor is None else "",
        data={"refund": refund_no, "amount": str(amount)},
    )
    return refund


def _apply_refund(event: ProviderEvent, order: ProviderOrder) -> tuple[str, str]:
    payment = (
        Payment.objects.select_for_update()
        .filter(external_id=payment_external_id(event.provider, event.trade_no or order.trade_no))
        .first()
    )
    if payment is None:
        return NotificationStatus.REFUSED, "refund of a payment not recorded yet"
    request = (
        ProviderRefund.objects.select_for_update()
        .filter(provider=event.provider, out_refund_no=event.refund_no)
        .first()
        if event.refund_no
        else None
    )
    if not event.refund_succeeded:
        if request is not None and request.status in (RefundStatus.REQUESTED, RefundStatus.PENDING):
            request.status, request.last_error = RefundStatus.FAILED, "the provider reports the refund failed"
            request.save(update_fields=["status", "last_error", "updated_at"])
        return NotificationStatus.APPLIED, "refund failed at the provider"
    if request is not None:
        amount = request.amount
    elif event.refund_amount is not None:
        amount = event.refund_amount
    elif event.refunded_total is not None:  # cumulative (Alipay): what is new beyond what we know
        amount = event.refunded_total - _refunded_so_far(payment)
    else:
        amount = ZERO
    refund_no = event.refund_no or f"{event.trade_no}:{event.refunded_total}"
    refund = _record_refund(
        provider=event.provider,
        payment=payment,
        refund_no=refund_no,
        amount=round_money(amount),
        at=event.occurred_at,
        note=f"{event.provider} {event.event_id}",
    )
    if request is not None and request.status != RefundStatus.SUCCEEDED:
        request.status = RefundStatus.SUCCEEDED
        request.provider_refund_id = request.provider_refund_id or event.refund_id
        request.refund_payment = request.refund_payment or refund
        request.save(update_fields=["status", "provider_refund_id", "refund_payment", "updated_at"])
    return (
        (NotificationStatus.APPLIED, f"refund {amount} recorded")
        if refund
        else (
            NotificationStatus.IGNORED,
            "refund already recorded",
        )
    )


# Refunds asked for by finance ---------------------------------------------------------------------


@transaction.atomic(durable=True)
def provider_refund_create(
    *, actor: Actor, payment: Payment, amount: Decimal, reason: str, provider: str
) -> ProviderRefund:
    """The refund request row (its number is what the provider deduplicates on), checked against what
    is left of the payment after earlier refunds and refunds still under way."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    amount = round_money(Decimal(amount))
    if payment.kind != PaymentKind.PAYMENT:
        raise billing_error(BillingError.REFUND_NOT_POSSIBLE, _("Only payments received can be refunded."))
    if amount <= 0:
        raise billing_error(
            BillingError.REFUND_NOT_POSSIBLE, _("Give the refund as a positive amount."), status=400
        )
    in_flight = (
        payment.refund_requests.filter(status__in=[RefundStatus.REQUESTED, RefundStatus.PENDING]).aggregate(
            t=Sum("amount")
        )["t"]
        or ZERO
    )
    left = payment.amount - _refunded_so_far(payment) - in_flight
    if amount > left:
        raise billing_error(
            BillingError.REFUND_NOT_POSSIBLE,
            _("Only %(left)s %(currency)s of this payment can still be refunded.")
            % {"left": left, "currency": payment.currency},
        )
    count = payment.refund_requests.count()
    refund = ProviderRefund.objects.create(
        provider=provider,
        payment=payment,
        out_refund_no=f"RF{payment.pk}-{count + 1}",
        amount=amount,
        currency=payment.currency,
        reason=reason[:200],
        requested_by=actor_user(actor),
    )
    audit(
        actor=actor,
        action="payment.refund_request",
        target=payment,
        data={"refund": refund.out_refund_no, "amount": str(amount), "provider": provider},
    )
    return refund


@transaction.atomic(durable=True)
def provider_refund_settle(
    *,
    actor: Actor,
    refund: ProviderRefund,
    status: str,
    provider_refund_id: str = "",
    detail: str = "",
    at: datetime | None = None,
    record_money: bool = True,
) -> ProviderRefund:
    """What the provider answered: succeeded (the refund row is written once), still pending, failed."""
    refund = ProviderRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status == RefundStatus.SUCCEEDED:
        return refund
    refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
    refund.last_error = detail[:500] if status == RefundStatus.FAILED else ""
    if status == RefundStatus.SUCCEEDED and record_money:
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        row = _record_refund(
            provider=refund.provider,
            payment=payment,
            refund_no=refund.out_refund_no,
            amount=refund.amount,
            at=at,
            note=refund.reason or _("refund"),
            actor=actor,
        )
        refund.refund_payment = (
            row
            or Payment.objects.filter(
                external_id=refund_external_id(refund.provider, refund.out_refund_no)
            ).first()
        )
    refund.status = status
    refund.save()
    return refund


def refunds_pending() -> Any:
    return ProviderRefund.objects.filter(status__in=[RefundStatus.REQUESTED, RefundStatus.PENDING])


def orders_to_sync(*, older_than_minutes: int = 2, limit: int = 200) -> list[ProviderOrder]:
    """Open orders whose notification may have been lost: created a while ago, not long expired."""
    now = timezone.now()
    return list(
        ProviderOrder.objects.filter(
            status=OrderStatus.OPEN, created_at__lt=now - timedelta(minutes=older_than_minutes)
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now - timedelta(days=1)))
        .exclude(provider=OnlineProvider.STRIPE)
        .order_by("created_at")[:limit]
    )
