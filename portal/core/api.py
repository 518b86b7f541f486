"""The NinjaAPI instance at /api/v1/ and its one error shape. Apps import it (the check-in fast path
answers through its handlers); the project's `portal/api.py` mounts every app's router on it."""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, renderers
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from portal.core import outage
from portal.core.errors import ApplicationError, CoreError, validation_error_to_application_error
from portal.core.schemas import refuse_nul

logger = logging.getLogger(__name__)


class JSONRenderer(renderers.JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # Chinese text as UTF-8, not \u escapes


class TextParser(Parser):
    """JSON bodies and query strings as ninja reads them, refusing text PostgreSQL cannot hold (NUL)
    for every operation at once: 422 invalid_input instead of a database error."""

    def parse_body(self, request: HttpRequest) -> Any:
        return refuse_nul(super().parse_body(request))

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> Any:
        return refuse_nul(super().parse_querydict(data, list_fields, request))


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "title": "Detail"},
        "code": {"type": "string", "title": "Code"},
    },
    "required": ["detail", "code"],
    "additionalProperties": True,
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid request (a body that is not JSON, a rule of the business refused it)",
    "401": "Authentication credentials were not provided or are invalid",
    "403": "The credentials do not allow this operation",
    "404": "Not found (or not visible to these credentials)",
    "409": "Conflicts with the current state (e.g. a transition that is not allowed)",
    "422": "A parameter or the body does not match the schema",
    "503": "The database is unreachable; retry after the Retry-After header",
}


def operation_errors(method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses every handler of this API can answer for an operation of this shape."""
    params = operation.get("parameters") or []
    statuses = ["503"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if any(p.get("in") == "path" for p in params):
        statuses.append("404")
    if params or "requestBody" in operation:
        statuses.append("422")
    if method in {"post", "put", "patch", "delete"}:
        statuses.append("400")
        if operation.get("security"):
            statuses.append("409")
    return statuses


class DocumentedErrorsAPI(NinjaAPI):
    """The schema lists, on every operation, the `{"detail", "code"}` errors the handlers below can
    answer for it (those an operation declares itself are kept)."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in operation_errors(method, operation):
                    if status not in responses and int(status) not in responses:
                        responses[status] = {
                            "description": ERROR_DESCRIPTIONS[status],
                            "content": error_content,
                        }
        return schema


api = DocumentedErrorsAPI(
    parser=TextParser(),
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


def _error(request: HttpRequest, status: int, code: CoreError, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code.value, **extra}, status=status)


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
    return _error(request, 422, CoreError.INVALID_INPUT, detail, errors=errors)


@api.exception_handler(DjangoValidationError)
def _model_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return _application_error(request, validation_error_to_application_error(exc))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(
        request,
        401,
        CoreError.UNAUTHENTICATED,
        "Authentication credentials were not provided or are invalid.",
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 404, CoreError.NOT_FOUND, "Not found.")


@api.exception_handler(ObjectDoesNotExist)
def _object_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 404, CoreError.NOT_FOUND, "Not found.")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 403, CoreError.FORBIDDEN, str(exc) or "Permission denied.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApplicationError):  # ninja wraps whatever the body parser raised
        return _application_error(request, exc.__cause__)
    code = CoreError.INVALID_INPUT if exc.status_code in (400, 422) else CoreError.ERROR
    return _error(request, exc.status_code, code, str(exc))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database cannot be reached: 503 database_unavailable with Retry-After, logged once per
    outage (portal.core.outage); any other error of the driver stays a logged 500."""
    if outage.database_unavailable(exc):
        return outage.api_response(request, exc, api.create_response)
    return _unexpected(request, exc)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Malformed bodies that slip past schema parsing (bad JSON, wrong content type) come here too.
    from ninja.errors import ConfigError

    if isinstance(exc, ConfigError):
        raise exc
    if exc.__class__.__name__ in {"JSONDecodeError", "ParseError"}:
        return _error(request, 400, CoreError.INVALID_INPUT, "The request body is not valid JSON.")
    logger.exception("Unhandled error in API %s %s", request.method, request.path)
    return _error(request, 500, CoreError.SERVER_ERROR, "Internal error; it has been logged.")
