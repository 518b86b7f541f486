"""Forms of the public pricing page and of the self-service paths that start from it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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
        self.fields["modules"].choices = module_choices
