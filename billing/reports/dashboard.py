"""Revenue figures for management: pure computations over contracts (contracts/) and invoices, payments
and exchange rates (billing/). Reads only; every amount ends in CNY.

Conversion to CNY (one rule per kind of amount):
- contract values (ARR/MRR of term contracts, bookings, renewals) and open receivables convert at the
  staff-maintained exchange-rate table (billing.ExchangeRate) rate valid on the figure's reference date
  (the as-of date; for bookings the activation date), falling back to BILLING_DEFAULT_RATES_TO_CNY;
- invoiced amounts (revenue, SaaS MRR) convert at the rate recorded on the invoice when it was issued
  (billing snapshots it from the same table).
An amount whose rate is missing is left out of the totals and the dashboard says so.

Each figure's definition is in DEFINITIONS, shown on the dashboard and in the CSV files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.reports.arr import arr_figures
from billing.reports.bookings import bookings
from billing.reports.figures import DEFINITIONS, Figure
from billing.reports.rates import RateTable
from billing.reports.receivables import receivables
from billing.reports.renewals import renewal_rate, renewals_due
from billing.reports.report_data import ReportData
from billing.reports.revenue import revenue_figures
from billing.reports.trials import trial_conversion
from contracts.models import ContractOrigin

__all__ = ["DEFINITIONS", "Dashboard", "Figure", "RateTable", "revenue_dashboard"]


@dataclass
class Dashboard:
    as_of: date
    date_from: date
    date_to: date
    renewals_from: date
    renewals_to: date
    figures: dict[str, Figure]
    mrr_trend: list[tuple[date, Decimal]]
    rates_used: list[tuple[str, date | None, Decimal]]
    missing_rates: list[tuple[str, date]]


def revenue_dashboard(
    *,
    as_of: date,
    date_from: date,
    date_to: date,
    renewals_from: date,
    renewals_to: date,
    rates: RateTable | None = None,
) -> Dashboard:
    """All figures of the management dashboard (see DEFINITIONS). `as_of` fixes the stock figures
    (ARR, MRR, renewals due, receivables); [date_from, date_to] the flows (bookings, revenue);
    [renewals_from, renewals_to] the past window of the renewal rate. All dates inclusive, local."""
    rates = rates or RateTable()
    data = ReportData(as_of=as_of, date_from=date_from, date_to=date_to, rates=rates)
    arr, mrr, trend = arr_figures(data, as_of)
    figures = {
        "arr": arr,
        "mrr": mrr,
        "bookings": bookings(data, date_from, date_to),
        "bookings_self_service": bookings(data, date_from, date_to, origin=ContractOrigin.SELF_SERVICE),
        "bookings_sales_led": bookings(data, date_from, date_to, origin=ContractOrigin.SALES),
        "trial_conversion": trial_conversion(data, date_from, date_to),
        "renewals_due": renewals_due(data, as_of),
        "renewal_rate": renewal_rate(data, renewals_from, renewals_to),
        **revenue_figures(data),
        "receivables": receivables(as_of, rates),
    }
    return Dashboard(
        as_of=as_of,
        date_from=date_from,
        date_to=date_to,
        renewals_from=renewals_from,
        renewals_to=renewals_to,
        figures=figures,
        mrr_trend=trend,
        rates_used=sorted(
            ((cur, day, rate) for (cur, day), rate in rates.used.items()),
            key=lambda r: (r[0], r[1] or date.min),
        ),
        missing_rates=sorted(rates.missing),
    )
