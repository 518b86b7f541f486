"""Credentials for the private image registry (the back office is its token server)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RegistryCredentialQuerySet(models.QuerySet):
    def active(self) -> RegistryCredentialQuerySet:
        return self.filter(revoked_at__isnull=True)


class RegistryCredential(models.Model):
    """A pull credential of an organization, used as `docker login` username + secret; or, without an
    organization, a staff service account (push only when its username is in REGISTRY_PUSH_USERS).
    Only the SHA-256 of the secret is stored (the secret is random, 256 bits; shown once)."""

    SECRET_PREFIX = "rgs_"

    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="registry_credentials",
        help_text=_("Empty: a vendor service account (CI publishing images)."),
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What it is for, e.g. production cluster.")
    )
    username = models.CharField(_("username"), max_length=60, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
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
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = RegistryCredentialQuerySet.as_manager()

    class Meta:
        verbose_name = _("registry credential")
        verbose_name_plural = _("registry credentials")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username} ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_service_account(self) -> bool:
        return self.organization_id is None

    @classmethod
    def new_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def check_secret(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, self.hash_secret(secret))
