"""Template context shared by every portal page."""

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from customers.selectors import brand_for_organization
from portal.pages.permissions import NAV_PERMISSIONS, permissions_of
from portal.pages.views.common import current_membership, user_memberships
from portal.pages.views.partners import partner_memberships


def navigation(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    perms = permissions_of(membership.role) if membership is not None else frozenset()
    items = []
    for url_name, label in settings.PORTAL_NAV:
        needed = NAV_PERMISSIONS.get(url_name)
        if needed is not None and needed not in perms:
            continue  # the role may not use that page, or there is no organization yet
        try:
            url = reverse(url_name)
        except NoReverseMatch:  # an app's pages not installed in this deployment
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"url": url, "label": label, "active": active})
    memberships = user_memberships(request)
    # The seats carry the partner flag; only a user without any customer seat needs the query.
    if getattr(memberships[0], "user_is_partner", False) if memberships else partner_memberships(request):
        url = reverse("partner:overview")
        items.append({"url": url, "label": _("Partner area"), "active": request.path.startswith(url)})
    return {
        "portal_nav": items,
        "portal_membership": membership,
        "portal_memberships": memberships,
        "portal_perms": perms,
        # An OEM partner's customers see the partner's brand (name, logo, support contact).
        "portal_brand": brand_for_organization(membership.organization) if membership is not None else None,
    }
