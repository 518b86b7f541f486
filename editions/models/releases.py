"""Releases of the platform and the artifacts customers fetch: images, charts, bundles, source archives."""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from editions.markdown import render_markdown
from editions.models.catalog import Edition, Module

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# Docker distribution's repository name grammar (lower-case path components separated by "/").
REPOSITORY_RE = re.compile(
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$"
)
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
SOURCE_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


class ReleaseChannel(models.TextChoices):
    STABLE = "stable", _("stable")
    LTS = "lts", _("long-term support (LTS)")


class ReleaseSupport(models.TextChoices):
    CURRENT = "current", _("current")
    SUPPORTED = "supported", _("supported")
    END_OF_LIFE = "eol", _("end of life")


class ReleaseQuerySet(models.QuerySet):
    def published(self) -> ReleaseQuerySet:
        return self.filter(is_published=True)


class Release(models.Model):
    version = models.CharField(_("version"), max_length=40, unique=True, help_text=_("e.g. 3.2.0"))
    channel = models.CharField(
        _("channel"), max_length=10, choices=ReleaseChannel.choices, default=ReleaseChannel.STABLE
    )
    support_status = models.CharField(
        _("support status"),
        max_length=10,
        choices=ReleaseSupport.choices,
        default=ReleaseSupport.SUPPORTED,
        help_text=_("Deployments on an end-of-life release are told at check-in that it is unsupported."),
    )
    released_on = models.DateField(_("release date"), default=timezone.localdate)
    notes = models.TextField(_("release notes"), blank=True, help_text=_("Markdown."))
    is_published = models.BooleanField(
        _("published"), default=False, editable=False, help_text=_("Customers see published releases only.")
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-released_on", "-id"]

    def __str__(self) -> str:
        return f"{self.version} ({self.get_channel_display()})"

    def notes_html(self) -> str:
        return render_markdown(self.notes)


class ArtifactKind(models.TextChoices):
    DOCKER_IMAGE = "docker_image", _("Docker image")
    HELM_CHART = "helm_chart", _("Helm chart")
    OFFLINE_BUNDLE = "offline_bundle", _("offline bundle")
    SOURCE_ARCHIVE = "source_archive", _("source archive")


class Artifact(models.Model):
    """One deliverable of a release. Images live in the private registry (repository + digest); every
    other kind is a file in the downloads storage (storage key + size + SHA-256).

    Who may fetch it: members of organizations with an active contract whose edition is one of
    `editions` or whose modules include one of `modules`. An artifact of a non-commercial edition
    (Community) is public: anyone may fetch it, even without logging in."""

    release = models.ForeignKey(
        Release, verbose_name=_("release"), on_delete=models.PROTECT, related_name="artifacts"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ArtifactKind.choices)
    name = models.CharField(_("name"), max_length=200, help_text=_("Shown to customers, e.g. the file name."))
    repository = models.CharField(
        _("registry repository"),
        max_length=200,
        blank=True,
        help_text=_(
            "Images (and Helm charts kept in the registry as OCI artifacts): the repository in the private "
            "registry, e.g. iot/enterprise. Customers entitled to this artifact may pull the repository."
        ),
    )
    tag = models.CharField(_("tag"), max_length=128, blank=True, help_text=_("Empty: the release version."))
    digest = models.CharField(
        _("image digest"), max_length=71, blank=True, help_text=_("sha256:… of the image manifest.")
    )
    storage_key = models.CharField(
        _("storage key"),
        max_length=500,
        blank=True,
        help_text=_("Path of the file in the downloads storage."),
    )
    size = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, db_index=True)
    editions = models.ManyToManyField(
        Edition, verbose_name=_("entitled editions"), related_name="artifacts", blank=True
    )
    modules = models.ManyToManyField(
        Module,
        verbose_name=_("entitled modules"),
        related_name="artifacts",
        blank=True,
        help_text=_("Contracts that include any of these modules may fetch the artifact too."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
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

    class Meta:
        verbose_name = _("artifact")
        verbose_name_plural = _("artifacts")
        ordering = ["release", "sort_order", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="docker_image") | (~models.Q(repository="") & ~models.Q(digest="")),
                name="artifact_image_has_repository_and_digest",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="docker_image") | ~models.Q(storage_key=""),
                name="artifact_file_has_storage_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.release.version})"

    @property
    def is_file(self) -> bool:
        return self.kind != ArtifactKind.DOCKER_IMAGE

    @property
    def filename(self) -> str:
        return posixpath.basename(self.storage_key) if self.storage_key else self.name

    @property
    def effective_tag(self) -> str:
        return self.tag or self.release.version

    def clean(self) -> None:
        errors: dict[str, list[StrOrPromise]] = {}
        self.repository = self.repository.strip().strip("/")
        self.storage_key = self.storage_key.strip().lstrip("/")
        self.sha256 = self.sha256.strip().lower()
        self.digest = self.digest.strip().lower()
        if self.repository and not REPOSITORY_RE.match(self.repository):
            errors.setdefault("repository", []).append(
                _("A repository name is lower-case letters, digits and separators, e.g. iot/enterprise.")
            )
        if self.tag and not TAG_RE.match(self.tag):
            errors.setdefault("tag", []).append(_("This is not a valid image tag."))
        if self.digest and not DIGEST_RE.match(self.digest):
            errors.setdefault("digest", []).append(_("A digest looks like sha256: and 64 hex digits."))
        if self.sha256 and not SHA256_RE.match(self.sha256):
            errors.setdefault("sha256", []).append(_("A SHA-256 checksum is 64 hex digits."))
        if ".." in self.storage_key.split("/"):
            errors.setdefault("storage_key", []).append(_("The storage key may not contain '..'."))
        if self.kind == ArtifactKind.DOCKER_IMAGE:
            if not self.repository:
                errors.setdefault("repository", []).append(_("An image needs its registry repository."))
            if not self.digest:
                errors.setdefault("digest", []).append(_("An image needs its manifest digest."))
            if self.storage_key:
                errors.setdefault("storage_key", []).append(
                    _("Images are pulled from the registry, not stored.")
                )
        if (
            self.kind == ArtifactKind.SOURCE_ARCHIVE
            and self.storage_key
            and not self.storage_key.lower().endswith(SOURCE_ARCHIVE_SUFFIXES)
        ):
            errors.setdefault("storage_key", []).append(
                _("Source archives are .zip or .tar.gz files (they are watermarked per download).")
            )
        if errors:
            raise ValidationError(errors)
