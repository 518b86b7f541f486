"""Calendar arithmetic for billing periods."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def last_closed_month_end(today: date) -> date:
    """The last day of the most recent calendar month that has fully ended."""
    return month_start(today) - timedelta(days=1)


def months_between(first: date, last: date) -> Iterator[tuple[date, date]]:
    """Calendar months (start, end) from the month of `first` through the month of `last`."""
    current = month_start(first)
    while current <= last:
        yield current, month_end(current)
        current = add_months(current, 1)
