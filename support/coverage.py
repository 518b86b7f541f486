"""Is the holiday data of the calendars in use complete for the coming weeks? (Reads only.)

Past the last year a calendar knows, the SLA clock counts every weekday as a working day, so Spring
Festival would count as business time. Staff are warned on the admin index, in /api/v1/health and on
each ticket whose due time runs past the data (Ticket.sla_uncovered_from)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from support.holidays import source_data
from support.models import Calendar


@dataclass(frozen=True)
class CalendarWarning:
    calendar_id: int
    name: str  # the key the API reports
    label: str  # the name in the active language (admin)
    missing_from: date
    missing_years: tuple[int, ...]
    source: str
    last_covered_year: int | None


def covered_years(calendar: Calendar) -> frozenset[int]:
    """Years with holiday data: the source's plus those staff marked complete (reads `coverage`)."""
    return source_data(calendar.holiday_source).years | {row.year for row in calendar.coverage.all()}


def horizon_days() -> int:
    return getattr(settings, "SUPPORT_CALENDAR_HORIZON_DAYS", 60)


def calendar_warning(
    calendar: Calendar, *, today: date | None = None, days: int | None = None
) -> CalendarWarning | None:
    """A warning when the calendar needs holiday data and lacks it for a date from today to today + days
    (reads `coverage`; prefetch it)."""
    if not calendar.needs_holiday_data:
        return None
    today = today or timezone.localdate()
    last = today + timedelta(days=horizon_days() if days is None else days)
    years = covered_years(calendar)
    missing = tuple(year for year in range(today.year, last.year + 1) if year not in years)
    if not missing:
        return None
    return CalendarWarning(
        calendar_id=calendar.pk,
        name=calendar.name,
        label=calendar.display_name,
        missing_from=max(today, date(missing[0], 1, 1)),
        missing_years=missing,
        source=source_data(calendar.holiday_source).label,
        last_covered_year=max(years, default=None),
    )


def calendar_warnings(*, today: date | None = None, days: int | None = None) -> list[CalendarWarning]:
    """The calendars used by an SLA policy that lack holiday data for a date in the coming `days`."""
    calendars = Calendar.objects.filter(policies__isnull=False).distinct().prefetch_related("coverage")
    found = (calendar_warning(calendar, today=today, days=days) for calendar in calendars.order_by("name"))
    return [warning for warning in found if warning is not None]


def calendars_health(*, today: date | None = None) -> dict[str, Any]:
    """The `calendars` part of /api/v1/health: a warning, never an outage."""
    warnings = calendar_warnings(today=today)
    return {
        "status": "warning" if warnings else "ok",
        "horizon_days": horizon_days(),
        "missing": [
            {
                "calendar": warning.name,
                "missing_from": warning.missing_from.isoformat(),
                "years": list(warning.missing_years),
                "source": warning.source,
            }
            for warning in warnings
        ],
    }
