"""Spec sla-clock.md §5, cases #1–#19 on the pure clock (no database), plus the China make-up-day cases.
#20–#22 need the database: test_sla_jobs.py. #23 (properties): test_sla_properties.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from support import sla
from support.sla import Metric, MetricState, Targets
from tests.support.helpers import H, berlin, china_5x8, created, customer, note, office, reply, status

HOLIDAYS_EASTER = frozenset({date(2026, 4, 3), date(2026, 4, 6)})
UTC_ = ZoneInfo("UTC")

# (id, calendar, start, business hours, expected deadline)
DEADLINES = [
    ("#1 within the day", office(), berlin(2026, 3, 4, 10), 4, berlin(2026, 3, 4, 14)),
    ("#2 over the weekend", office(), berlin(2026, 3, 6, 16), 4, berlin(2026, 3, 9, 12)),
    ("#3 created on Saturday", office(), berlin(2026, 3, 7, 11), 4, berlin(2026, 3, 9, 13)),
    (
        "#4 Easter holidays",
        office(holidays=HOLIDAYS_EASTER),
        berlin(2026, 4, 2, 15),
        4,
        berlin(2026, 4, 7, 11),
    ),
    ("#5 ends at closing time", office(), berlin(2026, 3, 4, 13), 4, berlin(2026, 3, 4, 17)),
    ("#6 created at closing time", office(), berlin(2026, 3, 4, 17), 4, berlin(2026, 3, 5, 13)),
    (
        "#7 lunch break",
        sla.BusinessCalendar.weekdays("Europe/Berlin", [("09:00", "12:00"), ("13:00", "17:00")]),
        berlin(2026, 3, 4, 11, 30),
        1,
        berlin(2026, 3, 4, 13, 30),
    ),
    (
        "#12 spring forward (24x7)",
        sla.BusinessCalendar("Europe/Berlin", is_24x7=True),
        berlin(2026, 3, 29, 1, 30),
        2,
        datetime(2026, 3, 29, 2, 30, tzinfo=UTC),
    ),
    (
        "#13 fall back (24x7)",
        sla.BusinessCalendar("Europe/Berlin", is_24x7=True),
        berlin(2026, 10, 25, 1, 30, fold=0),
        2,
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(
    ("case", "cal", "start", "hours", "expected"), DEADLINES, ids=[c[0] for c in DEADLINES]
)
def test_deadline(case, cal, start, hours, expected):
    deadline = sla.add_business(cal, start, hours * H)
    assert deadline == expected
    assert sla.business_seconds(cal, start, deadline) == hours * H


def test_case_12_local_time_is_cest():
    deadline = sla.add_business(
        sla.BusinessCalendar("Europe/Berlin", is_24x7=True), berlin(2026, 3, 29, 1, 30), 2 * H
    )
    assert deadline.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "04:30 CEST"


def test_case_13_local_time_is_cet():
    deadline = sla.add_business(
        sla.BusinessCalendar("Europe/Berlin", is_24x7=True), berlin(2026, 10, 25, 1, 30), 2 * H
    )
    assert deadline.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "02:30 CET"


def test_case_8_pause_moves_the_resolution_deadline():
    cal, monday = office(), berlin(2026, 3, 2, 9)
    pauses = [(berlin(2026, 3, 2, 11), berlin(2026, 3, 3, 10))]
    assert sla.add_business(cal, monday, 8 * H, pauses) == berlin(2026, 3, 3, 16)
    # the same through the metric rules: pending_customer pauses resolution
    events = [
        created(monday),
        status(berlin(2026, 3, 2, 11), "pending_customer"),
        status(berlin(2026, 3, 3, 10), "open"),
    ]
    result = sla.evaluate(cal, Targets(resolution=8 * H), events, now=berlin(2026, 3, 3, 10, 30))[
        Metric.RESOLUTION
    ]
    assert result.due_at == berlin(2026, 3, 3, 16)
    assert result.state == MetricState.RUNNING


def test_case_8_due_at_is_null_while_paused():
    monday = berlin(2026, 3, 2, 9)
    events = [created(monday), status(berlin(2026, 3, 2, 11), "pending_customer")]
    result = sla.evaluate(office(), Targets(resolution=8 * H), events, now=berlin(2026, 3, 2, 15))[
        Metric.RESOLUTION
    ]
    assert result.state == MetricState.PAUSED
    assert result.due_at is None
    assert result.elapsed == 2 * H


def test_case_9_pause_outside_hours_only_removes_open_time():
    cal = office()
    pauses = [(berlin(2026, 3, 2, 16), berlin(2026, 3, 2, 18))]
    assert sla.business_seconds(cal, berlin(2026, 3, 2, 9), berlin(2026, 3, 2, 18), pauses) == 7 * H


def test_case_10_resolved_while_paused_excludes_the_pause():
    monday = berlin(2026, 3, 2, 9)
    events = [
        created(monday),
        status(berlin(2026, 3, 2, 11), "pending_customer"),
        status(berlin(2026, 3, 2, 15), "resolved"),
    ]
    result = sla.evaluate(office(), Targets(resolution=8 * H), events, now=berlin(2026, 3, 4, 9))[
        Metric.RESOLUTION
    ]
    assert result.elapsed == 2 * H
    assert result.state == MetricState.MET
    assert result.met_at == berlin(2026, 3, 2, 15)


def test_case_11_reopen_resumes_with_elapsed_time():
    monday = berlin(2026, 3, 2, 9)
    events = [
        created(monday),
        status(berlin(2026, 3, 2, 14), "resolved"),  # 5 h elapsed
        status(berlin(2026, 3, 3, 10), "open"),  # reopened next working day 10:00
    ]
    result = sla.evaluate(office(), Targets(resolution=8 * H), events, now=berlin(2026, 3, 3, 10, 5))[
        Metric.RESOLUTION
    ]
    assert result.due_at == berlin(2026, 3, 3, 13)
    assert result.state == MetricState.RUNNING
    assert result.met_at is None


@pytest.mark.parametrize(
    ("night", "expected_hours"),
    [
        ((berlin(2026, 10, 24, 12), berlin(2026, 10, 25, 12)), 9),
        ((berlin(2026, 3, 28, 12), berlin(2026, 3, 29, 12)), 7),
    ],
    ids=["fall back night 9 h", "spring forward night 7 h"],
)
def test_case_14_overnight_shift_across_dst(night, expected_hours):
    shift = ((0, 6 * H), (22 * H, 24 * H))  # 22:00–06:00, stored split
    cal = sla.BusinessCalendar("Europe/Berlin", weekly=(shift,) * 7)
    assert sla.business_seconds(cal, *night) == expected_hours * H
    assert len(sla.open_intervals(cal, *night)) == 1  # the split halves merge into one shift


def test_case_15_holiday_is_a_local_date():
    tokyo = sla.BusinessCalendar.weekdays(
        "Asia/Tokyo", [("09:00", "17:00")], holidays=frozenset({date(2026, 1, 1)})
    )
    start = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)  # already 1 January 08:00 in Tokyo
    first = sla.open_intervals(tokyo, start, start + timedelta(days=3))[0][0]
    assert first == datetime(2026, 1, 2, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert sla.add_business(tokyo, start, 1) == datetime(2026, 1, 2, 9, 0, 1, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_case_16_internal_note_is_not_a_response():
    start = berlin(2026, 3, 4, 9)
    events = [created(start), note(start + timedelta(hours=1)), reply(start + timedelta(hours=3))]
    result = sla.evaluate(office(), Targets(first_response=2 * H), events, now=start + timedelta(hours=4))[
        Metric.FIRST_RESPONSE
    ]
    assert result.state == MetricState.BREACHED
    assert result.breached_at == start + timedelta(hours=2)
    assert result.met_at == start + timedelta(hours=3)


def test_case_17_next_response_runs_from_the_first_unanswered_message():
    start = berlin(2026, 3, 4, 9)
    events = [
        created(start),
        reply(berlin(2026, 3, 4, 9, 30)),
        customer(berlin(2026, 3, 4, 10)),
        customer(berlin(2026, 3, 4, 11)),
    ]
    targets = Targets(first_response=4 * H, next_response=2 * H)
    waiting = sla.evaluate(office(), targets, events, now=berlin(2026, 3, 4, 11, 15))[Metric.NEXT_RESPONSE]
    assert waiting.due_at == berlin(2026, 3, 4, 12)  # not 13:00: the second message does not restart it
    answered = sla.evaluate(
        office(), targets, [*events, reply(berlin(2026, 3, 4, 11, 30))], now=berlin(2026, 3, 4, 12)
    )
    assert answered[Metric.NEXT_RESPONSE].state == MetricState.MET
    assert answered[Metric.NEXT_RESPONSE].elapsed == 1.5 * H


def test_case_17_resolution_disarms_next_response():
    start = berlin(2026, 3, 4, 9)
    events = [
        created(start),
        reply(start),
        customer(berlin(2026, 3, 4, 10)),
        status(berlin(2026, 3, 4, 10, 30), "resolved"),
    ]
    result = sla.evaluate(office(), Targets(next_response=2 * H), events, now=berlin(2026, 3, 5, 9))[
        Metric.NEXT_RESPONSE
    ]
    assert result.state == MetricState.NA
    assert result.due_at is None


def test_case_18_next_response_never_overrides_an_unmet_first_response():
    start = berlin(2026, 3, 4, 9)
    events = [created(start), customer(start + timedelta(minutes=10))]
    results = sla.evaluate(
        office(),
        Targets(first_response=4 * H, next_response=1 * H),
        events,
        now=start + timedelta(minutes=20),
    )
    assert results[Metric.NEXT_RESPONSE].due_at is None
    assert results[Metric.FIRST_RESPONSE].due_at == berlin(2026, 3, 4, 13)
    running = [r.due_at for r in results.values() if r.is_running and r.due_at]
    assert min(running) == berlin(2026, 3, 4, 13)


def test_case_19_priority_change_applies_from_created():
    start = berlin(2026, 3, 4, 9)
    now = start + timedelta(hours=3)
    events = [created(start)]
    before = sla.evaluate(office(), Targets(resolution=8 * H), events, now)[Metric.RESOLUTION]
    assert before.state == MetricState.RUNNING
    after = sla.evaluate(office(), Targets(resolution=2 * H), events, now)[Metric.RESOLUTION]
    assert after.state == MetricState.BREACHED
    assert after.breached_at == start + timedelta(hours=2)


def test_breached_at_is_kept_after_late_fulfilment():
    start = berlin(2026, 3, 4, 9)
    events = [created(start), status(start + timedelta(hours=5), "resolved")]
    result = sla.evaluate(office(), Targets(resolution=4 * H), events, now=start + timedelta(days=2))[
        Metric.RESOLUTION
    ]
    assert result.state == MetricState.BREACHED
    assert result.breached_at == start + timedelta(hours=4)
    assert result.met_at == start + timedelta(hours=5)


def test_first_response_is_not_paused_by_pending_customer():
    start = berlin(2026, 3, 4, 9)
    events = [created(start), status(start + timedelta(minutes=5), "pending_customer")]
    result = sla.evaluate(office(), Targets(first_response=2 * H), events, now=start + timedelta(hours=3))[
        Metric.FIRST_RESPONSE
    ]
    assert result.state == MetricState.BREACHED


def test_warn_at_follows_warn_ratio():
    start = berlin(2026, 3, 4, 9)
    result = sla.evaluate(office(), Targets(first_response=4 * H), [created(start)], now=start)[
        Metric.FIRST_RESPONSE
    ]
    assert result.warn_at == berlin(2026, 3, 4, 12, 12)  # 80 % of 4 h


def test_no_open_time_within_400_days_raises():
    closed = sla.BusinessCalendar.weekdays(
        "Europe/Berlin",
        [("09:00", "17:00")],
        days=[0],
        holidays=frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(600)),
    )
    with pytest.raises(sla.NoOpenTimeError):
        sla.add_business(closed, berlin(2026, 1, 1), H)


def test_calendar_without_hours_has_no_open_time():
    assert not sla.BusinessCalendar("Asia/Shanghai").has_open_time
    assert sla.BusinessCalendar("Asia/Shanghai", is_24x7=True).has_open_time


# China: make-up working days (调休), 5x8 Mon–Fri 09:00–18:00 Asia/Shanghai, official 2026 list ------------

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_china_p2_before_national_day_is_due_after_the_week():
    cal = china_5x8()
    opened = sh(2026, 9, 30, 16)  # Wednesday, the last working day before 1–7 October
    assert sla.add_business(cal, opened, 4 * H) == sh(2026, 10, 8, 11)  # P2 first response (4 h)
    # P2 resolution (45 h) also counts Saturday 10 October, a make-up working day
    assert sla.add_business(cal, opened, 45 * H) == sh(2026, 10, 13, 16)


def test_china_make_up_sunday_counts_its_hours():
    cal = china_5x8()
    assert sla.add_business(cal, sh(2026, 9, 20, 10), 4 * H) == sh(2026, 9, 20, 14)  # Sunday 20 September
    assert sla.business_seconds(cal, sh(2026, 9, 20, 0), sh(2026, 9, 21, 0)) == 9 * H
    assert sla.business_seconds(cal, sh(2026, 9, 13, 0), sh(2026, 9, 14, 0)) == 0  # an ordinary Sunday


def test_china_spring_festival_with_make_up_days_on_both_sides():
    cal = china_5x8()
    # Friday 13 Feb 17:00 + 4 h: 1 h on Friday, then Saturday 14 Feb is a make-up working day
    assert sla.add_business(cal, sh(2026, 2, 13, 17), 4 * H) == sh(2026, 2, 14, 12)
    # Saturday 14 Feb 16:00 + 9 h: 2 h that day, holiday 15–23 Feb, then Tuesday 24 Feb 09:00 + 7 h
    assert sla.add_business(cal, sh(2026, 2, 14, 16), 9 * H) == sh(2026, 2, 24, 16)
    # Mon 9 Feb – Sun 1 Mar: 5 days + Sat 14 + Tue 24..Fri 27 (4) + Sat 28 = 11 working days
    assert sla.business_seconds(cal, sh(2026, 2, 9, 0), sh(2026, 3, 2, 0)) == 11 * 9 * H
