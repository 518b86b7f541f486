"""What the support desk costs (seed 002 §4): engineers' cost rates and monthly tool and operation costs.

The figures that use them (cost, revenue, profit per period, customer and edition) are computed in
billing.reports.support_economics, with the time entries engineers log on tickets."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from editions.models import Currency


class CostBasis(models.TextChoices):
    MONTH = "month", _("per month (salary and on-costs)")
    HOUR = "hour", _("per hour logged")


class StaffCostRate(models.Model):
    """An engineer's loaded cost (工资及社保公积金等) from valid_from until valid_until (inclusive; empty: open)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("engineer"),
        on_delete=models.PROTECT,
        related_name="support_cost_rates",
        limit_choices_to={"is_staff": True},
    )
    basis = models.CharField(_("basis"), max_length=10, choices=CostBasis.choices, default=CostBasis.MONTH)
    amount = models.DecimalField(
        _("amount"), max_digits=18, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Inclusive."))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("engineer cost rate")
        verbose_name_plural = _("engineer cost rates")
        ordering = ["user__username", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="staff_cost_rate_period",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="staff_cost_rate_amount"),
        ]
        indexes = [models.Index(fields=["user", "valid_from"])]

    def __str__(self) -> str:
        return f"{self.user} {self.amount} {self.currency}/{self.basis}"

    def clean(self) -> None:
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The end is before the start.")})
        if not self.user_id or not self.valid_from:
            return
        overlapping = StaffCostRate.objects.filter(user_id=self.user_id, basis=self.basis).exclude(pk=self.pk)
        overlapping = overlapping.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=self.valid_from))
        if self.valid_until:
            overlapping = overlapping.filter(valid_from__lte=self.valid_until)
        if overlapping.exists():
            raise ValidationError(
                _("This engineer already has a rate of this basis in that period; end it first.")
            )


class SupportCostKind(models.TextChoices):
    TOOL = "tool", _("tools (software, services)")
    OPERATION = "operation", _("operations (office, phone, travel, training)")


class SupportCost(models.Model):
    """A monthly cost of the support desk, from valid_from until valid_until (inclusive; empty: open).
    A one-off cost is a row valid for the days of its month."""

    kind = models.CharField(_("kind"), max_length=10, choices=SupportCostKind.choices)
    name = models.CharField(_("name"), max_length=200)
    monthly_amount = models.DecimalField(
        _("amount per month"), max_digits=18, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Inclusive."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("support tool or operation cost")
        verbose_name_plural = _("support tool and operation costs")
        ordering = ["kind", "name", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="support_cost_period",
            ),
            models.CheckConstraint(condition=Q(monthly_amount__gte=0), name="support_cost_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("The end is before the start.")})


class SupportEconomicsReport(StaffCostRate):
    """No table of its own: gives the economics page a place in the admin's support section."""

    class Meta:
        proxy = True
        verbose_name = _("support economics")
        verbose_name_plural = _("support economics: cost, revenue, profit")
        default_permissions = ("view",)
