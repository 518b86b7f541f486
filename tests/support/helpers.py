"""Shared builders for the SLA tests."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from support import sla

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600
CN_2026 = Path(__file__).resolve().parents[2] / "support" / "data" / "calendar-cn-2026.json"


def berlin(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=BERLIN, fold=fold)


def office(**kwargs) -> sla.BusinessCalendar:
    """The spec's default: Europe/Berlin, Mon–Fri 09:00–17:00."""
    return sla.BusinessCalendar.weekdays("Europe/Berlin", [("09:00", "17:00")], **kwargs)


def china_5x8() -> sla.BusinessCalendar:
    """Mon–Fri 09:00–18:00 Asia/Shanghai with the official 2026 list (holidays and make-up days)."""
    days = json.loads(CN_2026.read_text(encoding="utf-8"))["days"]
    return sla.BusinessCalendar.weekdays(
        "Asia/Shanghai",
        [("09:00", "18:00")],
        holidays=frozenset(date.fromisoformat(d["date"]) for d in days if d["kind"] == "holiday"),
        workdays=frozenset(date.fromisoformat(d["date"]) for d in days if d["kind"] == "workday"),
    )


def created(at: datetime) -> sla.Event:
    return sla.Event(at, sla.EventKind.CREATED)


def status(at: datetime, value: str) -> sla.Event:
    return sla.Event(at, sla.EventKind.STATUS, value)


def reply(at: datetime) -> sla.Event:
    return sla.Event(at, sla.EventKind.AGENT_REPLY)


def customer(at: datetime) -> sla.Event:
    return sla.Event(at, sla.EventKind.CUSTOMER_MESSAGE)


def note(at: datetime) -> sla.Event:
    return sla.Event(at, sla.EventKind.INTERNAL_NOTE)
