"""Stripe behind the seam: Checkout for customers paying from abroad (and CNY by card when configured).

The behaviour is billing.services.stripe's, unchanged; this adapter only speaks the seam's language."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing import stripe_gateway as gateway
from billing.errors import BillingError, billing_error
from billing.models import (
    CheckoutStatus,
    Invoice,
    OnlineProvider,
    OrderChannel,
    Payment,
    PaymentMethod,
    RefundStatus,
)
from billing.money import to_minor_units
from billing.payments.base import NotificationResult, PaymentStart, PaymentState, RefundResult
from billing.services import online
from billing.services.stripe import invoice_checkout_start, stripe_webhook_receive
from portal.core.actors import Actor
from portal.core.errors import ApplicationError

_REFUND_STATES = {"succeeded": RefundStatus.PENDING, "pending": RefundStatus.PENDING}


class StripeProvider:
    code = OnlineProvider.STRIPE
    method = PaymentMethod.STRIPE

    def label(self) -> str:
        return pgettext("billing", "Card (Stripe)")

    def enabled(self) -> bool:
        return gateway.enabled()

    def currencies(self) -> frozenset[str]:
        return frozenset(gateway.PAYMENT_METHODS)

    def channels(self) -> tuple[str, ...]:
        return (OrderChannel.PAGE,)

    def start(self, *, actor: Actor, invoice: Invoice, channel: str | None = None) -> PaymentStart:
        session = invoice_checkout_start(actor=actor, invoice=invoice)
        return PaymentStart(
            provider=self.code,
            channel=OrderChannel.PAGE,
            kind="redirect",
            url=session.url,
            amount=session.amount,
            currency=session.currency,
            reference=session.stripe_id,
            expires_at=session.expires_at,
        )

    def receive_notification(self, *, body: bytes, headers: Mapping[str, str]) -> NotificationResult:
        try:
            event, created = stripe_webhook_receive(
                payload=body, signature=headers.get("Stripe-Signature", "")
            )
        except ApplicationError as exc:
            payload = json.dumps(exc.as_payload(), ensure_ascii=False).encode()
            return NotificationResult(False, exc.detail, exc.status, payload, "application/json")
        payload = json.dumps({"received": True, "duplicate": not created, "outcome": event.outcome}).encode()
        return NotificationResult(True, event.outcome, 200, payload, "application/json", not created)

    def refund(self, *, actor: Actor, payment: Payment, amount: Decimal, reason: str = "") -> RefundResult:
        """Asked of Stripe; the money is recorded when the charge.refunded webhook reports it, as for
        refunds made in the Stripe dashboard."""
        if payment.method != PaymentMethod.STRIPE or not payment.external_id:
            raise billing_error(BillingError.REFUND_NOT_POSSIBLE, _("This payment was not made with Stripe."))
        request = online.provider_refund_create(
            actor=actor, payment=payment, amount=amount, reason=reason, provider=self.code
        )
        return self.retry_refund(request=request, actor=actor)

    def retry_refund(self, *, request: Any, actor: Actor = None) -> RefundResult:
        status = gateway.create_refund(
            payment_intent=request.payment.external_id,
            amount_minor=to_minor_units(request.amount, request.currency),
            idempotency_key=f"refund:{request.out_refund_no}",
            reason=request.reason,
        )
        settled = _REFUND_STATES.get(status, RefundStatus.FAILED)
        request = online.provider_refund_settle(
            actor=actor,
            refund=request,
            status=settled,
            detail=f"Stripe refund {status}",
            record_money=False,
        )
        return RefundResult(status=request.status, detail=status, refund_id=request.pk)

    def query_status(self, *, invoice: Invoice) -> PaymentState:
        session = invoice.checkout_sessions.order_by("-attempt").first()
        if session is None:
            return PaymentState(self.code, "", "unknown", "no checkout")
        data = gateway.retrieve_checkout_session(session.stripe_id)
        status = {"complete": "paid", "expired": "closed"}.get(data.status, "open")
        if data.status == CheckoutStatus.COMPLETE and data.payment_status != "paid":
            status = "open"  # an asynchronous method still settling; the webhook applies it
        return PaymentState(self.code, session.stripe_id, status, data.payment_status)
