"""The money reports of the back office: partner commission statements and the revenue dashboard.

Thin views: parse the filter form, call the report (billing.reports.partner_statements,
billing.reports.dashboard), render a template or a download. They are mounted through ModelAdmin.get_urls
(the Partner admin, extended here with its statement, and the RevenueDashboard proxy model, both of
customers, so the URL names stay admin:customers_…), so the admin site's login (staff only) and the
model's view permission guard them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.reports import dashboard as revenue
from billing.reports import partner_statements
from billing.reports.forms import DashboardForm
from customers.admin import PartnerAdmin
from customers.forms import PeriodForm
from customers.models import Partner, RevenueDashboard
from portal.core import charts, exports
from portal.core.admin_reports import (
    ReadOnlyAdminMixin,
    query_string,
    report_context,
    require_view_permission,
)

# Partner statements ----------------------------------------------------------------------------------------


def _previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def partner_statement_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    require_view_permission(model_admin, request)
    partner = model_admin.get_object(request, object_id)
    if partner is None:
        raise Http404
    form = PeriodForm(request.GET or None)
    default_from, default_to = _previous_month(timezone.localdate())
    if form.is_valid() and (form.cleaned_data.get("date_from") or form.cleaned_data.get("date_to")):
        date_from, date_to = form.period()
    else:
        date_from, date_to = default_from, default_to
        if not request.GET:
            form = PeriodForm(initial={"date_from": date_from, "date_to": date_to})
    statement = partner_statements.partner_statement(partner=partner, date_from=date_from, date_to=date_to)
    fmt = request.GET.get("format", "")
    if fmt == "csv":
        return exports.download(
            partner_statements.statement_csv(statement),
            partner_statements.statement_filename(statement, "csv"),
            "text/csv; charset=utf-8",
        )
    if fmt == "xlsx":
        return exports.download(
            partner_statements.statement_xlsx(statement),
            partner_statements.statement_filename(statement, "xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    if fmt == "pdf":
        return exports.download(
            partner_statements.statement_pdf(statement),
            partner_statements.statement_filename(statement, "pdf"),
            "application/pdf",
        )
    query = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
    context = report_context(
        model_admin,
        request,
        _("Commission statement: %(partner)s") % {"partner": partner.name},
        partner=partner,
        original=partner,
        form=form,
        statement=statement,
        downloads=[
            (label, query_string(query, format=fmt))
            for fmt, label in (("csv", "CSV"), ("xlsx", "XLSX"), ("pdf", "PDF"))
        ],
    )
    return TemplateResponse(request, "billing/admin/reports/partner_statement.html", context)


# Revenue dashboard -------------------------------------------------------------------------------------------


def revenue_dashboard_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    require_view_permission(model_admin, request)
    form = DashboardForm(request.GET or None)
    options = form.options()
    if not form.is_bound:
        form = DashboardForm(initial=options)
    dashboard = revenue.revenue_dashboard(
        as_of=options["as_of"],
        date_from=options["date_from"],
        date_to=options["date_to"],
        renewals_from=options["renewals_from"],
        renewals_to=options["renewals_to"],
    )
    figure_key = request.GET.get("figure")
    if figure_key:
        figure = dashboard.figures.get(figure_key)
        if figure is None:
            raise Http404
        return _figure_csv(dashboard, figure)
    figures = dashboard.figures
    base = {k: v.isoformat() for k, v in options.items()}
    cards = [
        {
            "figure": figures[key],
            "csv": query_string(base, figure=key),
            "sub": sub,
        }
        for key, sub in (
            ("arr", _("%(n)d contracts in force") % {"n": figures["arr"].count or 0}),
            ("mrr", _("ARR ÷ 12")),
            ("bookings", _("%(n)d contracts signed") % {"n": figures["bookings"].count or 0}),
            (
                "bookings_self_service",
                _("%(n)d contracts signed") % {"n": figures["bookings_self_service"].count or 0},
            ),
            (
                "bookings_sales_led",
                _("%(n)d contracts signed") % {"n": figures["bookings_sales_led"].count or 0},
            ),
            ("trial_conversion", _("%(n)d trials started") % {"n": figures["trial_conversion"].count or 0}),
            ("renewals_due", _("%(n)d contracts") % {"n": figures["renewals_due"].count or 0}),
            (
                "renewal_rate",
                _("%(renewed)s of %(due)s due")
                % {
                    "renewed": int(figures["renewal_rate"].series[0][1])
                    if figures["renewal_rate"].series
                    else 0,
                    "due": figures["renewal_rate"].count or 0,
                },
            ),
            ("revenue", _("%(n)d documents") % {"n": figures["revenue"].count or 0}),
            ("receivables", _("%(n)d open invoices") % {"n": figures["receivables"].count or 0}),
        )
    ]
    chart_specs = [
        ("mrr", charts.column_chart(figures["mrr"].series, title=_("MRR at each month end (CNY)"))),
        ("bookings", charts.column_chart(figures["bookings"].series, title=_("Bookings by month (CNY)"))),
        (
            "revenue_by_edition",
            charts.hbar_chart(
                figures["revenue_by_edition"].series, title=str(figures["revenue_by_edition"].label)
            ),
        ),
        (
            "revenue_by_industry",
            charts.hbar_chart(
                figures["revenue_by_industry"].series, title=str(figures["revenue_by_industry"].label)
            ),
        ),
        (
            "revenue_by_partner",
            charts.hbar_chart(
                figures["revenue_by_partner"].series, title=str(figures["revenue_by_partner"].label)
            ),
        ),
        (
            "receivables",
            charts.hbar_chart(figures["receivables"].series, title=_("Open receivables by age (CNY)")),
        ),
        (
            "trial_conversion",
            charts.hbar_chart(
                figures["trial_conversion"].series,
                title=_("Trial-to-paid conversion by edition and channel (%)"),
            ),
        ),
    ]
    panels = [
        {"figure": figures[key], "chart": chart, "csv": query_string(base, figure=key)}
        for key, chart in chart_specs
    ]
    try:
        rates_url = reverse("admin:billing_exchangerate_changelist")
    except NoReverseMatch:
        rates_url = ""
    context = report_context(
        model_admin,
        request,
        _("Revenue dashboard"),
        form=form,
        dashboard=dashboard,
        cards=cards,
        panels=panels,
        renewals=figures["renewals_due"],
        renewals_csv=query_string(base, figure="renewals_due"),
        renewal_rate_csv=query_string(base, figure="renewal_rate"),
        definitions=[(figures[key].label, figures[key].definition) for key in revenue.DEFINITIONS],
        rates_url=rates_url,
        **options,
    )
    return TemplateResponse(request, "billing/admin/reports/revenue_dashboard.html", context)


def _figure_csv(dashboard: revenue.Dashboard, figure: revenue.Figure) -> HttpResponse:
    preamble: list[list[Any]] = [
        [figure.label, figure.definition],
        [_("as of"), dashboard.as_of.isoformat()],
        [_("period"), dashboard.date_from.isoformat(), dashboard.date_to.isoformat()],
        [_("renewal window"), dashboard.renewals_from.isoformat(), dashboard.renewals_to.isoformat()],
        [
            _("value"),
            "" if figure.value is None else figure.value,
            "ratio" if figure.unit == "ratio" else "CNY",
        ],
        [],
    ]
    name = f"{figure.key}-{dashboard.as_of:%Y%m%d}.csv"
    return exports.csv_download(name, figure.columns, figure.rows, preamble)


# Registrations: the reports hang on customers' Partner admin and RevenueDashboard proxy model ------------


admin.site.unregister(Partner)


@admin.register(Partner)
class PartnerStatementAdmin(PartnerAdmin):
    """customers' Partner admin with the partner's commission statement (billing's figures)."""

    list_display = (*PartnerAdmin.list_display, "statement_link")
    change_form_template = "customers/admin/partner_change_form.html"

    @admin.display(description=gettext_lazy("commission"))
    def statement_link(self, obj: Partner) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:customers_partner_statement", args=[obj.pk]), _("statement")
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/statement/",
                self.admin_site.admin_view(self.statement_view),
                name="customers_partner_statement",
            ),
            *super().get_urls(),
        ]

    def statement_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return partner_statement_view(self, request, object_id)


# The revenue dashboard (a proxy model gives it a place in the admin and its own view permission) ------


@admin.register(RevenueDashboard)
class RevenueDashboardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def get_urls(self) -> list[Any]:
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="{}_{}_changelist".format(*info),
            ),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return revenue_dashboard_view(self, request)
