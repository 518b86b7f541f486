"""The registry token server (Docker Registry token authentication), mounted at /api/v1/registry/.

`GET /registry/token?service=…&scope=…` with HTTP Basic (a registry credential from the portal, never an
account password) answers `{token, access_token, expires_in, issued_at}`; without credentials it answers
a token for public images only. `GET /registry/jwks` and `/registry/cert.pem` publish the verification
key for the registry's `auth.token.jwks` / `auth.token.rootcertbundle`.
"""

import base64
import binascii
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from editions import registry, services
from editions.errors import DownloadError, download_error
from portal.core.ratelimit import client_ip

router = Router(tags=["registry"])


class TokenOut(Schema):
    token: str
    access_token: str
    expires_in: int
    issued_at: str


class ErrorOut(Schema):
    detail: str
    code: str


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """(username, secret) from an `Authorization: Basic` header; None when there is none. A header that
    is present but unreadable counts as bad credentials."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized()
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized() from None
    username, sep, secret = decoded.partition(":")
    if not sep or "\x00" in decoded:  # no credential holds a NUL, and PostgreSQL cannot compare one
        raise _unauthorized()
    return username, secret


def _unauthorized() -> Exception:
    realm = settings.REGISTRY_SERVICE.replace('"', "")
    return download_error(
        DownloadError.REGISTRY_UNAUTHORIZED, headers={"WWW-Authenticate": f'Basic realm="{realm}"'}
    )


def _require_configured() -> None:
    if not registry.is_configured():
        raise download_error(DownloadError.REGISTRY_DISABLED)


@router.get(
    "/registry/token",
    auth=None,
    response={200: TokenOut, 400: ErrorOut, 401: ErrorOut, 503: ErrorOut},
    summary="Registry bearer token",
)
def registry_token(request: HttpRequest, service: str = "", scope: str = "") -> dict[str, Any]:
    """The intersection of the requested scopes and what the credential is entitled to: `pull` on the
    repositories of the organization's editions; never `push` for customers, never the catalog. A bad
    username or secret is 401; an empty grant is not an error (the registry refuses the request)."""
    _require_configured()
    service = service or settings.REGISTRY_SERVICE
    if service != settings.REGISTRY_SERVICE:
        raise download_error(DownloadError.REGISTRY_SERVICE_UNKNOWN)
    credential = None
    if (basic := _basic_credentials(request)) is not None:
        credential = services.registry_authenticate(
            username=basic[0],
            secret=basic[1],
            ip_address=client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT),
        )
        if credential is None:
            raise _unauthorized()
    scopes = registry.parse_scopes(request.GET.getlist("scope"))
    return services.registry_token_issue(credential=credential, service=service, scopes=scopes)


@router.get(
    "/registry/jwks", auth=None, response={200: dict, 503: ErrorOut}, summary="Registry token keys (JWKS)"
)
def registry_jwks(request: HttpRequest) -> dict[str, Any]:
    """For `auth.token.jwks` of newer registries; the `kid` is the libtrust key ID the tokens carry."""
    _require_configured()
    return registry.jwks()


@router.get("/registry/cert.pem", auth=None, summary="Registry token certificate (rootcertbundle)")
def registry_certificate(request: HttpRequest) -> HttpResponse:
    """A self-signed certificate of the token signing key, for `auth.token.rootcertbundle`."""
    _require_configured()
    return HttpResponse(registry.certificate_pem(), content_type="application/x-pem-file")
