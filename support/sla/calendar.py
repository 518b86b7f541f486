"""Business calendars and the three primitives of spec §2: open_intervals, business_seconds, add_business.

Inside, instants are integers of microseconds since the Unix epoch (exact arithmetic, no float drift, and
several times faster than datetime arithmetic); the public functions take and return aware datetimes.
A calendar caches the UTC intervals of each local date it has expanded, so the hot path of a due-time
computation is a dictionary lookup per day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DAY_SECONDS = 86_400
SEARCH_LIMIT_DAYS = 400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_US = 1_000_000

# A local interval is (start, end) in seconds since local midnight, 0 <= start < end <= 86400.
LocalInterval = tuple[int, int]
Pause = tuple[datetime, datetime | None]


class NoOpenTimeError(ValueError):
    """The calendar has no open time within SEARCH_LIMIT_DAYS: no deadline can be given."""


def _merge_local(intervals: Iterable[LocalInterval]) -> tuple[LocalInterval, ...]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def _subtract_local(
    intervals: Sequence[LocalInterval], closed: Sequence[LocalInterval]
) -> tuple[LocalInterval, ...]:
    out: list[LocalInterval] = []
    for start, end in intervals:
        pieces = [(start, end)]
        for c_start, c_end in closed:
            next_pieces = []
            for p_start, p_end in pieces:
                if c_end <= p_start or c_start >= p_end:
                    next_pieces.append((p_start, p_end))
                    continue
                if p_start < c_start:
                    next_pieces.append((p_start, c_start))
                if c_end < p_end:
                    next_pieces.append((c_end, p_end))
            pieces = next_pieces
        out.extend(pieces)
    return _merge_local(out)


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """A calendar as spec §1 describes it. All dates are *local* dates of `timezone`.

    weekly: seven tuples (Monday first) of local [start, end) intervals in seconds since midnight;
        an overnight shift is stored split (22:00–24:00 on one day, 00:00–06:00 on the next).
    holidays: dates closed all day.
    workdays: make-up working dates (China 调休): they follow the normal weekday hours even on a weekend.
    special_hours: dates whose hours replace the weekly schedule (an empty tuple closes the day).
    closures: partial closures, subtracted from whatever the date would otherwise have.
    is_24x7: open around the clock (holidays, special hours and closures still apply if given).
    covered_years: the years whose holidays are known; None when the calendar needs none (7x24). A
        computation over a date outside them treats it as an ordinary weekday and must say so.
    """

    timezone: str
    weekly: tuple[tuple[LocalInterval, ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    special_hours: Mapping[date, tuple[LocalInterval, ...]] = field(default_factory=dict)
    closures: Mapping[date, tuple[LocalInterval, ...]] = field(default_factory=dict)
    is_24x7: bool = False
    covered_years: frozenset[int] | None = None
    _days: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly needs seven days, Monday first")
        for day in self.weekly:
            for start, end in day:
                if not 0 <= start < end <= DAY_SECONDS:
                    raise ValueError(f"bad interval {start}–{end}: need 0 <= start < end <= 86400")
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))
        weekly = ((((0, DAY_SECONDS),),) * 7) if self.is_24x7 else tuple(_merge_local(d) for d in self.weekly)
        object.__setattr__(self, "_weekly", weekly)
        # A make-up working day follows the hours of a normal working day: the first weekday with hours.
        object.__setattr__(self, "_normal_day", next((d for d in weekly if d), ()))

    @classmethod
    def weekdays(
        cls, timezone: str, hours: Sequence[tuple[str, str]], days: Iterable[int] = range(5), **kwargs
    ) -> BusinessCalendar:
        """Shorthand for tests and seed data: the same hours ("09:00", "18:00") on the given weekdays."""
        intervals = tuple((parse_clock(s), parse_clock(e)) for s, e in hours)
        selected = set(days)
        return cls(timezone, tuple(intervals if i in selected else () for i in range(7)), **kwargs)

    @property
    def has_open_time(self) -> bool:
        """Spec §2.4: a calendar without any weekly open time is rejected on save."""
        return self.is_24x7 or any(self._weekly)  # type: ignore[attr-defined]

    def first_uncovered(self, first: date, last: date) -> date | None:
        """The first local date in [first, last] whose year has no holiday data (None: all covered)."""
        if self.covered_years is None:
            return None
        for year in range(first.year, last.year + 1):
            if year not in self.covered_years:
                return max(first, date(year, 1, 1))
        return None

    # Expansion of one local date ------------------------------------------------------------------

    def local_intervals(self, day: date) -> tuple[LocalInterval, ...]:
        if day in self.special_hours:
            intervals = _merge_local(self.special_hours[day])
        elif day in self.holidays:
            intervals = ()
        elif day in self.workdays:
            intervals = self._normal_day  # type: ignore[attr-defined]
        else:
            intervals = self._weekly[day.weekday()]  # type: ignore[attr-defined]
        if day in self.closures and intervals:
            intervals = _subtract_local(intervals, self.closures[day])
        return intervals

    def day_us(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        """The open intervals of a local date (by ordinal) as UTC microseconds, cached."""
        cached = self._days.get(ordinal)
        if cached is None:
            day = date.fromordinal(ordinal)
            out = []
            for start, end in self.local_intervals(day):
                s = _local_to_us(self.tz, day, start, is_end=False)  # type: ignore[attr-defined]
                e = _local_to_us(self.tz, day, end, is_end=True)  # type: ignore[attr-defined]
                if e > s:
                    out.append((s, e))
            cached = tuple(out)
            self._days[ordinal] = cached
        return cached

    def local_ordinal(self, us: int) -> int:
        return (_EPOCH + timedelta(microseconds=us)).astimezone(self.tz).toordinal()  # type: ignore[attr-defined]


def parse_clock(value: str) -> int:
    """'09:30' → seconds since midnight; '24:00' is the end of the day."""
    hours, minutes = value.split(":")
    seconds = int(hours) * 3600 + int(minutes) * 60
    if not 0 <= seconds <= DAY_SECONDS:
        raise ValueError(f"not a time of day: {value}")
    return seconds


# Conversions ------------------------------------------------------------------------------------------


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("SLA times must be timezone-aware")
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _local_to_us(tz: ZoneInfo, day: date, seconds: int, *, is_end: bool) -> int:
    """Local wall time → UTC instant, the way spec §2.1 wants DST handled.

    Ambiguous (fall back): starts take fold=0 and ends fold=1, so an interval covers both occurrences.
    Non-existent (spring forward): the first valid instant after the gap, i.e. the transition itself.
    """
    naive = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    local = naive.replace(tzinfo=tz, fold=1 if is_end else 0)
    us = to_us(local)
    if from_us(us).astimezone(tz).replace(tzinfo=None) == naive:
        return us
    # In a gap: fold=1 maps before the transition and fold=0 after it; find the transition instant.
    low = to_us(naive.replace(tzinfo=tz, fold=1))
    high = to_us(naive.replace(tzinfo=tz, fold=0))
    if low > high:
        low, high = high, low
    after = from_us(high).astimezone(tz).utcoffset()
    while high - low > _US:
        middle = (low + high) // 2 // _US * _US
        if middle <= low:
            break
        if from_us(middle).astimezone(tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high


def _pauses_us(pauses: Iterable[Pause] | None) -> list[tuple[int, int]]:
    """Merged pause intervals in microseconds; an open pause (end None) runs forever."""
    if not pauses:
        return []
    spans = sorted((to_us(s), to_us(e) if e is not None else 2**62) for s, e in pauses)
    merged: list[list[int]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


# The primitives ---------------------------------------------------------------------------------------


def _open_us(cal: BusinessCalendar, a: int, b: int) -> Iterator[tuple[int, int]]:
    """Open intervals clipped to [a, b], in order, unmerged across days."""
    if b <= a:
        return
    last = cal.local_ordinal(b)
    for ordinal in range(cal.local_ordinal(a), last + 1):
        for start, end in cal.day_us(ordinal):
            if end <= a:
                continue
            if start >= b:
                return
            yield (max(start, a), min(end, b))


def open_intervals(cal: BusinessCalendar, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
    """Spec §2.1: the calendar's open time within [a, b] as merged UTC intervals."""
    merged: list[list[int]] = []
    for start, end in _open_us(cal, to_us(a), to_us(b)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(from_us(s), from_us(e)) for s, e in merged]


def business_us(cal: BusinessCalendar, a: int, b: int, pauses: list[tuple[int, int]]) -> int:
    total = 0
    p = 0
    for start, end in _open_us(cal, a, b):
        total += end - start
        while p < len(pauses) and pauses[p][1] <= start:
            p += 1
        q = p
        while q < len(pauses) and pauses[q][0] < end:
            total -= min(end, pauses[q][1]) - max(start, pauses[q][0])
            q += 1
    return total


def business_seconds(
    cal: BusinessCalendar, a: datetime, b: datetime, pauses: Iterable[Pause] | None = None
) -> float:
    """Spec §2.2: measure of (open time ∩ [a, b]) minus the pauses, in seconds."""
    return business_us(cal, to_us(a), to_us(b), _pauses_us(pauses)) / _US


def add_us(cal: BusinessCalendar, start: int, need: int, pauses: list[tuple[int, int]]) -> int:
    if need < 0:
        raise ValueError("a business duration cannot be negative")
    if need == 0:
        return start
    ordinal = cal.local_ordinal(start)
    last_progress = ordinal
    p = 0
    while True:
        for a, b in cal.day_us(ordinal):
            if b <= start:
                continue
            cursor = max(a, start)
            while p < len(pauses) and pauses[p][1] <= cursor:
                p += 1
            q = p
            while cursor < b:
                if q < len(pauses) and pauses[q][0] < b:
                    pause_start, pause_end = pauses[q]
                    if pause_start > cursor:
                        length = pause_start - cursor
                        if need <= length:
                            return cursor + need
                        need -= length
                        last_progress = ordinal
                    cursor = max(cursor, pause_end)
                    q += 1
                else:
                    length = b - cursor
                    if need <= length:
                        return cursor + need  # ends exactly at b when the budget runs out there
                    need -= length
                    last_progress = ordinal
                    cursor = b
        ordinal += 1
        if ordinal - last_progress > SEARCH_LIMIT_DAYS:
            raise NoOpenTimeError(f"no open time within {SEARCH_LIMIT_DAYS} days")


def add_business(
    cal: BusinessCalendar, start: datetime, seconds: float, pauses: Iterable[Pause] | None = None
) -> datetime:
    """Spec §2.3: the smallest t with business_seconds(start, t, pauses) == seconds."""
    return from_us(add_us(cal, to_us(start), round(seconds * _US), _pauses_us(pauses)))
