"""Formatting for invoices, emails and admin: money with thousands separators, rates as percent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils import translation

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$"}


@register.filter
def money(value: Any) -> str:
    if value in (None, ""):
        return ""
    return f"{Decimal(value):,.2f}"


@register.filter
def quantity(value: Any) -> str:
    if value in (None, ""):
        return ""
    text = f"{Decimal(value):,.4f}".rstrip("0").rstrip(".")
    return text or "0"


@register.filter
def percent(value: Any) -> str:
    if value in (None, ""):
        return ""
    text = f"{Decimal(value) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def currency_symbol(code: str) -> str:
    return CURRENCY_SYMBOLS.get((code or "").upper(), code or "")


@register.filter
def rate(value: Any) -> str:
    """An exchange rate without trailing zeros (7.100000 → 7.1)."""
    if value in (None, ""):
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.simple_tag
def bilingual(message: str, context: str = "billing") -> str:
    """A label in Simplified Chinese and English ("报价单 / Quote"), for documents both sides read."""
    with translation.override("zh-hans"):
        chinese = translation.pgettext(context, message)
    with translation.override("en"):
        english = translation.pgettext(context, message)
    return chinese if chinese == english else f"{chinese} / {english}"
