"""Exchange rates to CNY for the money reports (one rule per kind of amount):
- contract values (ARR/MRR of term contracts, bookings, renewals) and open receivables convert at the
  staff-maintained exchange-rate table (billing.ExchangeRate) rate valid on the figure's reference date
  (the as-of date; for bookings the activation date), falling back to BILLING_DEFAULT_RATES_TO_CNY;
- invoiced amounts (revenue, SaaS MRR) convert at the rate recorded on the invoice when it was issued
  (billing snapshots it from the same table).
An amount whose rate is missing is left out of the totals and the dashboard says so."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from billing.models import ExchangeRate


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


def invoice_cny(
    amount: Decimal, currency: str, rate: Decimal | None, issued: date | None, rates: RateTable
) -> Decimal | None:
    if rate is not None:
        return Decimal(amount) * rate
    return rates.to_cny(amount, currency, issued or timezone.localdate())
