"""Shared admin helpers: running a service per selected object and reporting what happened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from portal.core.errors import ApplicationError


def run_for_each(
    request: HttpRequest, objects: Any, action: Callable[[Any], Any], done_message: str
) -> tuple[int, int]:
    """Call the service for each object; one failure does not stop the others. Reports counts and the
    reason of each failure."""
    ok = failed = 0
    for obj in objects:
        try:
            action(obj)
            ok += 1
        except (ApplicationError, ValidationError) as exc:
            failed += 1
            detail = exc.detail if isinstance(exc, ApplicationError) else "; ".join(exc.messages)
            messages.error(request, f"{obj}: {detail}")
    if ok:
        messages.success(request, done_message % {"count": ok})
    if not ok and not failed:
        messages.info(request, _("Nothing to do."))
    return ok, failed
