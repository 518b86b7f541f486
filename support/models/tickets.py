"""Tickets, their messages, attachments and append-only event log, SLA notifications and ratings."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from support.models.choices import (
    OPEN_STATUSES,
    Category,
    Channel,
    EventKind,
    NotificationKind,
    Priority,
    SlaMetric,
    SlaState,
    TicketStatus,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _state(label: StrOrPromise) -> models.CharField:
    return models.CharField(label, max_length=10, choices=SlaState.choices, default=SlaState.NA)


def _when(label: StrOrPromise) -> models.DateTimeField:
    return models.DateTimeField(label, null=True, blank=True)


class Ticket(models.Model):
    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    # licenses.Deployment is being written; until then the deployment is named by reference.
    deployment_ref = models.CharField(_("deployment"), max_length=100, blank=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requester"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="support_tickets",
        help_text=_("Empty when a contact without a portal account wrote in by e-mail."),
    )
    requester_email = models.EmailField(_("requester e-mail"), blank=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    # The Message-ID that roots the ticket's mail thread: the customer's first mail, or one we made up.
    mail_thread_id = models.CharField(_("mail thread"), max_length=250, blank=True, editable=False)
    tags = models.ManyToManyField(
        "support.TicketTag", verbose_name=_("tags"), blank=True, related_name="tickets"
    )
    subject = models.CharField(_("subject"), max_length=200)
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, default=Priority.P3)
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.QUESTION
    )
    status = models.CharField(
        _("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        limit_choices_to={"is_staff": True},
    )
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    sla_policy = models.ForeignKey(
        "support.SlaPolicy",
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    hours_overage = models.BooleanField(
        _("hours overage"),
        default=False,
        help_text=_("Custom-development hours beyond the bucket: bill them."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    # Derived from the event log by services.sla.ticket_sla_recompute; stored for querying only.
    first_response_state = _state(_("first response"))
    first_response_due_at = _when(_("first response due"))
    first_response_warn_at = _when(_("first response warning"))
    first_response_met_at = _when(_("first response met"))
    first_response_breached_at = _when(_("first response breached"))
    next_response_state = _state(_("next response"))
    next_response_due_at = _when(_("next response due"))
    next_response_warn_at = _when(_("next response warning"))
    next_response_met_at = _when(_("next response met"))
    next_response_breached_at = _when(_("next response breached"))
    resolution_state = _state(_("resolution"))
    resolution_due_at = _when(_("resolution due"))
    resolution_warn_at = _when(_("resolution warning"))
    resolution_met_at = _when(_("resolution met"))
    resolution_breached_at = _when(_("resolution breached"))
    sla_due_at = _when(_("next SLA deadline"))
    sla_check_at = models.DateTimeField(_("next SLA check"), null=True, blank=True, editable=False)
    sla_dirty = models.BooleanField(_("SLA needs recomputing"), default=False, editable=False)
    sla_uncovered_from = models.DateField(
        _("no holiday data from"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "A due time runs past the holidays the calendar knows: from this date every weekday counts "
            "as a working day until the year's holidays are entered or the holiday source is upgraded."
        ),
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["sla_check_at"], name="ticket_sla_check", condition=Q(sla_check_at__isnull=False)
            ),
            models.Index(fields=["id"], name="ticket_sla_dirty", condition=Q(sla_dirty=True)),
            models.Index(fields=["organization", "-created_at"]),
            models.Index(
                fields=["sla_uncovered_from"],
                name="ticket_sla_uncovered",
                condition=Q(sla_uncovered_from__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def requester_address(self) -> str:
        """Where the customer side of the conversation is: the account's e-mail or the one they wrote from."""
        return (self.requester.email if self.requester_id and self.requester else "") or self.requester_email

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def metric(self, metric: str) -> dict[str, object]:
        return {
            "metric": metric,
            "label": SlaMetric(metric).label,
            "state_label": SlaState(getattr(self, f"{metric}_state")).label,
            **{
                f: getattr(self, f"{metric}_{f}")
                for f in ("state", "due_at", "warn_at", "met_at", "breached_at")
            },
        }

    def metrics(self) -> list[dict[str, object]]:
        return [self.metric(m) for m in SlaMetric.values]


class TicketMessage(models.Model):
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_customer = models.BooleanField(_("from the customer"), default=False)
    is_internal = models.BooleanField(_("internal note"), default=False)
    body = models.TextField(_("message"))
    sender_email = models.EmailField(_("sent from"), blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_customer=True, is_internal=True),
                name="ticket_message_customer_not_internal",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number} #{self.pk}"


def attachment_path(instance: TicketAttachment, filename: str) -> str:
    # A random directory keeps names unguessable and lets two uploads share a file name.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"support/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class TicketAttachment(models.Model):
    message = models.ForeignKey(
        TicketMessage, verbose_name=_("message"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """Append-only log the SLA clock is rebuilt from (server-received UTC times)."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("event"), max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket timeline")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"])]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_kind_display()}"


class SlaNotification(models.Model):
    """A warning or an escalation, at most once per (ticket, metric, kind): the row is the guarantee."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="sla_notifications"
    )
    metric = models.CharField(_("metric"), max_length=20, choices=SlaMetric.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=NotificationKind.choices)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("e-mail sent"), null=True, blank=True)
    recipients = models.JSONField(_("recipients"), default=list, blank=True)

    class Meta:
        verbose_name = _("SLA notification")
        verbose_name_plural = _("SLA notifications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "metric", "kind"], name="uniq_sla_notification"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.metric} {self.kind}"


class TicketRating(models.Model):
    """Customer satisfaction, once per ticket (the one-to-one is the database guarantee)."""

    ticket = models.OneToOneField(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="rating"
    )
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rated by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("rated"), default=timezone.now)

    class Meta:
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="ticket_rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.rating}/5"


class TicketTag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketMailId(models.Model):
    """A Message-ID of the ticket's mail thread, ours (outgoing) or the customer's (incoming): a reply
    naming any of them in In-Reply-To or References belongs to the ticket."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="mail_ids"
    )
    message_id = models.CharField(_("Message-ID"), max_length=250, unique=True)
    outgoing = models.BooleanField(_("sent by us"), default=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("mail Message-ID")
        verbose_name_plural = _("mail Message-IDs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message_id


class SupportReport(Ticket):
    """No table of its own: gives the reports a place in the admin's support section."""

    class Meta:
        proxy = True
        verbose_name = _("report")
        verbose_name_plural = _("reports: SLA attainment, backlog, satisfaction")
        default_permissions = ("view",)
