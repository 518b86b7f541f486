"""Reports as a custom admin view, reached from the support section of the admin index."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.admin_reports import ReadOnlyAdminMixin
from support import selectors
from support.models import SlaMetric, SupportReport


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label=_("until (exclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@admin.register(SupportReport)
class SupportReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (
            request.user.is_active
            and request.user.is_staff
            and (
                request.user.has_perm("support.view_supportreport")
                or request.user.has_perm("support.view_ticket")
            )
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        today = timezone.localdate()
        form = PeriodForm(request.GET or None)
        start, end = date(today.year, 1, 1), date(today.year + 1, 1, 1)
        if form.is_valid():
            start = form.cleaned_data["start"] or start
            end = form.cleaned_data["end"] or end
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Support reports"),
            "form": form,
            "start": start,
            "end": end,
            "metrics": [(m.value, m.label) for m in SlaMetric],
            "attainment": selectors.sla_attainment(start=start, end=end),
            "backlog": selectors.backlog_by_age(),
            "age_labels": [label for _limit, label in selectors.AGE_BUCKETS],
            "csat": selectors.csat_summary(start=start, end=end),
        }
        return TemplateResponse(request, "admin/support/reports.html", context)
