"""The payment-provider seam: what Stripe, Alipay and WeChat Pay each implement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from billing.models import Invoice, Payment
from portal.core.actors import Actor


@dataclass(frozen=True)
class PaymentStart:
    """Where the customer goes next: a page to redirect to, or a QR code to show (and scan)."""

    provider: str
    channel: str
    kind: Literal["redirect", "qr"]
    url: str
    amount: Decimal
    currency: str
    reference: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class NotificationResult:
    """How a notification was handled, and the exact answer body/status the provider expects."""

    accepted: bool
    outcome: str
    status: int
    body: bytes
    content_type: str
    duplicate: bool = False


@dataclass(frozen=True)
class RefundResult:
    status: str  # RefundStatus value
    detail: str
    refund_id: int | None = None


@dataclass(frozen=True)
class PaymentState:
    """What the provider says about the invoice's latest order, after applying it (query status)."""

    provider: str
    reference: str
    status: str  # open | paid | closed | unknown
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    code: str
    method: str  # PaymentMethod of the payments it records

    def label(self) -> str: ...

    def enabled(self) -> bool:
        """Configured (its settings are set)."""

    def currencies(self) -> frozenset[str]: ...

    def channels(self) -> tuple[str, ...]:
        """OrderChannel values it offers, the preferred first."""

    def start(self, *, actor: Actor, invoice: Invoice, channel: str | None = None) -> PaymentStart:
        """Open (or reuse) a payment for the invoice's open balance."""

    def receive_notification(self, *, body: bytes, headers: Mapping[str, str]) -> NotificationResult:
        """Verify a notification on its raw body and apply it once; never raises for bad input."""

    def refund(self, *, actor: Actor, payment: Payment, amount: Decimal, reason: str = "") -> RefundResult:
        """Give money of a payment back through the provider."""

    def query_status(self, *, invoice: Invoice) -> PaymentState:
        """Ask the provider about the invoice's latest order and apply what it says."""
