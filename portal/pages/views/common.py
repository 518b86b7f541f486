"""What every portal page shares: the current organization (membership), the permission check and
pagination.

Tenancy: views read only through portal.pages.selectors with `request.organization`; an object of another
organization is simply not found (404), and so is a page the member's role may not use."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from customers.models import Membership
from customers.selectors import memberships_for_user
from portal.pages.permissions import Perm, permissions_of, role_can

ORGANIZATION_SESSION_KEY = "portal_organization"


def user_memberships(request: HttpRequest) -> list[Membership]:
    if not hasattr(request, "_portal_memberships"):
        user = request.user
        request._portal_memberships = memberships_for_user(user) if user.is_authenticated else []
    return request._portal_memberships


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the organization the user works in now: the one chosen (kept in the
    session) or the only one. None when the user has none, or several and has not chosen."""
    if not hasattr(request, "_portal_membership"):
        memberships = user_memberships(request)
        chosen = request.session.get(ORGANIZATION_SESSION_KEY) if hasattr(request, "session") else None
        membership = next((m for m in memberships if m.organization_id == chosen), None)
        if membership is None and len(memberships) == 1:
            membership = memberships[0]
        request._portal_membership = membership
    return request._portal_membership


def choose_organization(request: HttpRequest, membership: Membership) -> None:
    request.session[ORGANIZATION_SESSION_KEY] = membership.organization_id
    request._portal_membership = membership


def safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def portal_view(perm: Perm | None = None, *, methods: Iterable[str] = ("GET",)) -> Callable:
    """A portal page: login required, an organization chosen, the role allowed `perm` (else 404).
    Sets request.membership, request.organization and request.portal_perms."""
    allowed = tuple(methods) + (("HEAD",) if "GET" in methods else ())

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            membership = current_membership(request)
            if membership is None:
                if user_memberships(request):
                    url = reverse("portal:choose_organization")
                    return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")
                return redirect("home")
            if perm is not None and not role_can(membership.role, perm):
                raise Http404
            request.membership = membership
            request.organization = membership.organization
            request.portal_perms = permissions_of(membership.role)
            if request.method not in allowed:
                return HttpResponseNotAllowed(allowed)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def require_post(request: HttpRequest) -> HttpResponse | None:
    """For action views that look their object up first (so a foreign id is a 404 for any method)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


def paginate(request: HttpRequest, queryset: Any, per_page: int | None = None) -> Page:
    paginator = Paginator(queryset, per_page or settings.PORTAL_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))
