"""Organizations (customers), their people and roles, and the channel partners who bring them."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PartnerKind(models.TextChoices):
    OEM = "oem", _("OEM (white label)")
    SOURCE = "source", _("source-license partner")
    JOINT = "joint", _("joint development")


DEFAULT_REVENUE_SHARE = {
    PartnerKind.OEM: Decimal("30.00"),
    PartnerKind.SOURCE: Decimal("15.00"),
    PartnerKind.JOINT: Decimal("0.00"),
}


class Partner(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("partner type"), max_length=20, choices=PartnerKind.choices)
    revenue_share_percent = models.DecimalField(
        _("revenue share %"),
        max_digits=5,
        decimal_places=2,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Leave empty to use the default of the partner type (OEM 30 %, source 15 %)."),
    )
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("channel partner")
        verbose_name_plural = _("channel partners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.revenue_share_percent is None:
            self.revenue_share_percent = DEFAULT_REVENUE_SHARE[PartnerKind(self.kind)]
        super().save(*args, **kwargs)


class Industry(models.TextChoices):
    RETAIL = "retail", _("retail")
    VEHICLE = "vehicle", _("vehicles and transport")
    FINANCE = "finance", _("finance")
    MANUFACTURING = "manufacturing", _("manufacturing")
    ENERGY = "energy", _("energy and utilities")
    GOVERNMENT = "government", _("government and public sector")
    HEALTHCARE = "healthcare", _("healthcare")
    LOGISTICS = "logistics", _("logistics")
    AGRICULTURE = "agriculture", _("agriculture")
    EDUCATION = "education", _("education")
    SOFTWARE = "software", _("software and integrators")
    OTHER = "other", _("other")


class CompanySize(models.TextChoices):
    MICRO = "micro", _("1–19 employees")
    SMALL = "small", _("20–99 employees")
    MEDIUM = "medium", _("100–999 employees")
    LARGE = "large", _("1,000+ employees")


class FapiaoType(models.TextChoices):
    GENERAL = "general", _("general VAT invoice (普票)")
    SPECIAL = "special", _("special VAT invoice (专票)")


# 18 characters: registration authority, type, region code (6 digits), organization code (9), check char.
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def validate_taxpayer_id(value: str) -> None:
    """Unified social credit code (GB 32100-2015) with its check character; other tax IDs pass through
    when they do not look like one (foreign customers)."""
    if not value:
        return
    value = value.strip().upper()
    if len(value) == 18 and value[:2].isalnum() and value[2:8].isdigit():
        if not _USCC_RE.match(value):
            raise ValidationError(_("This is not a valid unified social credit code."), code="invalid")
        total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
        check = _USCC_ALPHABET[(31 - total % 31) % 31]
        if value[17] != check:
            raise ValidationError(
                _("The check character of this unified social credit code is wrong."), code="checksum"
            )
    elif not re.match(r"^[0-9A-Za-z-]{6,30}$", value):
        raise ValidationError(_("A taxpayer ID has 6 to 30 letters, digits or dashes."), code="invalid")


class Organization(models.Model):
    name = models.CharField(_("legal name"), max_length=200, db_index=True)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices)
    size = models.CharField(_("company size"), max_length=20, choices=CompanySize.choices, blank=True)
    region = models.CharField(_("region / province"), max_length=100, blank=True)
    country = models.CharField(
        _("country"), max_length=2, default="CN", help_text=_("ISO 3166 code, e.g. CN")
    )
    account_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
        limit_choices_to={"is_staff": True},
    )
    partner = models.ForeignKey(
        Partner,
        verbose_name=_("brought by partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organizations",
    )
    # Invoicing data (发票信息)
    taxpayer_id = models.CharField(
        _("taxpayer ID / unified social credit code"),
        max_length=30,
        blank=True,
        db_index=True,
        validators=[validate_taxpayer_id],
    )
    invoice_title = models.CharField(_("invoice title"), max_length=200, blank=True)
    registered_address = models.CharField(_("registered address"), max_length=300, blank=True)
    registered_phone = models.CharField(_("registered phone"), max_length=50, blank=True)
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=60, blank=True)
    fapiao_type = models.CharField(
        _("fapiao type"), max_length=10, choices=FapiaoType.choices, default=FapiaoType.GENERAL
    )
    billing_email = models.EmailField(_("billing email"), blank=True)
    is_community = models.BooleanField(
        _("community account"), default=False, help_text=_("Created by self sign-up; no paid contract yet.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.country = (self.country or "").upper()
        if self.taxpayer_id:
            self.taxpayer_id = self.taxpayer_id.strip().upper()
        if len(self.country) != 2 or not self.country.isalpha():
            raise ValidationError({"country": _("Use the two-letter ISO country code, e.g. CN.")})


class Contact(models.Model):
    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


class Role(models.TextChoices):
    OWNER = "owner", _("owner")
    ADMIN = "admin", _("administrator")
    BILLING = "billing", _("billing")
    TECHNICAL = "technical", _("technical")


class Membership(models.Model):
    """A portal user's seat in an organization, with the role that decides what they may do."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.TECHNICAL)
    created_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization__name", "role"]
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"


class Invitation(models.Model):
    """An invitation to join an organization, sent by sales or an owner/admin; valid for 7 days.
    Only the SHA-256 of the token in the link is stored."""

    VALID_DAYS = 7

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.TECHNICAL)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "email"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()
