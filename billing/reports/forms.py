"""The revenue dashboard's filter form."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.core.admin_reports import DatePicker


class DashboardForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, widget=DatePicker())
    date_from = forms.DateField(label=_("Period from"), required=False, widget=DatePicker())
    date_to = forms.DateField(label=_("Period to"), required=False, widget=DatePicker())
    renewals_from = forms.DateField(label=_("Renewal window from"), required=False, widget=DatePicker())
    renewals_to = forms.DateField(label=_("Renewal window to"), required=False, widget=DatePicker())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for start, end in (("date_from", "date_to"), ("renewals_from", "renewals_to")):
            if data.get(start) and data.get(end) and data[end] < data[start]:
                self.add_error(end, _("The end date must not be before the start date."))
        return data

    def options(self, today: date | None = None) -> dict[str, date]:
        """as_of (default today); the period (default: 1 January of the as-of year to the as-of date);
        the renewal window (default: the 365 days before the as-of date)."""
        today = today or timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        as_of = data.get("as_of") or today
        period_to = data.get("date_to") or as_of
        period_from = data.get("date_from") or period_to.replace(month=1, day=1)
        renewals_to = data.get("renewals_to") or as_of - timedelta(days=1)
        renewals_from = data.get("renewals_from") or renewals_to - timedelta(days=364)
        return {
            "as_of": as_of,
            "date_from": period_from,
            "date_to": period_to,
            "renewals_from": renewals_from,
            "renewals_to": renewals_to,
        }
