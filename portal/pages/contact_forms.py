"""The public contact form (no login) that records a sales inquiry."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import CompanySize, Industry, InquiryInterest, InquiryMotive, Offer

HONEYPOT_FIELD = "website"

# What the pricing page's "Contact sales" links (`?offer=`) pre-select on the form.
OFFER_INTERESTS: dict[str, list[str]] = {
    Offer.ENTERPRISE: [InquiryInterest.PRIVATE_DEPLOYMENT],
    Offer.SOURCE: [InquiryInterest.SOURCE_CODE],
    Offer.PARTNER_PROGRAMME: [InquiryInterest.SOURCE_CODE, InquiryInterest.CUSTOMIZATION],
    Offer.STANDARD: [InquiryInterest.PRIVATE_DEPLOYMENT, InquiryInterest.PRICE],
    Offer.SAAS: [InquiryInterest.SAAS],
}
OFFER_MOTIVES: dict[str, list[str]] = {
    Offer.SOURCE: [InquiryMotive.COMPLIANCE],
    Offer.PARTNER_PROGRAMME: [InquiryMotive.RESELLING],
}


class PublicInquiryForm(forms.Form):
    """The portal's contact form (no login). `website` is a honeypot: hidden from people, filled by bots."""

    company_name = forms.CharField(label=_("Company"), max_length=200)
    contact_name = forms.CharField(label=_("Your name"), max_length=100)
    contact_email = forms.EmailField(label=_("Email"))
    contact_phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    industry = forms.ChoiceField(label=_("Industry"), choices=Industry.choices)
    company_size = forms.ChoiceField(
        label=_("Company size"), choices=[("", "—"), *CompanySize.choices], required=False
    )
    interests = forms.MultipleChoiceField(
        label=_("What are you interested in?"),
        choices=InquiryInterest.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    motives = forms.MultipleChoiceField(
        label=_("What matters most to you?"),
        choices=InquiryMotive.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    message = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=4000, required=False
    )
    offer = forms.ChoiceField(choices=[("", ""), *Offer.choices], required=False, widget=forms.HiddenInput)
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    @classmethod
    def for_offer(cls, offer: str | None) -> PublicInquiryForm:
        """The empty form, pre-filled for the edition whose "Contact sales" was pressed."""
        if offer not in Offer.values:
            return cls()
        return cls(
            initial={
                "offer": offer,
                "interests": OFFER_INTERESTS.get(offer, []),
                "motives": OFFER_MOTIVES.get(offer, []),
            }
        )

    def is_spam(self) -> bool:
        return bool((self.data.get(HONEYPOT_FIELD) or "").strip())

    def inquiry_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "company_name": data["company_name"].strip(),
            "contact_name": data["contact_name"].strip(),
            "contact_email": data["contact_email"].strip(),
            "contact_phone": data["contact_phone"].strip(),
            "industry": data["industry"],
            "company_size": data["company_size"],
            "interests": list(data["interests"]),
            "motives": list(data["motives"]),
            "message": data["message"].strip(),
            "recommended_offer": data.get("offer") or "",
        }
