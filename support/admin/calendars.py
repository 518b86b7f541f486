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
from support import services
from support.models import Calendar, CalendarDay, SlaPolicy, SlaTarget, WeeklyHours


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


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "is_24x7", "updated_at"]
    search_fields = ["name"]
    inlines = [WeeklyHoursInline, CalendarDayInline]
    readonly_fields = ["import_link"]

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
                    actor=request.user, calendar=calendar, rows=rows, replace=form.cleaned_data["replace"]
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
    list_display = ["name", "edition", "contract", "calendar", "warn_ratio", "default_assignee"]
    list_select_related = ["edition", "contract", "calendar", "default_assignee"]
    raw_id_fields = ["contract"]
    inlines = [SlaTargetInline]
    exclude = ["updated_at"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        count = services.sla_policy_changed(actor=request.user, policy=form.instance)
        if count:
            messages.info(request, _("%(n)d open tickets will be recomputed.") % {"n": count})
