"""The platform check-in, answered before the portal's middleware stack.

Check-ins are the one request this service takes at volume: every deployment reports in daily, on
start and after each license change, machine to machine, with no session, cookie or CSRF token.
Through the portal's dozen middlewares (sessions, messages, allauth, two-factor, user language…),
URL resolution and ninja's generic request and response handling, a check-in cost about three
times its own work (benchmarks/checkin.py has the figures).

`CheckinFastPathMiddleware` sits right after SecurityMiddleware, so host validation, the HTTPS
redirect and the security headers still apply, and answers `POST /api/v1/platform/checkin` with
the endpoint's own parts:

- the body is parsed with the endpoint's fields (`CheckinBody`, the plain pydantic model that the
  operation's `CheckinIn` extends, without ninja's per-field wrapping); a body it refuses is handed to the
  ninja route untouched, which answers the 400/413/422 exactly as before (and counts the rate
  limit there, so nothing is counted twice);
- then the same gate (body size, rate limit per address), the same service call and answer
  (`licenses.api.checkin_answer`), the API's renderer, and errors through the API's exception
  handlers, in the caller's language as LocaleMiddleware would pick it.

The ninja operation remains the definition of record: OpenAPI documents it and any body that does
not parse goes through it. `LICENSE_CHECKIN_FAST_PATH=0` removes the middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from django.conf import settings
from django.core.exceptions import DisallowedHost, MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from pydantic import ValidationError

from licenses.api import checkin_answer, declared_length, platform_gate
from licenses.schemas import CheckinBody
from portal.core.api import api


class CheckinFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.LICENSE_CHECKIN_FAST_PATH:
            raise MiddlewareNotUsed
        self.get_response = get_response

    @cached_property
    def path(self) -> str:
        # Compared with path_info, which never carries the script prefix (a sub-path deployment).
        return "/" + reverse("api:checkin").removeprefix(get_script_prefix())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info == self.path:
            response = answer_checkin(request)
            if response is not None:
                return response
        return self.get_response(request)


def _parsed_body(request: HttpRequest) -> CheckinBody | None:
    """The check-in fields of this request, or None for anything the ninja route should answer instead."""
    length = declared_length(request)
    if length is None or not 0 < length <= settings.LICENSE_PLATFORM_MAX_BODY:
        return None
    try:
        return CheckinBody.model_validate_json(request.body)
    except ValidationError:  # not JSON, not an object, or not a valid check-in
        return None


def answer_checkin(request: HttpRequest) -> HttpResponse | None:
    """The check-in's response, or None to let the full stack answer (nothing done yet)."""
    try:
        request.get_host()  # CommonMiddleware's check, which the full stack would run
    except DisallowedHost:
        return None
    payload = _parsed_body(request)
    if payload is None:
        return None
    language = translation.get_language_from_request(request)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    try:
        platform_gate(request)
        response = api.create_response(request, checkin_answer(request, payload), status=200)
    except Exception as exc:  # as ninja does for the view: the API's handlers, JSON 500 included
        response = api.on_exception(request, exc)
    # As the full stack answers: the language comes from the header or the language cookie, and
    # CommonMiddleware would have set the length.
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    response.headers.setdefault("Content-Language", language)
    response.headers["Content-Length"] = str(len(response.content))
    return response
