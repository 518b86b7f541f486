"""Calendar coverage: chinesecalendar as the holiday source, staff dates on top, warnings when a calendar
in use has no holiday data for the coming weeks (admin index, /api/v1/health, the ticket)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from support.coverage import calendar_warnings
from support.holidays import source_data
from support.models import Calendar, CalendarCoverage, CalendarDay, Priority, Ticket
from support.services import sla as sla_services
from support.tasks import sla_check
from tests.support.conftest import sh
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db

CHINA_5X8 = "5x8 China (Mon–Fri 09:00–18:00 Asia/Shanghai)"
# A Spring Festival 2027 arrangement in the shape the State Council publishes (test data, not the notice):
# 除夕 Fri 5 February to Sat 13 February off, Sunday 14 February worked in exchange.
SPRING_2027_OFF = [date(2027, 2, 5) + timedelta(days=n) for n in range(9)]
SPRING_2027_WORKED = [date(2027, 2, 14)]


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    source_data.cache_clear()
    sla_services._SPECS.clear()
    yield
    source_data.cache_clear()
    sla_services._SPECS.clear()


def chinesecalendar_ships_2027(monkeypatch: pytest.MonkeyPatch) -> None:
    """What upgrading to a chinesecalendar release with the 2027 arrangement does (its data tables)."""
    from chinese_calendar import constants

    for day in SPRING_2027_OFF:
        monkeypatch.setitem(constants.holidays, day, constants.Holiday.spring_festival.value)
    for day in SPRING_2027_WORKED:
        monkeypatch.setitem(constants.workdays, day, constants.Holiday.spring_festival.value)
    monkeypatch.setitem(constants.holidays, date(2027, 1, 1), constants.Holiday.new_years_day.value)
    source_data.cache_clear()
    sla_services._SPECS.clear()  # a deploy restarts the processes


def test_the_shipped_source_covers_2026_not_2027():
    years = source_data("cn").years
    assert 2026 in years and 2027 not in years
    assert source_data("cn").label.startswith("chinesecalendar ")
    spec = Calendar.objects.get(name=CHINA_5X8).to_spec()
    assert date(2026, 10, 1) in spec.holidays and date(2026, 10, 10) in spec.workdays
    assert spec.covered_years is not None and 2027 not in spec.covered_years
    assert Calendar.objects.get(name="7x24").to_spec().covered_years is None  # needs no holidays


def test_on_2026_12_05_the_check_warns_for_2027():
    with time_machine.travel(sh(2026, 12, 5, 10), tick=False):
        [warning] = calendar_warnings()
    assert warning.name == CHINA_5X8  # the 7x24 calendar needs no holiday data
    assert warning.missing_from == date(2027, 1, 1) and warning.missing_years == (2027,)
    assert warning.last_covered_year == 2026
    with time_machine.travel(sh(2026, 10, 1, 10), tick=False):
        assert calendar_warnings() == []  # 60 days ahead is still 2026


def test_the_warning_is_on_the_admin_index(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with time_machine.travel(sh(2026, 12, 5, 10)):
        page = admin_client.get(reverse("admin:index")).content.decode()
        listing = admin_client.get(reverse("admin:support_calendar_changelist")).content.decode()
    assert 'id="calendar-coverage-warnings"' in page
    assert "has no public holidays from 2027-01-01" in page
    calendar = Calendar.objects.get(name=CHINA_5X8)
    assert reverse("admin:support_calendar_change", args=[calendar.pk]) in page
    assert "No holiday data from 2027-01-01" in listing
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    with time_machine.travel(sh(2026, 12, 5, 10)):
        chinese = admin_client.get(reverse("admin:index")).content.decode()
    assert "自 2027-01-01 起没有法定节假日数据" in chinese


def test_health_carries_the_calendar_warning_and_stays_200(http):
    with time_machine.travel(sh(2026, 12, 5, 10)):
        response = http.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["calendars"]["status"] == "warning" and body["calendars"]["horizon_days"] == 60
    assert body["calendars"]["missing"] == [
        {
            "calendar": CHINA_5X8,
            "missing_from": "2027-01-01",
            "years": [2027],
            "source": "chinesecalendar 1.11.0",
        }
    ]


def test_health_without_a_calendar_warning(http):
    with time_machine.travel(sh(2026, 9, 1, 10)):
        body = http.get("/api/v1/health").json()
    assert body["calendars"] == {"status": "ok", "horizon_days": 60, "missing": []}


def _p2_before_spring_festival(member: Any, contract: Any) -> Ticket:
    with time_machine.travel(sh(2027, 2, 4, 16), tick=False):
        return open_ticket(member, contract, priority=Priority.P2)  # first response: 4 business hours


def test_a_due_time_past_the_data_is_flagged_on_the_ticket(admin_client, member, standard_contract):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    ticket = _p2_before_spring_festival(member, standard_contract)
    # Without 2027 holidays Friday 5 February counts as a working day: due 11:00 that day, flagged.
    assert ticket.first_response_due_at == sh(2027, 2, 5, 11)
    assert ticket.sla_uncovered_from == date(2027, 2, 4)
    page = admin_client.get(reverse("admin:support_ticket_change", args=[ticket.pk])).content.decode()
    assert "has no holidays from 2027-02-04" in page
    listing = admin_client.get(reverse("admin:support_ticket_changelist") + "?sla_uncovered_from__isempty=0")
    assert ticket.number in listing.content.decode()


def test_spring_festival_2027_is_right_once_the_package_has_2027(member, standard_contract, monkeypatch):
    ticket = _p2_before_spring_festival(member, standard_contract)
    chinesecalendar_ships_2027(monkeypatch)
    with time_machine.travel(sh(2027, 2, 4, 16, 5), tick=False):
        sla_check()  # the minute job notices the new data and recomputes the flagged ticket
    ticket.refresh_from_db()
    # Thu 16:00–18:00 counts 2 h, 5–13 February are off, the make-up Sunday 14 February 09:00–11:00 the rest.
    assert ticket.first_response_due_at == sh(2027, 2, 14, 11)
    assert ticket.sla_uncovered_from is None
    with time_machine.travel(sh(2026, 12, 5, 10), tick=False):
        assert calendar_warnings() == []


def test_spring_festival_2027_is_right_once_staff_import_the_year(
    admin_client, member, standard_contract, django_capture_on_commit_callbacks
):
    ticket = _p2_before_spring_festival(member, standard_contract)
    calendar = Calendar.objects.get(name=CHINA_5X8)
    rows = ["date,kind,name", "2027-01-01,holiday,元旦"]
    rows += [f"{day},holiday,春节" for day in SPRING_2027_OFF]
    rows += [f"{day},workday,春节调休上班" for day in SPRING_2027_WORKED]
    upload = SimpleUploadedFile("cn-2027.csv", "\n".join(rows).encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):  # (a session would not survive time travel)
        response = admin_client.post(
            reverse("admin:support_calendar_import", args=[calendar.pk]),
            {"file": upload, "replace": "on", "complete": "on"},
        )
    assert response.status_code == 302
    assert CalendarCoverage.objects.get(calendar=calendar, year=2027).note == "cn-2027.csv"
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == sh(2027, 2, 14, 11)
    assert ticket.sla_uncovered_from is None
    with time_machine.travel(sh(2026, 12, 5, 10), tick=False):
        assert calendar_warnings() == []


def test_a_partial_import_does_not_end_the_warning(admin_client):
    calendar = Calendar.objects.get(name=CHINA_5X8)
    upload = SimpleUploadedFile("company-day.csv", b"2027-03-01,holiday,company anniversary")
    response = admin_client.post(
        reverse("admin:support_calendar_import", args=[calendar.pk]), {"file": upload, "replace": ""}
    )
    assert response.status_code == 302
    assert not CalendarCoverage.objects.filter(calendar=calendar).exists()
    with time_machine.travel(sh(2026, 12, 5, 10), tick=False):
        assert [w.name for w in calendar_warnings()] == [CHINA_5X8]


def test_staff_dates_are_kept_on_top_of_the_package():
    calendar = Calendar.objects.get(name=CHINA_5X8)
    CalendarDay.objects.create(calendar=calendar, date=date(2026, 10, 7), kind="workday", name="on call")
    CalendarDay.objects.create(
        calendar=calendar, date=date(2026, 12, 24), kind="holiday", name="office party"
    )
    spec = Calendar.objects.prefetch_related("weekly_hours", "days", "coverage").get(pk=calendar.pk).to_spec()
    assert spec.local_intervals(date(2026, 10, 7)) == ((9 * 3600, 18 * 3600),)  # the package says holiday
    assert spec.local_intervals(date(2026, 12, 24)) == ()  # a Thursday, closed by staff
    assert spec.local_intervals(date(2026, 10, 6)) == ()  # still the package's holiday
    assert spec.local_intervals(date(2026, 10, 10)) == (
        (9 * 3600, 18 * 3600),
    )  # the package's make-up Saturday
