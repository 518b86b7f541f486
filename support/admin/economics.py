"""Support economics in the back office: engineers' cost rates, monthly support costs, and the page that
puts them against revenue (billing.reports.support_economics), with charts and CSV like the revenue
dashboard (portal.core.charts, portal.core.exports)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.dates import add_months, month_end
from billing.reports import support_economics as economics
from portal.core import charts, exports
from portal.core.admin_reports import ReadOnlyAdminMixin
from support.models import StaffCostRate, SupportCost, SupportEconomicsReport


@admin.register(StaffCostRate)
class StaffCostRateAdmin(admin.ModelAdmin):
    list_display = ["user", "basis", "amount", "currency", "valid_from", "valid_until", "note"]
    list_filter = ["basis", "currency"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "note"]
    raw_id_fields = ["user"]
    date_hierarchy = "valid_from"
    exclude = ["created_at"]


@admin.register(SupportCost)
class SupportCostAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "monthly_amount", "currency", "valid_from", "valid_until"]
    list_filter = ["kind", "currency"]
    search_fields = ["name"]
    date_hierarchy = "valid_from"
    exclude = ["created_at"]


class EconomicsForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("from month"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("through month"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def period(self) -> tuple[date, date]:
        """Whole months; by default the twelve months up to the last one that has ended."""
        today = timezone.localdate()
        last = today.replace(day=1) - date.resolution
        default_from, default_to = add_months(last.replace(day=1), -11), last
        data = self.cleaned_data if self.is_valid() else {}
        date_from = data.get("date_from") or default_from
        date_to = data.get("date_to") or default_to
        if date_to < date_from:
            date_from, date_to = date_to, date_from
        return date_from.replace(day=1), month_end(date_to)


TABLES = {
    "months": gettext_lazy("By month"),
    "customers": gettext_lazy("By customer"),
    "editions": gettext_lazy("By edition"),
}


@admin.register(SupportEconomicsReport)
class SupportEconomicsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and (
                user.has_perm("support.view_supporteconomicsreport")
                or user.has_perm("support.view_staffcostrate")
            )
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = EconomicsForm(request.GET or None)
        date_from, date_to = form.period()
        if not form.is_bound:
            form = EconomicsForm(initial={"date_from": date_from, "date_to": date_to})
        report = economics.support_economics(date_from=date_from, date_to=date_to)
        tables = {
            "months": (_("Month"), report.months),
            "customers": (_("customer"), report.customers),
            "editions": (_("edition"), report.editions),
        }
        wanted = request.GET.get("table")
        if wanted:
            if wanted not in tables:
                raise Http404
            first_column, lines = tables[wanted]
            return exports.csv_download(
                f"support-economics-{wanted}-{date_from:%Y%m}-{date_to:%Y%m}.csv",
                economics.columns(first_column),
                economics.rows([*lines, report.total]),
                [
                    [_("Support economics"), date_from.isoformat(), date_to.isoformat(), "CNY"],
                    *[[str(label), str(text)] for label, text in economics.DEFINITIONS],
                    [],
                ],
            )
        query = request.GET.copy()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Support economics"),
            "form": form,
            "report": report,
            "kinds": [(kind, economics.RevenueKind.LABELS[kind]) for kind in economics.RevenueKind.ORDER],
            "tables": [
                {
                    "key": key,
                    "title": TABLES[key],
                    "first_column": first_column,
                    "lines": lines,
                    "csv": _with(query, table=key),
                }
                for key, (first_column, lines) in tables.items()
            ],
            "charts": [
                charts.column_chart(
                    [(line.label, line.revenue_total) for line in report.months],
                    title=_("Revenue by month (CNY)"),
                ),
                charts.column_chart(
                    [(line.label, line.cost_total) for line in report.months], title=_("Cost by month (CNY)")
                ),
                charts.hbar_chart(
                    [(line.label, line.profit) for line in report.months], title=_("Profit by month (CNY)")
                ),
                charts.hbar_chart(
                    [(line.label, line.profit) for line in report.customers[:15]],
                    title=_("Profit by customer (CNY)"),
                ),
                charts.hbar_chart(
                    [(line.label, line.profit) for line in report.editions],
                    title=_("Profit by edition (CNY)"),
                ),
            ],
            "definitions": economics.DEFINITIONS,
        }
        return TemplateResponse(request, "admin/support/economics.html", context)


def _with(query: Any, **params: str) -> str:
    query = query.copy()
    for key, value in params.items():
        query[key] = value
    return "?" + query.urlencode()
