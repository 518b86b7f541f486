"""Inbound support mail: one row per message received (its Message-ID is the once-only guarantee)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundStatus(models.TextChoices):
    CREATED = "created", _("opened a ticket")
    APPENDED = "appended", _("added to a ticket")
    TRIAGE = "triage", _("waiting for triage")
    IGNORED = "ignored", _("ignored (auto-reply, bounce or loop)")
    REFUSED = "refused", _("refused, sender told")
    DISCARDED = "discarded", _("discarded by staff")


TRIAGE_DONE = frozenset({InboundStatus.CREATED, InboundStatus.APPENDED, InboundStatus.DISCARDED})


class InboundSource(models.TextChoices):
    IMAP = "imap", _("IMAP mailbox")
    HTTP = "http", _("posted by the mail provider")


def raw_mail_path(instance: InboundMail, filename: str) -> str:
    return f"support/inbound/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml"


class InboundMail(models.Model):
    message_id = models.CharField(_("Message-ID"), max_length=250, unique=True)
    source = models.CharField(_("received by"), max_length=10, choices=InboundSource.choices)
    status = models.CharField(_("outcome"), max_length=10, choices=InboundStatus.choices, db_index=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    from_address = models.EmailField(_("from"), blank=True)
    from_name = models.CharField(_("sender name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    body = models.TextField(_("message (quotes and signature trimmed)"), blank=True)
    # Kept while the message waits for triage, so staff can still open a ticket with its attachments.
    raw = models.FileField(_("original message"), upload_to=raw_mail_path, max_length=200, blank=True)
    ticket = models.ForeignKey(
        "support.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_mails",
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    reply_sent_at = models.DateTimeField(_("reply sent"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("triaged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mail (triage)")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"
