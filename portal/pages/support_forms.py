"""Plain HTML forms of the customer portal (no JavaScript needed to use them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from support import selectors
from support.models import Category, Priority
from support.validators import validate_attachments

if TYPE_CHECKING:
    from django.forms import ModelChoiceField


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned = [single(item, initial) for item in files if item]
        validate_attachments(cleaned)
        return cleaned


class TicketForm(forms.Form):
    contract: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Contract"), queryset=None, required=False, empty_label=_("No contract (community support)")
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices, initial=Category.QUESTION)
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        initial=Priority.P3,
        help_text=_("P1 only when production is down."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    deployment_ref = forms.CharField(
        label=_("Deployment"),
        max_length=100,
        required=False,
        help_text=_("Machine ID or host name, if relevant."),
    )
    body = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 10}))
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        """A ticket of `organization` (the current one): only its active contracts can be chosen."""
        super().__init__(*args, **kwargs)
        contracts = selectors.contracts_for_new_ticket(organization)
        cast("ModelChoiceField[Any]", self.fields["contract"]).queryset = contracts
        cast("ModelChoiceField[Any]", self.fields["contract"]).label_from_instance = lambda c: (  # type: ignore[method-assign,assignment]  # Django documents overriding it per field
            f"{c.number} · {c.edition}"
        )
        first = contracts.first()
        if first is not None:
            self.fields["contract"].initial = first.pk


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 6}))
    attachments = MultipleFileField(label=_("Attachments"))


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with our support?"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 4}), required=False)


class KbSearchForm(forms.Form):
    q = forms.CharField(label=_("Search the knowledge base"), max_length=200, required=False)
