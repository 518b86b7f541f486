"""Cross-cutting records: the audit trail, API tokens and gapless number sequences."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Append-only: who did what to which object, written in the same transaction as the change."""

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via = models.CharField(_("via"), max_length=20, default="system")
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.ForeignKey(
        ContentType, verbose_name=_("target type"), on_delete=models.CASCADE, related_name="+"
    )
    target_id = models.CharField(_("target id"), max_length=64)
    target = GenericForeignKey("target_type", "target_id")
    target_repr = models.CharField(_("object"), max_length=200)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M} {self.action} {self.target_repr}"


class ApiTokenScope(models.TextChoices):
    READ = "read", _("read")
    WRITE = "write", _("read and write")


class ApiToken(models.Model):
    """A staff user's bearer token for the integration API. Only the SHA-256 of the secret is kept."""

    PREFIX = "bo_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=10, choices=ApiTokenScope.choices, default="read")
    token_prefix = models.CharField(_("token starts with"), max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def hash_secret(cls, secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


class SequenceCounter(models.Model):
    """Last number handed out per (series, year); taken with SELECT … FOR UPDATE, so numbers are
    gapless (a rollback also rolls the counter back) and unique under concurrent issuers."""

    series = models.CharField(_("series"), max_length=20)
    year = models.PositiveIntegerField(_("year"))
    last_value = models.PositiveBigIntegerField(_("last number issued"), default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="uniq_sequence_series_year")]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_value}"


class SchedulerHeartbeat(models.Model):
    """One row, touched by a periodic task: proves that beat and a worker are alive."""

    name = models.CharField(max_length=50, unique=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("scheduler heartbeat")
        verbose_name_plural = _("scheduler heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {timezone.localtime(self.last_seen_at):%Y-%m-%d %H:%M:%S}"


class UserPreference(models.Model):
    """A portal user's settings that follow them from device to device (the language, for now)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="portal_preference",
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'})"


class JobState(models.TextChoices):
    PENDING = "pending", _("waiting for the queue")
    SENT = "sent", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Job(models.Model):
    """Background work in the transactional outbox: written in the transaction of the business change
    that asks for it, so it exists exactly when that change committed; relayed to Celery after commit
    and, whatever was not (broker down, process killed) or was lost on the way, by the periodic sweep.
    Its id is the Celery task id: a delivery of a job that already ran is skipped."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(_("task"), max_length=200, db_index=True)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=JobState.choices, default=JobState.PENDING)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    run_after = models.DateTimeField(_("not before"), default=timezone.now)
    sent_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["state", "run_after"],
                condition=~models.Q(state="done"),
                name="job_unfinished",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} ({self.get_state_display()})"
