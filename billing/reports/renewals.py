"""Renewals due in the next 90 days, and the renewal rate of a past window."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from billing.reports.figures import ZERO, Figure, cents
from billing.reports.report_data import ReportData, recurring_value
from billing.reports.terms import in_force, is_renewed, renewal_of, term_months
from contracts.models import ContractStatus

RENEWALS_DUE_DAYS = 90


def renewals_due(data: ReportData, as_of: date) -> Figure:
    """Contracts in force on `as_of`, ending by as_of + 90 days, without an active or expired renewal.
    Value: the draft renewal's price, else price − one-time part (SaaS: last billed month × term months),
    at the as-of rate."""
    horizon = as_of + timedelta(days=RENEWALS_DUE_DAYS)
    rows: list[list[Any]] = []
    total = ZERO
    for contract in sorted(data.contracts, key=lambda c: (c.end_date, c.pk)):
        if not in_force(contract, as_of) or contract.end_date > horizon or is_renewed(contract):
            continue
        renewal = renewal_of(contract)
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
            currency, value = contract.currency, recurring_value(contract, data)
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


def renewal_rate(data: ReportData, window_from: date, window_to: date) -> Figure:
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
        renewal = renewal_of(contract)
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
