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

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.dates import add_months, month_end, month_start
from billing.models import DocumentKind, ExchangeRate, Invoice, InvoiceLine, InvoiceStatus, PaymentAllocation
from contracts.models import Contract, ContractOrigin, ContractStatus, Trial, TrialKind
from customers.models import Industry
from editions.models import Price, PriceKind, PriceTerm

ZERO = Decimal("0")
CENT = Decimal("0.01")
RENEWALS_DUE_DAYS = 90
TREND_MONTHS = 12
AGEING_BUCKETS = (
    (None, 0, gettext_lazy("not yet due")),
    (1, 30, gettext_lazy("1–30 days overdue")),
    (31, 60, gettext_lazy("31–60 days overdue")),
    (61, 90, gettext_lazy("61–90 days overdue")),
    (91, None, gettext_lazy("more than 90 days overdue")),
)

DEFINITIONS: dict[str, Any] = {
    "arr": gettext_lazy(
        "Annual recurring revenue on the as-of date. Sum over the contracts in force that day (not draft; "
        "start ≤ date ≤ end; a cancelled contract until its cancellation): for term editions the recurring "
        "part of the price (the price less the one-time license fee, split by the price list as invoicing "
        "splits it) × 12 ÷ the term in months; for metered SaaS contracts 12 × the net amount billed for "
        "the calendar month before the as-of month. Contract currencies convert at the rate valid on the "
        "as-of date, SaaS invoices at their own rate."
    ),
    "mrr": gettext_lazy(
        "Monthly recurring revenue: ARR ÷ 12, i.e. annual fees spread evenly over the months and SaaS by "
        "the net amount billed for the month before the as-of month. The trend is MRR at each month end."
    ),
    "bookings": gettext_lazy(
        "Contract value signed in the period: the full price (one-time license fees included) of the "
        "contracts activated in the period, by activation date, whether new or renewals; a contract "
        "cancelled later still counts. Converted at the rate valid on the activation date. Metered SaaS "
        "contracts count with their fixed price only."
    ),
    "renewals_due": gettext_lazy(
        "Contracts in force on the as-of date that end within the next 90 days and have no activated "
        "renewal yet. Value: the draft renewal's price when there is one, else the recurring value of the "
        "current term (price less one-time fees; SaaS: last billed month × months of the term), at the "
        "rate valid on the as-of date."
    ),
    "renewal_rate": gettext_lazy(
        "Renewed ÷ due: of the contracts whose term ended inside the renewal window (active or expired; "
        "cancelled contracts are excluded), the share that has an activated renewal (a contract that "
        "renews it and is active or expired)."
    ),
    "revenue": gettext_lazy(
        "Invoiced revenue in the period, VAT excluded: the net totals of issued invoices dated in the "
        "period less the net of issued credit notes dated in the period (void documents excluded), each "
        "converted at the rate recorded on the document."
    ),
    "revenue_by_edition": gettext_lazy(
        "Revenue as defined above, by the edition of the invoiced contract (invoices without a contract "
        "under “no edition”)."
    ),
    "revenue_by_industry": gettext_lazy("Revenue as defined above, by the customer's industry."),
    "revenue_by_partner": gettext_lazy(
        "Revenue as defined above, by the channel partner the invoice is attributed to (“direct” when none)."
    ),
    "receivables": gettext_lazy(
        "What customers owed on the as-of date, VAT included: for each invoice issued by then, its total "
        "less the credit notes issued and the payments allocated by then, where positive. Converted at "
        "the rate valid on the as-of date; grouped by days past the due date."
    ),
    "bookings_self_service": gettext_lazy(
        "Bookings as defined above, of the contracts ordered online (/pricing/: a self-service quote, a "
        "converted trial, a SaaS sign-up)."
    ),
    "bookings_sales_led": gettext_lazy("Bookings as defined above, of the contracts sales created."),
    "trial_conversion": gettext_lazy(
        "Trials started in the period that became paid: the trial contract is continued by an active or "
        "expired paid contract (its renewal). Per edition and channel (self-service trial from /pricing/ "
        "or a proof of concept granted by sales); the value is converted ÷ started over all of them."
    ),
}

LABELS: dict[str, Any] = {
    "arr": gettext_lazy("ARR"),
    "mrr": gettext_lazy("MRR"),
    "bookings": gettext_lazy("Bookings"),
    "renewals_due": gettext_lazy("Renewals due in 90 days"),
    "renewal_rate": gettext_lazy("Renewal rate"),
    "revenue": gettext_lazy("Revenue"),
    "revenue_by_edition": gettext_lazy("Revenue by edition"),
    "revenue_by_industry": gettext_lazy("Revenue by industry"),
    "revenue_by_partner": gettext_lazy("Revenue by partner"),
    "receivables": gettext_lazy("Open receivables"),
    "bookings_self_service": gettext_lazy("Bookings, self-service"),
    "bookings_sales_led": gettext_lazy("Bookings, sales-led"),
    "trial_conversion": gettext_lazy("Trial-to-paid conversion"),
}


def cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


# Exchange rates and the price list -----------------------------------------------------------------------


class RateTable:
    """Rates to CNY by currency and date, loaded once: the latest table row valid on the date, else
    BILLING_DEFAULT_RATES_TO_CNY. Remembers what it could not convert and which rates it used."""

    def __init__(
        self,
        rows: Iterable[tuple[str, date, Decimal]] | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        if rows is None:
            rows = ExchangeRate.objects.values_list("currency", "valid_from", "rate_to_cny")
        table: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        for currency, valid_from, rate in rows:
            table[currency.upper()].append((valid_from, Decimal(rate)))
        self._dates = {cur: [d for d, _r in sorted(entries)] for cur, entries in table.items()}
        self._rates = {cur: [r for _d, r in sorted(entries)] for cur, entries in table.items()}
        if defaults is None:
            defaults = getattr(settings, "BILLING_DEFAULT_RATES_TO_CNY", None) or {}
        self._defaults = {cur.upper(): Decimal(str(rate)) for cur, rate in defaults.items() if rate}
        self.missing: set[tuple[str, date]] = set()
        self.used: dict[tuple[str, date | None], Decimal] = {}

    def rate(self, currency: str, on: date) -> Decimal | None:
        currency = currency.upper()
        if currency == "CNY":
            return Decimal(1)
        dates = self._dates.get(currency, [])
        index = bisect.bisect_right(dates, on) - 1
        if index >= 0:
            self.used[(currency, dates[index])] = self._rates[currency][index]
            return self._rates[currency][index]
        if currency in self._defaults:
            self.used[(currency, None)] = self._defaults[currency]
            return self._defaults[currency]
        self.missing.add((currency, on))
        return None

    def to_cny(self, amount: Decimal, currency: str, on: date) -> Decimal | None:
        rate = self.rate(currency, on)
        return None if rate is None else Decimal(amount) * rate


class PriceList:
    """The catalogue's edition prices (not module fees), loaded once, to split a contract price into its
    one-time license fee and its recurring fees the way invoicing does (billing's term schedule)."""

    def __init__(self) -> None:
        self._prices: dict[tuple[int, str], list[tuple[date, str, str, Decimal]]] = defaultdict(list)
        for edition_id, currency, valid_from, kind, term, amount in Price.objects.filter(
            module__isnull=True
        ).values_list("edition_id", "currency", "valid_from", "kind", "term", "amount"):
            self._prices[(edition_id, currency)].append((valid_from, kind, term, amount))

    def one_time_part(self, contract: Contract) -> Decimal:
        """The share of the contract price that is a one-time license fee (0 for renewals): the price
        list's one-time fee ÷ (one-time fee + yearly fees × years) × the negotiated price."""
        price = cents(contract.price)
        if price <= 0 or contract.renewal_of_id is not None:
            return ZERO
        latest: dict[tuple[str, str], tuple[date, Decimal]] = {}
        for valid_from, kind, term, amount in self._prices.get((contract.edition_id, contract.currency), []):
            if valid_from > contract.start_date:
                continue
            known = latest.get((kind, term))
            if known is None or valid_from > known[0]:
                latest[(kind, term)] = (valid_from, amount)
        years = max(1, round((contract.end_date - contract.start_date).days / 365.25))
        one_time = yearly = ZERO
        for (kind, term), (_valid, amount) in latest.items():
            if amount <= 0:
                continue
            if term == PriceTerm.ONCE and kind == PriceKind.LICENSE:
                one_time += amount
            elif term == PriceTerm.YEAR:
                yearly += amount * years
        if one_time <= 0:
            return ZERO
        return cents(one_time * price / (one_time + yearly))


def term_months(start: date, end: date) -> Decimal:
    """Length of a term [start, end] (end inclusive) in months: whole calendar months when it is exactly
    that (2026-03-01..2027-02-28 → 12), else days × 12 ÷ 365.25."""
    end_exclusive = end + timedelta(days=1)
    months = (end_exclusive.year - start.year) * 12 + end_exclusive.month - start.month
    if months > 0 and add_months(start, months) == end_exclusive:
        return Decimal(months)
    return Decimal((end_exclusive - start).days) * 12 / Decimal("365.25")


def in_force(contract: Contract, on: date) -> bool:
    """Signed and running on that date: not a draft, within its term, not cancelled by then."""
    if contract.status == ContractStatus.DRAFT or not (contract.start_date <= on <= contract.end_date):
        return False
    if contract.status == ContractStatus.CANCELLED:
        return contract.cancelled_at is not None and timezone.localdate(contract.cancelled_at) > on
    return True


def _renewal_of(contract: Contract) -> Contract | None:
    try:
        return contract.renewal
    except Contract.DoesNotExist:
        return None


def is_renewed(contract: Contract) -> bool:
    renewal = _renewal_of(contract)
    return renewal is not None and renewal.status in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}


# Figures ------------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One number of the dashboard with the rows it is the sum of (the CSV)."""

    key: str
    value: Decimal | None
    columns: list[str]
    rows: list[list[Any]]
    unit: str = "cny"  # "cny" or "ratio"
    count: int | None = None
    series: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(LABELS[self.key])

    @property
    def definition(self) -> str:
        return str(DEFINITIONS[self.key])


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


class _Data:
    """Everything the figures read, loaded in a fixed number of queries."""

    def __init__(self, *, as_of: date, date_from: date, date_to: date, rates: RateTable) -> None:
        self.rates = rates
        self.prices = PriceList()
        self.contracts = list(
            Contract.objects.exclude(status=ContractStatus.DRAFT)
            .select_related("organization", "edition", "partner", "renewal")
            .order_by("start_date", "id")
        )
        # SaaS: net billed per contract and month of service, in CNY at each invoice's rate.
        first_month = add_months(month_start(as_of), -(TREND_MONTHS + 1))
        self.saas_billed: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        lines = InvoiceLine.objects.filter(
            invoice__contract__edition__is_metered=True,
            invoice__status=InvoiceStatus.ISSUED,
            period_start__gte=first_month,
            period_start__lte=as_of,
        ).values_list(
            "invoice__contract_id",
            "period_start",
            "net",
            "invoice__currency",
            "invoice__rate_to_cny",
            "invoice__issue_date",
        )
        for contract_id, period_start, net, currency, rate, issued in lines:
            cny = _invoice_cny(net, currency, rate, issued, rates)
            if cny is not None:
                self.saas_billed[contract_id][month_start(period_start)] += cny
        self.trials = list(Trial.objects.select_related("edition", "contract__renewal"))
        self.documents = list(
            Invoice.objects.filter(
                status=InvoiceStatus.ISSUED, issue_date__gte=date_from, issue_date__lte=date_to
            )
            .select_related("organization", "edition", "partner")
            .order_by("issue_date", "id")
        )

    def saas_mrr(self, contract: Contract, on: date) -> Decimal:
        """Net billed (CNY) for the calendar month before the month of `on`."""
        month = add_months(month_start(on), -1)
        return self.saas_billed.get(contract.pk, {}).get(month, ZERO)


def _invoice_cny(
    amount: Decimal, currency: str, rate: Decimal | None, issued: date | None, rates: RateTable
) -> Decimal | None:
    if rate is not None:
        return Decimal(amount) * rate
    return rates.to_cny(amount, currency, issued or timezone.localdate())


def _recurring_value(contract: Contract, data: _Data) -> Decimal:
    return cents(contract.price) - data.prices.one_time_part(contract)


def _contract_mrr_cny(contract: Contract, on: date, data: _Data) -> tuple[Decimal | None, dict[str, Any]]:
    """MRR in CNY of one contract in force on `on`, with the working shown for the CSV."""
    if contract.edition.is_metered:
        mrr = data.saas_mrr(contract, on)
        return mrr, {
            "basis": _("SaaS: billed in %(month)s")
            % {"month": add_months(month_start(on), -1).strftime("%Y-%m")}
        }
    recurring = _recurring_value(contract, data)
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


def _mrr_total(on: date, data: _Data) -> Decimal:
    total = ZERO
    for contract in data.contracts:
        if in_force(contract, on):
            mrr, _work = _contract_mrr_cny(contract, on, data)
            total += mrr or ZERO
    return total


def _arr_figures(data: _Data, as_of: date) -> tuple[Figure, Figure, list[tuple[date, Decimal]]]:
    """ARR on `as_of` = Σ over contracts in force that day of: term editions — (price − one-time license
    part) × 12 ÷ term months, at the as-of rate; metered SaaS — 12 × net billed (credit notes deducted)
    for the calendar month before the as-of month, at the invoices' rates. MRR = ARR ÷ 12; the trend is
    MRR at the last day of each of the 11 months before, and on the as-of date."""
    rows: list[list[Any]] = []
    total_mrr = ZERO
    for contract in data.contracts:
        if not in_force(contract, as_of):
            continue
        mrr, work = _contract_mrr_cny(contract, as_of, data)
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
    trend = [(point, cents(_mrr_total(point, data))) for point in points]
    arr = Figure("arr", cents(total_mrr * 12), columns, rows, count=len(rows))
    mrr = Figure(
        "mrr",
        cents(total_mrr),
        [_("date"), _("MRR (CNY)"), _("ARR (CNY)")],
        [[point.isoformat(), value, cents(value * 12)] for point, value in trend],
        series=[(point.strftime("%Y-%m"), value) for point, value in trend],
    )
    return arr, mrr, trend


def _signed_on(contract: Contract) -> date:
    return timezone.localdate(contract.activated_at) if contract.activated_at else contract.start_date


def _bookings(data: _Data, date_from: date, date_to: date, *, origin: str | None = None) -> Figure:
    """Σ full price of contracts whose activation date (start date if never stamped) is in the period,
    new and renewals, cancelled later or not; each at the rate valid on its activation date. With
    `origin`, only the contracts of that origin (self-service or sales-led)."""
    rows: list[list[Any]] = []
    total = ZERO
    by_month: dict[date, Decimal] = {}
    month = month_start(date_from)
    while month <= date_to:
        by_month[month] = ZERO
        month = add_months(month, 1)
    for contract in data.contracts:
        signed = _signed_on(contract)
        if not (date_from <= signed <= date_to) or (origin is not None and contract.origin != origin):
            continue
        rate = data.rates.rate(contract.currency, signed)
        cny = None if rate is None else cents(contract.price * rate)
        if cny is not None:
            total += cny
            by_month[month_start(signed)] = by_month.get(month_start(signed), ZERO) + cny
        rows.append(
            [
                contract.number,
                contract.organization.name,
                contract.edition.code,
                signed.isoformat(),
                _("renewal") if contract.renewal_of_id else _("new"),
                contract.currency,
                cents(contract.price),
                rate if rate is not None else "",
                "" if cny is None else cny,
            ]
        )
    columns = [
        _("contract"),
        _("organization"),
        _("edition"),
        _("signed on"),
        _("type"),
        _("currency"),
        _("price"),
        _("rate to CNY"),
        _("value (CNY)"),
    ]
    series = [(month.strftime("%Y-%m"), value) for month, value in sorted(by_month.items())]
    key = "bookings" if origin is None else f"bookings_{origin if origin == 'self_service' else 'sales_led'}"
    return Figure(key, cents(total), columns, rows, count=len(rows), series=series)


def _trial_conversion(data: _Data, date_from: date, date_to: date) -> Figure:
    """Trials started in [date_from, date_to] and how many became paid, per edition and channel."""
    paid_states = {ContractStatus.ACTIVE, ContractStatus.EXPIRED}
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for trial in data.trials:
        started = timezone.localdate(trial.created_at)
        if not (date_from <= started <= date_to):
            continue
        renewal = getattr(trial.contract, "renewal", None)
        converted = renewal is not None and renewal.status in paid_states
        group = groups[(trial.edition.code, trial.kind)]
        group[0] += 1
        group[1] += int(converted)
    rows: list[list[Any]] = []
    series: list[tuple[str, Decimal]] = []
    started_total = converted_total = 0
    for (edition, kind), (started, converted) in sorted(groups.items()):
        rate = (Decimal(converted) / Decimal(started)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        rows.append([edition, str(TrialKind(kind).label), started, converted, rate])
        series.append((f"{edition} · {TrialKind(kind).label}", rate * 100))
        started_total += started
        converted_total += converted
    value = (
        (Decimal(converted_total) / Decimal(started_total)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
        if started_total
        else None
    )
    columns = [_("edition"), _("channel"), _("trials started"), _("converted to paid"), _("conversion")]
    return Figure("trial_conversion", value, columns, rows, unit="ratio", count=started_total, series=series)


def _renewals_due(data: _Data, as_of: date) -> Figure:
    """Contracts in force on `as_of`, ending by as_of + 90 days, without an active or expired renewal.
    Value: the draft renewal's price, else price − one-time part (SaaS: last billed month × term months),
    at the as-of rate."""
    horizon = as_of + timedelta(days=RENEWALS_DUE_DAYS)
    rows: list[list[Any]] = []
    total = ZERO
    for contract in sorted(data.contracts, key=lambda c: (c.end_date, c.pk)):
        if not in_force(contract, as_of) or contract.end_date > horizon or is_renewed(contract):
            continue
        renewal = _renewal_of(contract)
        if renewal is not None and renewal.status == ContractStatus.CANCELLED:
            renewal = None
        if renewal is not None:
            currency, value = renewal.currency, cents(renewal.price)
            cny = data.rates.to_cny(value, currency, as_of)
        elif contract.edition.is_metered:
            currency = "CNY"
            value = cents(
                data.saas_mrr(contract, as_of) * term_months(contract.start_date, contract.end_date)
            )
            cny = value
        else:
            currency, value = contract.currency, _recurring_value(contract, data)
            cny = data.rates.to_cny(value, currency, as_of)
        if cny is not None:
            total += cents(cny)
        rows.append(
            [
                contract.number,
                contract.organization.name,
                contract.edition.code,
                contract.end_date.isoformat(),
                (contract.end_date - as_of).days,
                renewal.number if renewal is not None else "",
                currency,
                value,
                "" if cny is None else cents(cny),
            ]
        )
    columns = [
        _("contract"),
        _("organization"),
        _("edition"),
        _("end date"),
        _("days left"),
        _("draft renewal"),
        _("currency"),
        _("renewal value"),
        _("value (CNY)"),
    ]
    return Figure("renewals_due", cents(total), columns, rows, count=len(rows))


def _renewal_rate(data: _Data, window_from: date, window_to: date) -> Figure:
    """renewed ÷ due, where due = active or expired contracts ending in the window (cancelled excluded)
    and renewed = those with a renewal contract that is active or expired. None when nothing was due."""
    rows: list[list[Any]] = []
    due = renewed = 0
    for contract in sorted(data.contracts, key=lambda c: (c.end_date, c.pk)):
        if contract.status not in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}:
            continue
        if not (window_from <= contract.end_date <= window_to):
            continue
        due += 1
        done = is_renewed(contract)
        renewed += done
        renewal = _renewal_of(contract)
        rows.append(
            [
                contract.number,
                contract.organization.name,
                contract.edition.code,
                contract.end_date.isoformat(),
                _("yes") if done else _("no"),
                renewal.number if renewal is not None else "",
                renewal.get_status_display() if renewal is not None else "",
            ]
        )
    value = (
        (Decimal(renewed) / Decimal(due)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if due else None
    )
    columns = [
        _("contract"),
        _("organization"),
        _("edition"),
        _("end date"),
        _("renewed"),
        _("renewal"),
        _("renewal status"),
    ]
    figure = Figure("renewal_rate", value, columns, rows, unit="ratio", count=due)
    figure.series = [(_("renewed"), Decimal(renewed)), (_("not renewed"), Decimal(due - renewed))]
    return figure


def _revenue(data: _Data) -> dict[str, Figure]:
    """Σ net of issued invoices and issued credit notes (negative) with an issue date in the period, void
    excluded, each at the rate recorded on the document; by invoice edition, customer industry, partner."""
    industries = dict(Industry.choices)
    groups: dict[str, dict[str, dict[str, Decimal]]] = {
        "revenue_by_edition": defaultdict(lambda: {"invoiced": ZERO, "credited": ZERO}),
        "revenue_by_industry": defaultdict(lambda: {"invoiced": ZERO, "credited": ZERO}),
        "revenue_by_partner": defaultdict(lambda: {"invoiced": ZERO, "credited": ZERO}),
    }
    rows: list[list[Any]] = []
    total = ZERO
    for document in data.documents:
        cny = _invoice_cny(
            document.net_total, document.currency, document.rate_to_cny, document.issue_date, data.rates
        )
        if cny is None:
            continue
        cny = cents(cny)
        total += cny
        column = "credited" if document.kind == DocumentKind.CREDIT_NOTE else "invoiced"
        keys = {
            "revenue_by_edition": document.edition.name if document.edition_id else str(_("no edition")),
            "revenue_by_industry": str(
                industries.get(document.organization.industry, document.organization.industry)
            ),
            "revenue_by_partner": document.partner.name if document.partner_id else str(_("direct")),
        }
        for figure, key in keys.items():
            groups[figure][key][column] += cny
        rows.append(
            [
                document.number,
                document.get_kind_display(),
                document.issue_date.isoformat(),
                document.organization.name,
                keys["revenue_by_edition"],
                keys["revenue_by_partner"],
                document.currency,
                document.net_total,
                document.rate_to_cny if document.rate_to_cny is not None else "",
                cny,
            ]
        )
    figures = {
        "revenue": Figure(
            "revenue",
            total,
            [
                _("document"),
                _("type"),
                _("issue date"),
                _("organization"),
                _("edition"),
                _("partner"),
                _("currency"),
                _("net"),
                _("rate to CNY"),
                _("net (CNY)"),
            ],
            rows,
            count=len(rows),
        )
    }
    segment = {
        "revenue_by_edition": _("edition"),
        "revenue_by_industry": _("industry"),
        "revenue_by_partner": _("partner"),
    }
    for key, sums in groups.items():
        ordered = sorted(sums.items(), key=lambda kv: (-(kv[1]["invoiced"] + kv[1]["credited"]), kv[0]))
        figure_rows = [
            [name, s["invoiced"], s["credited"], s["invoiced"] + s["credited"]] for name, s in ordered
        ]
        figures[key] = Figure(
            key,
            total,
            [segment[key], _("invoiced (CNY)"), _("credit notes (CNY)"), _("revenue (CNY)")],
            figure_rows,
            count=len(figure_rows),
            series=[(row[0], row[3]) for row in figure_rows],
        )
    return figures


def _bucket(days_overdue: int) -> str:
    for low, high, label in AGEING_BUCKETS:
        if (low is None or days_overdue >= low) and (high is None or days_overdue <= high):
            return str(label)
    return str(AGEING_BUCKETS[0][2])


def _receivables(as_of: date, rates: RateTable) -> Figure:
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
        bucket = _bucket(overdue)
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
    data = _Data(as_of=as_of, date_from=date_from, date_to=date_to, rates=rates)
    arr, mrr, trend = _arr_figures(data, as_of)
    figures = {
        "arr": arr,
        "mrr": mrr,
        "bookings": _bookings(data, date_from, date_to),
        "bookings_self_service": _bookings(data, date_from, date_to, origin=ContractOrigin.SELF_SERVICE),
        "bookings_sales_led": _bookings(data, date_from, date_to, origin=ContractOrigin.SALES),
        "trial_conversion": _trial_conversion(data, date_from, date_to),
        "renewals_due": _renewals_due(data, as_of),
        "renewal_rate": _renewal_rate(data, renewals_from, renewals_to),
        **_revenue(data),
        "receivables": _receivables(as_of, rates),
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
