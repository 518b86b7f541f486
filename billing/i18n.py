"""Which language a customer's documents and emails are in."""

from __future__ import annotations

from typing import Any

from django.conf import settings

CHINESE_SPEAKING = {"CN"}


def organization_language(organization: Any) -> str:
    """The organization's own language if it has one set, else Simplified Chinese for mainland
    customers and English for everyone else."""
    explicit = (getattr(organization, "language", "") or "").strip().lower()
    available = {code for code, _name in settings.LANGUAGES}
    if explicit in available:
        return explicit
    country = (getattr(organization, "country", "") or "CN").upper()
    return "zh-hans" if country in CHINESE_SPEAKING else "en"
