"""Support economics (seed 002 §4): what the support desk costs, what the customers pay, and the profit,
per month, customer and edition, in CNY. Reads only.

Seed 002 §4 states the model as
    Cost    = Salary × Number of employees + Tool cost + Operation cost
    Revenue = Subscription revenue + Consulting revenue + Development revenue
    Profit  = Revenue − Cost
and this module makes each term concrete from the back office's records (DEFINITIONS, shown on the page):

- Salary × employees: the engineers' cost rates (support.StaffCostRate). A monthly rate counts for each
  month in proportion to the days of the month it is valid; an hourly rate counts for each time entry the
  engineer logged on a day it is valid (minutes ÷ 60 × rate).
- Tool and operation cost: support.SupportCost, monthly amounts, prorated by valid days like salaries.
- Revenue: the lines of issued invoices and credit notes dated in the period (net, VAT excluded), by kind
  from the line's tax category, converted at the rate recorded on the document.
- Per customer and edition, costs follow the time logged: an hourly entry to its ticket's customer and
  the edition of the ticket's contract; an engineer's monthly cost in proportion to the minutes they
  logged per customer and edition that month; tools and operations in proportion to all minutes logged
  that month. Cost of a month without logged time stays unallocated (shown as such), so the customers,
  editions and months all add up to the same totals.

Rounding: every prorated or converted amount is rounded to the cent (half up) as it is computed, and
allocations are split to the cent by the largest-remainder method, so every table adds up exactly.
"""

from __future__ import annotations

import calendar as month_calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from billing.dates import month_end, months_between
from billing.models import InvoiceLine, InvoiceStatus, TaxCategory
from billing.reports.rates import RateTable
from support.models import CostBasis, StaffCostRate, SupportCost, SupportCostKind, TimeEntry

ZERO = Decimal("0")
CENT = Decimal("0.01")
UNALLOCATED = "unallocated"
NO_EDITION = "none"


class RevenueKind:
    SUBSCRIPTION = "subscription"
    MAINTENANCE = "maintenance"
    SAAS = "saas"
    CONSULTING = "consulting"
    DEVELOPMENT = "development"
    OTHER = "other"

    ORDER = (SUBSCRIPTION, MAINTENANCE, SAAS, CONSULTING, DEVELOPMENT, OTHER)
    LABELS: dict[str, Any] = {
        SUBSCRIPTION: gettext_lazy("subscriptions and licences"),
        MAINTENANCE: gettext_lazy("maintenance"),
        SAAS: pgettext_lazy("revenue", "SaaS"),
        CONSULTING: gettext_lazy("consulting and training"),
        DEVELOPMENT: gettext_lazy("custom development"),
        OTHER: gettext_lazy("other"),
    }


# The kind of revenue an invoice line is, by the tax category finance gave it.
TAX_CATEGORY_KIND: dict[str, str] = {
    TaxCategory.SOFTWARE_LICENSE: RevenueKind.SUBSCRIPTION,
    TaxCategory.SUPPORT: RevenueKind.SUBSCRIPTION,
    TaxCategory.MAINTENANCE: RevenueKind.MAINTENANCE,
    TaxCategory.SAAS: RevenueKind.SAAS,
    TaxCategory.SERVICES: RevenueKind.CONSULTING,
    TaxCategory.CUSTOM_DEVELOPMENT: RevenueKind.DEVELOPMENT,
    TaxCategory.SMALL_SCALE: RevenueKind.OTHER,
    TaxCategory.OTHER: RevenueKind.OTHER,
}

DEFINITIONS: list[tuple[Any, Any]] = [
    (
        gettext_lazy("The model (seed 002 §4)"),
        gettext_lazy(
            "Cost = salary × number of employees + tool cost + operation cost; revenue = subscription "
            "revenue + consulting revenue + development revenue; profit = revenue − cost."
        ),
    ),
    (
        gettext_lazy("Staff cost (salary × employees)"),
        gettext_lazy(
            "Each engineer's cost rate: a monthly rate counts in each month in proportion to the days of "
            "the month it is valid; an hourly rate counts for each time entry logged on a day it is valid "
            "(minutes ÷ 60 × rate). Engineers counts those with a monthly rate in the month."
        ),
    ),
    (
        gettext_lazy("Tool cost and operation cost"),
        gettext_lazy(
            "The monthly support costs entered in the back office, in proportion to the days of the month "
            "they are valid."
        ),
    ),
    (
        gettext_lazy("Revenue"),
        gettext_lazy(
            "Net amounts (VAT excluded) of the lines of issued invoices and credit notes dated in the "
            "period, converted at the rate recorded on the document, by kind from the line's tax category: "
            "software licence and support → subscriptions and licences; maintenance; SaaS; IT services → "
            "consulting and training; custom development; anything else → other."
        ),
    ),
    (
        gettext_lazy("Per customer and edition"),
        gettext_lazy(
            "Revenue by the invoice's customer and edition. Cost follows the time logged on tickets: an "
            "hourly entry goes to its ticket's customer and the edition of the ticket's contract; an "
            "engineer's monthly cost is split by the minutes they logged per customer that month; tool and "
            "operation costs by all minutes logged that month. Cost of a month without logged time is "
            "shown as unallocated."
        ),
    ),
    (
        gettext_lazy("Profit and margin"),
        gettext_lazy(
            "Profit = revenue − cost; margin = profit ÷ revenue (none without revenue). All in CNY."
        ),
    ),
]


def cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(amount: Decimal, weights: Sequence[tuple[Any, int]]) -> dict[Any, Decimal]:
    """Split `amount` (cents) by integer weights, to the cent, largest remainder first: the parts add up
    exactly to the amount. No positive weight: nothing allocated."""
    total = sum(weight for _key, weight in weights if weight > 0)
    if total <= 0:
        return {}
    units = int(cents(amount) / CENT)
    shares = [(key, units * weight // total, units * weight % total) for key, weight in weights if weight > 0]
    left = units - sum(share for _key, share, _rest in shares)
    order = sorted(range(len(shares)), key=lambda i: (-shares[i][2], i))
    extra = {i: 1 for i in order[:left]}
    return {key: Decimal(share + extra.get(i, 0)) * CENT for i, (key, share, _rest) in enumerate(shares)}


def _valid_days(valid_from: date, valid_until: date | None, first: date, last: date) -> int:
    start, end = max(valid_from, first), min(valid_until or last, last)
    return max(0, (end - start).days + 1)


@dataclass
class Line:
    """One row of a table: a month, a customer, an edition, or the total."""

    key: Any
    label: str
    revenue: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(RevenueKind.ORDER, ZERO))
    staff_cost: Decimal = ZERO
    tool_cost: Decimal = ZERO
    operation_cost: Decimal = ZERO
    minutes: int = 0
    engineers: int | None = None

    @property
    def revenue_total(self) -> Decimal:
        return sum(self.revenue.values(), ZERO)

    @property
    def cost_total(self) -> Decimal:
        return self.staff_cost + self.tool_cost + self.operation_cost

    @property
    def profit(self) -> Decimal:
        return self.revenue_total - self.cost_total

    @property
    def margin(self) -> Decimal | None:
        if self.revenue_total <= 0:
            return None
        return (self.profit / self.revenue_total).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(CENT, rounding=ROUND_HALF_UP)

    def add_cost(self, kind: str, amount: Decimal) -> None:
        setattr(self, kind, getattr(self, kind) + amount)


@dataclass
class EngineerCost:
    user_id: int
    name: str
    monthly: Decimal = ZERO
    hourly: Decimal = ZERO
    minutes: int = 0

    @property
    def total(self) -> Decimal:
        return self.monthly + self.hourly

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class SupportEconomics:
    date_from: date
    date_to: date
    months: list[Line]
    customers: list[Line]
    editions: list[Line]
    total: Line
    engineers: list[EngineerCost]
    missing_rates: list[tuple[str, date]]
    rates_used: list[tuple[str, date | None, Decimal]]


class _Book:
    """Lines keyed per table, created on first use."""

    def __init__(self) -> None:
        self.lines: dict[Any, Line] = {}

    def get(self, key: Any, label: str) -> Line:
        line = self.lines.get(key)
        if line is None:
            line = self.lines[key] = Line(key=key, label=label)
        return line


def support_economics(*, date_from: date, date_to: date, rates: RateTable | None = None) -> SupportEconomics:
    """The economics of the whole months from the month of `date_from` through the month of `date_to`."""
    rates = rates or RateTable()
    first = date_from.replace(day=1)
    last = month_end(date_to)
    months = list(months_between(first, last))
    by_month, by_customer, by_edition = _Book(), _Book(), _Book()
    for start, _end in months:
        by_month.get(start, start.strftime("%Y-%m"))

    def customer(key: Any, name: str) -> Line:
        return by_customer.get(key, name if key != UNALLOCATED else str(_("unallocated")))

    def edition(key: Any, name: str) -> Line:
        labels = {UNALLOCATED: str(_("unallocated")), NO_EDITION: str(_("no edition"))}
        return by_edition.get(key, labels.get(key, name))

    # Revenue ---------------------------------------------------------------------------------------------
    lines = (
        InvoiceLine.objects.filter(
            invoice__status=InvoiceStatus.ISSUED,
            invoice__issue_date__gte=first,
            invoice__issue_date__lte=last,
        )
        .select_related("invoice__organization", "invoice__edition")
        .order_by("invoice__issue_date", "invoice_id", "position", "id")
    )
    for line in lines:
        invoice = line.invoice
        if invoice.rate_to_cny is not None:
            amount = cents(line.net * invoice.rate_to_cny)
        else:
            converted = rates.to_cny(line.net, invoice.currency, cast(date, invoice.issue_date))  # issued
            if converted is None:
                continue
            amount = cents(converted)
        kind = TAX_CATEGORY_KIND.get(line.tax_category, RevenueKind.OTHER)
        organization = invoice.organization
        edition_key = invoice.edition_id or NO_EDITION
        for target in (
            by_month.get(cast(date, invoice.issue_date).replace(day=1), ""),
            customer(organization.pk, organization.name),
            edition(edition_key, invoice.edition.name if invoice.edition is not None else ""),
        ):
            target.revenue[kind] += amount

    # Time logged: the keys costs are allocated by ----------------------------------------------------------
    entries = list(
        TimeEntry.objects.filter(work_date__gte=first, work_date__lte=last)
        .select_related("ticket__organization", "ticket__contract__edition", "user")
        .order_by("work_date", "id")
    )
    names: dict[Any, str] = {}
    minutes_by_month: dict[date, dict[tuple[Any, Any], int]] = defaultdict(lambda: defaultdict(int))
    minutes_by_engineer: dict[tuple[int, date], dict[tuple[Any, Any], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for entry in entries:
        ticket = entry.ticket
        contract = ticket.contract
        pair = (ticket.organization_id, contract.edition_id if contract else NO_EDITION)
        names[("org", pair[0])] = ticket.organization.name
        names[("edition", pair[1])] = contract.edition.name if contract else ""
        month = entry.work_date.replace(day=1)
        minutes_by_month[month][pair] += entry.minutes
        minutes_by_engineer[(entry.user_id, month)][pair] += entry.minutes
        by_month.get(month, "").minutes += entry.minutes
        customer(pair[0], names[("org", pair[0])]).minutes += entry.minutes
        edition(pair[1], names[("edition", pair[1])]).minutes += entry.minutes

    def book_cost(kind: str, month: date, amount: Decimal, weights: dict[tuple[Any, Any], int]) -> None:
        by_month.get(month, "").add_cost(kind, amount)
        parts = allocate(amount, sorted(weights.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))))
        if not parts:
            customer(UNALLOCATED, "").add_cost(kind, amount)
            edition(UNALLOCATED, "").add_cost(kind, amount)
            return
        for (org_id, _edition), part in parts.items():
            customer(org_id, names[("org", org_id)]).add_cost(kind, part)
        for edition_key in {key[1] for key in parts}:
            share = sum((part for key, part in parts.items() if key[1] == edition_key), ZERO)
            edition(edition_key, names[("edition", edition_key)]).add_cost(kind, share)

    # Staff cost --------------------------------------------------------------------------------------------
    rate_rows = list(
        StaffCostRate.objects.filter(valid_from__lte=last)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=first))
        .select_related("user")
        .order_by("user__username", "valid_from", "id")
    )
    engineers: dict[int, EngineerCost] = {}

    def engineer(user: Any) -> EngineerCost:
        if user.pk not in engineers:
            engineers[user.pk] = EngineerCost(user.pk, user.get_full_name() or user.get_username())
        return engineers[user.pk]

    headcount: dict[date, set[int]] = defaultdict(set)
    for rate in rate_rows:
        if rate.basis != CostBasis.MONTH:
            continue
        for start, end in months:
            days = _valid_days(rate.valid_from, rate.valid_until, start, end)
            if not days:
                continue
            in_currency = rate.amount * days / month_calendar.monthrange(start.year, start.month)[1]
            converted = rates.to_cny(in_currency, rate.currency, max(start, rate.valid_from))
            if converted is None:
                continue
            amount = cents(converted)
            headcount[start].add(rate.user_id)
            engineer(rate.user).monthly += amount
            book_cost("staff_cost", start, amount, minutes_by_engineer.get((rate.user_id, start), {}))

    hourly = defaultdict(list)
    for rate in rate_rows:
        if rate.basis == CostBasis.HOUR:
            hourly[rate.user_id].append(rate)
    for entry in entries:
        engineer(entry.user).minutes += entry.minutes
        hour_rate = next(
            (
                r
                for r in hourly.get(entry.user_id, [])
                if r.valid_from <= entry.work_date
                and (r.valid_until is None or entry.work_date <= r.valid_until)
            ),
            None,
        )
        if hour_rate is None:
            continue
        converted = rates.to_cny(hour_rate.amount * entry.minutes / 60, hour_rate.currency, entry.work_date)
        if converted is None:
            continue
        amount = cents(converted)
        engineer(entry.user).hourly += amount
        ticket = entry.ticket
        pair = (ticket.organization_id, ticket.contract.edition_id if ticket.contract else NO_EDITION)
        book_cost("staff_cost", entry.work_date.replace(day=1), amount, {pair: 1})

    # Tools and operations ----------------------------------------------------------------------------------
    costs = SupportCost.objects.filter(valid_from__lte=last).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=first)
    )
    for cost in costs.order_by("kind", "name", "id"):
        kind = "tool_cost" if cost.kind == SupportCostKind.TOOL else "operation_cost"
        for start, end in months:
            days = _valid_days(cost.valid_from, cost.valid_until, start, end)
            if not days:
                continue
            in_currency = cost.monthly_amount * days / month_calendar.monthrange(start.year, start.month)[1]
            converted = rates.to_cny(in_currency, cost.currency, max(start, cost.valid_from))
            if converted is None:
                continue
            book_cost(kind, start, cents(converted), minutes_by_month.get(start, {}))

    for start, _end in months:
        by_month.lines[start].engineers = len(headcount.get(start, set()))

    total = Line(key="total", label=str(_("total")))
    for month_line in by_month.lines.values():
        for kind, amount in month_line.revenue.items():
            total.revenue[kind] += amount
        total.staff_cost += month_line.staff_cost
        total.tool_cost += month_line.tool_cost
        total.operation_cost += month_line.operation_cost
        total.minutes += month_line.minutes
    total.engineers = len(set().union(*headcount.values())) if headcount else 0

    def ranked(book: _Book) -> list[Line]:
        special = [book.lines[k] for k in (NO_EDITION, UNALLOCATED) if k in book.lines]
        regular = [line for key, line in book.lines.items() if key not in (NO_EDITION, UNALLOCATED)]
        return sorted(regular, key=lambda line: (-line.profit, line.label)) + special

    return SupportEconomics(
        date_from=first,
        date_to=last,
        months=[by_month.lines[start] for start, _end in months],
        customers=ranked(by_customer),
        editions=ranked(by_edition),
        total=total,
        engineers=sorted(engineers.values(), key=lambda e: e.name),
        missing_rates=sorted(rates.missing),
        rates_used=sorted(
            ((cur, day, rate) for (cur, day), rate in rates.used.items()),
            key=lambda r: (r[0], r[1] or date.min),
        ),
    )


# Tables as rows (page and CSV) -----------------------------------------------------------------------------


def columns(first_column: str) -> list[str]:
    return [
        first_column,
        *[str(_("revenue: %(kind)s") % {"kind": RevenueKind.LABELS[kind]}) for kind in RevenueKind.ORDER],
        _("revenue"),
        _("staff cost"),
        _("tool cost"),
        _("operation cost"),
        _("cost"),
        _("profit"),
        _("margin"),
        _("hours logged"),
    ]


def rows(lines: Iterable[Line]) -> list[list[Any]]:
    return [
        [
            line.label,
            *[line.revenue[kind] for kind in RevenueKind.ORDER],
            line.revenue_total,
            line.staff_cost,
            line.tool_cost,
            line.operation_cost,
            line.cost_total,
            line.profit,
            "" if line.margin is None else line.margin,
            line.hours,
        ]
        for line in lines
    ]
