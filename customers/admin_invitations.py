"""Admin for invitations: sales invite customer users (the mail goes out through the same service as
the portal's), resend or withdraw them; the organization page lists them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.invitations import invitation_create, invitation_resend, invitation_revoke
from customers.models import Invitation, Membership
from portal.core.errors import ApplicationError


def invitation_status(obj: Invitation) -> str:
    if obj.accepted_at:
        return str(_("accepted"))
    if obj.revoked_at:
        return str(_("withdrawn"))
    if obj.expires_at <= timezone.now():
        return str(_("expired"))
    return str(_("pending"))


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    fields = ("email", "role", "status", "invited_by", "created_at", "expires_at", "accepted_at")
    readonly_fields = fields
    can_delete = False
    ordering = ("-created_at",)
    verbose_name_plural = _("invitations (send one with the “Invite a user” action of the list)")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).select_related("invited_by")

    @admin.display(description=_("status"))
    def status(self, obj: Invitation) -> str:
        return invitation_status(obj)


class InvitationAddForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ("organization", "email", "role")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        organization, email = data.get("organization"), data.get("email")
        if (
            organization
            and email
            and Membership.objects.filter(organization=organization, user__email__iexact=email).exists()
        ):
            self.add_error("email", _("This person is already a member of the organization."))
        return data


@admin.action(description=_("Invite a user to the selected organization"))
def invite_users(modeladmin: Any, request: Any, queryset: Any) -> HttpResponseRedirect | None:
    ids = list(queryset.values_list("pk", flat=True)[:2])
    if len(ids) != 1:
        messages.warning(request, _("Select exactly one organization to invite a user to."))
        return None
    return HttpResponseRedirect(f"{reverse('admin:customers_invitation_add')}?organization={ids[0]}")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "status", "invited_by", "created_at", "expires_at")
    list_filter = ("role",)
    search_fields = ("email", "organization__name")
    list_select_related = ("organization", "invited_by")
    autocomplete_fields = ("organization",)
    date_hierarchy = "created_at"
    actions = ("resend_invitations", "revoke_invitations")

    def get_form(self, request: Any, obj: Invitation | None = None, **kwargs: Any) -> Any:  # type: ignore[override]  # change= passes through **kwargs
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: Any, obj: Invitation | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("organization", "email", "role")
        return (
            "organization",
            "email",
            "role",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "accepted_by",
            "revoked_at",
        )

    def get_readonly_fields(self, request: Any, obj: Invitation | None = None) -> tuple[str, ...]:
        return self.get_fields(request, obj) if obj is not None else ()

    @admin.display(description=_("status"))
    def status(self, obj: Invitation) -> str:
        return invitation_status(obj)

    def save_model(self, request: Any, obj: Invitation, form: Any, change: bool) -> None:
        if change:
            return  # invitations are not edited; resend or withdraw them
        invitation = invitation_create(
            actor=request.user, organization=obj.organization, email=obj.email, role=obj.role
        )
        obj.pk = invitation.pk
        obj.token_hash = invitation.token_hash
        obj.expires_at = invitation.expires_at
        obj._state.adding = False
        messages.success(request, _("Invitation mailed to %(email)s.") % {"email": invitation.email})

    @admin.action(description=_("Send the selected invitations again (new link, 7 more days)"))
    def resend_invitations(self, request: Any, queryset: Any) -> None:
        sent = 0
        for invitation in queryset:
            try:
                invitation_resend(actor=request.user, invitation=invitation)
                sent += 1
            except ApplicationError as exc:
                messages.warning(request, f"{invitation.email}: {exc.detail}")
        messages.success(request, _("%(n)d invitation(s) sent again.") % {"n": sent})

    @admin.action(description=_("Withdraw the selected invitations"))
    def revoke_invitations(self, request: Any, queryset: Any) -> None:
        for invitation in queryset:
            invitation_revoke(actor=request.user, invitation=invitation)
        messages.success(request, _("%(n)d invitation(s) withdrawn.") % {"n": queryset.count()})
