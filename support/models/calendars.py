"""Business calendars (工作日历) and SLA policies, as staff maintain them in admin."""

from __future__ import annotations

import zoneinfo
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.i18n import LocalizedNameMixin
from support import holidays as holiday_sources
from support import sla
from support.models.choices import Priority


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("Unknown time zone: %(value)s. Use an IANA name such as Asia/Shanghai."),
            params={"value": value},
            code="invalid",
        )


def _seconds(value: time | None, *, is_end: bool) -> int:
    """A TimeField as seconds since midnight; an end of 00:00 means midnight at the end of the day."""
    if value is None:
        return 0
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return sla.calendar.DAY_SECONDS if is_end and seconds == 0 else seconds


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class HolidaySource(models.TextChoices):
    NONE = "", _("none: staff enter every date")
    CN = "cn", _("mainland China (chinesecalendar package)")


class Calendar(LocalizedNameMixin):
    name = models.CharField(_("name"), max_length=100, unique=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone]
    )
    is_24x7 = models.BooleanField(_("open 7x24"), default=False)
    holiday_source = models.CharField(
        _("holiday data"),
        max_length=10,
        choices=HolidaySource.choices,
        default=HolidaySource.NONE,
        blank=True,
        help_text=_(
            "Where public holidays and make-up working days come from. The dates entered below are "
            "kept on top of it (a make-up day or holiday entered here wins)."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("business calendar (工作日历)")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def needs_holiday_data(self) -> bool:
        """A calendar with office hours (or a holiday source) is wrong without the year's holidays."""
        return bool(self.holiday_source) or not self.is_24x7

    def to_spec(self) -> sla.BusinessCalendar:
        """The pure calendar the SLA clock computes with (reads weekly_hours, days and coverage; prefetch
        them): the source's holidays and make-up days first, the dates staff entered on top."""
        weekly: list[list[tuple[int, int]]] = [[] for _day in range(7)]
        for row in self.weekly_hours.all():
            weekly[row.weekday].append(
                (_seconds(row.start_time, is_end=False), _seconds(row.end_time, is_end=True))
            )
        source = holiday_sources.source_data(self.holiday_source)
        holidays, workdays = set(source.holidays), set(source.workdays)
        special: dict = {}
        closures: dict = {}
        for day in self.days.all():
            if day.kind == CalendarDayKind.HOLIDAY:
                holidays.add(day.date)
                workdays.discard(day.date)
            elif day.kind == CalendarDayKind.WORKDAY:
                workdays.add(day.date)
                holidays.discard(day.date)
            else:
                target = special if day.kind == CalendarDayKind.HOURS else closures
                target.setdefault(day.date, []).append(
                    (_seconds(day.start_time, is_end=False), _seconds(day.end_time, is_end=True))
                )
        return sla.BusinessCalendar(
            self.timezone,
            tuple(tuple(d) for d in weekly),
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            special_hours={d: tuple(v) for d, v in special.items()},
            closures={d: tuple(v) for d, v in closures.items()},
            is_24x7=self.is_24x7,
            covered_years=(
                frozenset(source.years | {row.year for row in self.coverage.all()})
                if self.needs_holiday_data
                else None
            ),
        )


def _clean_times(start: time | None, end: time | None) -> None:
    if start is None or end is None:
        raise ValidationError(_("Give a start and an end time."))
    if end != time(0) and end <= start:
        raise ValidationError(
            _("The end must be after the start (00:00 as end means midnight; split overnight shifts).")
        )


class WeeklyHours(models.Model):
    calendar = models.ForeignKey(
        Calendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="weekly_hours"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"), help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        verbose_name = _("weekly opening hours")
        verbose_name_plural = _("weekly opening hours")
        ordering = ["weekday", "start_time"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self) -> None:
        _clean_times(self.start_time, self.end_time)


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("public holiday (closed)")
    WORKDAY = "workday", _("make-up working day (调休上班)")
    HOURS = "hours", _("special opening hours")
    CLOSED = "closed", _("partial closure")


class CalendarDay(models.Model):
    """One dated exception to the weekly hours, as a local date of the calendar's time zone."""

    calendar = models.ForeignKey(
        Calendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="days"
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=CalendarDayKind.choices)
    start_time = models.TimeField(_("from"), null=True, blank=True)
    end_time = models.TimeField(_("until"), null=True, blank=True)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar date")
        verbose_name_plural = _("holidays, make-up days and special hours")
        ordering = ["date", "start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                condition=Q(kind__in=["holiday", "workday"]),
                name="uniq_calendar_whole_day",
            ),
        ]
        indexes = [models.Index(fields=["calendar", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()

    def clean(self) -> None:
        if self.kind in {CalendarDayKind.HOLIDAY, CalendarDayKind.WORKDAY}:
            if self.start_time or self.end_time:
                raise ValidationError(_("Holidays and make-up working days take no times."))
        else:
            _clean_times(self.start_time, self.end_time)


class CalendarCoverage(models.Model):
    """Staff's word that a year's holidays and make-up days are complete in this calendar's dates (an
    import of a year says so too). Years the holiday source covers need no row."""

    calendar = models.ForeignKey(
        Calendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="coverage"
    )
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    note = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("year with complete holiday data")
        verbose_name_plural = _("years with complete holiday data (entered by staff)")
        ordering = ["calendar", "year"]
        constraints = [models.UniqueConstraint(fields=["calendar", "year"], name="uniq_calendar_coverage")]

    def __str__(self) -> str:
        return f"{self.calendar} {self.year}"


class SlaPolicy(LocalizedNameMixin):
    """Targets per priority on a calendar: one per edition, or one overriding it for a contract."""

    name = models.CharField(_("name"), max_length=100)
    edition = models.OneToOneField(
        "editions.Edition",
        verbose_name=_("edition"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policy",
    )
    contract = models.OneToOneField(
        "contracts.Contract",
        verbose_name=_("contract (override)"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policy",
    )
    calendar = models.ForeignKey(
        Calendar, verbose_name=_("business calendar"), on_delete=models.PROTECT, related_name="policies"
    )
    warn_ratio = models.DecimalField(
        _("warn at"),
        max_digits=3,
        decimal_places=2,
        default=0.8,
        validators=[MinValueValidator(0.1), MaxValueValidator(0.99)],
        help_text=_("Share of the target after which the assignee is warned, e.g. 0.80."),
    )
    pause_first_response = models.BooleanField(
        _("pending customer pauses first response"),
        default=False,
        help_text=_("Normally off: a pending status must not stop the first-response clock."),
    )
    pause_next_response = models.BooleanField(_("pending customer pauses next response"), default=True)
    pause_resolution = models.BooleanField(_("pending customer pauses resolution"), default=True)
    default_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("default assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"is_staff": True},
        help_text=_("E.g. the named advisor of a source-license contract."),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["edition__sort_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(edition__isnull=False, contract__isnull=True)
                | Q(edition__isnull=True, contract__isnull=False),
                name="sla_policy_edition_xor_contract",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def rules(self) -> sla.Rules:
        applies = {
            sla.Metric.FIRST_RESPONSE: self.pause_first_response,
            sla.Metric.NEXT_RESPONSE: self.pause_next_response,
            sla.Metric.RESOLUTION: self.pause_resolution,
        }
        return sla.Rules(
            pause_applies_to=frozenset(m for m, on in applies.items() if on),
            warn_ratio=float(self.warn_ratio),
        )

    def targets_for(self, priority: str) -> sla.Targets:
        """Targets of one priority (reads `targets`; prefetch it)."""
        for target in self.targets.all():
            if target.priority == priority:
                return target.to_spec()
        return sla.Targets()


class SlaTarget(models.Model):
    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="targets"
    )
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), null=True, blank=True, help_text=_("Empty: not applicable.")
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ["priority"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="uniq_sla_target_priority")
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.priority}"

    def to_spec(self) -> sla.Targets:
        def seconds(minutes: int | None) -> int | None:
            return None if minutes is None else minutes * 60

        return sla.Targets(
            first_response=seconds(self.first_response_minutes),
            next_response=seconds(self.next_response_minutes),
            resolution=seconds(self.resolution_minutes),
        )
