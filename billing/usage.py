"""The seam between billing and the licenses app's usage reports (append-only check-in rows).

Unit tests patch these two functions; in production they call the licenses selectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from licenses import selectors as license_selectors


def period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """A period of whole local days (end inclusive) as aware datetimes [start, end) in Asia/Shanghai."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(period_start, time.min, tzinfo=tz)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def peak_device_counts(contract_ids: Iterable[int], period_start: date, period_end: date) -> dict[int, int]:
    """The peak daily device count per contract over the days period_start..period_end (inclusive);
    contracts without reports count 0."""
    start, end = period_bounds(period_start, period_end)
    return dict(license_selectors.contract_peak_device_counts(list(contract_ids), start, end))


def stale_usage(contract_ids: Iterable[int], period_start: date, period_end: date) -> dict[int, Any]:
    """Contracts with a deployment whose reports went stale in the period (no check-in for
    BILLING_STALE_REPORT_DAYS or more), mapped to details for staff; their month is held for review."""
    start, end = period_bounds(period_start, period_end)
    return dict(
        license_selectors.contract_stale_deployments(
            list(contract_ids), start, end, settings.BILLING_STALE_REPORT_DAYS
        )
    )


def peak_evidence(contract_id: int, period_start: date, period_end: date) -> dict[str, Any] | None:
    """The contract's peak device count over the days period_start..period_end (inclusive), with the day
    and the deployments that reached it (the evidence of a true-up); None without reports."""
    start, end = period_bounds(period_start, period_end)
    return license_selectors.contract_peak_evidence(contract_id, start, end)
