"""The one module that talks to Stripe. Everything else calls these functions.

Tests replace the HTTP layer (`stripe.default_http_client`, a `stripe.HTTPClient` subclass) and sign
webhook payloads with `stripe.WebhookSignature.generate_signature_header`; the logic here runs as is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error

logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300
# Alipay and WeChat Pay are one-off methods that settle in CNY; USD invoices are paid by card.
PAYMENT_METHODS = {"CNY": ["card", "alipay", "wechat_pay"], "USD": ["card"]}

_client_cache: tuple[str, Any, stripe.StripeClient] | None = None


@dataclass(frozen=True)
class CheckoutSessionData:
    id: str
    url: str
    status: str
    payment_status: str
    amount_total: int
    currency: str
    expires_at: datetime | None


def enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    """One client per (key, HTTP layer); the HTTP layer is stripe.default_http_client when set."""
    global _client_cache
    key, http_client = settings.STRIPE_SECRET_KEY, stripe.default_http_client
    if _client_cache is None or _client_cache[0] != key or _client_cache[1] is not http_client:
        _client_cache = (
            key,
            http_client,
            stripe.StripeClient(key, http_client=http_client, max_network_retries=2),
        )
    return _client_cache[2]


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _session_data(session: Any) -> CheckoutSessionData:
    session = session.to_dict() if hasattr(session, "to_dict") else dict(session)
    return CheckoutSessionData(
        id=session["id"],
        url=session.get("url") or "",
        status=session.get("status") or "open",
        payment_status=session.get("payment_status") or "",
        amount_total=int(session.get("amount_total") or 0),
        currency=(session.get("currency") or "").upper(),
        expires_at=_timestamp(session.get("expires_at")),
    )


def _stripe_failure(exc: Exception) -> Exception:
    logger.warning("Stripe call failed: %s", exc)
    return billing_error(
        BillingError.STRIPE_ERROR,
        _("The payment provider could not be reached; try again shortly."),
        status=502,
    )


def create_checkout_session(
    *,
    idempotency_key: str,
    invoice_id: int,
    invoice_number: str,
    description: str,
    amount_minor: int,
    currency: str,
    success_url: str,
    cancel_url: str,
    customer_email: str = "",
    locale: str = "auto",
) -> CheckoutSessionData:
    """A Checkout Session (mode=payment) for one amount; replaying the key returns the same session."""
    metadata = {"invoice_id": str(invoice_id), "invoice_number": invoice_number}
    methods = PAYMENT_METHODS[currency.upper()]
    params: dict[str, Any] = {
        "mode": "payment",
        "payment_method_types": methods,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount_minor,
                    "product_data": {"name": description},
                },
            }
        ],
        "client_reference_id": str(invoice_id),
        "metadata": metadata,
        # copied to the charge when it is confirmed, so refunds can be traced to the invoice
        "payment_intent_data": {"metadata": metadata, "description": description},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale,
    }
    if "wechat_pay" in methods:
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    if customer_email:
        params["customer_email"] = customer_email
    try:
        session = _client().v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]  # params built conditionally; Stripe validates them
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from exc
    return _session_data(session)


def expire_checkout_session(session_id: str) -> None:
    """Close a superseded session so the customer cannot pay an outdated amount; best effort."""
    try:
        _client().v1.checkout.sessions.expire(session_id, options={"idempotency_key": f"{session_id}:expire"})
    except stripe.StripeError as exc:
        logger.info("could not expire Stripe session %s: %s", session_id, exc)


def verify_webhook(payload: bytes, signature: str) -> dict[str, Any]:
    """The event of a genuine, recent webhook (signature checked on the raw body), as plain JSON."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise billing_error(
            BillingError.STRIPE_DISABLED, _("Stripe webhooks are not configured."), status=503
        )
    try:
        stripe.Webhook.construct_event(payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise billing_error(
            BillingError.SIGNATURE_INVALID, _("The webhook signature is invalid or too old."), status=400
        ) from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise billing_error(
            BillingError.SIGNATURE_INVALID, _("The webhook body is not a Stripe event."), status=400
        )
    return event


def event_created(event: dict[str, Any]) -> datetime:
    return _timestamp(event.get("created")) or datetime.now(tz=UTC)


def retrieve_checkout_session(session_id: str) -> CheckoutSessionData:
    try:
        session = _client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from exc
    return _session_data(session)


def create_refund(*, payment_intent: str, amount_minor: int, idempotency_key: str, reason: str = "") -> str:
    """A refund of (part of) a PaymentIntent; the charge.refunded webhook records the money. Returns the
    refund's status (succeeded, pending, requires_action, failed, canceled)."""
    params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount_minor}
    if reason:
        params["metadata"] = {"reason": reason[:500]}
    try:
        refund = _client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})  # type: ignore[arg-type]  # params built conditionally; Stripe validates them
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from exc
    data = refund.to_dict() if hasattr(refund, "to_dict") else dict(refund)  # type: ignore[call-overload]  # older SDKs' objects are mappings
    return str(data.get("status") or "pending")
