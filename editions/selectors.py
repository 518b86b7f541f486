"""Reads of the catalog: prices that apply on a date."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet

from editions.models import Edition, Price, PriceKind, PriceTerm


def current_prices(*, edition: Edition, currency: str, on: date) -> QuerySet[Price]:
    return Price.objects.filter(
        edition=edition, currency=currency, module__isnull=True, valid_from__lte=on
    ).order_by("kind", "term", "-valid_from")


def default_contract_price(
    *, edition: Edition, currency: str, start_date: date, end_date: date, include_one_time: bool = True
) -> Decimal:
    """The price-list value of a contract's term: yearly fees pro rata by whole years (at least one),
    plus one-time fees; metered editions start at zero (usage is invoiced monthly)."""
    latest: dict[tuple[str, str], Price] = {}
    for price in current_prices(edition=edition, currency=currency, on=start_date):
        latest.setdefault((price.kind, price.term), price)
    years = max(1, round((end_date - start_date).days / 365.25))
    total = Decimal("0")
    for (kind, term), price in latest.items():
        if term == PriceTerm.ONCE and kind == PriceKind.LICENSE and include_one_time:
            total += price.amount
        elif term == PriceTerm.YEAR:
            total += price.amount * years
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def has_one_time_fee(*, edition: Edition, currency: str, on: date) -> bool:
    return current_prices(edition=edition, currency=currency, on=on).filter(term=PriceTerm.ONCE).exists()
