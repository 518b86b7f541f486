"""System checks: a configured registry token key must be readable outside development."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def registry_token_key_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    path = getattr(settings, "REGISTRY_TOKEN_KEY_FILE", "")
    if not path or settings.DEBUG:
        return []  # off, or generated on first use in development
    if not Path(path).is_file():
        return [
            Error(
                f"REGISTRY_TOKEN_KEY_FILE={path} does not exist.",
                hint="Generate it with `manage.py registry_token_key --generate` or unset the variable.",
                id="editions.E001",
            )
        ]
    return []
