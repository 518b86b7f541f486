"""Forms of the public pricing page and of the self-service paths that start from it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Organization
from editions.models import Currency

MAX_DEVICES = 1_000_000
MAX_MONTHS = 60


class SaasCalculatorForm(forms.Form):
    """The SaaS calculator: devices × months + modules. Submitted by GET, so it works without the script
    that recomputes the total as one types."""

    devices = forms.IntegerField(label=_("Devices"), min_value=1, max_value=MAX_DEVICES, initial=100)
    months = forms.IntegerField(label=_("Months"), min_value=1, max_value=MAX_MONTHS, initial=12)
    modules = forms.MultipleChoiceField(
        label=_("Industry modules"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: object, module_choices: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        modules: Any = self.fields["modules"]  # a MultipleChoiceField
        modules.choices = module_choices


class TrialStartForm(forms.Form):
    """Starting a trial: for an edition with industry verticals of choice, which one to try."""

    vertical = forms.ChoiceField(label=_("Industry module"), required=False)

    def __init__(self, *args: object, verticals: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if verticals:
            vertical: Any = self.fields["vertical"]  # a ChoiceField
            vertical.choices = verticals
            vertical.required = True
            self.fields["vertical"].initial = verticals[0][0]
        else:
            del self.fields["vertical"]


class BuyForm(TrialStartForm):
    """Buying an edition online: the industry module (when the edition has verticals of choice) and the
    currency of the quote and invoice."""

    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)


class CheckoutForm(forms.ModelForm):
    """The company invoicing data asked before the invoice is issued: the invoice title and the taxpayer
    ID (unified social credit code, required for a CNY invoice: the fapiao needs it)."""

    class Meta:
        model = Organization
        fields = ("invoice_title", "taxpayer_id", "billing_email")

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoice_title"].required = True
        self.fields["taxpayer_id"].required = currency == Currency.CNY

    def clean_taxpayer_id(self) -> str:
        return (self.cleaned_data.get("taxpayer_id") or "").strip().upper()


class SaasStartForm(forms.Form):
    """Starting SaaS: the currency of the monthly invoices and the industry modules to add."""

    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    modules = forms.MultipleChoiceField(
        label=_("Industry modules"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, module_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        modules: Any = self.fields["modules"]  # a MultipleChoiceField
        modules.choices = module_choices
