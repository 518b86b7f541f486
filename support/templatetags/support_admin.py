"""Admin template tags of the support desk: the calendar coverage warning on the admin index and the
organization's tickets on its customer-360 page."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Case, When
from django.urls import reverse

from support.coverage import calendar_warnings
from support.models import OPEN_STATUSES, Ticket

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


@register.inclusion_tag("support/admin/_tickets_panel.html")
def organization_tickets(organization: Any) -> dict[str, Any]:
    """The organization's support on its customer-360 page: open tickets first, then the latest."""
    tickets = Ticket.objects.filter(organization=organization).select_related("assignee")
    return {
        "open_count": tickets.filter(status__in=OPEN_STATUSES).count(),
        "tickets": list(
            tickets.order_by(Case(When(status__in=OPEN_STATUSES, then=0), default=1), "-created_at")[:8]
        ),
        "filter": f"organization__id__exact={organization.pk}",
    }
