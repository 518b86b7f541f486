"""Holiday sources: where a business calendar's public holidays and make-up working days come from.

Mainland China comes from the maintained `chinesecalendar` package, which ships the State Council's
arrangement of each year (国务院办公厅关于部分节假日安排的通知) and is released once a year, usually
within weeks of the notice (November or December). Upgrading the package is how a new year arrives;
until then staff can enter or import the year themselves (their dates win over the package's).

This module is the one place that reads the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import metadata


@dataclass(frozen=True)
class SourceData:
    label: str = ""
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    names: dict[date, str] = field(default_factory=dict)

    @property
    def years(self) -> frozenset[int]:
        """Years the source has an arrangement for (each year has holidays, so they name the years)."""
        return frozenset(day.year for day in self.holidays)

    @property
    def last_year(self) -> int | None:
        return max(self.years, default=None)


NO_SOURCE = SourceData()


def _china() -> SourceData:
    from chinese_calendar import constants

    chinese = {holiday.value: holiday.chinese for holiday in constants.Holiday}
    names = {day: chinese.get(name, name) for day, name in constants.holidays.items()}
    for day, name in constants.workdays.items():
        names[day] = f"{chinese.get(name, name)}调休上班"
    try:
        version = metadata.version("chinesecalendar")
    except metadata.PackageNotFoundError:  # vendored or unusual install
        version = "?"
    return SourceData(
        label=f"chinesecalendar {version}",
        holidays=frozenset(constants.holidays),
        workdays=frozenset(constants.workdays),
        names=names,
    )


SOURCES = {"cn": _china}


@lru_cache(maxsize=8)
def source_data(code: str) -> SourceData:
    """The holidays of a source by its code (Calendar.holiday_source); an unknown or empty code has none.
    Cached per process: a package upgrade takes effect when the processes restart."""
    loader = SOURCES.get(code or "")
    return loader() if loader else NO_SOURCE
