"""Quotes (报价单): versioned offers for a new contract, a renewal or an upgrade, built from the price list.

A quote has a number (QUO-2026-000012) shared by its versions; revising one makes the next version and
withdraws the previous. Accepting one creates the contract draft and issues the invoice
(billing.services.quotes); for editions sold without negotiation the paid invoice activates it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models.invoices import TaxCategory, cents_add_up
from billing.money import ZERO
from editions.models import Currency

QUOTE_SERIES = "QUO"


class QuoteKind(models.TextChoices):
    NEW = "new", pgettext_lazy("quote", "new contract")
    RENEWAL = "renewal", pgettext_lazy("quote", "renewal")
    UPGRADE = "upgrade", pgettext_lazy("quote", "upgrade")


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("quote", "draft")
    SENT = "sent", pgettext_lazy("quote", "sent")
    ACCEPTED = "accepted", pgettext_lazy("quote", "accepted")
    WITHDRAWN = "withdrawn", pgettext_lazy("quote", "withdrawn")
    EXPIRED = "expired", pgettext_lazy("quote", "expired")


# The state machine, as data (services check every move here).
QUOTE_TRANSITIONS: dict[str, set[str]] = {
    QuoteStatus.DRAFT: {QuoteStatus.SENT, QuoteStatus.ACCEPTED, QuoteStatus.WITHDRAWN, QuoteStatus.EXPIRED},
    QuoteStatus.SENT: {QuoteStatus.ACCEPTED, QuoteStatus.WITHDRAWN, QuoteStatus.EXPIRED},
    QuoteStatus.ACCEPTED: set(),
    QuoteStatus.WITHDRAWN: set(),
    QuoteStatus.EXPIRED: set(),
}
OPEN_QUOTE_STATUSES = (QuoteStatus.DRAFT, QuoteStatus.SENT)


class QuoteOrigin(models.TextChoices):
    SALES = "sales", pgettext_lazy("quote", "sales")
    SELF_SERVICE = "self_service", pgettext_lazy("quote", "self-service")


class QuoteLineKind(models.TextChoices):
    EDITION = "edition", pgettext_lazy("quote", "edition fee")
    MODULE = "module", pgettext_lazy("quote", "module fee")
    UPLIFT = "uplift", pgettext_lazy("quote", "renewal uplift")
    TRUE_UP = "true_up", pgettext_lazy("quote", "true-up")
    CREDIT = "credit", pgettext_lazy("quote", "credit for the unused term")
    OTHER = "other", pgettext_lazy("quote", "other")


class QuoteQuerySet(models.QuerySet):
    def open(self) -> QuoteQuerySet:
        return self.filter(status__in=OPEN_QUOTE_STATUSES)


class Quote(models.Model):
    number = models.CharField(_("number"), max_length=20, editable=False, db_index=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1, editable=False)
    previous_version = models.OneToOneField(
        "self",
        verbose_name=_("previous version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_version",
        editable=False,
    )
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="quotes"
    )
    kind = models.CharField(pgettext_lazy("quote", "kind"), max_length=10, choices=QuoteKind.choices)
    origin = models.CharField(
        _("origin"), max_length=20, choices=QuoteOrigin.choices, default=QuoteOrigin.SALES, db_index=True
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract renewed or upgraded"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    edition = models.ForeignKey(
        "editions.Edition", verbose_name=_("edition"), on_delete=models.PROTECT, related_name="+"
    )
    modules = models.ManyToManyField(
        "editions.Module", verbose_name=_("chosen modules"), blank=True, related_name="+"
    )
    device_limit = models.PositiveIntegerField(_("device limit override"), null=True, blank=True)
    term_start = models.DateField(_("term from"))
    term_end = models.DateField(_("term to"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    status = models.CharField(
        _("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT, db_index=True
    )
    valid_until = models.DateField(_("valid until"), db_index=True)
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    discount_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("discount approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    discount_approved_at = models.DateTimeField(_("discount approved"), null=True, blank=True, editable=False)

    list_total = models.DecimalField(_("list price"), max_digits=18, decimal_places=2, default=ZERO)
    discount_total = models.DecimalField(_("discount"), max_digits=18, decimal_places=2, default=ZERO)
    net_total = models.DecimalField(
        pgettext_lazy("billing", "net"), max_digits=18, decimal_places=2, default=ZERO
    )
    tax_total = models.DecimalField(_("tax"), max_digits=18, decimal_places=2, default=ZERO)
    gross_total = models.DecimalField(
        pgettext_lazy("billing", "total"), max_digits=18, decimal_places=2, default=ZERO
    )

    language = models.CharField(_("document language"), max_length=10, blank=True)
    notes = models.TextField(_("notes on the quote"), blank=True)

    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True, editable=False)
    accepted_on_behalf = models.BooleanField(
        _("accepted by sales on the customer's behalf"), default=False, editable=False
    )
    resulting_contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract created"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accepted_quotes",
        editable=False,
    )
    invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=pgettext_lazy("billing", "invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
        editable=False,
    )
    withdraw_reason = models.CharField(
        _("reason for withdrawing"), max_length=300, blank=True, editable=False
    )

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
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = QuoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_quote_discount", "Can approve a quote discount above the limit")]
        constraints = [
            models.UniqueConstraint(fields=["number", "version"], name="uniq_quote_number_version"),
            models.CheckConstraint(
                condition=models.Q(term_end__gt=models.F("term_start")), name="quote_term_end_after_start"
            ),
            models.CheckConstraint(
                condition=cents_add_up("gross_total", "net_total", "tax_total"),
                name="quote_gross_is_net_plus_tax",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="new") | models.Q(contract__isnull=False),
                name="quote_renewal_or_upgrade_has_contract",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}" if self.number else str(_("new quote"))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_QUOTE_STATUSES

    @property
    def needs_discount_approval(self) -> bool:
        limit = Decimal(str(settings.QUOTE_DISCOUNT_APPROVAL_PERCENT))
        return self.discount_percent > limit and self.discount_approved_at is None

    def is_past_validity(self, today: object = None) -> bool:
        return (today or timezone.localdate()) > self.valid_until


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(
        pgettext_lazy("quote", "kind"),
        max_length=10,
        choices=QuoteLineKind.choices,
        default=QuoteLineKind.OTHER,
    )
    description = models.CharField(pgettext_lazy("billing", "description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4, default=Decimal("1"))
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=6)
    tax_category = models.CharField(
        _("tax category"), max_length=30, choices=TaxCategory.choices, default=TaxCategory.SOFTWARE_LICENSE
    )
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("A fraction: 0.13 is 13 %."),
    )
    discountable = models.BooleanField(_("discount applies"), default=True)
    recurring = models.BooleanField(
        _("part of the contract price"),
        default=True,
        help_text=_("Off for one-off charges such as a true-up of the past term."),
    )
    list_amount = models.DecimalField(_("list price"), max_digits=18, decimal_places=2, default=ZERO)
    discount = models.DecimalField(_("discount"), max_digits=18, decimal_places=2, default=ZERO)
    net = models.DecimalField(pgettext_lazy("billing", "net"), max_digits=18, decimal_places=2, default=ZERO)
    tax = models.DecimalField(_("tax"), max_digits=18, decimal_places=2, default=ZERO)
    gross = models.DecimalField(_("gross"), max_digits=18, decimal_places=2, default=ZERO)
    price = models.ForeignKey(
        "editions.Price", verbose_name=_("price list entry"), null=True, blank=True, on_delete=models.SET_NULL
    )
    module = models.ForeignKey(
        "editions.Module", verbose_name=_("module"), null=True, blank=True, on_delete=models.PROTECT
    )
    evidence = models.JSONField(
        _("evidence"),
        default=dict,
        blank=True,
        help_text=_("For a true-up: the peak device count, the day it was reached and the deployments."),
    )

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=cents_add_up("gross", "net", "tax"), name="quote_line_gross_is_net_plus_tax"
            ),
        ]

    def __str__(self) -> str:
        return self.description
