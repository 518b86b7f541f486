"""The record of what was downloaded, by whom, from where; and the NDA terms source downloads need."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from editions.markdown import render_markdown
from editions.models.releases import Artifact


class NdaTerms(models.Model):
    """A version of the confidentiality terms a downloader accepts before fetching source code.
    Published versions never change: a new text is a new version, accepted anew."""

    version = models.CharField(_("version"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Markdown."))
    published_at = models.DateTimeField(
        _("in force from"),
        default=timezone.now,
        help_text=_("The newest version in force is the current one."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("NDA terms")
        verbose_name_plural = _("NDA terms")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.version})"

    def body_html(self) -> str:
        return render_markdown(self.body)


class NdaAcceptance(models.Model):
    """A portal user accepted a version of the NDA terms on behalf of an organization (append-only)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="nda_acceptances",
    )
    terms = models.ForeignKey(
        NdaTerms, verbose_name=_("terms"), on_delete=models.PROTECT, related_name="acceptances"
    )
    terms_sha256 = models.CharField(_("SHA-256 of the accepted text"), max_length=64)
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("NDA acceptance")
        verbose_name_plural = _("NDA acceptances")
        ordering = ["-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization", "terms"], name="uniq_nda_acceptance")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} · {self.terms.version}"


class Download(models.Model):
    """One download link issued to a user for an artifact. `download_id` is in the signed link and, for
    source archives, in the LICENSEE.txt of the watermarked copy, whose checksum is kept here so that a
    leaked archive can be traced back to this row."""

    download_id = models.UUIDField(_("download ID"), default=uuid.uuid4, unique=True, editable=False)
    artifact = models.ForeignKey(
        Artifact, verbose_name=_("artifact"), on_delete=models.PROTECT, related_name="downloads"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: an anonymous download of a public artifact."),
    )
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downloads",
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("entitling contract"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downloads",
    )
    nda_acceptance = models.ForeignKey(
        NdaAcceptance,
        verbose_name=_("NDA acceptance"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="downloads",
    )
    created_at = models.DateTimeField(
        pgettext_lazy("download", "issued at"), default=timezone.now, db_index=True
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    delivered_storage_key = models.CharField(
        _("delivered file"),
        max_length=500,
        blank=True,
        help_text=_("The watermarked copy, for source archives."),
    )
    delivered_size = models.PositiveBigIntegerField(_("delivered size (bytes)"), null=True, blank=True)
    delivered_sha256 = models.CharField(_("delivered SHA-256"), max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("download")
        verbose_name_plural = _("downloads")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return str(self.download_id)

    @property
    def is_watermarked(self) -> bool:
        return bool(self.delivered_storage_key)

    @property
    def served_storage_key(self) -> str:
        return self.delivered_storage_key or self.artifact.storage_key

    @property
    def served_size(self) -> int | None:
        return self.delivered_size if self.delivered_storage_key else self.artifact.size

    @property
    def served_sha256(self) -> str:
        return self.delivered_sha256 if self.delivered_storage_key else self.artifact.sha256


class ServeMode(models.TextChoices):
    STREAM = "stream", _("streamed by the application")
    ACCEL = "accel", _("X-Accel-Redirect (nginx)")
    SENDFILE = "sendfile", _("X-Sendfile")


class DownloadTransfer(models.Model):
    """One HTTP response that delivered (part of) a download: a resumed or multi-part download has
    several. Append-only; `bytes` is what the response carried (or, handed to the web server, what it
    was asked to send)."""

    download = models.ForeignKey(
        Download, verbose_name=_("download"), on_delete=models.CASCADE, related_name="transfers"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    status = models.PositiveSmallIntegerField(_("HTTP status"))
    range_start = models.PositiveBigIntegerField(_("range start"), null=True, blank=True)
    range_end = models.PositiveBigIntegerField(_("range end"), null=True, blank=True)
    bytes = models.PositiveBigIntegerField(_("bytes"), default=0)
    mode = models.CharField(_("served by"), max_length=10, choices=ServeMode.choices)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.download_id} {self.status} {self.bytes}"
