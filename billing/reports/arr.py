"""ARR and MRR, with the MRR trend."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from billing.dates import add_months, month_end, month_start
from billing.reports.figures import CENT, ZERO, Figure, cents
from billing.reports.report_data import TREND_MONTHS, ReportData, recurring_value
from billing.reports.terms import in_force, term_months
from contracts.models import Contract


def contract_mrr_cny(contract: Contract, on: date, data: ReportData) -> tuple[Decimal | None, dict[str, Any]]:
    """MRR in CNY of one contract in force on `on`, with the working shown for the CSV."""
    if contract.edition.is_metered:
        mrr = data.saas_mrr(contract, on)
        return mrr, {
            "basis": _("SaaS: billed in %(month)s")
            % {"month": add_months(month_start(on), -1).strftime("%Y-%m")}
        }
    recurring = recurring_value(contract, data)
    months = term_months(contract.start_date, contract.end_date)
    arr = recurring * 12 / months
    cny = data.rates.to_cny(arr, contract.currency, on)
    return (None if cny is None else cny / 12), {
        "basis": _("term fee"),
        "one_time": cents(contract.price) - recurring,
        "recurring": recurring,
        "months": months.quantize(CENT),
        "arr_currency": cents(arr),
        "rate": data.rates.rate(contract.currency, on),
    }


def mrr_total(on: date, data: ReportData) -> Decimal:
    total = ZERO
    for contract in data.contracts:
        if in_force(contract, on):
            mrr, _work = contract_mrr_cny(contract, on, data)
            total += mrr or ZERO
    return total


def arr_figures(data: ReportData, as_of: date) -> tuple[Figure, Figure, list[tuple[date, Decimal]]]:
    """ARR on `as_of` = Σ over contracts in force that day of: term editions — (price − one-time license
    part) × 12 ÷ term months, at the as-of rate; metered SaaS — 12 × net billed (credit notes deducted)
    for the calendar month before the as-of month, at the invoices' rates. MRR = ARR ÷ 12; the trend is
    MRR at the last day of each of the 11 months before, and on the as-of date."""
    rows: list[list[Any]] = []
    total_mrr = ZERO
    for contract in data.contracts:
        if not in_force(contract, as_of):
            continue
        mrr, work = contract_mrr_cny(contract, as_of, data)
        if mrr is not None:
            total_mrr += mrr
        rows.append(
            [
                contract.number,
                contract.organization.name,
                contract.edition.code,
                work["basis"],
                contract.currency,
                cents(contract.price),
                work.get("one_time", ""),
                work.get("recurring", ""),
                work.get("months", ""),
                work.get("arr_currency", ""),
                work.get("rate", "") if work.get("rate") is not None else "",
                "" if mrr is None else cents(mrr * 12),
                "" if mrr is None else cents(mrr),
            ]
        )
    columns = [
        _("contract"),
        _("organization"),
        _("edition"),
        _("basis"),
        _("currency"),
        _("price"),
        _("one-time part"),
        _("recurring part"),
        _("term (months)"),
        _("ARR in contract currency"),
        _("rate to CNY"),
        _("ARR (CNY)"),
        _("MRR (CNY)"),
    ]
    points = [month_end(add_months(as_of, -k)) for k in range(TREND_MONTHS - 1, 0, -1)] + [as_of]
    trend = [(point, cents(mrr_total(point, data))) for point in points]
    arr = Figure("arr", cents(total_mrr * 12), columns, rows, count=len(rows))
    mrr_figure = Figure(
        "mrr",
        cents(total_mrr),
        [_("date"), _("MRR (CNY)"), _("ARR (CNY)")],
        [[point.isoformat(), value, cents(value * 12)] for point, value in trend],
        series=[(point.strftime("%Y-%m"), value) for point, value in trend],
    )
    return arr, mrr_figure, trend
