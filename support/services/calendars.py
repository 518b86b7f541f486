"""Calendar maintenance: importing a year's holidays and make-up days, and change propagation."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import date, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from portal.core.actors import Actor
from portal.core.errors import ApplicationError
from portal.core.services import audit
from support.errors import SupportError
from support.models import Calendar, CalendarCoverage, CalendarDay, CalendarDayKind
from support.services.sla import sla_mark_dirty


def parse_calendar_days(text: str, *, fmt: str = "") -> list[dict[str, Any]]:
    """Rows of `date,kind,name[,start_time,end_time]` from CSV (header optional) or JSON (a list, or an
    object with "days"). Kinds: holiday, workday, hours, closed."""
    text = text.lstrip("\ufeff")
    fmt = fmt or ("json" if text.lstrip()[:1] in "[{" else "csv")
    if fmt == "json":
        data = json.loads(text)
        rows = data["days"] if isinstance(data, dict) else data
    else:
        reader = csv.reader(io.StringIO(text))
        rows = []
        for record in reader:
            if not record or record[0].strip().lower() in {"date", ""} or record[0].startswith("#"):
                continue
            padded = [*record, "", "", "", ""]
            rows.append(
                {
                    "date": padded[0],
                    "kind": padded[1],
                    "name": padded[2],
                    "start_time": padded[3],
                    "end_time": padded[4],
                }
            )
    out = []
    for number, row in enumerate(rows, start=1):
        try:
            kind = CalendarDayKind(str(row.get("kind", "")).strip())
            parsed = {
                "date": date.fromisoformat(str(row["date"]).strip()),
                "kind": kind,
                "name": str(row.get("name") or "").strip()[:100],
                "start_time": time.fromisoformat(row["start_time"]) if row.get("start_time") else None,
                "end_time": time.fromisoformat(row["end_time"]) if row.get("end_time") else None,
            }
        except (KeyError, ValueError) as exc:
            raise ApplicationError(
                SupportError.INVALID_INPUT,
                _("Row %(n)d is not valid: %(error)s") % {"n": number, "error": exc},
            ) from exc
        out.append(parsed)
    return out


@transaction.atomic
def calendar_days_import(
    *,
    actor: Actor,
    calendar: Calendar,
    rows: Iterable[dict[str, Any]],
    replace: bool = False,
    complete: bool = True,
    note: str = "",
) -> int:
    """Add the rows; with `replace`, first delete the calendar's dates in the years the rows cover.
    A whole-day row (holiday, make-up day) replaces an existing one of the same date. With `complete`
    (the file is a year's official list), each year with a holiday in the file is recorded as having
    complete holiday data, which ends the coverage warning for it."""
    rows = list(rows)
    if replace:
        years = {row["date"].year for row in rows}
        for year in years:
            calendar.days.filter(date__year=year).delete()
    count = 0
    for row in rows:
        day = CalendarDay(calendar=calendar, **row)
        try:
            day.clean()
        except ValidationError as exc:
            raise ApplicationError(
                SupportError.INVALID_INPUT, f"{row['date']}: {' '.join(exc.messages)}"
            ) from exc
        if row["kind"] in {CalendarDayKind.HOLIDAY, CalendarDayKind.WORKDAY}:
            calendar.days.filter(
                date=row["date"], kind__in=[CalendarDayKind.HOLIDAY, CalendarDayKind.WORKDAY]
            ).delete()
        day.save()
        count += 1
    if complete:
        for year in sorted({row["date"].year for row in rows if row["kind"] == CalendarDayKind.HOLIDAY}):
            calendar_coverage_add(actor=actor, calendar=calendar, year=year, note=note or _("imported"))
    audit(actor=actor, action="calendar.import", target=calendar, data={"rows": count, "replace": replace})
    calendar_changed(actor=actor, calendar=calendar)
    return count


def calendar_coverage_add(*, actor: Actor, calendar: Calendar, year: int, note: str = "") -> CalendarCoverage:
    """Record that the calendar's dates hold the complete holidays of `year` (idempotent); the caller
    recomputes (calendar_changed)."""
    coverage, created = CalendarCoverage.objects.get_or_create(
        calendar=calendar, year=year, defaults={"note": note[:200]}
    )
    if created:
        audit(actor=actor, action="calendar.coverage", target=calendar, data={"year": year, "note": note})
    return coverage


def calendar_validate(calendar: Calendar) -> None:
    """Spec §2.4: reject a calendar without open time (reads its saved weekly hours)."""
    if not calendar.is_24x7 and not calendar.weekly_hours.exists():
        raise ValidationError(_("A calendar needs opening hours on at least one weekday, or 7x24."))


@transaction.atomic
def calendar_changed(*, actor: Actor, calendar: Calendar) -> int:
    """After any edit of a calendar or its dates: validate, then recompute the open tickets on it."""
    try:
        calendar_validate(calendar)
    except ValidationError as exc:
        raise ApplicationError(SupportError.INVALID_INPUT, " ".join(exc.messages)) from exc
    audit(actor=actor, action="calendar.change", target=calendar)
    return sla_mark_dirty(calendar=calendar)


@transaction.atomic
def sla_policy_changed(*, actor: Actor, policy: Any) -> int:
    audit(actor=actor, action="sla_policy.change", target=policy)
    return sla_mark_dirty(policy=policy)
