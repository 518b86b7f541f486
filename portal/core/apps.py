from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The shared core every app may import: errors, audit trail, sequences, API tokens and the API
    root, rate limiting, after-commit jobs, i18n. Its label stays "portal" (tables, migrations)."""

    name = "portal.core"
    label = "portal"
    verbose_name = _("Back office")
