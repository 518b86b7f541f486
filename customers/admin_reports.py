"""Admin report pages: inquiry analysis, partner commission statements, the revenue dashboard.

Thin views: parse the filter form, call a selector (customers.selectors / partner_statements / revenue),
render a template or a download. They are mounted through ModelAdmin.get_urls, so the admin site's
login (staff only) and the model's view permission guard them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers import charts, exports, partner_statements, revenue
from customers.forms import DashboardForm, InquiryAnalysisForm, PeriodForm
from customers.models import InquiryInterest
from customers.selectors import inquiry_analysis


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "app_label": model_admin.model._meta.app_label,
        **extra,
    }


def _require_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> None:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied


# Inquiry analysis ----------------------------------------------------------------------------------------

ANALYSIS_DEFINITIONS = {
    "inquiries": gettext_lazy("Inquiries received in the period (by date received)."),
    "asked": gettext_lazy(
        "Inquiries that asked for this; one inquiry may ask for several things, so these need not add up."
    ),
    "source_share": gettext_lazy("Inquiries that asked for the source code ÷ inquiries."),
    "win_rate": gettext_lazy("Won ÷ (won + lost): how often a decided inquiry was won."),
    "conversion": gettext_lazy("Won ÷ all inquiries of the segment, open ones included."),
}


def inquiry_analysis_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    _require_view(model_admin, request)
    form = InquiryAnalysisForm(request.GET or None)
    date_from, date_to = form.period()
    channel = form.cleaned_data.get("channel", "") if form.is_valid() else ""
    if not form.is_bound:
        form = InquiryAnalysisForm(initial={"date_from": date_from, "date_to": date_to})
    analysis = inquiry_analysis(date_from=date_from, date_to=date_to, channel=channel)
    if request.GET.get("format") == "csv":
        return _analysis_csv(analysis)
    source = InquiryInterest.SOURCE_CODE
    chart = charts.stacked_hbar_chart(
        [
            (
                segment.label,
                [
                    (_("asked for source code"), segment.asked.get(source, 0)),
                    (_("did not"), segment.inquiries - segment.asked.get(source, 0)),
                ],
            )
            for segment in analysis.by_industry
        ],
        title=_("Inquiries by industry, and how many asked for the source code"),
        legend=[_("asked for source code"), _("did not")],
    )
    context = _context(
        model_admin,
        request,
        _("Inquiry analysis"),
        form=form,
        analysis=analysis,
        chart=chart,
        definitions=ANALYSIS_DEFINITIONS,
        date_from=date_from,
        date_to=date_to,
        csv_query=_with(request, format="csv"),
    )
    return TemplateResponse(request, "customers/admin/inquiry_analysis.html", context)


def _analysis_csv(analysis: Any) -> HttpResponse:
    interest_codes = [code for code, _label in analysis.interests]
    columns = [
        _("dimension"),
        _("segment"),
        _("inquiries"),
        *[_("asked for: %(what)s") % {"what": label} for _code, label in analysis.interests],
        _("source code share"),
        _("won"),
        _("lost"),
        _("open"),
        _("won ÷ (won + lost)"),
        _("won ÷ all"),
    ]
    rows = []
    for dimension, segments, by_industry in (
        (_("industry"), [*analysis.by_industry, analysis.total], True),
        (_("asked for"), analysis.by_interest, False),
    ):
        for segment in segments:
            rows.append(
                [
                    dimension,
                    segment.label,
                    segment.inquiries,
                    *[segment.asked.get(code, 0) if by_industry else "" for code in interest_codes],
                    _ratio(segment.source_code_share),
                    segment.won,
                    segment.lost,
                    segment.open,
                    _ratio(segment.win_rate),
                    _ratio(segment.conversion_rate),
                ]
            )
    name = f"inquiries-{analysis.date_from:%Y%m%d}-{analysis.date_to:%Y%m%d}.csv"
    preamble = [[_("Inquiry analysis"), analysis.date_from.isoformat(), analysis.date_to.isoformat()]]
    return exports.csv_download(name, columns, rows, preamble)


def _ratio(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _with(request: HttpRequest, **params: str) -> str:
    query = request.GET.copy()
    for key, value in params.items():
        query[key] = value
    return "?" + query.urlencode()


# Partner statements ----------------------------------------------------------------------------------------


def _previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def partner_statement_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    _require_view(model_admin, request)
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
    context = _context(
        model_admin,
        request,
        _("Commission statement: %(partner)s") % {"partner": partner.name},
        partner=partner,
        original=partner,
        form=form,
        statement=statement,
        downloads=[
            (label, _query(query, format=fmt))
            for fmt, label in (("csv", "CSV"), ("xlsx", "XLSX"), ("pdf", "PDF"))
        ],
    )
    return TemplateResponse(request, "customers/admin/partner_statement.html", context)


def _query(base: dict[str, str], **extra: str) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode({**base, **extra})


# Revenue dashboard -------------------------------------------------------------------------------------------


def revenue_dashboard_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    _require_view(model_admin, request)
    form = DashboardForm(request.GET or None)
    options = form.options()
    if not form.is_bound:
        form = DashboardForm(initial=options)
    dashboard = revenue.revenue_dashboard(**options)
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
            "csv": _query(base, figure=key),
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
        {"figure": figures[key], "chart": chart, "csv": _query(base, figure=key)}
        for key, chart in chart_specs
    ]
    try:
        rates_url = reverse("admin:billing_exchangerate_changelist")
    except NoReverseMatch:
        rates_url = ""
    context = _context(
        model_admin,
        request,
        _("Revenue dashboard"),
        form=form,
        dashboard=dashboard,
        cards=cards,
        panels=panels,
        renewals=figures["renewals_due"],
        renewals_csv=_query(base, figure="renewals_due"),
        renewal_rate_csv=_query(base, figure="renewal_rate"),
        definitions=[(figures[key].label, figures[key].definition) for key in revenue.DEFINITIONS],
        rates_url=rates_url,
        **options,
    )
    return TemplateResponse(request, "customers/admin/revenue_dashboard.html", context)


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
