"""Invoiced revenue in the period, and by edition, industry and partner."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, cast

from django.utils.translation import gettext as _

from billing.models import DocumentKind
from billing.reports.figures import ZERO, Figure, cents
from billing.reports.rates import invoice_cny
from billing.reports.report_data import ReportData
from customers.models import Industry


def revenue_figures(data: ReportData) -> dict[str, Figure]:
    """Σ net of issued invoices and issued credit notes (negative) with an issue date in the period, void
    excluded, each at the rate recorded on the document; by invoice edition, customer industry, partner."""
    industries = dict(Industry.choices)
    groups: dict[str, dict[str, dict[str, Decimal]]] = {
        "revenue_by_edition": defaultdict(lambda: {"invoiced": ZERO, "credited": ZERO}),
        "revenue_by_industry": defaultdict(lambda: {"invoiced": ZERO, "credited": ZERO}),
        "revenue_by_partner": defaultdict(lambda: {"invoiced": ZERO, "credited": ZERO}),
    }
    rows: list[list[Any]] = []
    total = ZERO
    for document in data.documents:
        cny = invoice_cny(
            document.net_total, document.currency, document.rate_to_cny, document.issue_date, data.rates
        )
        if cny is None:
            continue
        cny = cents(cny)
        total += cny
        column = "credited" if document.kind == DocumentKind.CREDIT_NOTE else "invoiced"
        keys = {
            "revenue_by_edition": document.edition.name
            if document.edition is not None
            else str(_("no edition")),
            "revenue_by_industry": str(
                industries.get(document.organization.industry, document.organization.industry)
            ),
            "revenue_by_partner": document.partner.name if document.partner is not None else str(_("direct")),
        }
        for figure, key in keys.items():
            groups[figure][key][column] += cny
        rows.append(
            [
                document.number,
                document.get_kind_display(),
                document.issue_date.isoformat() if document.issue_date else "",
                document.organization.name,
                keys["revenue_by_edition"],
                keys["revenue_by_partner"],
                document.currency,
                document.net_total,
                document.rate_to_cny if document.rate_to_cny is not None else "",
                cny,
            ]
        )
    figures = {
        "revenue": Figure(
            "revenue",
            total,
            [
                _("document"),
                _("type"),
                _("issue date"),
                _("organization"),
                _("edition"),
                _("partner"),
                _("currency"),
                _("net"),
                _("rate to CNY"),
                _("net (CNY)"),
            ],
            rows,
            count=len(rows),
        )
    }
    segment = {
        "revenue_by_edition": _("edition"),
        "revenue_by_industry": _("industry"),
        "revenue_by_partner": _("partner"),
    }
    for key, sums in groups.items():
        ordered = sorted(sums.items(), key=lambda kv: (-(kv[1]["invoiced"] + kv[1]["credited"]), kv[0]))
        figure_rows = [
            [name, s["invoiced"], s["credited"], s["invoiced"] + s["credited"]] for name, s in ordered
        ]
        figures[key] = Figure(
            key,
            total,
            [segment[key], _("invoiced (CNY)"), _("credit notes (CNY)"), _("revenue (CNY)")],
            figure_rows,
            count=len(figure_rows),
            series=[(str(row[0]), cast(Decimal, row[3])) for row in figure_rows],
        )
    return figures
