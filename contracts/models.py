"""Contracts: an organization's right to an edition for a term, and everything derived from it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from editions.models import Currency, Edition, Module, ModuleKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    ACTIVE = "active", _("active")
    EXPIRED = "expired", _("expired")
    CANCELLED = "cancelled", _("cancelled")


# The state machine, as data: the one place that says which moves are allowed.
CONTRACT_TRANSITIONS: dict[str, set[str]] = {
    ContractStatus.DRAFT: {ContractStatus.ACTIVE, ContractStatus.CANCELLED},
    ContractStatus.ACTIVE: {ContractStatus.EXPIRED, ContractStatus.CANCELLED},
    ContractStatus.EXPIRED: set(),
    ContractStatus.CANCELLED: set(),
}

EXPIRING_WINDOW_DAYS = 90


class ContractOrigin(models.TextChoices):
    """Who placed the order: sales (the default) or the customer online, from /pricing/."""

    SALES = "sales", _("sales-led")
    SELF_SERVICE = "self_service", _("self-service")


class ContractQuerySet(models.QuerySet):
    def active(self) -> ContractQuerySet:
        return self.filter(status=ContractStatus.ACTIVE)

    def for_organization(self, organization_id: int) -> ContractQuerySet:
        return self.filter(organization_id=organization_id)


class Contract(models.Model):
    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    edition = models.ForeignKey(
        Edition, verbose_name=_("edition"), on_delete=models.PROTECT, related_name="contracts"
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ContractStatus.choices,
        default=ContractStatus.DRAFT,
        db_index=True,
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), db_index=True)
    modules = models.ManyToManyField(
        Module,
        verbose_name=_("chosen modules"),
        blank=True,
        related_name="contracts",
        help_text=_("Modules beyond those the edition includes."),
    )
    device_limit = models.PositiveIntegerField(
        _("device limit override"), null=True, blank=True, help_text=_("Empty: the edition's limit.")
    )
    price = models.DecimalField(
        _("price"), max_digits=18, decimal_places=2, validators=[MinValueValidator(0)], default=0
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    renewal_of = models.OneToOneField(
        "self",
        verbose_name=_("renews"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewal",
    )
    partner = models.ForeignKey(
        "customers.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    custom_dev_hours = models.PositiveIntegerField(_("included custom-development hours"), default=0)
    nda_signed_on = models.DateField(_("NDA signed on"), null=True, blank=True)
    grace_days = models.PositiveSmallIntegerField(
        _("grace days"),
        null=True,
        blank=True,
        help_text=_("Days licenses keep working after the end. Empty: default."),
    )
    notes = models.TextField(_("notes"), blank=True)
    origin = models.CharField(
        _("origin"),
        max_length=20,
        choices=ContractOrigin.choices,
        default=ContractOrigin.SALES,
        db_index=True,
    )
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True, editable=False)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gt=models.F("start_date")), name="contract_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["status", "end_date"])]

    def __str__(self) -> str:
        return self.number or str(_("new contract"))

    # Derived facts (what a contract grants as a whole, and which contract of a renewal chain is in
    # force: contracts.entitlements) ---------------------------------------------------------------

    @property
    def effective_device_limit(self) -> int | None:
        return self.device_limit if self.device_limit is not None else self.edition.device_limit

    @property
    def effective_grace_days(self) -> int:
        return self.grace_days if self.grace_days is not None else settings.LICENSE_GRACE_DAYS

    def days_to_expiry(self, today: date | None = None) -> int:
        return (self.end_date - (today or timezone.localdate())).days

    @property
    def is_expiring(self) -> bool:
        return self.status == ContractStatus.ACTIVE and 0 <= self.days_to_expiry() <= EXPIRING_WINDOW_DAYS

    @property
    def display_status(self) -> str:
        return str(_("expiring")) if self.is_expiring else self.get_status_display()

    # Validation (shared by admin forms, the API and services) ------------------------------------

    def clean(self) -> None:
        errors: dict[str, list[StrOrPromise]] = {}
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            errors.setdefault("end_date", []).append(_("The end date must be after the start date."))
        if errors:
            raise ValidationError(errors)

    def clean_modules(self, modules: list[Module]) -> None:
        """Modules must be ones the edition allows; verticals-of-choice editions pick at most N."""
        edition = self.edition
        allowed = edition.allowed_module_codes()
        not_allowed = sorted(m.code for m in modules if m.code not in allowed)
        if not_allowed:
            raise ValidationError(
                {
                    "modules": _("The %(edition)s edition does not offer: %(modules)s.")
                    % {"edition": edition.name, "modules": ", ".join(not_allowed)}
                }
            )
        if edition.verticals_of_choice is not None:
            verticals = [m for m in modules if m.kind == ModuleKind.VERTICAL]
            if len(verticals) > edition.verticals_of_choice:
                raise ValidationError(
                    {
                        "modules": _(
                            "The %(edition)s edition includes %(n)d industry vertical of choice; %(k)d chosen."
                        )
                        % {"edition": edition.name, "n": edition.verticals_of_choice, "k": len(verticals)}
                    }
                )

    def clean_for_activation(self) -> None:
        """Rules that must hold before a contract can become active."""
        errors: dict[str, list[StrOrPromise]] = {}
        if self.edition.requires_nda and not self.nda_signed_on:
            errors.setdefault("nda_signed_on", []).append(
                _("A %(edition)s contract needs the date the NDA was signed before it can be activated.")
                % {"edition": self.edition.name}
            )
        if self.edition.verticals_of_choice:
            chosen = sum(1 for m in self.modules.all() if m.kind == ModuleKind.VERTICAL)
            if chosen != self.edition.verticals_of_choice:
                errors.setdefault("modules", []).append(
                    _("Choose %(n)d industry vertical(s) before activating; %(k)d chosen.")
                    % {"n": self.edition.verticals_of_choice, "k": chosen}
                )
        if self.end_date <= timezone.localdate():
            errors.setdefault("end_date", []).append(_("The contract has already ended."))
        if errors:
            raise ValidationError(errors)


# Renewal reminders ---------------------------------------------------------------------------------


class ReminderState(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("skipped")


# Milestone keys: "<n>d" for n days before the end (the schedule is the CONTRACT_REMINDER_DAYS setting),
# plus the end of the grace period and reminders staff send by hand.
MILESTONE_GRACE_END = "grace_end"
MILESTONE_MANUAL = "manual"


def milestone_for_days(days: int) -> str:
    return f"{days}d"


def milestone_label(milestone: str) -> str:
    if milestone == MILESTONE_GRACE_END:
        return str(_("grace period ended"))
    if milestone == MILESTONE_MANUAL:
        return str(_("sent by staff"))
    days = int(milestone.removesuffix("d"))
    if days == 0:
        return str(_("on the end date"))
    return str(_("%(days)d days before the end") % {"days": days})


class ContractReminder(models.Model):
    """One renewal reminder of a contract. The row is the claim: at most one per (contract, milestone),
    enforced by the database, so a job that runs twice or is retried cannot mail twice; it moves
    pending → sent (or failed after the retries, or skipped when there is nothing to remind of)."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="reminders"
    )
    milestone = models.CharField(_("milestone"), max_length=20)
    due_on = models.DateField(_("due on"))
    state = models.CharField(
        _("state"), max_length=10, choices=ReminderState.choices, default=ReminderState.PENDING
    )
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    reached_customer = models.BooleanField(
        _("reached the customer"),
        null=True,
        blank=True,
        help_text=_("No: nobody at the customer could be mailed (only the account owner, or nobody)."),
    )

    class Meta:
        verbose_name = _("contract reminder")
        verbose_name_plural = _("contract reminders")
        ordering = ["-due_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "milestone"],
                condition=~models.Q(milestone=MILESTONE_MANUAL),
                name="contract_reminder_once_per_milestone",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_on"], name="contract_reminder_state_due")]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.milestone} {self.state}"

    @property
    def milestone_display(self) -> str:
        return milestone_label(self.milestone)


# Trials ----------------------------------------------------------------------------------------------


class TrialKind(models.TextChoices):
    SELF_SERVICE = "self_service", _("self-service trial")
    POC = "poc", _("proof of concept (granted by sales)")


class TrialConversion(models.TextChoices):
    PURCHASE = "purchase", _("purchase")
    QUOTE_REQUEST = "quote_request", _("quote request")


class Trial(models.Model):
    """A time-limited, free contract of an edition. Self-service trials are one per organization and
    edition (the database says so); sales grant POC trials of any length and extend either. Converting
    creates the paid contract as the trial contract's renewal, so deployments keep their activation
    and their next check-in answers `renewed`."""

    contract = models.OneToOneField(
        Contract, verbose_name=_("trial contract"), on_delete=models.PROTECT, related_name="trial"
    )
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="trials",
    )
    edition = models.ForeignKey(
        Edition, verbose_name=_("edition"), on_delete=models.PROTECT, related_name="trials"
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=TrialKind.choices, default=TrialKind.SELF_SERVICE
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    extended_days = models.PositiveIntegerField(_("days added by sales"), default=0)
    conversion = models.CharField(
        _("converted into"), max_length=20, choices=TrialConversion.choices, blank=True
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)

    class Meta:
        verbose_name = _("trial")
        verbose_name_plural = _("trials")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "edition"],
                condition=models.Q(kind="self_service"),
                name="trial_once_per_organization_and_edition",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.edition_id} {self.kind}"

    @property
    def ends_on(self) -> date:
        return self.contract.end_date

    def days_left(self, today: date | None = None) -> int:
        return max(0, (self.contract.end_date - (today or timezone.localdate())).days + 1)


class UnreachedReminderQuerySet(models.QuerySet):
    def unreached(self) -> UnreachedReminderQuerySet:
        return self.filter(
            models.Q(reached_customer=False)
            | models.Q(state=ReminderState.SKIPPED, last_error="no_recipients")
        )


class UnreachedReminder(ContractReminder):
    """Admin's list "renewals nobody was told about": milestones whose reminder reached nobody at the
    customer (only the account owner's internal copy, or nobody at all)."""

    objects = UnreachedReminderQuerySet.as_manager()  # type: ignore[misc]  # the proxy's own queryset

    class Meta:
        proxy = True
        verbose_name = _("renewal nobody was told about")
        verbose_name_plural = _("renewals nobody was told about")
