"""The API root at /api/v1/: every app's router mounted on the core's NinjaAPI, and the health check."""

import logging
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Schema, Status

from billing.api import public_router as billing_public_router
from billing.api import router as billing_router
from billing.api_quotes import router as quotes_router
from contracts.api import router as contracts_router
from customers.api import router as customers_router
from editions.api import router as editions_router
from licenses.api import router as licenses_router
from portal.celery import app as celery_app
from portal.core import outage
from portal.core.api import api
from portal.core.models import SchedulerHeartbeat
from support.api import router as support_router
from support.coverage import calendars_health

logger = logging.getLogger(__name__)


class HealthOut(Schema):
    status: str
    database: str
    broker: str
    scheduler_last_seen: str | None = None
    calendars: dict[str, Any] | None = None  # support calendars' holiday data: a warning, never a 503
    time: str


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any driver error means "down"
        if outage.database_unavailable(exc):
            outage.DATABASE.failed(exc, consequence="requests answer 503")  # logged once per outage
        else:
            logger.warning("health: database unreachable: %s", exc)
        return "unreachable"


def _check_broker() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
        return "ok"
    except Exception as exc:  # kombu raises a variety of transport errors
        logger.warning("health: broker unreachable: %s", exc)
        return "unreachable"


def _check_calendars() -> dict[str, Any] | None:
    try:
        return calendars_health()
    except Exception as exc:  # a report, not a reason to fail the health check
        logger.warning("health: calendar check failed: %s", exc)
        return None


@api.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None, tags=["health"])
def health(request: HttpRequest) -> Status | HttpResponse:
    """Database and broker reachability: 200 when both answer, 503 naming the part that failed."""
    database = _check_database()
    broker = _check_broker()
    beat_seen = None
    if database == "ok":
        row = SchedulerHeartbeat.objects.filter(name="beat").first()
        beat_seen = row.last_seen_at.isoformat() if row else None
    ok = database == "ok" and broker == "ok"
    body = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "broker": broker,
        "scheduler_last_seen": beat_seen,
        "calendars": _check_calendars() if database == "ok" else None,
        "time": timezone.localtime().isoformat(),
    }
    if ok:
        return Status(200, body)
    response = api.create_response(request, body, status=503)
    # Monitoring polls this: an outage is logged once (portal.core.outage), not on every poll.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _mount_routers() -> None:
    # One router per app; each declares its own paths under /api/v1/.
    api.add_router("/", customers_router)
    api.add_router("/", editions_router)
    api.add_router("/", contracts_router)
    api.add_router("/", billing_router)
    api.add_router("/", billing_public_router)
    api.add_router("/", quotes_router)
    api.add_router("/", licenses_router)
    api.add_router("/", support_router)


_mount_routers()
