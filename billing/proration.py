"""Proration, in one function: the part of an amount that falls on `days` of a period of `of_days` days
(an upgrade's new edition for the rest of the term, the credit for the unused term, a module added
mid-term), rounded half-up to cents (or to `places` for unit prices)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from billing.money import CENT

DAYS_PER_YEAR = Decimal(365)


def prorate(
    amount: Decimal, *, days: Decimal | int, of_days: Decimal | int, places: Decimal = CENT
) -> Decimal:
    """amount × days / of_days, rounded once at the end. `days` is clamped to [0, of_days]."""
    of_days = Decimal(of_days)
    if of_days <= 0:
        raise ValueError("a proration period has at least one day")
    days = min(max(Decimal(days), Decimal(0)), of_days)
    return (Decimal(amount) * days / of_days).quantize(places, rounding=ROUND_HALF_UP)


def days_inclusive(start: date, end: date) -> int:
    """The number of days from `start` to `end`, both counted (0 when `end` is before `start`)."""
    return max(0, (end - start).days + 1)
