"""Contract terms as the money reports read them: the length of a term, in force on a date, renewed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.dates import add_months
from contracts.models import Contract, ContractStatus


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


def renewal_of(contract: Contract) -> Contract | None:
    try:
        return contract.renewal
    except Contract.DoesNotExist:
        return None


def is_renewed(contract: Contract) -> bool:
    renewal = renewal_of(contract)
    return renewal is not None and renewal.status in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}
