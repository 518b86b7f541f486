"""Seed data: the vendor's two calendars with the official 2026 China holiday list (support/data/), and the
SLA policy of each paid edition. Community gets none (n/a). Creates only what is missing, so it never
overwrites what staff have changed in admin."""

import json
from datetime import date, time
from pathlib import Path

from django.db import migrations

CN_2026 = Path(__file__).resolve().parent.parent / "data" / "calendar-cn-2026.json"
CAL_5X8 = "5x8 China (Mon–Fri 09:00–18:00 Asia/Shanghai)"
CAL_7X24 = "7x24"

# minutes of business time per priority: first response, next response, resolution (None: n/a)
STANDARD = {"P1": (120, 240, 1080), "P2": (240, 480, 2700), "P3": (540, 1080, 5400), "P4": (1080, 1620, None)}
ENTERPRISE = {"P1": (30, 60, 240), "P2": (60, 120, 1440), "P3": (240, 480, 4320), "P4": (1440, 1440, None)}
POLICIES = [
    ("standard", "Standard 5x8", CAL_5X8, STANDARD),
    ("enterprise", "Enterprise 7x24", CAL_7X24, ENTERPRISE),
    ("source", "Source license 7x24", CAL_7X24, ENTERPRISE),
    ("saas", "SaaS 5x8", CAL_5X8, STANDARD),
]


def seed(apps, schema_editor):
    Calendar = apps.get_model("support", "Calendar")
    WeeklyHours = apps.get_model("support", "WeeklyHours")
    CalendarDay = apps.get_model("support", "CalendarDay")
    SlaPolicy = apps.get_model("support", "SlaPolicy")
    SlaTarget = apps.get_model("support", "SlaTarget")
    Edition = apps.get_model("editions", "Edition")

    five, created = Calendar.objects.get_or_create(
        name=CAL_5X8,
        defaults={"timezone": "Asia/Shanghai", "description": "Vendor office hours with mainland China holidays and make-up working days (调休)."},
    )
    if created:
        WeeklyHours.objects.bulk_create(
            WeeklyHours(calendar=five, weekday=day, start_time=time(9), end_time=time(18)) for day in range(5)
        )
        data = json.loads(CN_2026.read_text(encoding="utf-8"))
        CalendarDay.objects.bulk_create(
            CalendarDay(calendar=five, date=date.fromisoformat(d["date"]), kind=d["kind"], name=d["name"])
            for d in data["days"]
        )
    seven, _ = Calendar.objects.get_or_create(
        name=CAL_7X24, defaults={"timezone": "Asia/Shanghai", "is_24x7": True, "description": "Around the clock."}
    )
    calendars = {CAL_5X8: five, CAL_7X24: seven}
    for code, name, calendar_name, targets in POLICIES:
        edition = Edition.objects.filter(code=code).first()
        if edition is None or SlaPolicy.objects.filter(edition=edition).exists():
            continue
        policy = SlaPolicy.objects.create(name=name, edition=edition, calendar=calendars[calendar_name])
        SlaTarget.objects.bulk_create(
            SlaTarget(policy=policy, priority=p, first_response_minutes=fr, next_response_minutes=nr, resolution_minutes=res)
            for p, (fr, nr, res) in targets.items()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_initial"),
        ("editions", "0002_seed_catalog"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
