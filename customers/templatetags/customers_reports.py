"""Number formatting for the admin reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def percent(value: Any, places: int = 1) -> str:
    """0.1234 → "12.3 %"; None (no denominator) → "—"."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:.{int(places)}f} %"


@register.filter
def money(value: Any) -> str:
    """12345.6 → "12,345.60"; empty → "—"."""
    if value is None or value == "":
        return "—"
    return intcomma(f"{Decimal(value):.2f}")


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key, 0)
    except AttributeError:
        return None
