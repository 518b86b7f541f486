"""Outages of the database and the shared cache: answered 503 with Retry-After, logged once.

When PostgreSQL cannot be reached (stopped, crashed, restarting, out of connections), every request
that needs it fails the same way, thousands of times a minute. Each of those is not a bug of the
request, so none of them may answer 500 or log a traceback: they answer 503 with `Retry-After`, the
API's JSON error shape (`{"detail", "code": CoreError.DATABASE_UNAVAILABLE.value}`) under `/api/`, a translated
HTML page elsewhere, and the outage is logged once when it starts and once when it ends (per
process: each web process notices on its own).

It is one mechanism with two hooks: the API's exception handler for Django's OperationalError and
InterfaceError (portal/api.py; the check-in's fast route goes through the same handlers) and the
project's `handler500` (portal/urls.py), which sees every other uncaught exception, raised in a view
or in a middleware (sessions, authentication), before Django turns it into a 500. Recovery needs no
restart: a broken connection is closed at the end of its request (CONN_HEALTH_CHECKS checks reused
ones), and the first new connection that succeeds ends the outage (`connection_created`).

`Outage` is the log-once state; `portal.core.ratelimit` uses one for Redis (fail open, logged once).
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import defaults

from portal.core.errors import CoreError

logger = logging.getLogger(__name__)

# SQLSTATEs that mean "the server is not there for us" rather than "this statement is wrong":
# class 08 (connection exception), the server shutting down or crashed (57P01-57P03), and
# too_many_connections (53300). psycopg raises connection failures and losses without a SQLSTATE.
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file")


class Outage:
    """Per-process state of one backing service: logs the first failure of an outage (with its
    error) and the recovery (with how long it lasted and how many failures it caused), nothing in
    between."""

    def __init__(self, service: str, log: logging.Logger, *, probe_every: float = 0.0) -> None:
        self.service = service
        self.log = log
        self.since: float | None = None
        self.failures = 0
        self.probe_every = probe_every
        self._next_probe = 0.0
        self._lock = threading.Lock()

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def may_try(self) -> bool:
        """Outside an outage always; during one, once per `probe_every` seconds (a circuit breaker:
        callers that can do without the service skip it instead of waiting for it to fail)."""
        if self.since is None:
            return True
        now = time.monotonic()
        if now < self._next_probe:
            return False
        self._next_probe = now + self.probe_every
        return True

    def failed(self, exc: BaseException | None = None, *, consequence: str = "") -> None:
        with self._lock:
            self.failures += 1
            if self.since is not None:
                return
            self.since = time.monotonic()
            self.failures = 1
            self._next_probe = self.since + self.probe_every
        self.log.error(
            "%s unavailable: %s%s (logged once until it answers again)",
            self.service,
            str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else type(exc).__name__,
            f"; {consequence}" if consequence else "",
        )

    def recovered(self) -> None:
        if self.since is None:
            return
        with self._lock:
            if self.since is None:
                return
            lasted, failures = time.monotonic() - self.since, self.failures
            self.since = None
            self.failures = 0
        self.log.warning(
            "%s available again after %.1f s (%d failed requests in this process)",
            self.service,
            lasted,
            failures,
        )


DATABASE = Outage("database", logger)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (as opposed to a bad statement, a constraint
    or a deadlock, which stay errors of the request)."""
    if isinstance(exc, InterfaceError):
        return True  # "connection already closed"
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause).startswith(_SQLITE_UNAVAILABLE)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        return type(cause).__module__.startswith(("psycopg", "psycopg2"))
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_STATES


def retry_after() -> str:
    return str(settings.PORTAL_OUTAGE_RETRY_AFTER)


def database_unavailable_detail() -> str:
    return _("The service is briefly unavailable (its database cannot be reached). Try again shortly.")


def _quiet(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = retry_after()
    # Django's request logger writes a line for every 5xx; the outage is logged once instead.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def api_response(request: HttpRequest, exc: BaseException, render: Any) -> HttpResponse:
    """The API's 503 for a database outage; `render(request, payload, status=)` is the API's own
    response builder (portal.api.api.create_response)."""
    DATABASE.failed(exc, consequence="requests answer 503")
    payload = {"detail": database_unavailable_detail(), "code": CoreError.DATABASE_UNAVAILABLE.value}
    return _quiet(render(request, payload, status=503))


def page_response(request: HttpRequest) -> HttpResponse:
    """The translated HTML page. Rendered without the request's context processors: they read the
    session and the user, which live in the unavailable database."""
    context = {
        "retry_after": settings.PORTAL_OUTAGE_RETRY_AFTER,
        "csp_nonce": getattr(request, "csp_nonce", ""),  # the CSP middleware's, set before any view
    }
    html = loader.render_to_string("503.html", context)
    return HttpResponse(html, status=503, content_type="text/html; charset=utf-8")


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    """handler500: a database outage becomes 503 (JSON under /api/, the HTML page elsewhere); any
    other error is Django's 500 page as before. Django calls it while handling the exception."""
    exc = sys.exc_info()[1]
    if exc is None or not database_unavailable(exc):
        return defaults.server_error(request, template_name)
    DATABASE.failed(exc, consequence="requests answer 503")
    # The caller's language from the header or cookie (the user's stored preference is in the database).
    with translation.override(translation.get_language_from_request(request)):
        if request.path_info.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"detail": database_unavailable_detail(), "code": CoreError.DATABASE_UNAVAILABLE.value},
                status=503,
                json_dumps_params={"ensure_ascii": False},
            )
        else:
            response = page_response(request)
        response["Content-Language"] = translation.get_language()
    return _quiet(response)


def _connected(sender: Any, connection: Any, **kwargs: Any) -> None:
    if DATABASE.ongoing:
        DATABASE.recovered()


connection_created.connect(_connected, dispatch_uid="portal.core.outage.database_recovered")
