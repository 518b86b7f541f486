"""What every portal page shares: who may open it (one decorator, `portal_view`, reading the one
permission map `portal.pages.permissions.PERMISSION_ROLES`), the current organization, pagination.

Tenancy: views read only through selectors scoped to `request.organization`; an object of another
organization is simply not found (404), and so is a page the member's role may not use."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from customers.models import Membership, Organization
from customers.selectors import memberships_for_user
from portal.pages.permissions import Perm, permissions_of, role_can


class Access(StrEnum):
    """Who reaches a page at all, before its permission is checked."""

    MEMBER = "member"  # signed in, working in an organization whose role grants the permission
    USER = "user"  # signed in; an organization is used when there is one (account, knowledge base)
    PUBLIC = "public"  # anyone; members whose role grants the permission see their organization's part


ORGANIZATION_SESSION_KEY = "portal_organization"


class PortalRequest(HttpRequest):
    """The request a portal page receives: portal_view sets these (None when there is no organization
    to work in, or the role lacks the page's permission on a PUBLIC page)."""

    membership: Membership | None
    organization: Organization | None
    portal_perms: frozenset[str]
    _portal_memberships: list[Membership]
    _portal_membership: Membership | None


class MemberRequest(PortalRequest):
    """The request of a MEMBER page (the default access): portal_view has found the membership."""

    membership: Membership
    organization: Organization


def user_memberships(http_request: HttpRequest) -> list[Membership]:
    request = cast(PortalRequest, http_request)
    if not hasattr(request, "_portal_memberships"):
        user = request.user
        request._portal_memberships = memberships_for_user(user) if user.is_authenticated else []
    return request._portal_memberships


def current_membership(http_request: HttpRequest) -> Membership | None:
    """The membership of the organization the user works in now: the one chosen (kept in the
    session) or the only one. None when the user has none, or several and has not chosen."""
    request = cast(PortalRequest, http_request)
    if not hasattr(request, "_portal_membership"):
        memberships = user_memberships(request)
        session = getattr(request, "session", None)
        membership = _requested_membership(request, memberships)
        if membership is not None and session is not None:
            session[ORGANIZATION_SESSION_KEY] = membership.organization_id
        if membership is None and session is not None:
            chosen = session.get(ORGANIZATION_SESSION_KEY)
            membership = next((m for m in memberships if m.organization_id == chosen), None)
        if membership is None and len(memberships) == 1:
            membership = memberships[0]
        request._portal_membership = membership
    return request._portal_membership


def _requested_membership(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    """A link or form may name the organization to work in (`?org=` or a posted `org`): one of the
    user's own organizations switches to it; anything else is ignored."""
    wanted = request.POST.get("org") or request.GET.get("org")
    if not wanted:
        return None
    return next((m for m in memberships if str(m.organization_id) == wanted), None)


def choose_organization(request: HttpRequest, membership: Membership) -> None:
    request.session[ORGANIZATION_SESSION_KEY] = membership.organization_id
    cast(PortalRequest, request)._portal_membership = membership


def safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def portal_view(
    perm: Perm | None = None, *, methods: Iterable[str] = ("GET",), access: Access = Access.MEMBER
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Every customer page is declared with this: who may reach it (`access`) and what their role must
    be allowed (`perm`, from PERMISSION_ROLES). A member whose role lacks `perm` gets a 404, so a page's
    existence is not revealed to those who may not use it; on a PUBLIC page they are served as an
    anonymous visitor would be. Sets request.membership, request.organization (None when there is
    none or the role lacks `perm` on a PUBLIC page) and request.portal_perms."""
    allowed = tuple(methods) + (("HEAD",) if "GET" in methods else ())

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(http_request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            request = cast(PortalRequest, http_request)
            request.membership = request.organization = None
            request.portal_perms = frozenset()
            authenticated = request.user.is_authenticated
            if not authenticated and access is not Access.PUBLIC:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            membership = current_membership(request) if authenticated else None
            if membership is None and access is Access.MEMBER:
                if user_memberships(request):
                    url = reverse("portal:choose_organization")
                    return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")
                return redirect("home")
            if membership is not None and (perm is None or role_can(membership.role, perm)):
                request.membership = membership
                request.organization = membership.organization
                request.portal_perms = permissions_of(membership.role)
            elif access is Access.MEMBER:
                raise Http404
            if request.method not in allowed:
                return HttpResponseNotAllowed(allowed)
            return view(request, *args, **kwargs)

        wrapped.portal_access = access  # type: ignore[attr-defined]  # read by the page crawl test
        wrapped.portal_perm = perm  # type: ignore[attr-defined]
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
