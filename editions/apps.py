from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EditionsConfig(AppConfig):
    name = "editions"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from editions import checks  # noqa: F401 -- registers the system checks
