"""Orders, notifications and refunds of the direct online rails (Alipay, WeChat Pay).

The money itself is in Payment rows (append-only); these rows track the conversation with the provider:
which order was opened for which invoice and amount, every verified notification (stored once by the
provider's id), and each refund we asked for.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from editions.models import Currency


class OnlineProvider(models.TextChoices):
    ALIPAY = "alipay", pgettext_lazy("billing", "Alipay (支付宝)")
    WECHATPAY = "wechatpay", pgettext_lazy("billing", "WeChat Pay (微信支付)")
    STRIPE = "stripe", pgettext_lazy("billing", "Stripe (card)")


class OrderChannel(models.TextChoices):
    PAGE = "page", pgettext_lazy("billing", "web checkout page")
    QR = "qr", pgettext_lazy("billing", "QR code")


class OrderStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("billing", "open")
    PAID = "paid", pgettext_lazy("billing", "paid")
    CLOSED = "closed", pgettext_lazy("billing", "closed")


# State only moves forward: a late "closed" or "waiting" never reopens a paid order.
ORDER_STATUS_RANK = {OrderStatus.OPEN: 0, OrderStatus.CLOSED: 1, OrderStatus.PAID: 2}


class ProviderOrder(models.Model):
    """One order opened at Alipay or WeChat Pay for an invoice's open balance (out_trade_no is ours)."""

    provider = models.CharField(_("provider"), max_length=20, choices=OnlineProvider.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=OrderChannel.choices)
    invoice = models.ForeignKey(
        "billing.Invoice", verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="provider_orders"
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    out_trade_no = models.CharField(_("order number"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN, db_index=True
    )
    pay_url = models.TextField(_("payment link"), blank=True, help_text=_("Checkout page or QR content."))
    trade_no = models.CharField(_("provider transaction"), max_length=64, blank=True, db_index=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    paid_at = models.DateTimeField(pgettext_lazy("billing", "paid"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last status query"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("online payment order")
        verbose_name_plural = _("online payment orders")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "provider", "attempt"], name="uniq_provider_order_attempt"
            ),
        ]

    def __str__(self) -> str:
        return self.out_trade_no


class NotificationStatus(models.TextChoices):
    APPLIED = "applied", pgettext_lazy("billing", "applied")
    IGNORED = "ignored", pgettext_lazy("billing", "nothing to do")
    REFUSED = "refused", pgettext_lazy("billing", "refused")
    FAILED = "failed", pgettext_lazy("billing", "failed")


class ProviderNotification(models.Model):
    """A genuine (signature-verified) notification or status answer, stored once by the provider's id;
    forged ones are only logged. Refused ones (unknown order, amount or app id mismatch) stay for
    finance to look at."""

    provider = models.CharField(_("provider"), max_length=20, choices=OnlineProvider.choices)
    event_id = models.CharField(_("notification id"), max_length=128)
    kind = models.CharField(_("kind"), max_length=20)
    out_trade_no = models.CharField(_("order number"), max_length=64, blank=True, db_index=True)
    trade_no = models.CharField(_("provider transaction"), max_length=64, blank=True)
    order = models.ForeignKey(
        ProviderOrder,
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=NotificationStatus.choices)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    received_at = models.DateTimeField(pgettext_lazy("billing", "received"), default=timezone.now)

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="uniq_provider_notification"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", pgettext_lazy("billing", "requested")
    PENDING = "pending", pgettext_lazy("billing", "processing at the provider")
    SUCCEEDED = "succeeded", pgettext_lazy("billing", "refunded")
    FAILED = "failed", pgettext_lazy("billing", "failed")


class ProviderRefund(models.Model):
    """A refund finance asked the provider for. The money leaving is recorded as its own refund Payment
    row once the provider confirms it; this row is the request and its state."""

    provider = models.CharField(_("provider"), max_length=20, choices=OnlineProvider.choices)
    payment = models.ForeignKey(
        "billing.Payment", verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refund_requests"
    )
    out_refund_no = models.CharField(_("refund number"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    provider_refund_id = models.CharField(_("provider refund id"), max_length=64, blank=True)
    refund_payment = models.OneToOneField(
        "billing.Payment",
        verbose_name=_("refund entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refund_request",
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.out_refund_no
