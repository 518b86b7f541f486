"""The catalogue's edition prices, to split a contract price into its one-time license fee and its
recurring fees the way invoicing does."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from billing.reports.figures import ZERO, cents
from contracts.models import Contract
from editions.models import Price, PriceKind, PriceTerm


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
