"""Invoices, credit notes and their lines; exchange rates; the per-contract invoicing guard."""

from __future__ import annotations

import operator
import secrets
from collections.abc import Collection
from decimal import Decimal
from functools import reduce
from typing import TYPE_CHECKING, Any, Self, cast

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Round
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.errors import BillingError, billing_error
from billing.money import ZERO, line_amounts, round_money
from editions.models import Currency

if TYPE_CHECKING:
    from django.db.models import Field


def cents_add_up(total: str, *parts: str) -> Exact:
    """`total = sum(parts)`, compared in whole cents so that it holds exactly on every database: SQLite
    keeps decimals as floating point, where 63961.05 + 5756.49 is 69717.54000000001."""
    cents = [Round(models.F(name) * 100) for name in parts]
    return Exact(Round(models.F(total) * 100), reduce(operator.add, cents))


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", pgettext_lazy("billing", "invoice")
    CREDIT_NOTE = "credit_note", pgettext_lazy("billing", "credit note")


SERIES = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("billing", "draft")
    ISSUED = "issued", pgettext_lazy("billing", "issued")
    VOID = "void", pgettext_lazy("billing", "void")


# State machines as data: the one place that says which moves are allowed (services check them).
INVOICE_TRANSITIONS: dict[str, set[str]] = {
    InvoiceStatus.DRAFT: {InvoiceStatus.ISSUED},
    InvoiceStatus.ISSUED: {InvoiceStatus.VOID},
    InvoiceStatus.VOID: set(),
}


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", pgettext_lazy("billing", "unpaid")
    PARTIAL = "partial", pgettext_lazy("billing", "partially paid")
    PAID = "paid", pgettext_lazy("billing", "paid")
    REFUNDED = "refunded", pgettext_lazy("billing", "refunded")
    # Nothing was paid and credit notes cancelled the whole amount: nothing is owed, nothing was received.
    CREDITED = "credited", pgettext_lazy("billing", "settled by credit note")


PAYMENT_STATUS_TRANSITIONS: dict[str, set[str]] = {
    PaymentStatus.UNPAID: {PaymentStatus.PARTIAL, PaymentStatus.PAID, PaymentStatus.CREDITED},
    # back to unpaid/partial when a mistaken allocation is reversed
    PaymentStatus.PARTIAL: {PaymentStatus.UNPAID, PaymentStatus.PAID, PaymentStatus.REFUNDED},
    PaymentStatus.PAID: {PaymentStatus.UNPAID, PaymentStatus.PARTIAL, PaymentStatus.REFUNDED},
    PaymentStatus.REFUNDED: set(),
    PaymentStatus.CREDITED: {PaymentStatus.UNPAID},  # the credit note was voided
}


class TaxCategory(models.TextChoices):
    SOFTWARE_LICENSE = "software_license", pgettext_lazy("billing", "software license")
    SERVICES = "services", pgettext_lazy("billing", "IT services")
    MAINTENANCE = "maintenance", pgettext_lazy("billing", "maintenance")
    SAAS = "saas", pgettext_lazy("billing", "SaaS")
    SUPPORT = "support", pgettext_lazy("billing", "support")
    CUSTOM_DEVELOPMENT = "custom_development", pgettext_lazy("billing", "custom development")
    SMALL_SCALE = "small_scale", pgettext_lazy("billing", "small-scale taxpayer rate")
    OTHER = "other", pgettext_lazy("billing", "other")


# VAT since April 2019 (spec "China"): goods 13 %, modern services 6 %, small-scale 3 %. A default only:
# the rate is stored on each line and finance may change it per line.
DEFAULT_TAX_RATES: dict[str, Decimal] = {
    TaxCategory.SOFTWARE_LICENSE: Decimal("0.13"),
    TaxCategory.SERVICES: Decimal("0.06"),
    TaxCategory.MAINTENANCE: Decimal("0.06"),
    TaxCategory.SAAS: Decimal("0.06"),
    TaxCategory.SUPPORT: Decimal("0.06"),
    TaxCategory.CUSTOM_DEVELOPMENT: Decimal("0.06"),
    TaxCategory.SMALL_SCALE: Decimal("0.03"),
    TaxCategory.OTHER: Decimal("0.06"),
}


def default_tax_rate(category: str) -> Decimal:
    overrides = getattr(settings, "BILLING_TAX_RATES", {}) or {}
    if category in overrides:
        return Decimal(str(overrides[category]))
    return DEFAULT_TAX_RATES[TaxCategory(category)]


def category_for_rate(rate: Decimal) -> str:
    """The category an API client most likely meant when it sent only a rate."""
    rate = Decimal(rate)
    if rate == Decimal("0.13"):
        return TaxCategory.SOFTWARE_LICENSE
    if rate == Decimal("0.06"):
        return TaxCategory.SERVICES
    if rate == Decimal("0.03"):
        return TaxCategory.SMALL_SCALE
    return TaxCategory.OTHER


def new_payment_token() -> str:
    return secrets.token_urlsafe(24)


class InvoiceQuerySet(models.QuerySet):
    def delete(self) -> Any:
        if self.exclude(status=InvoiceStatus.DRAFT).exists():
            raise billing_error(BillingError.NOT_DRAFT, _("Only draft invoices can be deleted."))
        return super().delete()

    def invoices(self) -> InvoiceQuerySet:
        return self.filter(kind=DocumentKind.INVOICE)

    def credit_notes(self) -> InvoiceQuerySet:
        return self.filter(kind=DocumentKind.CREDIT_NOTE)

    def numbered(self) -> InvoiceQuerySet:
        return self.filter(number__isnull=False)

    def open(self) -> InvoiceQuerySet:
        """Issued invoices that still have money to collect."""
        return self.filter(
            kind=DocumentKind.INVOICE,
            status=InvoiceStatus.ISSUED,
            payment_status__in=[PaymentStatus.UNPAID, PaymentStatus.PARTIAL],
            gross_total__gt=models.F("amount_paid") - models.F("amount_credited"),
        )

    def overdue(self, today: Any = None) -> InvoiceQuerySet:
        return self.open().filter(due_date__lt=today or timezone.localdate())


class Invoice(models.Model):
    """An invoice or a credit note (发票 / 贷项通知单). Drafts are editable; from issue on the document is
    frozen (see MUTABLE_AFTER_ISSUE): corrections are credit notes."""

    # Fields that may still change once the document is issued: its status (→ void), the payment
    # bookkeeping derived from append-only payment rows, and the fapiao data from the tax system.
    MUTABLE_AFTER_ISSUE = frozenset(
        {
            "status",
            "payment_status",
            "amount_paid",
            "amount_credited",
            "fapiao_number",
            "fapiao_issued_on",
            "voided_at",
            "void_reason",
            "sent_at",
            "updated_at",
        }
    )

    kind = models.CharField(
        _("document type"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.INVOICE
    )
    status = models.CharField(
        _("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True
    )
    payment_status = models.CharField(
        _("payment status"),
        max_length=10,
        choices=PaymentStatus.choices,
        default=PaymentStatus.UNPAID,
        db_index=True,
    )
    number = models.CharField(_("number"), max_length=20, null=True, blank=True, editable=False)
    series = models.CharField(_("series"), max_length=5, editable=False)
    fiscal_year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(_("sequence"), null=True, blank=True, editable=False)

    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    # Copied from the contract (or the organization) when the draft is made, for filters and exports.
    edition = models.ForeignKey(
        "editions.Edition",
        verbose_name=_("edition"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    partner = models.ForeignKey(
        "customers.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    credit_for = models.ForeignKey(
        "self",
        verbose_name=pgettext_lazy("billing", "credit note for"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )

    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    rate_to_cny = models.DecimalField(
        _("exchange rate to CNY"),
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Taken from the exchange rates at issue unless set on the draft."),
    )
    issue_date = models.DateField(
        pgettext_lazy("billing", "issue date"), null=True, blank=True, db_index=True, editable=False
    )
    due_date = models.DateField(_("due date"), null=True, blank=True, db_index=True)
    period_start = models.DateField(_("service period from"), null=True, blank=True)
    period_end = models.DateField(_("service period to"), null=True, blank=True)

    net_total = models.DecimalField(
        pgettext_lazy("billing", "net"), max_digits=18, decimal_places=2, default=ZERO, editable=False
    )
    tax_total = models.DecimalField(_("tax"), max_digits=18, decimal_places=2, default=ZERO, editable=False)
    gross_total = models.DecimalField(
        pgettext_lazy("billing", "total"), max_digits=18, decimal_places=2, default=ZERO, editable=False
    )
    # Derived from the append-only payment allocations and issued credit notes, kept in step by services.
    amount_paid = models.DecimalField(
        pgettext_lazy("billing", "paid"), max_digits=18, decimal_places=2, default=ZERO, editable=False
    )
    amount_credited = models.DecimalField(
        pgettext_lazy("billing", "credited"), max_digits=18, decimal_places=2, default=ZERO, editable=False
    )

    language = models.CharField(_("document language"), max_length=10, blank=True)
    seller = models.JSONField(_("seller details"), default=dict, blank=True, editable=False)
    buyer = models.JSONField(_("buyer details"), default=dict, blank=True, editable=False)
    fapiao_number = models.CharField(
        _("fapiao number"),
        max_length=20,
        blank=True,
        db_index=True,
        help_text=_("8 or 20 digits, from the tax authority's system; separate from our invoice number."),
    )
    fapiao_issued_on = models.DateField(_("fapiao issued on"), null=True, blank=True)
    notes = models.TextField(_("notes on the invoice"), blank=True)
    reason = models.CharField(_("reason for the credit note"), max_length=300, blank=True)
    payment_token = models.CharField(max_length=40, unique=True, default=new_payment_token, editable=False)

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
    issued_at = models.DateTimeField(
        pgettext_lazy("billing", "issued"), null=True, blank=True, editable=False
    )
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True, editable=False)
    void_reason = models.CharField(_("reason for voiding"), max_length=300, blank=True, editable=False)
    sent_at = models.DateTimeField(_("last emailed"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("billing", "invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=models.Q(number__isnull=False), name="uniq_invoice_number"
            ),
            models.UniqueConstraint(
                fields=["series", "fiscal_year", "sequence"],
                condition=models.Q(sequence__isnull=False),
                name="uniq_invoice_series_year_sequence",
            ),
            models.CheckConstraint(
                condition=(models.Q(status="draft", number__isnull=True, sequence__isnull=True))
                | (~models.Q(status="draft") & models.Q(number__isnull=False, sequence__isnull=False)),
                name="invoice_numbered_iff_issued",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="invoice", credit_for__isnull=True)
                | models.Q(kind="credit_note", credit_for__isnull=False),
                name="invoice_credit_note_linked",
            ),
            models.CheckConstraint(
                condition=cents_add_up("gross_total", "net_total", "tax_total"),
                name="invoice_gross_is_net_plus_tax",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "payment_status", "due_date"]),
            models.Index(fields=["organization", "-issue_date"]),
        ]

    def __str__(self) -> str:
        if self.number:
            return self.number
        label = _("draft credit note") if self.kind == DocumentKind.CREDIT_NOTE else _("draft invoice")
        return f"{label} #{self.pk}" if self.pk else str(label)

    def save(self, *args: Any, **kwargs: Any) -> None:
        changed = self._frozen_changes()
        if changed:
            raise billing_error(
                BillingError.IMMUTABLE,
                _("%(number)s is issued and cannot change (%(fields)s); issue a credit note instead.")
                % {"number": self.number, "fields": ", ".join(changed)},
                fields=changed,
            )
        super().save(*args, **kwargs)
        self._loaded = {f.attname: getattr(self, f.attname) for f in self._meta.concrete_fields}

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        persisted = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if persisted not in (None, InvoiceStatus.DRAFT):
            raise billing_error(BillingError.NOT_DRAFT, _("Only draft invoices can be deleted."))
        return super().delete(*args, **kwargs)

    # Immutability ---------------------------------------------------------------------------------

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any]) -> Self:
        instance = super().from_db(db, field_names, values)
        instance._loaded = dict(zip(field_names, values, strict=True))
        return instance

    def refresh_from_db(self, using: Any = None, fields: Any = None, from_queryset: Any = None) -> None:
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        loaded = getattr(self, "_loaded", None) or {}
        names = fields or [f.name for f in self._meta.concrete_fields]
        for name in names:
            attname = cast("Field[Any, Any]", self._meta.get_field(name)).attname  # concrete fields
            loaded[attname] = getattr(self, attname)
        self._loaded = loaded

    def _frozen_changes(self) -> list[str]:
        loaded = getattr(self, "_loaded", None)
        if not loaded or loaded.get("status") == InvoiceStatus.DRAFT:
            return []
        changed = []
        for field in self._meta.concrete_fields:
            if field.name in self.MUTABLE_AFTER_ISSUE or field.attname not in loaded:
                continue
            if getattr(self, field.attname) != loaded[field.attname]:
                changed.append(field.name)
        return changed

    # Derived facts ------------------------------------------------------------------------------

    @property
    def is_credit_note(self) -> bool:
        return self.kind == DocumentKind.CREDIT_NOTE

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def amount_due(self) -> Decimal:
        """What the customer owes in total after credit notes (credit amounts are negative)."""
        return self.gross_total + self.amount_credited

    @property
    def open_balance(self) -> Decimal:
        if self.kind != DocumentKind.INVOICE or self.status != InvoiceStatus.ISSUED:
            return ZERO
        return max(ZERO, self.amount_due - self.amount_paid)

    @property
    def days_overdue(self) -> int:
        if not self.due_date or self.open_balance <= 0:
            return 0
        return max(0, (timezone.localdate() - self.due_date).days)

    @property
    def gross_total_cny(self) -> Decimal | None:
        return round_money(self.gross_total * self.rate_to_cny) if self.rate_to_cny is not None else None


class InvoiceLineQuerySet(models.QuerySet):
    def _guard(self) -> None:
        if self.exclude(invoice__status=InvoiceStatus.DRAFT).exists():
            raise billing_error(BillingError.IMMUTABLE, _("Lines of an issued invoice cannot change."))

    def delete(self) -> Any:
        self._guard()
        return super().delete()

    def update(self, **kwargs: Any) -> int:
        self._guard()
        return super().update(**kwargs)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=pgettext_lazy("billing", "invoice"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    description = models.CharField(pgettext_lazy("billing", "description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4, default=Decimal("1"))
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=6)
    tax_category = models.CharField(
        _("tax category"), max_length=30, choices=TaxCategory.choices, default=TaxCategory.SERVICES
    )
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("A fraction: 0.13 is 13 %."),
    )
    net = models.DecimalField(
        pgettext_lazy("billing", "net"), max_digits=18, decimal_places=2, default=ZERO, editable=False
    )
    tax = models.DecimalField(_("tax"), max_digits=18, decimal_places=2, default=ZERO, editable=False)
    gross = models.DecimalField(_("gross"), max_digits=18, decimal_places=2, default=ZERO, editable=False)

    period_start = models.DateField(pgettext_lazy("billing", "period from"), null=True, blank=True)
    period_end = models.DateField(pgettext_lazy("billing", "period to"), null=True, blank=True)
    price = models.ForeignKey(
        "editions.Price", verbose_name=_("price list entry"), null=True, blank=True, on_delete=models.SET_NULL
    )
    module = models.ForeignKey(
        "editions.Module", verbose_name=_("module"), null=True, blank=True, on_delete=models.PROTECT
    )
    device_count = models.PositiveIntegerField(
        pgettext_lazy("billing", "peak devices"), null=True, blank=True
    )
    credited_line = models.ForeignKey(
        "self",
        verbose_name=_("credits line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_lines",
    )

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=cents_add_up("gross", "net", "tax"), name="invoice_line_gross_sum"
            ),
            models.CheckConstraint(
                condition=models.Q(tax_rate__gte=0, tax_rate__lte=1), name="invoice_line_tax_rate_fraction"
            ),
        ]

    def __str__(self) -> str:
        return self.description

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._invoice_is_draft():
            raise billing_error(BillingError.IMMUTABLE, _("Lines of an issued invoice cannot change."))
        if self.tax_rate is None:
            self.tax_rate = default_tax_rate(self.tax_category)
        self.compute()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if not self._invoice_is_draft():
            raise billing_error(BillingError.IMMUTABLE, _("Lines of an issued invoice cannot change."))
        return super().delete(*args, **kwargs)

    def compute(self) -> None:
        self.net, self.tax, self.gross = line_amounts(self.quantity, self.unit_price, self.tax_rate)

    def _invoice_is_draft(self) -> bool:
        status = Invoice.objects.filter(pk=self.invoice_id).values_list("status", flat=True).first()
        return status in (None, InvoiceStatus.DRAFT)


class ExchangeRate(models.Model):
    """Finance's reference rate to CNY; the rate valid on the issue date is snapshotted on the invoice."""

    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    rate_to_cny = models.DecimalField(
        _("CNY per unit"),
        max_digits=12,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("0.000001"))],
    )
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    source = models.CharField(
        _("source"), max_length=100, blank=True, help_text=_("e.g. PBOC central parity")
    )

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="uniq_exchange_rate_day"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate_to_cny} ({self.valid_from})"


class BillingKind(models.TextChoices):
    TERM = "term", pgettext_lazy("billing", "contract term fee")
    USAGE = "usage", pgettext_lazy("billing", "SaaS usage")
    CUSTOM_DEV = "custom_dev", pgettext_lazy("billing", "custom development overage")


class BillingPeriod(models.Model):
    """The invoicing guard: one row per contract, kind and period, so each billable period is invoiced
    once however often a job runs or retries. The row goes with its invoice if that draft is deleted."""

    contract = models.ForeignKey(
        "contracts.Contract",
        verbose_name=_("contract"),
        on_delete=models.PROTECT,
        related_name="billing_periods",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=BillingKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=pgettext_lazy("billing", "invoice"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="billing_periods",
        help_text=_("Empty when there was nothing to charge for the period."),
    )
    quantity = models.DecimalField(
        _("quantity billed"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("billed period")
        verbose_name_plural = _("billed periods")
        ordering = ["contract_id", "kind", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "kind", "period_start"], name="uniq_billing_period"),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="billing_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.kind} {self.period_start}–{self.period_end}"


class ContractBillingState(models.Model):
    """Per contract: the usage invoiced-through marker, and the row the monthly run locks while it bills
    the contract (so two runs never bill the same contract at once)."""

    contract = models.OneToOneField(
        "contracts.Contract",
        verbose_name=_("contract"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="billing_state",
    )
    usage_invoiced_through = models.DateField(_("usage invoiced through"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contract billing state")
        verbose_name_plural = _("contract billing states")

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.usage_invoiced_through or '-'}"


class UsageHold(models.Model):
    """A SaaS month held for review because a deployment's usage reports were stale; staff are told
    once, and the month is billed by the next run after someone releases it."""

    contract = models.ForeignKey(
        "contracts.Contract", verbose_name=_("contract"), on_delete=models.CASCADE, related_name="usage_holds"
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("held since"), default=timezone.now)
    notified_at = models.DateTimeField(_("staff notified"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("usage held for review")
        verbose_name_plural = _("usage held for review")
        ordering = ["-period_start", "contract_id"]
        constraints = [models.UniqueConstraint(fields=["contract", "period_start"], name="uniq_usage_hold")]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.period_start:%Y-%m}"
