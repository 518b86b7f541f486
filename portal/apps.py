from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from portal import accounts  # noqa: F401  (connects the login signal receiver)
