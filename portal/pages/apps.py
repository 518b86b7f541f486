from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PagesConfig(AppConfig):
    """The customer-facing pages: they may import every app; no app imports them."""

    name = "portal.pages"
    label = "pages"
    verbose_name = _("Customer portal")

    def ready(self) -> None:
        from portal.pages import accounts  # noqa: F401  (connects the login signal receiver)
