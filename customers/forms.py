"""Forms of the customers app's admin: the inquiry form and report filters."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import (
    INQUIRY_TRANSITIONS,
    Inquiry,
    InquiryChannel,
    InquiryStage,
)
from portal.core.admin_reports import DatePicker

if TYPE_CHECKING:
    from django.forms import ChoiceField


class InquiryAdminForm(forms.ModelForm):
    """Offers only the stages the pipeline allows from the current one."""

    class Meta:
        model = Inquiry
        fields = (
            "organization",
            "company_name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "channel",
            "partner",
            "industry",
            "company_size",
            "country",
            "interests",
            "motives",
            "message",
            "recommended_offer",
            "owner",
            "stage",
            "lost_reason",
            "created_at",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "stage" in self.fields and self.instance.pk:
            current = self.instance.stage
            allowed = {current, *INQUIRY_TRANSITIONS[InquiryStage(current)]}
            cast("ChoiceField", self.fields["stage"]).choices = [
                (code, label) for code, label in InquiryStage.choices if code in allowed
            ]
        if "channel" in self.fields and not self.instance.pk:
            self.fields["channel"].initial = InquiryChannel.PHONE


class PeriodForm(forms.Form):
    """From/to dates of a report (inclusive, local dates); defaults: the year to date."""

    date_from = forms.DateField(label=_("From"), required=False, widget=DatePicker())
    date_to = forms.DateField(label=_("To"), required=False, widget=DatePicker())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError(_("The end date must not be before the start date."))
        return data

    def period(self, today: date | None = None) -> tuple[date, date]:
        today = today or timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("date_to") or today
        start = data.get("date_from") or end.replace(month=1, day=1)
        return start, end


class InquiryAnalysisForm(PeriodForm):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("all channels")), *InquiryChannel.choices], required=False
    )

    def period(self, today: date | None = None) -> tuple[date, date]:
        """Default: the last twelve months."""
        today = today or timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("date_to") or today
        start = data.get("date_from") or end - timedelta(days=364)
        return start, end
