"""manage.py import_calendar_days CALENDAR FILE [--replace]: load a year's holidays, make-up working days
and special hours from CSV or JSON (see support.services.calendars.parse_calendar_days)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.errors import ApplicationError
from support.models import Calendar
from support.services import calendar_days_import, parse_calendar_days


class Command(BaseCommand):
    help = "Import holidays and make-up working days into a business calendar (CSV or JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("calendar", help="calendar name or id")
        parser.add_argument("file", help="CSV (date,kind,name[,start_time,end_time]) or JSON file")
        parser.add_argument(
            "--replace", action="store_true", help="first delete the dates of the years in the file"
        )
        parser.add_argument(
            "--partial",
            action="store_true",
            help="the file is not a complete year's list: do not record its years as covered",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ref = options["calendar"]
        calendar = Calendar.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        calendar = calendar or Calendar.objects.filter(name=ref).first()
        if calendar is None:
            raise CommandError(
                f"no calendar {ref!r}; existing: {', '.join(Calendar.objects.values_list('name', flat=True))}"
            )
        try:
            rows = parse_calendar_days(Path(options["file"]).read_text(encoding="utf-8"))
            count = calendar_days_import(
                actor=None,
                calendar=calendar,
                rows=rows,
                replace=options["replace"],
                complete=not options["partial"],
                note=Path(options["file"]).name,
            )
        except (OSError, ApplicationError) as exc:
            raise CommandError(str(getattr(exc, "detail", exc))) from exc
        self.stdout.write(self.style.SUCCESS(f"{count} dates imported into {calendar}."))
