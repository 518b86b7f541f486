"""Template context shared by every portal page."""

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


def navigation(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    items = []
    for url_name, label in settings.PORTAL_NAV:
        try:
            url = reverse(url_name)
        except NoReverseMatch:  # an app's pages not installed in this deployment
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"url": url, "label": label, "active": active})
    return {"portal_nav": items}
