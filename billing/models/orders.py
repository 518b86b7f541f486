"""A module bought online for a running contract: the prorated invoice and, once it is paid, the module
added to the contract (its licenses follow at the next check-in)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ModuleOrderState(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("awaiting payment")
    APPLIED = "applied", _("module added")
    CANCELLED = "cancelled", _("cancelled")


class ModuleOrder(models.Model):
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        on_delete=models.PROTECT,
        related_name="module_orders",
    )
    module = models.ForeignKey(
        "editions.Module", verbose_name=_("module"), on_delete=models.PROTECT, related_name="+"
    )
    invoice = models.OneToOneField(
        "billing.Invoice", verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="module_order"
    )
    amount = models.DecimalField(_("prorated fee (net)"), max_digits=18, decimal_places=2)
    state = models.CharField(
        _("state"), max_length=20, choices=ModuleOrderState.choices, default=ModuleOrderState.AWAITING_PAYMENT
    )
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ordered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("ordered"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        verbose_name = _("module order")
        verbose_name_plural = _("module orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "module"],
                condition=models.Q(state="awaiting_payment"),
                name="one_open_module_order_per_contract_module",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} + {self.module_id}"
