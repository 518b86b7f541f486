"""The product catalog: editions, modules (license feature codes) and the price list."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.core.i18n import BilingualNameMixin


class Currency(models.TextChoices):
    CNY = "CNY", _("Chinese yuan (CNY)")
    USD = "USD", _("US dollar (USD)")


class ModuleKind(models.TextChoices):
    CORE = "core", _("core")
    VERTICAL = "vertical", _("industry vertical")
    ENTERPRISE = "enterprise", _("enterprise function")
    SOURCE = "source", _("source code")


class Module(BilingualNameMixin):
    """A licensable feature; `code` is what the platform reads in the license's `features`."""

    code = models.SlugField(_("feature code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ModuleKind.choices)
    description = models.TextField(_("description"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        ordering = ["sort_order", "code"]


class Delivery(models.TextChoices):
    PUBLIC_COMPOSE = "public_compose", _("public Docker Compose")
    PRIVATE_IMAGE = "private_image", _("private Docker image")
    HELM_CHART = "helm_chart", _("Helm chart")
    SOURCE_ARCHIVE = "source_archive", _("source archive (NDA required)")
    HOSTED = "hosted", _("hosted by the vendor")


class SupportLevel(models.TextChoices):
    COMMUNITY = "community", _("community forum")
    EMAIL_5X8 = "email_5x8", _("email, 5x8")
    PHONE_7X24 = "phone_7x24", _("phone + remote, 7x24")
    DEDICATED = "dedicated", _("dedicated advisor")
    ONLINE = "online", _("online + tickets")


class PurchasePath(models.TextChoices):
    """How the pricing page lets a visitor get the edition."""

    DOWNLOAD = "download", _("free download")
    SELF_SERVICE = "self_service", _("bought online")
    SAAS_SIGNUP = "saas_signup", _("SaaS sign-up")
    SALES = "sales", _("through sales")


class Edition(BilingualNameMixin):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    included_modules = models.ManyToManyField(
        Module, verbose_name=_("included modules"), related_name="including_editions", blank=True
    )
    optional_modules = models.ManyToManyField(
        Module,
        verbose_name=_("modules a contract may add"),
        related_name="optional_in_editions",
        blank=True,
    )
    verticals_of_choice = models.PositiveSmallIntegerField(
        _("verticals of choice"),
        null=True,
        blank=True,
        help_text=_(
            "How many industry verticals a contract must choose (e.g. 1 for Standard). Empty: no rule."
        ),
    )
    device_limit = models.PositiveIntegerField(
        _("device limit"), null=True, blank=True, help_text=_("Empty means unlimited (or metered).")
    )
    is_metered = models.BooleanField(_("billed per device"), default=False)
    delivery = models.CharField(_("delivery"), max_length=30, choices=Delivery.choices)
    support_level = models.CharField(_("support"), max_length=20, choices=SupportLevel.choices)
    requires_nda = models.BooleanField(_("NDA required"), default=False)
    custom_dev_hours_per_year = models.PositiveIntegerField(_("custom development hours a year"), default=0)
    production_deployments = models.PositiveSmallIntegerField(_("production deployments allowed"), default=1)
    staging_deployments = models.PositiveSmallIntegerField(_("staging deployments allowed"), default=1)
    is_commercial = models.BooleanField(_("sold under contract"), default=True)
    sold_without_negotiation = models.BooleanField(
        _("sold at list price without negotiation"),
        default=False,
        help_text=_(
            "Standard terms at the price list: a paid invoice of an accepted quote activates the contract "
            "by itself, and customers may buy or renew it in the portal."
        ),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("on sale"), default=True)
    audience_zh = models.CharField(_("who it is for (Chinese)"), max_length=200, blank=True)
    audience_en = models.CharField(_("who it is for (English)"), max_length=200, blank=True)
    purchase_path = models.CharField(
        _("how it is bought"), max_length=20, choices=PurchasePath.choices, default=PurchasePath.SALES
    )
    trial_days = models.PositiveSmallIntegerField(
        _("trial length (days)"),
        null=True,
        blank=True,
        help_text=_("Empty: no self-service trial from the pricing page."),
    )

    class Meta:
        verbose_name = _("edition")
        verbose_name_plural = _("editions")
        ordering = ["sort_order", "code"]

    @property
    def audience(self) -> str:
        if (get_language() or "zh-hans").lower().startswith("zh"):
            return self.audience_zh or self.audience_en
        return self.audience_en or self.audience_zh

    def allowed_module_codes(self) -> set[str]:
        return {m.code for m in self.included_modules.all()} | {m.code for m in self.optional_modules.all()}


class PriceTerm(models.TextChoices):
    YEAR = "year", _("per year")
    MONTH = "month", _("per month")
    ONCE = "once", _("one-time")
    DEVICE_MONTH = "device_month", _("per device per month")


class PriceKind(models.TextChoices):
    LICENSE = "license", _("license fee")
    SUBSCRIPTION = "subscription", _("subscription")
    MAINTENANCE = "maintenance", _("maintenance")
    USAGE = "usage", _("usage")
    MODULE_FEE = "module_fee", _("module fee")
    SERVICE = "service", _("service")


class Price(models.Model):
    """One line of the price list: what an edition (or a module within it) costs per term."""

    edition = models.ForeignKey(
        Edition, verbose_name=_("edition"), on_delete=models.CASCADE, related_name="prices"
    )
    module = models.ForeignKey(
        Module,
        verbose_name=_("module"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="prices",
        help_text=_("Set for a module fee; empty for the edition's own price."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=PriceKind.choices)
    term = models.CharField(_("term"), max_length=20, choices=PriceTerm.choices)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    amount = models.DecimalField(
        _("amount"), max_digits=18, decimal_places=6, validators=[MinValueValidator(Decimal("0"))]
    )
    is_minimum = models.BooleanField(
        _("starting price"),
        default=False,
        help_text=_('The amount is a floor ("from …"); sales sets the deal price.'),
    )
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("price list")
        ordering = ["edition__sort_order", "module__sort_order", "kind", "currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "kind", "term", "currency", "valid_from"],
                condition=models.Q(module__isnull=True),
                name="uniq_edition_price_line",
            ),
            models.UniqueConstraint(
                fields=["edition", "module", "kind", "term", "currency", "valid_from"],
                condition=models.Q(module__isnull=False),
                name="uniq_module_price_line",
            ),
        ]

    def __str__(self) -> str:
        what = self.module.code if self.module is not None else self.edition.code
        return f"{what} {self.get_kind_display()} {self.amount.normalize():f} {self.currency} {self.get_term_display()}"

    def clean(self) -> None:
        if self.term == PriceTerm.DEVICE_MONTH and self.kind not in {PriceKind.USAGE, PriceKind.MODULE_FEE}:
            raise ValidationError({"term": _("Per-device prices are usage or module fees.")})
