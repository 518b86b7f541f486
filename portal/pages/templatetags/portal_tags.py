"""Formatting for portal pages: money with its currency, pagination links that keep the filters."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from editions.models import Edition, ModuleKind, PurchasePath

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "US$"}


@register.filter
def money(amount: Any, currency: str = "CNY") -> str:
    """¥150,000.00 / US$1,200.00: the symbol says the currency, the grouping is the same in both languages."""
    if amount in (None, ""):
        return ""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    code = (currency or "CNY").upper()
    symbol = CURRENCY_SYMBOLS.get(code, f"{code} ")
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


@register.simple_tag(takes_context=True)
def page_url(context: Any, page: int) -> str:
    """The current URL with ?page=N, other query parameters kept."""
    query = context["request"].GET.copy()
    query["page"] = page
    return "?" + query.urlencode()


@register.simple_tag
def upgrade_editions(contract: Any) -> list[Any]:
    """Editions an active contract may be upgraded to through sales: the sales-led editions after its own
    in the catalog (standard → enterprise, source license), not metered."""
    if contract.status != "active" or contract.edition.is_metered:
        return []
    return list(
        Edition.objects.filter(
            is_active=True,
            is_metered=False,
            purchase_path=PurchasePath.SALES,
            sort_order__gt=contract.edition.sort_order,
        ).order_by("sort_order")
    )


@register.simple_tag
def addable_modules(contract: Any) -> list[Any]:
    """Industry modules an active contract of an edition sold online may add mid-term (prorated)."""
    if contract.status != "active" or contract.edition.is_metered:
        return []
    if contract.edition.purchase_path != PurchasePath.SELF_SERVICE:
        return []
    current = {m.pk for m in contract.modules.all()}
    return [
        m
        for m in contract.edition.optional_modules.all()
        if m.kind == ModuleKind.VERTICAL and m.pk not in current
    ]
