"""The partner area's records: partner users (a seat in a partner, like a Membership in an
organization), their invitations, and deal registrations (a partner's claim on an opportunity).

Imported at the end of customers/models.py, so `customers.models.PartnerMembership` etc. work."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Industry, InvitationBase, Organization, Partner
from editions.models import Currency


class PartnerRole(models.TextChoices):
    ADMIN = "partner_admin", _("partner administrator")
    SALES = "partner_sales", _("partner sales")


class PartnerMembership(models.Model):
    """A portal user's seat in a channel partner; the role decides what they may do in the partner area."""

    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="partner_memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=PartnerRole.choices, default=PartnerRole.SALES)
    created_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("partner user")
        verbose_name_plural = _("partner users")
        ordering = ["partner__name", "role"]
        constraints = [models.UniqueConstraint(fields=["partner", "user"], name="uniq_partner_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner} ({self.get_role_display()})"


class PartnerInvitation(InvitationBase):
    """An invitation to join a partner, as customers.Invitation is for an organization."""

    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="invitations"
    )
    role = models.CharField(_("role"), max_length=20, choices=PartnerRole.choices, default=PartnerRole.SALES)

    class Meta:
        verbose_name = _("partner invitation")
        verbose_name_plural = _("partner invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["partner", "email"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.partner}"


class DealStatus(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("deal", "submitted")
    APPROVED = "approved", pgettext_lazy("deal", "approved")
    REJECTED = "rejected", pgettext_lazy("deal", "rejected")
    WON = "won", pgettext_lazy("deal", "won")
    LOST = "lost", pgettext_lazy("deal", "lost")


# A registration's life as data: sales decide on a submitted one; an approved one is won or lost.
DEAL_TRANSITIONS: dict[str, set[str]] = {
    DealStatus.SUBMITTED: {DealStatus.APPROVED, DealStatus.REJECTED},
    DealStatus.APPROVED: {DealStatus.WON, DealStatus.LOST},
    DealStatus.REJECTED: set(),
    DealStatus.WON: set(),
    DealStatus.LOST: set(),
}

OPEN_DEAL_STATUSES = frozenset({DealStatus.SUBMITTED, DealStatus.APPROVED})


class DealRegistration(models.Model):
    """An opportunity a partner registers (报备). Approved, it protects the partner's claim on the end
    customer until `protected_until`; won, it becomes the customer's organization and contract with
    the partner attached (through an inquiry, converted as every won inquiry is)."""

    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="deals"
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    company_name = models.CharField(_("end customer"), max_length=200)
    taxpayer_id = models.CharField(_("taxpayer ID / unified social credit code"), max_length=30, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices)
    country = models.CharField(_("country"), max_length=2, default="CN")
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_email = models.EmailField(
        _("contact email"), help_text=_("The end customer's contact; becomes the customer's primary contact.")
    )
    edition = models.ForeignKey(
        "editions.Edition", verbose_name=_("edition"), on_delete=models.PROTECT, related_name="+"
    )
    expected_devices = models.PositiveIntegerField(
        _("expected devices"), validators=[MinValueValidator(1)], default=1
    )
    expected_value = models.DecimalField(
        _("expected value"), max_digits=18, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    expected_close_date = models.DateField(_("expected close date"))
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=DealStatus.choices, default=DealStatus.SUBMITTED, db_index=True
    )
    conflicts = models.JSONField(
        _("conflicts"),
        default=list,
        blank=True,
        editable=False,
        help_text=_("Existing customers and other partners' open registrations for the same company."),
    )
    decision_reason = models.CharField(_("reason"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    protected_until = models.DateField(_("protected until"), null=True, blank=True)
    inquiry = models.OneToOneField(
        "customers.Inquiry",
        verbose_name=_("inquiry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deal",
        editable=False,
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        editable=False,
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        editable=False,
    )
    created_at = models.DateTimeField(_("registered"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("deal registration")
        verbose_name_plural = _("deal registrations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(decision_reason=""),
                name="deal_rejected_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.partner})"

    @property
    def has_conflicts(self) -> bool:
        return bool(self.conflicts)

    @property
    def is_protected(self) -> bool:
        return (
            self.status == DealStatus.APPROVED
            and self.protected_until is not None
            and self.protected_until >= timezone.localdate()
        )

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        self.country = (self.country or "").upper()
        self.taxpayer_id = (self.taxpayer_id or "").strip().upper()
        if not self.company_name.strip():
            errors["company_name"] = _("Name the end customer.")
        if self.status == DealStatus.REJECTED and not self.decision_reason.strip():
            errors["decision_reason"] = _("Say why the registration is rejected.")
        if errors:
            raise ValidationError(errors)
