"""The inquiry analysis page of the back office: parse the filter form, call the selector, render the
page or a CSV download. Mounted by InquiryAdmin.get_urls (customers/admin_crm.py), so the admin site's
login (staff only) and the model's view permission guard it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from customers.forms import InquiryAnalysisForm
from customers.models import InquiryInterest
from customers.selectors import inquiry_analysis
from portal.core import charts, exports
from portal.core.admin_reports import report_context, require_view_permission, with_params

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
    require_view_permission(model_admin, request)
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
    context = report_context(
        model_admin,
        request,
        _("Inquiry analysis"),
        form=form,
        analysis=analysis,
        chart=chart,
        definitions=ANALYSIS_DEFINITIONS,
        date_from=date_from,
        date_to=date_to,
        csv_query=with_params(request, format="csv"),
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
        pgettext("inquiry", "open"),
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
