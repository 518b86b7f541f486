"""The overview (`home`), choosing the current organization, the account page and the language switch."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.i18n import set_language as django_set_language

from customers.selectors import brand_for_organization
from portal.core.models import UserPreference
from portal.pages import selectors
from portal.pages.accounts import mfa_required, remember_language, user_language_set
from portal.pages.permissions import permissions_of
from portal.pages.views.common import (
    Access,
    PortalRequest,
    choose_organization,
    current_membership,
    portal_view,
    safe_next,
    user_memberships,
)
from portal.pages.views.partners import partner_memberships


@portal_view(access=Access.PUBLIC)
def home(request: PortalRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "portal/home.html", {})
    membership = current_membership(request)
    if membership is None:
        memberships = user_memberships(request)
        if not memberships and partner_memberships(request):
            return redirect("partner:overview")  # a partner user without a customer seat of their own
        template = "portal/choose_organization.html" if memberships else "portal/home.html"
        return render(request, template, {"memberships": memberships, "next": reverse("home")})
    perms = permissions_of(membership.role)
    organization = membership.organization
    board = selectors.dashboard(organization, perms=perms)
    return render(
        request,
        "portal/dashboard.html",
        {
            "organization": organization,
            "membership": membership,
            "board": board,
            "sales_email": (
                _sales_contact(organization)
                if not board.contracts or any(getattr(c, "needs_renewal", False) for c in board.contracts)
                else ""
            ),
        },
    )


def _sales_contact(organization: Any) -> str:
    """An OEM partner's customers talk to the partner (white label); everyone else to our sales."""
    brand = brand_for_organization(organization)
    if brand is not None and brand.support_email:
        return brand.support_email
    return selectors.sales_contact(organization)


@portal_view(access=Access.USER, methods=("GET", "POST"))
def organization_choose(request: PortalRequest) -> HttpResponse:
    memberships = user_memberships(request)
    if request.method == "POST":
        try:
            wanted = int(request.POST.get("organization", ""))
        except ValueError:
            raise Http404 from None
        membership = next((m for m in memberships if m.organization_id == wanted), None)
        if membership is None:
            raise Http404
        choose_organization(request, membership)
        messages.info(request, _("You are now working in %(name)s.") % {"name": membership.organization.name})
        return redirect(safe_next(request, reverse("home")))
    return render(
        request,
        "portal/choose_organization.html",
        {"memberships": memberships, "next": safe_next(request, reverse("home"))},
    )


@portal_view(access=Access.USER)
def account(request: PortalRequest) -> HttpResponse:
    preference = UserPreference.objects.filter(user_id=request.user.pk).first()  # type: ignore[misc]  # a signed-in user (Access.USER) has a pk
    return render(
        request,
        "portal/account.html",
        {
            "preference": preference,
            "memberships": user_memberships(request),
            "mfa_required": mfa_required(request.user),
        },
    )


@portal_view(access=Access.PUBLIC, methods=("POST",))
def set_language(request: PortalRequest) -> HttpResponse:
    """Django's language switch, plus: a logged-in user's choice is stored and applied at each login."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_language_set(user=request.user, language=language)
        remember_language(request, language)
    return response
