"""Back-office records around invoices: dunning reminders, export jobs, partner commissions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models.payments import AppendOnlyModel, AppendOnlyQuerySet
from editions.models import Currency


class DunningReminder(models.Model):
    """One reminder per invoice and stage (days after the due date), enforced by the database."""

    invoice = models.ForeignKey(
        "billing.Invoice", verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="reminders"
    )
    stage_days = models.PositiveSmallIntegerField(_("days after due date"))
    recipient = models.CharField(_("recipient"), max_length=500, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    skipped = models.BooleanField(
        _("skipped"), default=False, help_text=_("A later stage was already due, so only that one was sent.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(pgettext_lazy("billing", "sent"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("payment reminder")
        verbose_name_plural = _("payment reminders")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "stage_days"], name="uniq_reminder_per_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} +{self.stage_days}d"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    PDF_ZIP = "zip", pgettext_lazy("billing", "ZIP of PDFs")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("billing", "queued")
    RUNNING = "running", pgettext_lazy("billing", "running")
    DONE = "done", pgettext_lazy("billing", "ready")
    FAILED = "failed", pgettext_lazy("billing", "failed")


class ExportJob(models.Model):
    """A finance export too large to stream in the request; a worker writes the file."""

    format = models.CharField(_("format"), max_length=10, choices=ExportFormat.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED, db_index=True
    )
    total = models.PositiveIntegerField(_("documents"), default=0)
    done = models.PositiveIntegerField(_("written"), default=0)
    file = models.FileField(_("file"), upload_to="billing/exports/%Y/%m/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("billing", "requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice export")
        verbose_name_plural = _("invoice exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def progress_percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


class PartnerCommission(AppendOnlyModel):
    """A partner's revenue share on one invoice line, written when money comes in (or goes back, or a
    credit note reduces what is owed). Statements are sums of these rows."""

    partner = models.ForeignKey(
        "customers.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="commissions"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="commissions"
    )
    line = models.ForeignKey(
        "billing.InvoiceLine",
        verbose_name=_("invoice line"),
        on_delete=models.PROTECT,
        related_name="commissions",
    )
    allocation = models.ForeignKey(
        "billing.PaymentAllocation",
        verbose_name=_("payment allocation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commissions",
    )
    credit_note = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("credit note"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_commissions",
    )
    base_amount = models.DecimalField(_("net amount"), max_digits=18, decimal_places=2)
    rate_percent = models.DecimalField(_("revenue share %"), max_digits=5, decimal_places=2)
    amount = models.DecimalField(_("commission"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("partner commission")
        verbose_name_plural = _("partner commissions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["partner", "created_at"])]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.amount} {self.currency}"


class PartnerPayout(models.Model):
    """Money paid to a partner for one month's commission statement, recorded by finance. A statement
    is paid when its payouts cover the commission of that month in that currency."""

    partner = models.ForeignKey(
        "customers.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="payouts"
    )
    month = models.DateField(_("statement month"), help_text=_("The first day of the month paid for."))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("partner payout")
        verbose_name_plural = _("partner payouts")
        ordering = ["-month", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=models.Q(month__day=1), name="payout_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.month:%Y-%m} {self.amount} {self.currency}"
