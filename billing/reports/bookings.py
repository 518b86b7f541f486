"""Bookings: contract value signed in the period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing.dates import add_months, month_start
from billing.reports.figures import ZERO, Figure, cents
from billing.reports.report_data import ReportData
from contracts.models import Contract


def signed_on(contract: Contract) -> date:
    return timezone.localdate(contract.activated_at) if contract.activated_at else contract.start_date


def bookings(data: ReportData, date_from: date, date_to: date, *, origin: str | None = None) -> Figure:
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
        signed = signed_on(contract)
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
                _("renewal") if contract.renewal_of_id else pgettext("contract", "new"),
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
