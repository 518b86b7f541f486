"""The NinjaAPI root at /api/v1/: routers of every app, one error shape, the health check."""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Schema, Status, renderers
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from portal.errors import ApplicationError, validation_error_to_application_error

logger = logging.getLogger(__name__)


class JSONRenderer(renderers.JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # Chinese text as UTF-8, not \u escapes


api = NinjaAPI(
    renderer=JSONRenderer(),
    title="IoT Platform back office API",
    version="1",
    description=(
        "The platform API (activation, check-in, keys) and the integration API for staff tokens. "
        'Errors are JSON `{"detail": …, "code": …}`.'
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error(request: HttpRequest, status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = api.create_response(request, exc.as_payload(), status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def _schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"loc": [str(p) for p in e.get("loc", [])], "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    detail = f"{'.'.join(first['loc'][1:] or first['loc'])}: {first['msg']}" if errors else "Invalid input."
    return _error(request, 422, "invalid_input", detail, errors=errors)


@api.exception_handler(DjangoValidationError)
def _model_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return _application_error(request, validation_error_to_application_error(exc))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(
        request, 401, "unauthenticated", "Authentication credentials were not provided or are invalid."
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(ObjectDoesNotExist)
def _object_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or "Permission denied.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = "invalid_input" if exc.status_code in (400, 422) else "error"
    return _error(request, exc.status_code, code, str(exc))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Malformed bodies that slip past schema parsing (bad JSON, wrong content type) come here too.
    from ninja.errors import ConfigError

    if isinstance(exc, ConfigError):
        raise exc
    if exc.__class__.__name__ in {"JSONDecodeError", "ParseError"}:
        return _error(request, 400, "invalid_input", "The request body is not valid JSON.")
    logger.exception("Unhandled error in API %s %s", request.method, request.path)
    return _error(request, 500, "server_error", "Internal error; it has been logged.")


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
        logger.warning("health: database unreachable: %s", exc)
        return "unreachable"


def _check_broker() -> str:
    from portal.celery import app as celery_app

    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
        return "ok"
    except Exception as exc:  # kombu raises a variety of transport errors
        logger.warning("health: broker unreachable: %s", exc)
        return "unreachable"


def _check_calendars() -> dict[str, Any] | None:
    from support.coverage import calendars_health

    try:
        return calendars_health()
    except Exception as exc:  # a report, not a reason to fail the health check
        logger.warning("health: calendar check failed: %s", exc)
        return None


@api.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None, tags=["health"])
def health(request: HttpRequest) -> Status:
    """Database and broker reachability: 200 when both answer, 503 naming the part that failed."""
    database = _check_database()
    broker = _check_broker()
    beat_seen = None
    if database == "ok":
        from portal.models import SchedulerHeartbeat

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
    return Status(200 if ok else 503, body)


def _mount_routers() -> None:
    # One router per app; each declares its own paths under /api/v1/.
    from billing.api import public_router as billing_public_router
    from billing.api import router as billing_router
    from contracts.api import router as contracts_router
    from customers.api import router as customers_router
    from editions.api import router as editions_router
    from licenses.api import router as licenses_router
    from support.api import router as support_router

    api.add_router("/", customers_router)
    api.add_router("/", editions_router)
    api.add_router("/", contracts_router)
    api.add_router("/", billing_router)
    api.add_router("/", billing_public_router)
    api.add_router("/", licenses_router)
    api.add_router("/", support_router)


_mount_routers()
