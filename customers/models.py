"""Organizations (customers), their people and roles, and the channel partners who bring them."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
    # White label (OEM partners): what the partner's customers see instead of our brand.
    brand_name = models.CharField(
        _("brand name"),
        max_length=100,
        blank=True,
        help_text=_("OEM partners: the name the partner's customers see in the portal and in mails."),
    )
    brand_logo = models.FileField(
        _("brand logo"),
        upload_to="partner-logos/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "svg", "webp"])],
        help_text=_("PNG, JPEG, SVG or WebP, shown at 32 pixels high."),
    )
    support_email = models.EmailField(_("support email"), blank=True)
    support_phone = models.CharField(_("support phone"), max_length=50, blank=True)
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

    @property
    def is_white_label(self) -> bool:
        """Its customers see the partner's brand: an active OEM partner that has set a brand name."""
        return self.is_active and self.kind == PartnerKind.OEM and bool(self.brand_name)


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
    license_name = models.CharField(
        _("name on licenses"),
        max_length=200,
        blank=True,
        help_text=_(
            "The customer name the licenses state, when agreed otherwise with an OEM partner; "
            "empty: the legal name."
        ),
    )
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


class InvitationBase(models.Model):
    """What every invitation is (to an organization here, to a partner in partner_models): valid for
    seven days, only the SHA-256 of the link's token stored, a fresh link in every mail."""

    VALID_DAYS = 7

    email = models.EmailField(_("email"))
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
    role: str  # each kind's own field: a role in the organization, or in the partner

    class Meta:
        abstract = True

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class Invitation(InvitationBase):
    """An invitation to join an organization, sent by sales or an owner/admin."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="invitations"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.TECHNICAL)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "email"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"


# CRM: inquiries (询盘) ------------------------------------------------------------------------------


class ChoiceListField(models.JSONField):
    """A list of codes from a TextChoices class, stored as JSON (portable across PostgreSQL and SQLite),
    edited as checkboxes. The codes are validated; their order is the catalogue's."""

    def __init__(self, *args: Any, options: type[models.TextChoices] | None = None, **kwargs: Any) -> None:
        self.options = options
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        if not isinstance(value, list):
            raise ValidationError(_("Choose from the list."), code="invalid")
        if self.options is not None:
            unknown = sorted(set(value) - set(self.options.values))
            if unknown:
                raise ValidationError(
                    _("Unknown choices: %(codes)s.") % {"codes": ", ".join(map(str, unknown))}, code="invalid"
                )

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]  # the form field Django builds for this model field
        from django import forms

        if self.options is None:
            return super().formfield(**kwargs)
        return forms.MultipleChoiceField(
            choices=self.options.choices,
            required=not self.blank,
            label=capfirst(self.verbose_name),
            help_text=self.help_text,
            widget=forms.CheckboxSelectMultiple,
        )

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if self.options is not None and isinstance(value, list | tuple):
            order = {code: i for i, code in enumerate(self.options.values)}
            value = sorted(set(value), key=lambda code: order.get(code, len(order)))
            setattr(model_instance, self.attname, value)
        return value


class InquiryChannel(models.TextChoices):
    WEB_FORM = "web_form", _("web form")
    PHONE = "phone", _("phone")
    PARTNER = "partner", _("partner referral")
    COMMUNITY_SIGNUP = "community_signup", _("community sign-up")


class InquiryInterest(models.TextChoices):
    """What the prospect asked for (several may apply)."""

    SAAS = "saas", _("SaaS")
    PRIVATE_DEPLOYMENT = "private_deployment", _("private deployment")
    SOURCE_CODE = "source_code", _("source code")
    CUSTOMIZATION = "customization", _("customization / ERP integration")
    PRICE = "price", _("price")


class InquiryMotive(models.TextChoices):
    """Why they ask (seed 000: why customers ask for the source code)."""

    DATA_SECURITY = "data_security", _("data security (data on own servers)")
    CUSTOMIZATION = "customization", _("customization")
    COST = "cost", _("long-term cost")
    COMPLIANCE = "compliance", _("compliance / self-control")
    RESELLING = "reselling", _("reselling to their own customers")


class Offer(models.TextChoices):
    COMMUNITY = "community", _("Community edition")
    STANDARD = "standard", _("Standard edition")
    ENTERPRISE = "enterprise", _("Enterprise edition")
    SOURCE = "source", _("Source license")
    SAAS = "saas", _("SaaS")
    PARTNER_PROGRAMME = "partner_programme", _("partner programme")


# The edition a won inquiry's draft contract is for; the other offers have no contract to draft.
OFFER_EDITION: dict[str, str] = {
    Offer.STANDARD: "standard",
    Offer.ENTERPRISE: "enterprise",
    Offer.SOURCE: "source",
    Offer.SAAS: "saas",
}


class InquiryStage(models.TextChoices):
    NEW = "new", pgettext_lazy("inquiry stage", "new")
    QUALIFIED = "qualified", _("qualified")
    PROPOSAL = "proposal", _("proposal")
    WON = "won", _("won")
    LOST = "lost", _("lost")


# The sales pipeline as data: the one place that says which moves are allowed.
INQUIRY_TRANSITIONS: dict[str, set[str]] = {
    InquiryStage.NEW: {InquiryStage.QUALIFIED, InquiryStage.LOST},
    InquiryStage.QUALIFIED: {InquiryStage.PROPOSAL, InquiryStage.WON, InquiryStage.LOST},
    InquiryStage.PROPOSAL: {InquiryStage.WON, InquiryStage.LOST, InquiryStage.QUALIFIED},
    InquiryStage.WON: set(),
    InquiryStage.LOST: {InquiryStage.NEW},  # reopened when the prospect comes back
}

CLOSED_STAGES = frozenset({InquiryStage.WON, InquiryStage.LOST})


class LostReason(models.TextChoices):
    PRICE = "price", _("price too high")
    WANTED_SOURCE = "wanted_source", _("wanted the source code on other terms")
    COMPETITOR = "competitor", _("chose a competitor")
    NO_BUDGET = "no_budget", _("no budget / project stopped")
    NO_RESPONSE = "no_response", _("no response")
    NOT_A_FIT = "not_a_fit", _("not a fit / spam")
    OTHER = "other", _("other")


class Inquiry(models.Model):
    """A prospect's or customer's question to sales (询盘), from first contact to won or lost."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("existing organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inquiries",
    )
    company_name = models.CharField(
        _("company"), max_length=200, blank=True, help_text=_("The prospect's name when not yet a customer.")
    )
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True, db_index=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=InquiryChannel.choices)
    partner = models.ForeignKey(
        Partner,
        verbose_name=_("referred by partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inquiries",
    )
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices)
    company_size = models.CharField(_("company size"), max_length=20, choices=CompanySize.choices, blank=True)
    country = models.CharField(
        _("country"), max_length=2, default="CN", help_text=_("ISO 3166 code, e.g. CN")
    )
    interests = ChoiceListField(_("asked for"), options=InquiryInterest)
    motives = ChoiceListField(_("motives"), options=InquiryMotive)
    recommended_offer = models.CharField(
        _("offer recommended"), max_length=20, choices=Offer.choices, blank=True
    )
    message = models.TextField(_("message"), blank=True)
    stage = models.CharField(
        _("pipeline stage"),
        max_length=20,
        choices=InquiryStage.choices,
        default=InquiryStage.NEW,
        db_index=True,
    )
    lost_reason = models.CharField(
        _("lost reason"),
        max_length=20,
        choices=LostReason.choices,
        blank=True,
        help_text=_("Required when the inquiry is lost."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_inquiries",
        limit_choices_to={"is_staff": True},
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("draft contract"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inquiries",
        editable=False,
    )
    signup_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed up as"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    source_ip = models.GenericIPAddressField(_("sent from"), null=True, blank=True, editable=False)
    stage_changed_at = models.DateTimeField(_("stage changed"), default=timezone.now, editable=False)
    closed_at = models.DateTimeField(
        pgettext_lazy("inquiry", "closed at"), null=True, blank=True, editable=False
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    notified_at = models.DateTimeField(_("sales notified"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(stage="lost") | ~models.Q(lost_reason=""), name="inquiry_lost_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["industry", "created_at"])]

    def __str__(self) -> str:
        return f"{self.display_name} ({timezone.localtime(self.created_at):%Y-%m-%d})"

    @property
    def display_name(self) -> str:
        if self.organization_id and self.organization is not None:
            return self.organization.name
        return self.company_name or self.contact_name or self.contact_email

    def interest_labels(self) -> list[str]:
        labels = dict(InquiryInterest.choices)
        return [str(labels.get(code, code)) for code in self.interests or []]

    def motive_labels(self) -> list[str]:
        labels = dict(InquiryMotive.choices)
        return [str(labels.get(code, code)) for code in self.motives or []]

    def clean(self) -> None:
        errors: dict[str, list[Any]] = {}
        self.country = (self.country or "").upper()
        if not self.organization_id and not self.company_name.strip():
            errors.setdefault("company_name", []).append(
                _("Name the company, or choose the existing organization.")
            )
        if not self.contact_email and not self.contact_phone and not self.organization_id:
            errors.setdefault("contact_email", []).append(_("Give an email address or a phone number."))
        if self.stage == InquiryStage.LOST and not self.lost_reason:
            errors.setdefault("lost_reason", []).append(_("Say why the inquiry was lost."))
        if self.channel == InquiryChannel.PARTNER and not self.partner_id:
            errors.setdefault("partner", []).append(_("Choose the partner who referred this inquiry."))
        if errors:
            raise ValidationError(errors)


class InquiryNoteKind(models.TextChoices):
    NOTE = "note", _("note")
    STAGE = "stage", _("stage change")
    SYSTEM = "system", _("system")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise ValidationError(_("Activity notes are append-only."), code="append_only")

    def delete(self) -> Any:
        raise ValidationError(_("Activity notes are append-only."), code="append_only")


class InquiryNote(models.Model):
    """The inquiry's activity log: written once, never edited (a correction is a new note)."""

    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("inquiry"), on_delete=models.CASCADE, related_name="notes"
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=InquiryNoteKind.choices, default=InquiryNoteKind.NOTE
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("note"), max_length=4000)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity note")
        verbose_name_plural = _("activity notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M} {self.body[:60]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValidationError(_("Activity notes are append-only."), code="append_only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(_("Activity notes are append-only."), code="append_only")


# Partner revenue share per contract -----------------------------------------------------------------


class ContractRevenueShare(models.Model):
    """The revenue share agreed for one partner-sourced contract, when it differs from the partner's
    default (OEM 30 %, source-license partner 15 %). Kept here because contracts/ is the catalogue of
    terms and this is a partner agreement."""

    contract = models.OneToOneField(
        "contracts.Contract",
        verbose_name=_("contract"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="revenue_share",
    )
    percent = models.DecimalField(
        _("revenue share %"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contract revenue share")
        verbose_name_plural = _("contract revenue shares")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.contract} {self.percent} %"


class RevenueDashboard(Organization):
    """No data of its own: gives the management revenue dashboard its place in admin and its own
    permission (customers.view_revenuedashboard)."""

    class Meta:
        proxy = True
        verbose_name = _("revenue dashboard")
        verbose_name_plural = _("revenue dashboard")
        default_permissions = ("view",)


from customers.partner_models import (  # noqa: E402, F401  (the partner area's models, split for size)
    DEAL_TRANSITIONS,
    DealRegistration,
    DealStatus,
    PartnerInvitation,
    PartnerMembership,
    PartnerRole,
)
