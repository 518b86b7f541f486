"""Online payment through Stripe Checkout, and the webhook that records what Stripe reports.

Network calls happen outside database transactions (never hold row locks while waiting on Stripe).
Webhook events are stored once by id, then applied under row locks; each handler tolerates replays,
duplicates and any delivery order (payments are keyed by the PaymentIntent id, session state only
moves forward, refunds are recorded as the difference to what is already known).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_gateway as gateway
from billing.errors import BillingError, billing_error
from billing.models import (
    CheckoutSession,
    CheckoutStatus,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    StripeEvent,
)
from billing.money import ZERO, from_minor_units, to_minor_units
from billing.services.payments import allocate, lock_invoice
from portal.core.actors import Actor
from portal.core.services import audit

logger = logging.getLogger(__name__)

STRIPE_LOCALES = {"zh-hans": "zh", "en": "en"}


def checkout_idempotency_key(invoice_id: int, attempt: int) -> str:
    """Deterministic per invoice and attempt: a retry after a crash replays the same Stripe request."""
    return f"invoice:{invoice_id}:checkout" if attempt == 1 else f"invoice:{invoice_id}:checkout:{attempt}"


def payment_return_url(invoice: Invoice, outcome: str) -> str:
    base = getattr(settings, "BILLING_PAYMENT_RETURN_URL", "") or f"{settings.SITE_URL}/"
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}invoice={invoice.number}&payment={outcome}"


def invoice_checkout_start(*, actor: Actor, invoice: Invoice) -> CheckoutSession:
    """A Checkout Session for the invoice's open balance (card, Alipay, WeChat Pay for CNY). An open
    session for the same amount is reused; otherwise the next attempt gets its own idempotency key."""
    if not gateway.enabled():
        raise billing_error(BillingError.STRIPE_DISABLED, _("Online payment is not available."), status=503)
    with transaction.atomic():
        invoice = lock_invoice(invoice)
        if (
            invoice.kind != DocumentKind.INVOICE
            or invoice.status != InvoiceStatus.ISSUED
            or invoice.open_balance <= 0
        ):
            raise billing_error(BillingError.NOT_PAYABLE, _("This invoice has nothing left to pay."))
        amount = invoice.open_balance
        sessions = list(invoice.checkout_sessions.order_by("-attempt"))
        soon = timezone.now() + timedelta(minutes=10)
        for session in sessions:
            if (
                session.status == CheckoutStatus.OPEN
                and session.amount == amount
                and (session.expires_at is None or session.expires_at > soon)
            ):
                return session
        attempt = (sessions[0].attempt + 1) if sessions else 1
        superseded = [s.stripe_id for s in sessions if s.status == CheckoutStatus.OPEN]
    key = checkout_idempotency_key(invoice.pk, attempt)
    locale = STRIPE_LOCALES.get(invoice.language, "auto")
    data = gateway.create_checkout_session(
        idempotency_key=key,
        invoice_id=invoice.pk,
        invoice_number=invoice.number or "",
        description=_("Invoice %(number)s") % {"number": invoice.number},
        amount_minor=to_minor_units(amount, invoice.currency),
        currency=invoice.currency,
        success_url=payment_return_url(invoice, "success"),
        cancel_url=payment_return_url(invoice, "cancelled"),
        customer_email=invoice.organization.billing_email,
        locale=locale,
    )
    for stripe_id in superseded:
        gateway.expire_checkout_session(stripe_id)
    try:
        with transaction.atomic():
            session, created = CheckoutSession.objects.get_or_create(
                stripe_id=data.id,
                defaults={
                    "invoice": invoice,
                    "attempt": attempt,
                    "idempotency_key": key,
                    "url": data.url,
                    "amount": from_minor_units(data.amount_total, invoice.currency)
                    if data.amount_total
                    else amount,
                    "currency": invoice.currency,
                    "status": CheckoutStatus.OPEN,
                    "expires_at": data.expires_at,
                },
            )
            if created:
                audit(
                    actor=actor,
                    action="invoice.checkout",
                    target=invoice,
                    data={"session": data.id, "amount": str(amount)},
                )
    except IntegrityError:  # a concurrent request stored the same session (same idempotency key)
        session = CheckoutSession.objects.get(stripe_id=data.id)
    if superseded:
        CheckoutSession.objects.filter(stripe_id__in=superseded).exclude(pk=session.pk).update(
            status=CheckoutStatus.EXPIRED
        )
    return session


# Webhooks -----------------------------------------------------------------------------------------


def stripe_webhook_receive(*, payload: bytes, signature: str) -> tuple[StripeEvent, bool]:
    """Verify, store once, apply. Returns (event, newly stored). Raises for a bad signature (nothing is
    stored) and re-raises handler errors after recording them, so Stripe retries the delivery."""
    data = gateway.verify_webhook(payload, signature)
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                event_id=data["id"],
                type=data["type"],
                stripe_created=gateway.event_created(data),
                livemode=bool(data.get("livemode")),
                payload=data,
            )
        created = True
    except IntegrityError:  # a replay, or a concurrent duplicate delivery: the stored row wins
        event = StripeEvent.objects.get(event_id=data["id"])
        created = False
    try:
        event = stripe_event_process(event_id=event.event_id)
    except Exception as exc:
        StripeEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(last_error=repr(exc)[:2000])
        raise
    return event, created


@transaction.atomic
def stripe_event_process(*, event_id: str) -> StripeEvent:
    """Apply a stored event exactly once (the row lock serialises concurrent deliveries)."""
    event = StripeEvent.objects.select_for_update().get(event_id=event_id)
    if event.processed_at is not None:
        return event
    handler = HANDLERS.get(event.type)
    outcome = handler(event) if handler else "ignored"
    event.attempts += 1
    event.outcome = outcome[:200]
    event.processed_at = timezone.now()
    event.last_error = ""
    event.save(update_fields=["attempts", "outcome", "processed_at", "last_error"])
    return event


def _invoice_id_from(obj: dict[str, Any]) -> int | None:
    raw = (obj.get("metadata") or {}).get("invoice_id") or obj.get("client_reference_id")
    try:
        return int(raw) if raw else None
    except (TypeError, ValueError):
        return None


_STATUS_RANK: dict[str, int] = {CheckoutStatus.OPEN: 0, CheckoutStatus.COMPLETE: 1, CheckoutStatus.EXPIRED: 1}


def _sync_checkout_session(obj: dict[str, Any], event: StripeEvent) -> CheckoutSession | None:
    """Bring our copy of the session up to the event, ignoring events older than what we applied."""
    session = CheckoutSession.objects.select_for_update().filter(stripe_id=obj["id"]).first()
    invoice_id = _invoice_id_from(obj)
    if session is None:
        if invoice_id is None or not Invoice.objects.filter(pk=invoice_id).exists():
            return None
        # The session was created but our row was lost (crash right after the Stripe call).
        attempt = (
            CheckoutSession.objects.filter(invoice_id=invoice_id)
            .order_by("-attempt")
            .values_list("attempt", flat=True)
            .first()
            or 0
        ) + 1
        currency = (obj.get("currency") or "cny").upper()
        session = CheckoutSession.objects.create(
            invoice_id=invoice_id,
            attempt=attempt,
            idempotency_key=f"stripe:{obj['id']}",
            stripe_id=obj["id"],
            url=obj.get("url") or "",
            amount=from_minor_units(obj.get("amount_total") or 0, currency),
            currency=currency,
        )
    if session.last_event_at and event.stripe_created < session.last_event_at:
        return session
    status = obj.get("status") or session.status
    if status in _STATUS_RANK and _STATUS_RANK[status] >= _STATUS_RANK[CheckoutStatus(session.status)]:
        session.status = status
    session.stripe_payment_status = obj.get("payment_status") or session.stripe_payment_status
    session.last_event_at = event.stripe_created
    session.save(update_fields=["status", "stripe_payment_status", "last_event_at"])
    return session


def _record_stripe_payment(
    *,
    invoice_id: int | None,
    external_id: str,
    amount_minor: int,
    currency: str,
    payer: str,
    event: StripeEvent,
) -> str:
    """One Payment per PaymentIntent, allocated to the invoice as far as it is still open; any excess
    stays unallocated for finance to refund. Returns the outcome for the event log."""
    invoice = (
        lock_invoice(invoice_id) if invoice_id and Invoice.objects.filter(pk=invoice_id).exists() else None
    )
    if Payment.objects.filter(external_id=external_id).exists():
        return f"payment {external_id} already recorded"
    amount = from_minor_units(amount_minor, currency)
    payment = Payment.objects.create(
        kind=PaymentKind.PAYMENT,
        method=PaymentMethod.STRIPE,
        amount=amount,
        currency=currency.upper(),
        received_at=event.stripe_created,
        payer_name=payer[:200],
        reference=external_id[:100],
        external_id=external_id,
        note=f"Stripe event {event.event_id}",
    )
    allocated = ZERO
    if invoice is not None and invoice.currency == payment.currency and invoice.open_balance > 0:
        allocated = min(amount, invoice.open_balance)
        allocate(actor=None, payment=payment, invoice=invoice, amount=allocated)
    target = invoice or payment
    audit(
        actor=None,
        action="payment.stripe",
        target=target,
        via="stripe",
        data={"payment_intent": external_id, "amount": str(amount), "allocated": str(allocated)},
    )
    return f"payment {amount} {currency.upper()} recorded, {allocated} allocated"


def _on_checkout_paid(event: StripeEvent, *, force_paid: bool = False) -> str:
    obj = event.payload["data"]["object"]
    _sync_checkout_session(obj, event)
    if not force_paid and obj.get("payment_status") != "paid":
        return f"session {obj.get('status')}, payment {obj.get('payment_status')}"
    details = obj.get("customer_details") or {}
    return _record_stripe_payment(
        invoice_id=_invoice_id_from(obj),
        external_id=obj.get("payment_intent") or obj["id"],
        amount_minor=int(obj.get("amount_total") or 0),
        currency=obj.get("currency") or "cny",
        payer=details.get("name") or details.get("email") or "",
        event=event,
    )


def _on_checkout_completed(event: StripeEvent) -> str:
    return _on_checkout_paid(event)


def _on_async_payment_succeeded(event: StripeEvent) -> str:
    return _on_checkout_paid(event, force_paid=True)


def _on_session_state(event: StripeEvent) -> str:
    obj = event.payload["data"]["object"]
    session = _sync_checkout_session(obj, event)
    return f"session {session.status if session else 'unknown'}"


def _on_charge_refunded(event: StripeEvent) -> str:
    """Record what was refunded beyond what we already know (events carry the cumulative amount, so an
    older event arriving late changes nothing). A refund seen before its payment records both."""
    charge = event.payload["data"]["object"]
    payment_intent = charge.get("payment_intent") or charge["id"]
    currency = charge.get("currency") or "cny"
    invoice_id = _invoice_id_from(charge)
    if invoice_id is None:
        return "ignored: charge without invoice"
    invoice = lock_invoice(invoice_id)
    payment = Payment.objects.filter(external_id=payment_intent).first()
    if payment is None:
        _record_stripe_payment(
            invoice_id=invoice_id,
            external_id=payment_intent,
            amount_minor=int(charge.get("amount_captured") or charge.get("amount") or 0),
            currency=currency,
            payer=(charge.get("billing_details") or {}).get("name") or "",
            event=event,
        )
        payment = Payment.objects.get(external_id=payment_intent)
        invoice.refresh_from_db()
    refunded_total = from_minor_units(int(charge.get("amount_refunded") or 0), currency)
    known = -(
        payment.corrections.filter(kind=PaymentKind.REFUND).aggregate(total=Sum("amount"))["total"] or ZERO  # type: ignore[misc]  # a reverse manager of Payment's own FK, which the plugin cannot resolve
    )
    delta = refunded_total - known
    if delta <= 0:
        return "refund already recorded"
    refund = Payment.objects.create(
        kind=PaymentKind.REFUND,
        method=PaymentMethod.STRIPE,
        amount=-delta,
        currency=payment.currency,
        received_at=event.stripe_created,
        reference=charge["id"][:100],
        external_id=f"{charge['id']}:refunded:{charge.get('amount_refunded')}",
        reverses=payment,
        note=f"Stripe event {event.event_id}",
    )
    on_invoice = min(delta, invoice.amount_paid)
    if on_invoice > 0:
        allocate(actor=None, payment=refund, invoice=invoice, amount=-on_invoice)
    audit(
        actor=None, action="payment.stripe_refund", target=invoice, via="stripe", data={"amount": str(delta)}
    )
    return f"refund {delta} recorded"


HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "checkout.session.async_payment_succeeded": _on_async_payment_succeeded,
    "checkout.session.async_payment_failed": _on_session_state,
    "checkout.session.expired": _on_session_state,
    "charge.refunded": _on_charge_refunded,
}


def stripe_events_retry(*, older_than_minutes: int = 10, limit: int = 100) -> int:
    """Apply stored events whose processing failed (Stripe also retries; this closes the gap)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    done = 0
    pending = StripeEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff).order_by(
        "stripe_created"
    )
    for event_id in pending.values_list("event_id", flat=True)[:limit]:
        try:
            stripe_event_process(event_id=event_id)
            done += 1
        except Exception as exc:
            logger.exception("Stripe event %s still fails", event_id)
            StripeEvent.objects.filter(event_id=event_id).update(last_error=repr(exc)[:2000])
    return done
