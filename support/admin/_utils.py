from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from portal.core.errors import ApplicationError


def report_errors(request: HttpRequest, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service from an admin action; show its refusal as a message instead of a 500."""
    try:
        return func(*args, **kwargs)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return None
