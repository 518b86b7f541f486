"""The organization page: members and roles, invitations, invoicing data."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from customers.invitations import (
    invitation_create,
    invitation_resend,
    invitation_revoke,
    invitations_pending,
)
from customers.models import Invitation, Membership, Role
from customers.services import membership_change_role, membership_remove, organization_update
from portal.core.errors import ApplicationError
from portal.pages import selectors
from portal.pages.forms import INVOICING_FIELDS, InviteForm, InvoicingDataForm, MemberRoleForm
from portal.pages.permissions import Perm, assignable_roles, can_manage_member
from portal.pages.views.common import MemberRequest, portal_view, require_post


def _page(
    request: MemberRequest, *, invite_form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    organization = request.organization
    perms = request.portal_perms
    manage = Perm.MANAGE_MEMBERS in perms
    members = selectors.members_of(organization)
    actor_role = request.membership.role
    owners = sum(1 for m in members if m.role == Role.OWNER)
    for member in members:
        row: Any = member  # what the page shows about each member, set on the instance
        row.can_leave = not (member.role == Role.OWNER and owners <= 1)
        row.manageable = (
            manage and member.pk != request.membership.pk and can_manage_member(actor_role, member.role)
        )
        row.is_me = member.user_id == request.user.pk
    return render(
        request,
        "portal/organization.html",
        {
            "organization": organization,
            "members": members,
            "invitations": invitations_pending(organization) if manage else [],
            "invite_form": invite_form or (InviteForm(actor_role=actor_role) if manage else None),
            "roles": assignable_roles(actor_role) if manage else (),
            "show_invoicing": Perm.EDIT_INVOICING_DATA in perms,
        },
        status=status,
    )


@portal_view(Perm.VIEW_MEMBERS)
def organization(request: MemberRequest) -> HttpResponse:
    return _page(request)


@portal_view(Perm.MANAGE_MEMBERS, methods=("POST",))
def invite(request: MemberRequest) -> HttpResponse:
    form = InviteForm(request.POST, actor_role=request.membership.role)
    if form.is_valid():
        try:
            invitation_create(
                actor=request.user,
                organization=request.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ApplicationError as exc:
            form.add_error("email", exc.detail)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s; it is valid for 7 days.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("portal:organization")
    return _page(request, invite_form=form, status=400)


def _invitation(request: MemberRequest, invitation_id: int) -> Invitation:
    try:
        return Invitation.objects.get(organization=request.organization, pk=invitation_id)
    except Invitation.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(Perm.MANAGE_MEMBERS, methods=("GET", "POST"))
def invitation_revoke_view(request: MemberRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation(request, invitation_id)
    if (response := require_post(request)) is not None:
        return response
    invitation_revoke(actor=request.user, invitation=invitation)
    messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
    return redirect("portal:organization")


@portal_view(Perm.MANAGE_MEMBERS, methods=("GET", "POST"))
def invitation_resend_view(request: MemberRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation(request, invitation_id)
    if (response := require_post(request)) is not None:
        return response
    try:
        invitation_resend(actor=request.user, invitation=invitation)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request, _("A new invitation link was sent to %(email)s.") % {"email": invitation.email}
        )
    return redirect("portal:organization")


def _member(request: MemberRequest, membership_id: int) -> Membership:
    try:
        return selectors.membership_in(request.organization, membership_id)
    except Membership.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(Perm.MANAGE_MEMBERS, methods=("GET", "POST"))
def member_role(request: MemberRequest, membership_id: int) -> HttpResponse:
    member = _member(request, membership_id)
    if (response := require_post(request)) is not None:
        return response
    actor_role = request.membership.role
    form = MemberRoleForm(request.POST, actor_role=actor_role)
    if not can_manage_member(actor_role, member.role) or member.pk == request.membership.pk:
        messages.error(request, _("You cannot change this member's role."))
    elif not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("role", [])) or _("Choose a role."))
    else:
        try:
            membership_change_role(actor=request.user, membership=member, role=form.cleaned_data["role"])
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(
                request,
                _("%(email)s is now %(role)s.")
                % {"email": member.user.email, "role": Role(form.cleaned_data["role"]).label},
            )
    return redirect("portal:organization")


@portal_view(Perm.VIEW_MEMBERS, methods=("GET", "POST"))
def member_remove(request: MemberRequest, membership_id: int) -> HttpResponse:
    """Managers remove others; anyone may leave (remove themselves), except the last owner."""
    member = _member(request, membership_id)
    if (response := require_post(request)) is not None:
        return response
    leaving = member.pk == request.membership.pk
    if not leaving and not (
        Perm.MANAGE_MEMBERS in request.portal_perms
        and can_manage_member(request.membership.role, member.role)
    ):
        raise Http404
    try:
        membership_remove(actor=request.user, membership=member)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("portal:organization")
    if leaving:
        messages.success(request, _("You left %(name)s.") % {"name": request.organization.name})
        return redirect("home")
    messages.success(request, _("%(email)s was removed.") % {"email": member.user.email})
    return redirect("portal:organization")


@portal_view(Perm.EDIT_INVOICING_DATA, methods=("GET", "POST"))
def invoicing(request: MemberRequest) -> HttpResponse:
    organization = request.organization
    form = InvoicingDataForm(
        request.POST or None, instance=type(organization).objects.get(pk=organization.pk)
    )
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in INVOICING_FIELDS if f in form.changed_data}
        if changes:
            try:
                organization_update(actor=request.user, organization=organization, **changes)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The invoicing data was saved."))
                return redirect("portal:organization")
        else:
            messages.info(request, _("Nothing was changed."))
            return redirect("portal:organization")
    return render(
        request,
        "portal/invoicing.html",
        {"form": form, "organization": organization},
        status=400 if request.method == "POST" else 200,
    )
