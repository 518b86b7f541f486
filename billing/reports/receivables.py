"""Open receivables on the as-of date, by age."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import DocumentKind, Invoice, InvoiceStatus, PaymentAllocation
from billing.reports.figures import ZERO, Figure, cents
from billing.reports.rates import RateTable

AGEING_BUCKETS = (
    (None, 0, gettext_lazy("not yet due")),
    (1, 30, gettext_lazy("1–30 days overdue")),
    (31, 60, gettext_lazy("31–60 days overdue")),
    (61, 90, gettext_lazy("61–90 days overdue")),
    (91, None, gettext_lazy("more than 90 days overdue")),
)


def ageing_bucket(days_overdue: int) -> str:
    for low, high, label in AGEING_BUCKETS:
        if (low is None or days_overdue >= low) and (high is None or days_overdue <= high):
            return str(label)
    return str(AGEING_BUCKETS[0][2])


def receivables(as_of: date, rates: RateTable) -> Figure:
    """Σ over invoices issued by `as_of` (not void by then) of gross − credit notes issued by then −
    payments allocated by then, where positive, at the as-of rate; bucketed by days past due."""
    invoices = list(
        Invoice.objects.filter(kind=DocumentKind.INVOICE, issue_date__lte=as_of)
        .filter(Q(status=InvoiceStatus.ISSUED) | Q(status=InvoiceStatus.VOID, voided_at__date__gt=as_of))
        .select_related("organization")
        .order_by("due_date", "id")
    )
    ids = [invoice.pk for invoice in invoices]
    credited = dict(
        Invoice.objects.filter(
            kind=DocumentKind.CREDIT_NOTE,
            status=InvoiceStatus.ISSUED,
            issue_date__lte=as_of,
            credit_for_id__in=ids,
        )
        .values("credit_for_id")
        .annotate(total=Sum("gross_total"))
        .values_list("credit_for_id", "total")
    )
    paid = dict(
        PaymentAllocation.objects.filter(invoice_id__in=ids, created_at__date__lte=as_of)
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    rows: list[list[Any]] = []
    total = ZERO
    buckets: dict[str, Decimal] = {str(label): ZERO for _low, _high, label in AGEING_BUCKETS}
    for invoice in invoices:
        open_amount = (
            invoice.gross_total + (credited.get(invoice.pk) or ZERO) - (paid.get(invoice.pk) or ZERO)
        )
        if open_amount <= 0:
            continue
        overdue = max(0, (as_of - invoice.due_date).days) if invoice.due_date else 0
        bucket = ageing_bucket(overdue)
        rate = rates.rate(invoice.currency, as_of)
        cny = None if rate is None else cents(open_amount * rate)
        if cny is not None:
            total += cny
            buckets[bucket] += cny
        rows.append(
            [
                invoice.number,
                invoice.organization.name,
                invoice.issue_date.isoformat() if invoice.issue_date else "",
                invoice.due_date.isoformat() if invoice.due_date else "",
                overdue,
                bucket,
                invoice.currency,
                open_amount,
                rate if rate is not None else "",
                "" if cny is None else cny,
            ]
        )
    columns = [
        _("invoice"),
        _("organization"),
        _("issue date"),
        _("due date"),
        _("days overdue"),
        _("ageing"),
        _("currency"),
        _("open amount"),
        _("rate to CNY"),
        _("open (CNY)"),
    ]
    return Figure("receivables", total, columns, rows, count=len(rows), series=list(buckets.items()))
