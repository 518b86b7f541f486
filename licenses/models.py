"""Signing keys, deployments, activation codes, licenses (JWT), their events and usage reports."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# --- signing keys ----------------------------------------------------------------------------------


class KeyAlgorithm(models.TextChoices):
    RS256 = "RS256", _("RS256 (RSA 3072-bit, every platform)")
    EDDSA = "EdDSA", _("EdDSA (Ed25519, newer platforms)")


class KeyState(models.TextChoices):
    NEXT = "next", _("next (published, not signing yet)")
    ACTIVE = "active", _("active (signs new licenses)")
    RETIRED = "retired", _("retired (verifies only)")


class SigningKey(models.Model):
    """A key pair that signs licenses. The private half is kept only as a Fernet token made with
    settings.LICENSE_KEY_ENCRYPTION_KEY; it is never shown, logged or serialized."""

    kid = models.CharField(_("key ID"), max_length=40, unique=True, editable=False)
    algorithm = models.CharField(
        _("algorithm"), max_length=10, choices=KeyAlgorithm.choices, default=KeyAlgorithm.RS256
    )
    public_key_pem = models.TextField(_("public key (PEM)"), editable=False)
    private_key_encrypted = models.BinaryField(editable=False)
    state = models.CharField(
        _("state"), max_length=10, choices=KeyState.choices, default=KeyState.ACTIVE, db_index=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One key per algorithm signs new licenses; rotation retires it before creating the next.
            models.UniqueConstraint(
                fields=["algorithm"], condition=models.Q(state="active"), name="uniq_active_key_per_algorithm"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm}, {self.state})"

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid} {self.algorithm} {self.state}>"


# --- deployments -------------------------------------------------------------------------------------


class Environment(models.TextChoices):
    PRODUCTION = "production", _("production")
    STAGING = "staging", _("staging")
    SAAS = "saas", _("SaaS (hosted by the vendor)")


class Deployment(models.Model):
    """One installation of the platform (a machine), bound to a contract of its organization."""

    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="deployments",
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        on_delete=models.PROTECT,
        related_name="deployments",
        help_text=_("The contract the current license is issued under; moves to the renewal."),
    )
    activation_code = models.ForeignKey(
        "licenses.ActivationCode",
        verbose_name=_("activation code"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deployments",
    )
    machine_id = models.CharField(_("machine ID"), max_length=128, db_index=True)
    hostname = models.CharField(_("hostname"), max_length=255, blank=True)
    environment = models.CharField(
        _("environment"), max_length=20, choices=Environment.choices, default=Environment.PRODUCTION
    )
    platform_version = models.CharField(_("platform version"), max_length=50, blank=True)
    offline = models.BooleanField(
        _("offline (air-gapped)"),
        default=False,
        help_text=_("Cannot check in: its licenses run to the contract end plus grace."),
    )
    license_algorithm = models.CharField(
        _("license algorithm"),
        max_length=10,
        choices=KeyAlgorithm.choices,
        default=KeyAlgorithm.RS256,
        help_text=_("EdDSA only for platform releases that verify Ed25519 licenses."),
    )
    first_checkin_at = models.DateTimeField(_("first check-in"), null=True, blank=True, editable=False)
    # Deliberately not indexed: every check-in writes it, and an indexed column would turn each of
    # those updates into a non-HOT update of all the table's indexes. Lists filter by organization
    # or contract first, then by this column.
    last_checkin_at = models.DateTimeField(_("last check-in"), null=True, blank=True, editable=False)
    last_checkin_ip = models.GenericIPAddressField(_("last address"), null=True, blank=True, editable=False)
    last_device_count = models.PositiveIntegerField(_("devices"), null=True, blank=True, editable=False)
    peak_device_count = models.PositiveIntegerField(_("peak devices"), default=0, editable=False)
    peak_device_count_at = models.DateTimeField(_("peak reached"), null=True, blank=True, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("registered"), default=timezone.now, editable=False)
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("deployment")
        verbose_name_plural = _("deployments")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Activating the same code on the same machine twice yields the same deployment.
            models.UniqueConstraint(
                fields=["activation_code", "machine_id"],
                condition=models.Q(deactivated_at__isnull=True, activation_code__isnull=False),
                name="uniq_live_deployment_per_code_machine",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.hostname or self.machine_id[:16]} ({self.get_environment_display()})"

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None


# --- activation codes ------------------------------------------------------------------------------


class ActivationCode(models.Model):
    """A code the customer types into the platform to bind a deployment to a contract.

    The code is a bearer secret that customers must be able to read again in the portal, so it is
    not only hashed: `code_digest` (SHA-256 of the normalized code; the code has 125 random bits, so
    the digest cannot be reversed by guessing) finds it in one indexed query, and `code_encrypted`
    (Fernet, the same at-rest key as the signing keys) lets staff and the customer's portal show it.
    A copy of the database alone therefore yields no usable code."""

    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        on_delete=models.PROTECT,
        related_name="activation_codes",
    )
    code_digest = models.CharField(max_length=64, unique=True, editable=False)
    code_encrypted = models.BinaryField(editable=False)
    code_hint = models.CharField(_("code ends with"), max_length=8, editable=False)
    max_deployments = models.PositiveSmallIntegerField(
        _("deployments allowed"),
        validators=[MinValueValidator(1)],
        help_text=_("Defaults to the edition's production plus staging deployments."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoke_reason = models.CharField(_("revocation reason"), max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"…{self.code_hint}"

    @staticmethod
    def digest(normalized_code: str) -> str:
        return hashlib.sha256(normalized_code.encode()).hexdigest()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


# --- licenses -------------------------------------------------------------------------------------


class LicenseState(models.TextChoices):
    ACTIVE = "active", _("active")
    SUPERSEDED = "superseded", _("superseded")
    REVOKED = "revoked", _("revoked")
    EXPIRED = "expired", _("expired")


# The state machine, as data. Revocation is final; an expired license may still be superseded
# when a genuine but lapsed token checks in and its contract (or the renewal) still entitles it.
LICENSE_TRANSITIONS: dict[str, set[str]] = {
    LicenseState.ACTIVE: {LicenseState.SUPERSEDED, LicenseState.REVOKED, LicenseState.EXPIRED},
    LicenseState.EXPIRED: {LicenseState.SUPERSEDED, LicenseState.REVOKED},
    LicenseState.SUPERSEDED: set(),
    LicenseState.REVOKED: set(),
}


class LicenseReason(models.TextChoices):
    ACTIVATION = "activation", _("deployment activated")
    MANUAL = "manual", _("issued by staff")
    REFRESH = "refresh", _("routine refresh")
    CONTRACT_RENEWED = "contract_renewed", _("contract renewed")
    ENTITLEMENT_CHANGED = "entitlement_changed", _("modules or limits changed")
    KEY_ROTATED = "key_rotated", _("signing key rotated")
    SUPERSEDED = "superseded", _("replaced by a newer license")
    REVOKED_BY_STAFF = "revoked_by_staff", _("revoked by staff")
    CONTRACT_CANCELLED = "contract_cancelled", _("contract cancelled")
    CONTRACT_ENDED = "contract_ended", _("contract ended and grace period over")
    TOKEN_LAPSED = "token_lapsed", _("token expired without check-in")
    DEPLOYMENT_DEACTIVATED = "deployment_deactivated", _("deployment deactivated")
    DEPLOYMENT_MOVED = "deployment_moved", _("deployment moved to another machine")


class License(models.Model):
    """One signed token for one deployment. `id` is the token's `jti`, the deployment id its `sub`."""

    deployment = models.ForeignKey(
        Deployment, verbose_name=_("deployment"), on_delete=models.PROTECT, related_name="licenses"
    )
    contract = models.ForeignKey(
        "contracts.Contract", verbose_name=_("contract"), on_delete=models.PROTECT, related_name="licenses"
    )
    signing_key = models.ForeignKey(
        SigningKey, verbose_name=_("signing key"), on_delete=models.PROTECT, related_name="licenses"
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    token = models.TextField(_("token"), editable=False)
    edition_code = models.CharField(_("edition"), max_length=30, editable=False)
    features = models.JSONField(_("features"), default=list, editable=False)
    device_limit = models.PositiveIntegerField(_("device limit"), null=True, blank=True, editable=False)
    entitlement_end = models.DateField(_("entitlement end"), editable=False)
    grace_days = models.PositiveSmallIntegerField(_("grace days"), editable=False)
    offline = models.BooleanField(_("offline"), default=False, editable=False)
    issued_at = models.DateTimeField(_("issued (iat)"), editable=False)
    expires_at = models.DateTimeField(_("expires (exp)"), db_index=True, editable=False)
    renew_after = models.DateTimeField(_("renew after"), editable=False)
    state = models.CharField(
        _("state"), max_length=12, choices=LicenseState.choices, default=LicenseState.ACTIVE, db_index=True
    )
    reason = models.CharField(
        _("reason"), max_length=30, choices=LicenseReason.choices, default=LicenseReason.MANUAL
    )
    state_changed_at = models.DateTimeField(_("state changed"), null=True, blank=True, editable=False)
    state_reason = models.CharField(
        _("state reason"), max_length=30, choices=LicenseReason.choices, blank=True, editable=False
    )
    state_note = models.CharField(_("note"), max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("license")
        verbose_name_plural = _("licenses")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment"],
                condition=models.Q(state="active"),
                name="uniq_active_license_per_deployment",
            ),
        ]
        indexes = [models.Index(fields=["signing_key", "expires_at"])]

    def __str__(self) -> str:
        return f"L-{self.pk}"

    def __repr__(self) -> str:
        return f"<License {self.pk} deployment={self.deployment_id} {self.state}>"

    @property
    def key_filename(self) -> str:
        return f"license-{self.deployment_id}-{self.pk}.key"


class LicenseEventKind(models.TextChoices):
    ISSUED = "issued", pgettext_lazy("license event", "issued")
    SUPERSEDED = "superseded", _("superseded")
    REVOKED = "revoked", _("revoked")
    EXPIRED = "expired", _("expired")
    DOWNLOADED = "downloaded", _("key downloaded")
    CHECKIN_REJECTED = "checkin_rejected", _("check-in rejected")
    DEPLOYMENT_ACTIVATED = "deployment_activated", _("deployment activated")
    DEPLOYMENT_DEACTIVATED = "deployment_deactivated", _("deployment deactivated")
    DEPLOYMENT_MOVED = "deployment_moved", _("deployment moved to another machine")
    SUPPORT_BUNDLE = "support_bundle", _("support bundle uploaded")


class LicenseEvent(models.Model):
    """Append-only timeline of a deployment's licenses: who issued, re-issued, revoked, downloaded."""

    deployment = models.ForeignKey(
        Deployment, verbose_name=_("deployment"), on_delete=models.CASCADE, related_name="events"
    )
    license = models.ForeignKey(
        License,
        verbose_name=_("license"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    kind = models.CharField(_("event"), max_length=30, choices=LicenseEventKind.choices)
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via = models.CharField(_("via"), max_length=20, default="system")
    source_ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("license event")
        verbose_name_plural = _("license events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M} {self.get_kind_display()}"


class UsageReport(models.Model):
    """Append-only: one row per accepted check-in. The source of peaks and SaaS usage invoicing."""

    # The composite indexes below lead with these columns, so single-column indexes would only add
    # write cost to the hottest insert of the system (one per check-in).
    #
    # None of the three references has a database constraint. Each one would run a referential
    # check at commit that takes FOR KEY SHARE on the referenced row: on the contract, every
    # check-in of a fleet would lock the same row, and concurrent share locks on one row serialise on
    # MultiXact creation; on the deployment and the license, the checks cost about a quarter of the
    # check-in statement's database time (benchmarks/checkin.py, 188 -> 163 µs). The check-in
    # statement copies all three values from the rows it has just read and matched, deployments
    # and licenses are never deleted while they have reports (on_delete=PROTECT, checked by Django),
    # and contracts are never deleted, so the references stay valid without them.
    deployment = models.ForeignKey(
        Deployment,
        verbose_name=_("deployment"),
        on_delete=models.PROTECT,
        related_name="usage_reports",
        db_index=False,
        db_constraint=False,
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        on_delete=models.DO_NOTHING,
        related_name="usage_reports",
        db_index=False,
        db_constraint=False,
    )
    license = models.ForeignKey(
        License,
        verbose_name=_("license"),
        on_delete=models.PROTECT,
        related_name="usage_reports",
        db_constraint=False,  # indexed still: Django's PROTECT check looks reports up by license
    )
    reported_at = models.DateTimeField(_("time"), default=timezone.now)
    device_count = models.PositiveIntegerField(_("devices"), null=True, blank=True)
    platform_version = models.CharField(_("platform version"), max_length=50, blank=True)
    source_ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12)

    class Meta:
        verbose_name = _("usage report")
        verbose_name_plural = _("usage reports")
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["contract", "reported_at"]),
            models.Index(fields=["deployment", "-reported_at"]),
        ]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.reported_at):%Y-%m-%d %H:%M} {self.device_count}"


# --- fleet insights ---------------------------------------------------------------------------------


class SilenceEpisode(models.Model):
    """A paying deployment that stopped checking in: one row per silence, from the scan that found it
    to the scan that saw it check in again. The alert (mail, ticket) belongs to the episode, so a
    deployment silent for weeks alerts once."""

    deployment = models.ForeignKey(
        Deployment, verbose_name=_("deployment"), on_delete=models.CASCADE, related_name="silences"
    )
    last_checkin_at = models.DateTimeField(_("last check-in"), editable=False)
    last_version = models.CharField(_("last version"), max_length=50, blank=True, editable=False)
    last_device_count = models.PositiveIntegerField(_("devices"), null=True, blank=True, editable=False)
    detected_at = models.DateTimeField(_("detected"), default=timezone.now, editable=False)
    alerted_at = models.DateTimeField(_("alerted"), null=True, blank=True, editable=False)
    ticket = models.ForeignKey(
        "support.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    ended_at = models.DateTimeField(_("checked in again"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("alert closed"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("silent deployment")
        verbose_name_plural = _("silent deployments")
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment"], condition=models.Q(ended_at__isnull=True), name="uniq_open_silence"
            ),
        ]
        indexes = [
            models.Index(
                fields=["alerted_at"], condition=models.Q(alerted_at__isnull=True), name="silence_unalerted"
            ),
            models.Index(
                fields=["ended_at"],
                condition=models.Q(ended_at__isnull=False, closed_at__isnull=True),
                name="silence_unclosed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} @ {timezone.localtime(self.last_checkin_at):%Y-%m-%d %H:%M}"


def support_bundle_path(instance: SupportBundle, filename: str) -> str:
    # Never the uploaded name: the stored file is only ever read back as bytes for staff.
    return f"support-bundles/{instance.deployment_id}/{uuid.uuid4().hex}.{instance.archive_type}"


class ArchiveType(models.TextChoices):
    TAR_GZ = "tar.gz", _("tar.gz archive")
    ZIP = "zip", _("zip archive")


class SupportBundle(models.Model):
    """A diagnostic archive a deployment (or its customer) uploaded. Kept in the private storage, never
    unpacked or executed here; staff download it from admin; deleted after the retention period."""

    deployment = models.ForeignKey(
        Deployment, verbose_name=_("deployment"), on_delete=models.CASCADE, related_name="support_bundles"
    )
    ticket = models.ForeignKey(
        "support.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file = models.FileField(_("file"), upload_to=support_bundle_path, max_length=200, blank=True)
    filename = models.CharField(_("file name"), max_length=200)
    archive_type = models.CharField(_("archive type"), max_length=10, choices=ArchiveType.choices)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    note = models.CharField(_("note"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    expired_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("support bundle")
        verbose_name_plural = _("support bundles")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class FleetVersionSnapshot(models.Model):
    """Deployments and devices per platform version and edition on one day (written by the health
    scan), the history behind the adoption chart."""

    day = models.DateField(_("day"))
    version = models.CharField(_("platform version"), max_length=50, blank=True)
    edition_code = models.CharField(_("edition"), max_length=30)
    deployments = models.PositiveIntegerField(_("deployments"))
    devices = models.PositiveBigIntegerField(_("devices"))

    class Meta:
        verbose_name = _("fleet version snapshot")
        verbose_name_plural = _("fleet: versions and health")
        ordering = ["-day", "version", "edition_code"]
        constraints = [
            models.UniqueConstraint(fields=["day", "version", "edition_code"], name="uniq_fleet_snapshot"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.version or '-'} {self.edition_code}"
