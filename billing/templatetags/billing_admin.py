"""Billing's panels on other apps' admin pages (the organization's customer-360, the contract page):
each app shows its own records, so the pages stay thin and no app imports another's admin."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone

from billing.models import Invoice

register = template.Library()

RECENT = 8


def _balances(invoices: list[Invoice]) -> list[tuple[str, Decimal]]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        totals[invoice.currency] += invoice.open_balance
    return sorted(totals.items())


@register.inclusion_tag("billing/admin/_invoices_panel.html")
def organization_billing(organization: Any) -> dict[str, Any]:
    today = timezone.localdate()
    open_invoices = list(Invoice.objects.filter(organization=organization).open())
    recent = list(
        Invoice.objects.filter(organization=organization)
        .select_related("contract")
        .order_by("-issue_date", "-created_at")[:RECENT]
    )
    return {
        "invoices": recent,
        "balances": _balances(open_invoices),
        "overdue": sum(1 for i in open_invoices if i.due_date and i.due_date < today),
        "filter": f"organization__id__exact={organization.pk}",
        "contract": None,
    }


@register.inclusion_tag("billing/admin/_invoices_panel.html")
def contract_invoices(contract: Any) -> dict[str, Any]:
    invoices = list(Invoice.objects.filter(contract=contract).order_by("-issue_date", "-created_at"))
    return {
        "invoices": invoices[:RECENT],
        "balances": _balances([i for i in invoices if i.open_balance > 0]),
        "overdue": sum(1 for i in invoices if i.days_overdue > 0),
        "filter": f"contract__id__exact={contract.pk}",
        "contract": contract,
    }
