"""Money received and paid back: append-only payments, their allocation to invoices, Stripe records."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.errors import BillingError, billing_error
from billing.money import ZERO
from editions.models import Currency


class AppendOnlyModel(models.Model):
    """Rows that count money are written once: no update, no delete (corrections are new rows)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise billing_error(
                BillingError.APPEND_ONLY,
                _("%(model)s rows are append-only.") % {"model": self._meta.verbose_name},
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise billing_error(
            BillingError.APPEND_ONLY,
            _("%(model)s rows are append-only.") % {"model": self._meta.verbose_name},
        )


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise billing_error(BillingError.APPEND_ONLY, _("These rows are append-only."))

    def delete(self) -> Any:
        raise billing_error(BillingError.APPEND_ONLY, _("These rows are append-only."))


class PaymentMethod(models.TextChoices):
    STRIPE = "stripe", pgettext_lazy("billing", "online (Stripe)")
    BANK_TRANSFER = "bank_transfer", _("bank transfer (对公转账)")
    OTHER = "other", pgettext_lazy("billing", "other")


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", pgettext_lazy("billing", "payment received")
    REFUND = "refund", pgettext_lazy("billing", "refund to the customer")
    REVERSAL = "reversal", pgettext_lazy("billing", "correction of a wrong entry")


class Payment(AppendOnlyModel):
    """Money that came in (positive) or went back out (negative). One bank transfer may pay several
    invoices: see its allocations; what is not allocated yet waits for reconciliation."""

    kind = models.CharField(
        _("kind"), max_length=10, choices=PaymentKind.choices, default=PaymentKind.PAYMENT
    )
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    received_at = models.DateTimeField(
        pgettext_lazy("billing", "received"), default=timezone.now, db_index=True
    )
    payer_name = models.CharField(_("payer"), max_length=200, blank=True)
    payer_account = models.CharField(_("payer account"), max_length=60, blank=True)
    reference = models.CharField(_("bank reference"), max_length=100, blank=True, db_index=True)
    memo = models.CharField(
        _("memo"), max_length=300, blank=True, help_text=_("The transfer's remark (附言).")
    )
    external_id = models.CharField(
        _("external id"), max_length=120, null=True, blank=True, unique=True, help_text=_("Stripe object id.")
    )
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("corrects payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    note = models.CharField(_("internal note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="payment", amount__gt=0)
                | (~models.Q(kind="payment") & models.Q(amount__lt=0)),
                name="payment_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency} {timezone.localtime(self.received_at):%Y-%m-%d}"


class PaymentAllocation(AppendOnlyModel):
    """Which part of a payment settles which invoice. Signed like its payment."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="allocations"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("allocated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("allocated"), default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="allocation_not_zero")]

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice}"


class CheckoutStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("billing", "open")
    COMPLETE = "complete", pgettext_lazy("billing", "complete")
    EXPIRED = "expired", pgettext_lazy("billing", "expired")


class CheckoutSession(models.Model):
    """A Stripe Checkout Session opened for an invoice; state follows the newest webhook applied."""

    invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="checkout_sessions",
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    idempotency_key = models.CharField(max_length=100, unique=True)
    stripe_id = models.CharField(_("Stripe session"), max_length=255, unique=True)
    url = models.URLField(_("payment page"), max_length=2000, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN
    )
    stripe_payment_status = models.CharField(_("Stripe payment status"), max_length=30, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last event"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("online checkout")
        verbose_name_plural = _("online checkouts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "attempt"], name="uniq_checkout_attempt"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class StripeEvent(models.Model):
    """Every webhook event, stored once by its id before it is acted upon."""

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    stripe_created = models.DateTimeField(_("created at Stripe"))
    livemode = models.BooleanField(default=False)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(pgettext_lazy("billing", "received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


def unallocated_expression() -> Any:
    """amount − Σ allocations, as an annotation (reconciliation lists many payments at once)."""
    from django.db.models import DecimalField, Sum, Value
    from django.db.models.functions import Coalesce

    return models.F("amount") - Coalesce(
        Sum("allocations__amount"), Value(ZERO), output_field=DecimalField(max_digits=18, decimal_places=2)
    )
