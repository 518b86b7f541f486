"""Forms of the customer portal. They validate input and show errors next to fields; the writes
go through services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from allauth.account.forms import SignupForm
from allauth.core import context as allauth_context
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import DealRegistration, Organization, PartnerRole, Role, validate_taxpayer_id
from editions.models import Edition
from licenses.models import ActivationCode, Environment
from portal.pages.accounts import on_signup, pending_invitation
from portal.pages.offline import MAX_REQUEST_BYTES
from portal.pages.permissions import assignable_roles

if TYPE_CHECKING:
    from django.forms import ChoiceField, ModelChoiceField


class PortalSignupForm(SignupForm):
    """allauth's sign-up plus the organization's name. Coming through an invitation, the address
    must be the invited one and the organization is the inviting one (the name field disappears)."""

    organization_name = forms.CharField(
        label=_("Organization"),
        max_length=200,
        required=False,
        help_text=_("Your company or team. A free community account is opened for it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = getattr(allauth_context, "request", None)
        self.invitation = pending_invitation(request) if request is not None else None
        if self.invitation is not None:
            del self.fields["organization_name"]
            self.fields["email"].initial = self.invitation.email
            self.fields["email"].help_text = _("You were invited to %(organization)s with this address.") % {
                "organization": self.invitation.organization.name
            }

    def clean_email(self) -> str:
        email = super().clean_email()
        if self.invitation is not None and (email or "").lower() != self.invitation.email.lower():
            raise forms.ValidationError(
                _("The invitation was sent to %(email)s; sign up with that address.")
                % {"email": self.invitation.email}
            )
        return email

    def custom_signup(self, request: Any, user: Any) -> None:
        super().custom_signup(request, user)
        on_signup(request, user, organization_name=self.cleaned_data.get("organization_name", ""))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("ChoiceField", self.fields["role"]).choices = [
            (r.value, r.label) for r in assignable_roles(actor_role)
        ]
        self.fields["role"].initial = Role.TECHNICAL


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("ChoiceField", self.fields["role"]).choices = [
            (r.value, r.label) for r in assignable_roles(actor_role)
        ]


INVOICING_FIELDS = (
    "invoice_title",
    "taxpayer_id",
    "registered_address",
    "registered_phone",
    "bank_name",
    "bank_account",
    "fapiao_type",
    "billing_email",
)


class InvoicingDataForm(forms.ModelForm):
    """The organization's invoicing data (发票信息); the model's validators (unified social credit code
    with its check character) run here so errors show next to the field."""

    class Meta:
        model = Organization
        fields = INVOICING_FIELDS

    def clean_taxpayer_id(self) -> str:
        return (self.cleaned_data.get("taxpayer_id") or "").strip().upper()


class ActivationCodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ActivationCode) -> str:
        used = getattr(obj, "deployments_used", None)
        return _("%(contract)s · %(edition)s · code …%(hint)s (%(used)s of %(max)s used)") % {
            "contract": obj.contract.number,
            "edition": obj.contract.edition.name,
            "hint": obj.code_hint,
            "used": "?" if used is None else used,
            "max": obj.max_deployments,
        }


class DeploymentRegisterForm(forms.Form):
    activation_code = ActivationCodeChoiceField(
        label=_("Activation code"), queryset=ActivationCode.objects.none(), empty_label=None
    )
    machine_id = forms.CharField(
        label=_("Machine ID"),
        max_length=128,
        help_text=_("Shown by the platform's installer and on its About page."),
    )
    hostname = forms.CharField(label=_("Host name"), max_length=255, required=False)
    environment = forms.ChoiceField(
        label=_("Environment"),
        choices=[
            (Environment.PRODUCTION, Environment.PRODUCTION.label),
            (Environment.STAGING, Environment.STAGING.label),
        ],
        initial=Environment.PRODUCTION,
    )
    offline = forms.BooleanField(
        label=_("Air-gapped site (cannot reach our license server)"),
        required=False,
        help_text=_("Its license then runs to the contract end plus the grace period instead of 30 days."),
    )

    def __init__(self, *args: Any, codes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("ModelChoiceField[Any]", self.fields["activation_code"]).queryset = codes

    def clean_machine_id(self) -> str:
        value = self.cleaned_data["machine_id"].strip()
        if not value or any(ch.isspace() for ch in value):
            raise forms.ValidationError(_("A machine ID has no spaces."))
        return value


class OfflineRequestForm(forms.Form):
    request_file = forms.FileField(
        label=_("Activation request file"),
        help_text=_("The JSON file the platform writes for offline activation (at most 16 KB)."),
    )
    activation_code = ActivationCodeChoiceField(
        label=_("Activation code"),
        queryset=ActivationCode.objects.none(),
        required=False,
        empty_label=_("— from the request file —"),
        help_text=_("Only needed for a machine's first activation when the file carries no code."),
    )

    def __init__(self, *args: Any, codes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("ModelChoiceField[Any]", self.fields["activation_code"]).queryset = codes

    def clean_request_file(self) -> bytes:
        upload = self.cleaned_data["request_file"]
        if upload.size > MAX_REQUEST_BYTES:
            raise forms.ValidationError(_("The file is larger than 16 KB; is it the right file?"))
        return upload.read()


class DeploymentRetireForm(forms.Form):
    """Deactivate a deployment or move it to a new machine (the portal's self-service)."""

    action = forms.ChoiceField(
        label=_("What happened"),
        choices=[
            ("move", _("The hardware was replaced: move the license to a new machine")),
            ("deactivate", _("The site is closed: deactivate the deployment")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    confirm = forms.BooleanField(
        label=_("I understand that this machine's license stops working at its next check-in."), required=True
    )


class SupportBundleForm(forms.Form):
    """A diagnostic bundle uploaded by the customer for one of their deployments."""

    bundle = forms.FileField(
        label=_("Support bundle"),
        help_text=_("The .tar.gz or .zip archive the platform's diagnostics tool wrote."),
    )
    ticket = forms.CharField(
        label=_("Ticket number"),
        max_length=30,
        required=False,
        help_text=_("Optional: attach it to this ticket."),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


# --- the partner area ------------------------------------------------------------------------------------


class DealRegistrationForm(forms.ModelForm):
    """A partner's deal registration; the service records conflicts and sales decide."""

    edition = forms.ModelChoiceField(
        label=_("Edition"), queryset=Edition.objects.filter(is_commercial=True).order_by("code")
    )
    expected_close_date = forms.DateField(
        label=_("Expected close date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = DealRegistration
        fields = (
            "company_name",
            "taxpayer_id",
            "industry",
            "country",
            "contact_name",
            "contact_email",
            "edition",
            "expected_devices",
            "expected_value",
            "currency",
            "expected_close_date",
            "notes",
        )
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def clean_taxpayer_id(self) -> str:
        value = (self.cleaned_data.get("taxpayer_id") or "").strip().upper()
        validate_taxpayer_id(value)
        return value

    def clean_expected_close_date(self) -> Any:
        value = self.cleaned_data["expected_close_date"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("The expected close date cannot be in the past."))
        return value

    def _post_clean(self) -> None:  # the service builds and validates the registration
        pass


class PartnerInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=PartnerRole.choices, initial=PartnerRole.SALES)


class RenewalRequestForm(forms.Form):
    note = forms.CharField(
        label=_("Note for sales"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
