from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.core.errors import ApplicationError
from support import coverage, services
from support.holidays import source_data
from support.models import Calendar, CalendarCoverage, CalendarDay, SlaPolicy, SlaTarget, WeeklyHours


class WeeklyHoursFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept and not self.instance.is_24x7:
            # Spec §2.4 (Zammad validate_hours): a calendar without open time is rejected.
            raise ValidationError(_("A calendar needs opening hours on at least one weekday, or 7x24."))


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    formset = WeeklyHoursFormSet
    extra = 0


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 1
    fields = ["date", "kind", "name", "start_time", "end_time"]


class CalendarCoverageInline(admin.TabularInline):
    model = CalendarCoverage
    extra = 0
    fields = ["year", "note", "created_at"]
    readonly_fields = ["created_at"]


class CalendarImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV or JSON file"),
        help_text=gettext_lazy(
            "CSV columns: date,kind,name[,start_time,end_time]; kinds: holiday, workday, hours, closed."
        ),
    )
    replace = forms.BooleanField(
        label=gettext_lazy("Replace the dates of the years in the file"), required=False, initial=True
    )
    complete = forms.BooleanField(
        label=gettext_lazy("The file is the complete official list of its years"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Its years then count as having holiday data (no coverage warning)."),
    )


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ["__str__", "timezone", "is_24x7", "holiday_source", "holiday_data", "updated_at"]
    list_filter = ["holiday_source", "is_24x7"]
    search_fields = ["name", "name_zh", "name_en"]
    inlines = [WeeklyHoursInline, CalendarDayInline, CalendarCoverageInline]
    readonly_fields = ["holiday_data", "import_link"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("coverage")

    @admin.display(description=gettext_lazy("holiday data"))
    def holiday_data(self, obj: Calendar) -> str:
        """Which years are known, where from, and whether the coming weeks are covered."""
        if not obj.pk:
            return "–"
        if not obj.needs_holiday_data:
            return _("not needed (open 7x24)")
        source = source_data(obj.holiday_source)
        years = sorted(coverage.covered_years(obj))
        parts = []
        if source.label:
            parts.append(
                _("%(source)s: %(first)s–%(last)s")
                % {"source": source.label, "first": min(source.years), "last": max(source.years)}
            )
        staff = sorted(row.year for row in obj.coverage.all())
        if staff:
            parts.append(_("entered by staff: %(years)s") % {"years": ", ".join(map(str, staff))})
        if not years:
            parts.append(_("no year has holiday data"))
        warning = coverage.calendar_warning(obj)
        text = "; ".join(parts)
        if warning is None:
            return text
        return format_html(
            '{} <strong class="calendar-coverage-warning" style="color:#b00020">{}</strong>',
            text,
            _("No holiday data from %(day)s: enter or import the year, or upgrade the holiday source.")
            % {"day": warning.missing_from.isoformat()},
        )

    @admin.display(description=gettext_lazy("import"))
    def import_link(self, obj: Calendar) -> str:
        if not obj.pk:
            return "–"
        url = reverse("admin:support_calendar_import", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">{}</a>', url, _("Import a year's holidays and make-up days")
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        count = services.calendar_changed(actor=request.user, calendar=form.instance)
        if count:
            messages.info(request, _("%(n)d open tickets will be recomputed.") % {"n": count})

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/import/",
                self.admin_site.admin_view(self.import_view),
                name="support_calendar_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        calendar = get_object_or_404(Calendar, pk=pk)
        if not self.has_change_permission(request, calendar):
            raise PermissionDenied
        form = CalendarImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                rows = services.parse_calendar_days(text)
                count = services.calendar_days_import(
                    actor=request.user,
                    calendar=calendar,
                    rows=rows,
                    replace=form.cleaned_data["replace"],
                    complete=form.cleaned_data["complete"],
                    note=form.cleaned_data["file"].name,
                )
            except (ApplicationError, UnicodeDecodeError, ValueError) as exc:
                form.add_error("file", getattr(exc, "detail", str(exc)))
            else:
                messages.success(request, _("%(n)d dates imported.") % {"n": count})
                return redirect("admin:support_calendar_change", calendar.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": calendar,
            "form": form,
            "title": _("Import dates into %(calendar)s") % {"calendar": calendar},
        }
        return TemplateResponse(request, "admin/support/calendar_import.html", context)


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "edition", "contract", "calendar", "warn_ratio", "default_assignee"]
    list_select_related = ["edition", "contract", "calendar", "default_assignee"]
    raw_id_fields = ["contract"]
    inlines = [SlaTargetInline]
    exclude = ["updated_at"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        count = services.sla_policy_changed(actor=request.user, policy=form.instance)
        if count:
            messages.info(request, _("%(n)d open tickets will be recomputed.") % {"n": count})
