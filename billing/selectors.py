"""Reads of billing data: invoice lists and filters, exchange rates, seller/buyer details, open items."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.models import (
    DocumentKind,
    ExchangeRate,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Quote,
    QuoteKind,
    QuoteStatus,
)
from billing.models.payments import unallocated_expression
from billing.money import ZERO

# Bounded by anything but a Latin letter or digit: Chinese memos run numbers into the text (支付INV-…货款).
INVOICE_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9])(INV|CN)[-_\s]?(\d{4})[-_\s]?(\d{6})(?!\d)", re.IGNORECASE)


def invoice_queryset() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("organization", "contract", "edition", "partner", "credit_for")


def invoice_get(invoice_id: int) -> Invoice:
    return invoice_queryset().prefetch_related("lines").get(pk=invoice_id)


def invoices_for_organization(organization_id: int) -> QuerySet[Invoice]:
    """What a customer may see in the portal: its issued and voided invoices and credit notes (never
    drafts), newest first; each has .open_balance, and billing.pdf.render_invoice_pdf / pay_url."""
    return (
        Invoice.objects.filter(organization_id=organization_id)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("contract", "credit_for")
        .order_by("-issue_date", "-id")
    )


def invoice_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Invoice]:
    """Invoices and credit notes matching the API/export filters (empty values are ignored)."""
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "", [])}
    qs = invoice_queryset()
    if "ids" in f:
        qs = qs.filter(pk__in=f["ids"])
    if "kind" in f:
        qs = qs.filter(kind=f["kind"])
    if "status" in f:
        statuses = f["status"] if isinstance(f["status"], list | tuple) else [f["status"]]
        qs = qs.filter(status__in=statuses)
    if "payment_status" in f:
        qs = qs.filter(payment_status=f["payment_status"])
    if "currency" in f:
        qs = qs.filter(currency=str(f["currency"]).upper())
    if "edition" in f:
        qs = qs.filter(edition__code=f["edition"])
    if "partner" in f:
        qs = qs.filter(partner_id=f["partner"])
    if "organization" in f:
        qs = qs.filter(organization_id=f["organization"])
    if "contract" in f:
        qs = qs.filter(contract_id=f["contract"])
    if "date_from" in f:
        qs = qs.filter(issue_date__gte=f["date_from"])
    if "date_to" in f:
        qs = qs.filter(issue_date__lte=f["date_to"])
    if "numbered" in f:
        qs = qs.filter(number__isnull=False)
    if q := f.get("search"):
        qs = qs.filter(Q(number__iexact=q.strip()) | Q(organization__name__icontains=q) | Q(fapiao_number=q))
    return qs.order_by("-issue_date", "-id")


def export_queryset(*, filters: dict[str, Any]) -> QuerySet[Invoice]:
    """Documents for a finance export: numbered (issued or void) unless a status is asked for."""
    filters = dict(filters)
    if not filters.get("status"):
        filters["numbered"] = True
    return invoice_list(filters=filters).order_by("issue_date", "issued_at", "id")


def totals_by_currency(qs: QuerySet[Invoice]) -> list[dict[str, Any]]:
    """Net, tax, gross and open amounts per currency for a (filtered) list, in one query."""
    money = DecimalField(max_digits=18, decimal_places=2)
    return list(
        qs.order_by()
        .values("currency")
        .annotate(
            count=Count("id"),
            net=Coalesce(Sum("net_total"), Value(ZERO), output_field=money),
            tax=Coalesce(Sum("tax_total"), Value(ZERO), output_field=money),
            gross=Coalesce(Sum("gross_total"), Value(ZERO), output_field=money),
            paid=Coalesce(Sum("amount_paid"), Value(ZERO), output_field=money),
            open=Coalesce(
                Sum(
                    F("gross_total") + F("amount_credited") - F("amount_paid"),
                    filter=Q(kind=DocumentKind.INVOICE, status=InvoiceStatus.ISSUED),
                ),
                Value(ZERO),
                output_field=money,
            ),
        )
        .order_by("currency")
    )


def exchange_rate_to_cny(currency: str, on: date) -> Decimal:
    if currency.upper() == "CNY":
        return Decimal("1")
    rate = (
        ExchangeRate.objects.filter(currency=currency, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("rate_to_cny", flat=True)
        .first()
    )
    if rate is not None:
        return rate
    fallback = (settings.BILLING_DEFAULT_RATES_TO_CNY or {}).get(currency.upper())
    if fallback:
        return Decimal(str(fallback))
    raise billing_error(
        BillingError.NO_EXCHANGE_RATE,
        _("There is no exchange rate from %(currency)s to CNY valid on %(date)s; add one in admin.")
        % {"currency": currency, "date": on.isoformat()},
    )


def seller_details() -> dict[str, str]:
    return {
        "name": settings.SELLER_NAME,
        "name_en": settings.SELLER_NAME_EN,
        "taxpayer_id": settings.SELLER_TAXPAYER_ID,
        "address": settings.SELLER_ADDRESS,
        "phone": settings.SELLER_PHONE,
        "email": settings.SELLER_EMAIL,
        "bank": settings.SELLER_BANK,
        "account": settings.SELLER_ACCOUNT,
        "swift": settings.SELLER_SWIFT,
    }


def buyer_details(organization: Any) -> dict[str, str]:
    """The organization's invoicing data (发票信息) as it stands when the invoice is issued."""
    return {
        "name": organization.invoice_title or organization.name,
        "legal_name": organization.name,
        "taxpayer_id": organization.taxpayer_id,
        "address": organization.registered_address,
        "phone": organization.registered_phone,
        "bank": organization.bank_name,
        "account": organization.bank_account,
        "fapiao_type": organization.fapiao_type,
        "email": organization.billing_email,
        "country": organization.country,
    }


def invoice_numbers_in(text: str) -> list[str]:
    """Invoice numbers mentioned in a bank memo, normalised (INV2026000123 → INV-2026-000123)."""
    seen: list[str] = []
    for series, year, seq in INVOICE_NUMBER_RE.findall(text or ""):
        number = f"{series.upper()}-{year}-{seq}"
        if number not in seen:
            seen.append(number)
    return seen


def payments_to_reconcile() -> QuerySet[Payment]:
    """Incoming payments with money not yet allocated to invoices, oldest first."""
    return (
        Payment.objects.filter(kind="payment")
        .exclude(corrections__kind="reversal")
        .annotate(unallocated=unallocated_expression())
        .filter(unallocated__gt=0)
        .order_by("received_at", "id")
    )


def reconciliation_candidates(payments: list[Payment]) -> dict[int, list[Invoice]]:
    """For each payment, open invoices in its currency whose number appears in its memo or reference,
    looked up in one query for the whole page."""
    wanted: dict[int, list[str]] = {
        p.pk: invoice_numbers_in(f"{p.memo} {p.reference}")
        for p in payments
        if p.method != PaymentMethod.STRIPE
    }
    numbers = {n for ns in wanted.values() for n in ns}
    by_number = {
        inv.number: inv
        for inv in Invoice.objects.open().filter(number__in=numbers).select_related("organization")
    }
    currency = {p.pk: p.currency for p in payments}
    return {
        pid: [by_number[n] for n in ns if n in by_number and by_number[n].currency == currency[pid]]
        for pid, ns in wanted.items()
    }


def overdue_invoices(today: date | None = None) -> QuerySet[Invoice]:
    return Invoice.objects.overdue(today or timezone.localdate()).select_related("organization", "partner")


# --- quotes ------------------------------------------------------------------------------------------


def quote_queryset() -> QuerySet[Quote]:
    return Quote.objects.select_related(
        "organization", "contract", "edition", "resulting_contract", "invoice"
    ).prefetch_related("lines", "modules")


def quote_get(quote_id: int) -> Quote:
    return quote_queryset().get(pk=quote_id)


def quote_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Quote]:
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "", [])}
    qs = quote_queryset()
    for key in ("status", "kind", "origin"):
        if key in f:
            qs = qs.filter(**{key: f[key]})
    if "organization" in f:
        qs = qs.filter(organization_id=f["organization"])
    if "contract" in f:
        qs = qs.filter(contract_id=f["contract"])
    return qs.order_by("-created_at", "-id")


def quotes_for_organization(organization_id: int) -> QuerySet[Quote]:
    """What a customer sees in the portal: quotes sent to it (and accepted, expired or withdrawn ones
    that were sent), never drafts, newest first."""
    return (
        Quote.objects.filter(organization_id=organization_id, sent_at__isnull=False)
        .select_related("contract", "edition", "invoice", "resulting_contract")
        .order_by("-created_at", "-id")
    )


def renewal_quote_for_contract(contract_id: int) -> Quote | None:
    """The newest sent renewal quote of a contract that the customer may still accept (or has
    accepted), for the dashboard and the contract page."""
    return (
        Quote.objects.filter(
            contract_id=contract_id,
            kind=QuoteKind.RENEWAL,
            sent_at__isnull=False,
            status__in=[QuoteStatus.SENT, QuoteStatus.ACCEPTED],
        )
        .select_related("invoice", "resulting_contract")
        .order_by("-created_at", "-id")
        .first()
    )
