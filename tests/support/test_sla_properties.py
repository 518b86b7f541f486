"""Spec §5 #23: laws of the business-time primitives, checked by hypothesis over several calendars
(office hours with holidays, a lunch break, a night shift across DST, 7x24, China 5x8 with make-up days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from support import sla
from tests.support.helpers import H, china_5x8, office

CALENDARS = [
    office(holidays=frozenset({date(2026, 4, 3), date(2026, 4, 6), date(2026, 12, 25)})),
    sla.BusinessCalendar.weekdays("Europe/Berlin", [("09:00", "12:00"), ("13:00", "17:00")]),
    sla.BusinessCalendar("Europe/Berlin", weekly=(((0, 6 * H), (22 * H, 24 * H)),) * 7),
    sla.BusinessCalendar("Europe/Berlin", is_24x7=True),
    sla.BusinessCalendar("America/New_York", weekly=(((2 * H, 3 * H), (9 * H, 17 * H)),) * 5 + ((), ())),
    china_5x8(),
]

calendars = st.sampled_from(CALENDARS)
starts = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=300 * H)
pauses = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60 * 24 * 30), st.integers(min_value=1, max_value=60 * 24 * 3)
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(cal=calendars, start=starts, seconds=durations)
def test_business_seconds_inverts_add_business(cal, start, seconds):
    deadline = sla.add_business(cal, start, seconds)
    assert sla.business_seconds(cal, start, deadline) == seconds


@settings(max_examples=300, deadline=None)
@given(cal=calendars, start=starts, seconds=st.integers(min_value=1, max_value=300 * H))
def test_deadline_is_never_inside_a_closed_period(cal, start, seconds):
    deadline = sla.add_business(cal, start, seconds)
    # open time right before the deadline: it ends a stretch of business time, never sits in a closed one
    assert sla.business_seconds(cal, deadline - timedelta(microseconds=1), deadline) > 0
    inside = any(
        a <= deadline <= b for a, b in sla.open_intervals(cal, deadline - timedelta(days=1), deadline)
    )
    assert inside


@settings(max_examples=300, deadline=None)
@given(cal=calendars, start=starts, a=durations, b=durations)
def test_add_business_is_monotonic_in_the_duration(cal, start, a, b):
    low, high = sorted((a, b))
    assert sla.add_business(cal, start, low) <= sla.add_business(cal, start, high)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=starts, seconds=durations, spans=pauses)
def test_inverse_holds_with_pauses(cal, start, seconds, spans):
    paused = [(start + timedelta(minutes=s), start + timedelta(minutes=s + length)) for s, length in spans]
    deadline = sla.add_business(cal, start, seconds, paused)
    assert sla.business_seconds(cal, start, deadline, paused) == seconds


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=starts, a=durations, b=durations)
def test_business_seconds_is_additive(cal, start, a, b):
    middle = start + timedelta(seconds=a)
    end = middle + timedelta(seconds=b)
    total = sla.business_seconds(cal, start, end)
    assert (
        abs(total - sla.business_seconds(cal, start, middle) - sla.business_seconds(cal, middle, end)) < 1e-6
    )
