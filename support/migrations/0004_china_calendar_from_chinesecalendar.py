"""The vendor's 5x8 China calendar takes its holidays and make-up days from the chinesecalendar package.
Its dated rows that say exactly what the package says (the 2026 list shipped in 0002) are removed, so
only the staff's own exceptions stay on top; a row that differs from the package is kept."""

from django.db import migrations

CAL_5X8 = "5x8 China (Mon–Fri 09:00–18:00 Asia/Shanghai)"


def seed(apps, schema_editor):
    from chinese_calendar import constants

    Calendar = apps.get_model("support", "Calendar")
    CalendarDay = apps.get_model("support", "CalendarDay")
    calendar = Calendar.objects.filter(name=CAL_5X8, holiday_source="").first()
    if calendar is None:
        return
    calendar.holiday_source = "cn"
    calendar.save(update_fields=["holiday_source"])
    same = [
        day.pk
        for day in CalendarDay.objects.filter(calendar=calendar, kind__in=["holiday", "workday"])
        if day.date in (constants.holidays if day.kind == "holiday" else constants.workdays)
    ]
    CalendarDay.objects.filter(pk__in=same).delete()


class Migration(migrations.Migration):
    dependencies = [("support", "0003_mail_macros_calendar_coverage_economics")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
