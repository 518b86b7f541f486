"""The page an invitation link opens. Logged out, it leads through sign-up or login with the invited
address (the token waits in the session and is accepted when the account is created or logs in);
logged in with that address, one click joins the organization."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter as get_account_adapter
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from customers.invitations import invitation_accept, invitation_by_token, invitation_check
from portal.core.errors import ApplicationError
from portal.pages.accounts import INVITATION_SESSION_KEY
from portal.pages.views.common import ORGANIZATION_SESSION_KEY, Access, PortalRequest, portal_view


@portal_view(access=Access.PUBLIC, methods=("GET", "POST"))
def invitation(request: PortalRequest, token: str) -> HttpResponse:
    invitation = invitation_by_token(token)
    user = request.user
    if invitation is not None and user.is_authenticated and invitation.accepted_by_id == user.pk:
        request.session[ORGANIZATION_SESSION_KEY] = invitation.organization_id
        return redirect("home")
    try:
        invitation_check(invitation)
    except ApplicationError as exc:
        request.session.pop(INVITATION_SESSION_KEY, None)
        return render(request, "portal/invitation.html", {"error": exc.detail}, status=exc.status)
    assert invitation is not None
    context: dict[str, Any] = {"invitation": invitation, "organization": invitation.organization}
    if not user.is_authenticated:
        request.session[INVITATION_SESSION_KEY] = token
        # The link came to this address: signing up with it needs no second confirmation mail.
        get_account_adapter(request).stash_verified_email(request, invitation.email)
        here = request.get_full_path()
        context.update(
            has_account=get_user_model().objects.filter(email__iexact=invitation.email).exists(),
            signup_url=f"{reverse('account_signup')}?{urlencode({'email': invitation.email, 'next': here})}",
            login_url=f"{reverse('account_login')}?{urlencode({'next': here})}",
        )
        return render(request, "portal/invitation.html", context)
    try:
        invitation_check(invitation, user=user)
    except ApplicationError as exc:
        context["error"] = exc.detail
        return render(request, "portal/invitation.html", context, status=exc.status)
    if request.method == "POST":
        membership = invitation_accept(user=user, token=token)
        request.session.pop(INVITATION_SESSION_KEY, None)
        request.session[ORGANIZATION_SESSION_KEY] = membership.organization_id
        messages.success(
            request, _("You joined %(organization)s.") % {"organization": membership.organization.name}
        )
        return redirect("home")
    return render(request, "portal/invitation.html", context)
