"""The payment-provider seam (DESIGN §8 payment rails): Alipay, WeChat Pay and Stripe implement one
protocol (billing.payments.base.PaymentProvider); the registry picks by the invoice's currency, what is
configured, and the customer's choice.

Domestic CNY invoices offer Alipay and WeChat Pay first (Stripe does not onboard mainland merchants);
USD invoices go to Stripe. A rail is offered when its settings are set.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.models import Invoice, OnlineProvider, Payment, PaymentMethod, RefundStatus
from billing.payments.alipay import AlipayProvider
from billing.payments.base import (
    NotificationResult,
    PaymentProvider,
    PaymentStart,
    PaymentState,
    RefundResult,
)
from billing.payments.stripe import StripeProvider
from billing.payments.wechatpay import WechatPayProvider
from billing.services import online
from portal.core.actors import Actor

# The order the pay page lists them in (the first available is the default).
PROVIDERS: tuple[PaymentProvider, ...] = (AlipayProvider(), WechatPayProvider(), StripeProvider())  # type: ignore[assignment]  # the providers implement PaymentProvider with narrower keyword types
_BY_CODE: dict[str, PaymentProvider] = {p.code: p for p in PROVIDERS}
_BY_METHOD: dict[str, PaymentProvider] = {p.method: p for p in PROVIDERS}


def get(code: str) -> PaymentProvider:
    try:
        return _BY_CODE[code]
    except KeyError:
        raise billing_error(
            BillingError.PAYMENT_UNAVAILABLE, _("Online payment is not available."), status=404
        ) from None


def for_payment(payment: Payment) -> PaymentProvider:
    provider = _BY_METHOD.get(payment.method)
    if provider is None or not provider.enabled():
        raise billing_error(
            BillingError.REFUND_NOT_POSSIBLE,
            _("This payment was not made online; refund it by bank transfer."),
        )
    return provider


def available_for_currency(currency: str) -> list[PaymentProvider]:
    return [p for p in PROVIDERS if p.enabled() and currency.upper() in p.currencies()]


def available_for(invoice: Invoice) -> list[PaymentProvider]:
    return available_for_currency(invoice.currency)


def online_currencies() -> set[str]:
    return {c for p in PROVIDERS if p.enabled() for c in p.currencies()}


def choose(invoice: Invoice, choice: str | None = None, *, user_agent: str = "") -> PaymentProvider:
    """The customer's choice when it is offered for this invoice; else the app the page was opened in
    (a QR scanned with Alipay or WeChat opens our link inside that app); else the first offered."""
    offered = available_for(invoice)
    if not offered:
        raise billing_error(
            BillingError.PAYMENT_UNAVAILABLE, _("Online payment is not available."), status=503
        )
    if choice:
        for provider in offered:
            if provider.code == choice:
                return provider
        raise billing_error(
            BillingError.PAYMENT_UNAVAILABLE,
            _("This payment method is not offered for this invoice."),
            status=400,
        )
    app = in_app(user_agent)
    for provider in offered:
        if provider.code == app:
            return provider
    return offered[0]


def in_app(user_agent: str) -> str:
    """The provider whose app's browser sent the request, if any."""
    if "AlipayClient" in user_agent:
        return OnlineProvider.ALIPAY
    if "MicroMessenger" in user_agent:
        return OnlineProvider.WECHATPAY
    return ""


def invoice_payment_start(
    *,
    actor: Actor,
    invoice: Invoice,
    provider: str | None = None,
    channel: str | None = None,
    user_agent: str = "",
) -> PaymentStart:
    chosen = choose(invoice, provider, user_agent=user_agent)
    if (
        channel is None
        and chosen.code == OnlineProvider.ALIPAY
        and in_app(user_agent) == OnlineProvider.ALIPAY
    ):
        channel = "qr"  # inside the Alipay app, its QR link opens the payment directly
    return chosen.start(actor=actor, invoice=invoice, channel=channel)


def payment_refund_online(*, actor: Actor, payment: Payment, amount: Any, reason: str = "") -> RefundResult:
    """Refund (part of) an online payment through the provider that took it."""
    return for_payment(payment).refund(actor=actor, payment=payment, amount=amount, reason=reason)


__all__ = [
    "PROVIDERS",
    "NotificationResult",
    "PaymentMethod",
    "PaymentProvider",
    "PaymentStart",
    "PaymentState",
    "RefundResult",
    "available_for",
    "available_for_currency",
    "choose",
    "for_payment",
    "get",
    "in_app",
    "invoice_payment_start",
    "online_currencies",
    "payment_refund_online",
]


def provider_payments_sync(*, limit: int = 200) -> dict[str, int]:
    """Query open orders whose notification may be lost and resend or re-query unfinished refunds; each
    answer goes through the same apply path as a notification (idempotent). One failure never stops the
    rest."""
    import logging

    logger = logging.getLogger(__name__)
    done = {"orders": 0, "paid": 0, "refunds": 0, "errors": 0}
    for order in online.orders_to_sync(limit=limit):
        provider = _BY_CODE.get(order.provider)
        if provider is None or not provider.enabled():
            continue
        try:
            state = provider.sync_order(order)  # type: ignore[attr-defined]
        except Exception:
            logger.exception("status query of %s failed", order.out_trade_no)
            done["errors"] += 1
            continue
        done["orders"] += 1
        done["paid"] += state.status == "paid"
    for request in online.refunds_pending().select_related("payment")[:limit]:
        provider = _BY_CODE.get(request.provider)
        if provider is None or not provider.enabled():
            continue
        try:
            result = provider.retry_refund(request=request)  # type: ignore[attr-defined]
        except Exception:
            logger.exception("refund %s could not be completed", request.out_refund_no)
            done["errors"] += 1
            continue
        done["refunds"] += result.status == RefundStatus.SUCCEEDED
    return done
