"""Content-Security-Policy on every page (the admin, the portal, allauth's pages, the API docs).

Django 5.2 has no CSP of its own (6.0 has). This is the small part of it the project needs, shaped like
6.0's so the upgrade is a swap: the policy is `SECURE_CSP` (directive → list of sources), a template
reads the request's nonce as `{{ csp_nonce }}`, and the source `'nonce'` in a directive stands for
`'nonce-<value>'`, sent only when a template asked for the nonce (otherwise dropped, as a nonce nobody
used would only weaken caching). A view widens its own page's policy with `@csp_update(...)`, e.g.
the invoice list, whose "Pay online" form is answered by a redirect to Stripe Checkout (form-action
applies to that redirect too). `SECURE_CSP_REPORT_ONLY` sends the same policy as
Content-Security-Policy-Report-Only (for trying a change on production without breaking pages).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

NONCE = "'nonce'"
HEADER = "Content-Security-Policy"
REPORT_ONLY_HEADER = "Content-Security-Policy-Report-Only"
# What a browser renders as a document (and so runs scripts in). JSON, files and the check-in's answers
# are not; they go without the header, and the check-in's two routes answer byte for byte alike.
DOCUMENT_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}
)


class LazyNonce:
    """A per-request nonce made on first use; `used` tells the middleware whether to send it."""

    def __init__(self) -> None:
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = secrets.token_urlsafe(18)
        return self._value

    @property
    def used(self) -> bool:
        return self._value is not None


def build_policy(
    directives: Mapping[str, Iterable[str]],
    *,
    nonce: LazyNonce | None,
    extra: Mapping[str, Iterable[str]] | None,
) -> str:
    merged = {name: list(sources) for name, sources in directives.items()}
    for name, sources in (extra or {}).items():
        merged.setdefault(name, [])
        merged[name] += [source for source in sources if source not in merged[name]]
    parts = []
    for name, sources in merged.items():
        values = []
        for source in sources:
            if source == NONCE:
                if nonce is not None and nonce.used:
                    values.append(f"'nonce-{nonce}'")
            else:
                values.append(source)
        parts.append(" ".join([name, *values]) if values else name)
    return "; ".join(parts)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = LazyNonce()
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        header = REPORT_ONLY_HEADER if settings.SECURE_CSP_REPORT_ONLY else HEADER
        document = response.get("Content-Type", "").split(";")[0].strip() in DOCUMENT_TYPES
        if settings.SECURE_CSP and document and header not in response:
            response[header] = build_policy(
                settings.SECURE_CSP, nonce=nonce, extra=getattr(response, "csp_update", None)
            )
        return response


def csp_nonce(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `{{ csp_nonce }}` for the rare inline <script>/<style> that cannot be a file."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}


def csp_update(
    **directives: Iterable[str],
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Add sources to this view's policy: `@csp_update(form_action=["https://checkout.stripe.com"])`."""
    extra = {name.replace("_", "-"): list(sources) for name, sources in directives.items()}

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            response.csp_update = extra  # type: ignore[attr-defined]
            return response

        return wrapped

    return decorator
