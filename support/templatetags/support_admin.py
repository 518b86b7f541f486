"""Admin template tags of the support desk: the calendar coverage warning on the admin index."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from support.coverage import calendar_warnings

register = template.Library()


@register.inclusion_tag("admin/support/calendar_warnings.html", takes_context=True)
def support_calendar_warnings(context: dict[str, Any]) -> dict[str, Any]:
    """Calendars in use whose holiday data ends within SUPPORT_CALENDAR_HORIZON_DAYS."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_staff:
        return {"warnings": []}
    can_change = user.has_perm("support.change_calendar")
    return {
        "warnings": [
            {
                "warning": warning,
                "url": reverse("admin:support_calendar_change", args=[warning.calendar_id])
                if can_change
                else "",
            }
            for warning in calendar_warnings()
        ]
    }
