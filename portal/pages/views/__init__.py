"""The customer portal's pages. `home` is the root URL; the rest are mounted under the "portal"
namespace by portal.urls."""

from portal.pages.views.dashboard import home

__all__ = ["home"]
