"""Prepaid custom-development hours (spec §6): a bucket per contract year, drawn down by time entries."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BucketKind(models.TextChoices):
    CUSTOM_DEV = "custom_dev", _("custom development")


class HoursBucket(models.Model):
    """Granted hours of one contract year. Unused hours expire at period_end (no rollover)."""

    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        on_delete=models.PROTECT,
        related_name="hours_buckets",
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=BucketKind.choices, default=BucketKind.CUSTOM_DEV
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until (exclusive)"))
    granted_minutes = models.PositiveIntegerField(_("granted (minutes)"))
    warned_at = models.DateTimeField(_("80 % warning sent"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("hours bucket")
        verbose_name_plural = _("hours buckets")
        ordering = ["contract", "-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kind", "period_start"], name="uniq_hours_bucket_period"
            ),
            models.CheckConstraint(condition=Q(period_end__gt=F("period_start")), name="hours_bucket_period"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.period_start}–{self.period_end}"


class TimeEntry(models.Model):
    """Append-only: a correction is a new entry, never an edit of a counted one."""

    ticket = models.ForeignKey(
        "support.Ticket", verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="time_entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("engineer"), on_delete=models.PROTECT, related_name="+"
    )
    bucket = models.ForeignKey(
        HoursBucket,
        verbose_name=_("hours bucket"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    minutes = models.PositiveIntegerField(_("minutes"), validators=[MinValueValidator(1)])
    overage_minutes = models.PositiveIntegerField(
        _("overage (minutes)"), default=0, help_text=_("Beyond the granted hours: flagged for billing.")
    )
    work_date = models.DateField(_("work date"), default=timezone.localdate)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("logged"), default=timezone.now)

    class Meta:
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        ordering = ["-work_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gt=0), name="time_entry_positive"),
            models.CheckConstraint(
                condition=Q(overage_minutes__lte=F("minutes")), name="time_entry_overage_le"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.minutes} min"
