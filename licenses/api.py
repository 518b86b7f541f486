"""Licenses over HTTP: the platform API (DESIGN §5) and the integration API (DESIGN §5b).

`router` holds both; portal/api.py mounts it at /api/v1/.
"""

from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from contracts.selectors import contract_get
from licenses import insights, ratelimit, selectors, services
from licenses.errors import LicenseError, license_error
from licenses.models import ActivationCode, License
from licenses.schemas import (
    ActivateIn,
    ActivateOut,
    ActivationCodeIn,
    ActivationCodeOut,
    CheckinBody,
    CheckinIn,
    CheckinOut,
    DeploymentFilter,
    DeploymentOut,
    ErrorOut,
    FleetVersionsFilter,
    FleetVersionsOut,
    JwksOut,
    LicenseFilter,
    LicenseOut,
    PingOut,
    RevokeIn,
    SupportBundleOut,
)
from portal.core.api_auth import actor_of, require_write, staff_auth
from portal.core.ratelimit import client_ip
from portal.core.schemas import Id, IdOrNumber, Paging

router = Router()

_BUNDLE_OTHER_DEPLOYMENT = _("This license belongs to another deployment.")

# --- platform ---------------------------------------------------------------------------------------


def declared_length(request: HttpRequest) -> int | None:
    """The body size the request declares (0 without one), or None when the header is not a number."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class PlatformGate:
    """Runs before ninja reads the body (as the operation's auth callable): refuses oversized bodies
    with 413 and counts the caller's address against its rate limit (429 + Retry-After). The
    platform API itself needs no credentials: the license is its own proof."""

    def __init__(
        self, bucket: str, rate_setting: str, max_body_setting: str = "LICENSE_PLATFORM_MAX_BODY"
    ) -> None:
        self.bucket = bucket
        self.rate_setting = rate_setting
        self.max_body_setting = max_body_setting

    def __call__(self, request: HttpRequest) -> bool:
        length = declared_length(request)
        if length is None:
            raise license_error(LicenseError.INVALID_INPUT)
        if length > getattr(settings, self.max_body_setting):
            raise license_error(LicenseError.PAYLOAD_TOO_LARGE)
        ratelimit.check(
            f"{self.bucket}:{client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT) or '-'}",
            getattr(settings, self.rate_setting),
        )
        return True


_activate_gate = PlatformGate("activate", "LICENSE_RATE_LIMIT_ACTIVATE")
platform_gate = PlatformGate("ip", "LICENSE_RATE_LIMIT_ADDRESS")


class BundleGate(PlatformGate):
    """The platform gate, then the multipart body parsed here: a malformed one (no boundary, a broken
    part) is the caller's 400, not a server error inside ninja's parameter parsing."""

    def __call__(self, request: HttpRequest) -> bool:
        super().__call__(request)
        try:
            request.FILES  # noqa: B018 - parses the body once; ninja reads the parsed parts
        except MultiPartParserError:
            raise license_error(LicenseError.INVALID_INPUT) from None
        return True


bundle_gate = BundleGate("bundle", "LICENSE_RATE_LIMIT_ACTIVATE", "FLEET_SUPPORT_BUNDLE_BODY_MAX")

platform = Router(tags=["platform"])

_PLATFORM_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut}


@platform.post(
    "/activate",
    response={201: ActivateOut, 404: ErrorOut, 409: ErrorOut, 410: ErrorOut, **_PLATFORM_ERRORS},
    auth=[_activate_gate],
)
def activate(request: HttpRequest, payload: ActivateIn) -> Status[Any]:
    """Bind this machine to the contract behind the activation code; returns the license.
    Repeating it with the same code and machine returns the same deployment and its current token."""
    answer = services.deployment_activate(
        code=payload.activation_code,
        machine_id=payload.machine_id,
        hostname=payload.hostname or "",
        platform_version=payload.platform_version or "",
        environment=payload.environment,
        source_ip=client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT),
    )
    license = cast(License, answer.license)  # activation answers with a License row, never a CurrentToken
    return Status(
        201,
        {
            "license": license.token,
            "deployment_id": license.deployment_id,
            "expires_at": license.expires_at,
            "renew_after": license.renew_after,
            "edition": license.edition_code,
            "features": license.features,
            "device_limit": license.device_limit,
        },
    )


@platform.post(
    "/checkin", response={200: CheckinOut, **_PLATFORM_ERRORS}, auth=[platform_gate], exclude_none=True
)
def checkin(request: HttpRequest, payload: CheckinIn) -> dict[str, Any]:
    """Report in (daily, on start, after a license change). The answer carries the token to keep
    using: the same one until `renew_after`, a new one when the contract was renewed or changed."""
    return checkin_answer(request, payload)


def checkin_answer(request: HttpRequest, payload: CheckinBody) -> dict[str, Any]:
    """The check-in itself, shared with licenses.fastpath (which answers most check-ins without
    the portal's middleware): the service's answer as the CheckinOut fields, in their order."""
    answer = services.license_checkin(
        token=payload.license,
        machine_id=payload.machine_id,
        device_count=payload.device_count,
        platform_version=payload.platform_version,
        source_ip=client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT),
    )
    license = answer.license
    body = {
        "license": license.token,
        "status": answer.status,
        "expires_at": license.expires_at,
        "renew_after": license.renew_after,
        "messages": answer.messages,
        "server_time": timezone.now(),
    }
    if payload.nonce is not None:
        body["nonce"] = payload.nonce
    return body


@platform.post(
    "/support-bundle",
    response={201: SupportBundleOut, 404: ErrorOut, 415: ErrorOut, **_PLATFORM_ERRORS},
    auth=[bundle_gate],
)
def support_bundle(
    request: HttpRequest,
    bundle: File[UploadedFile],
    license: Form[str],
    machine_id: Form[str],
    deployment_id: Form[int | None] = None,
    ticket: Form[str] = "",
    note: Form[str] = "",
) -> Status[Any]:
    """Upload a diagnostic bundle (multipart: `bundle` = a .tar.gz or .zip, checked by its content;
    `license` and `machine_id` as at check-in). Optional `deployment_id` must be the license's own
    deployment (403 otherwise); optional `ticket` (a ticket number of the same customer) gets a note.
    Errors: 401 token_invalid, 403 machine_mismatch / license_revoked / forbidden, 404 ticket_not_found,
    413 payload_too_large (FLEET_SUPPORT_BUNDLE_MAX_BYTES), 415 archive_type_invalid, 429 rate_limited."""
    found = services.license_for_upload(token=license, machine_id=machine_id)
    if deployment_id is not None and deployment_id != found.deployment_id:
        raise license_error(LicenseError.FORBIDDEN, _BUNDLE_OTHER_DEPLOYMENT)
    stored = services.support_bundle_upload(
        actor=None,
        deployment=found.deployment,
        upload=bundle,
        ticket_number=ticket,
        note=note,
        source_ip=client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT),
    )
    return Status(
        201,
        {
            "id": stored.pk,
            "deployment_id": stored.deployment_id,
            "archive_type": stored.archive_type,
            "size": stored.size,
            "sha256": stored.sha256,
            "ticket": stored.ticket.number if stored.ticket else None,
            "expires_at": stored.expires_at,
        },
    )


@platform.get("/keys", response={200: JwksOut, 429: ErrorOut}, auth=[platform_gate], exclude_none=True)
def keys(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    """JWKS of every key that may still verify a live license (cacheable for an hour)."""
    response["Cache-Control"] = "public, max-age=3600"
    return selectors.jwks()


@platform.get("/ping", response=PingOut, auth=None)
def ping(request: HttpRequest) -> dict[str, str]:
    """Reachability probe for platforms and load balancers; touches nothing."""
    return {"status": "ok"}


# --- integration (staff tokens) ---------------------------------------------------------------------

staff = Router(tags=["licenses"], auth=staff_auth)


def _code_out(code: ActivationCode) -> dict[str, Any]:
    return {
        "id": code.pk,
        "contract": code.contract.number,
        "code": services.activation_code_reveal(code),
        "max_deployments": code.max_deployments,
        "deployments_used": getattr(code, "deployments_used", 0),
        "note": code.note,
        "created_at": code.created_at,
        "revoked_at": code.revoked_at,
    }


@staff.get("/contracts/{contract_id}/activation-codes", response=list[ActivationCodeOut])
@paginate(Paging)
def activation_code_list(request: HttpRequest, contract_id: IdOrNumber) -> Any:
    contract = contract_get(contract_id)
    return [_code_out(code) for code in selectors.activation_codes_for_contract(contract.pk)]


@staff.post("/contracts/{contract_id}/activation-codes", response={201: ActivationCodeOut})
def activation_code_create(
    request: HttpRequest, contract_id: IdOrNumber, payload: ActivationCodeIn | None = None
) -> Status[Any]:
    require_write(request)
    contract = contract_get(contract_id)
    code, _plain = services.activation_code_create(
        actor=actor_of(request),
        contract=contract,
        max_deployments=payload.max_deployments if payload else None,
        note=payload.note if payload else "",
    )
    return Status(201, _code_out(selectors.activation_code_queryset().get(pk=code.pk)))


@staff.post("/activation-codes/{code_id}/revoke", response=ActivationCodeOut)
def activation_code_revoke(request: HttpRequest, code_id: Id, payload: RevokeIn) -> dict[str, Any]:
    require_write(request)
    code = selectors.activation_code_queryset().get(pk=code_id)
    services.activation_code_revoke(actor=actor_of(request), code=code, reason=payload.reason)
    return _code_out(selectors.activation_code_queryset().get(pk=code_id))


@staff.get("/deployments", response=list[DeploymentOut])
@paginate(Paging)
def deployment_list(request: HttpRequest, filters: Query[DeploymentFilter]) -> Any:
    return selectors.deployment_list(filters=filters.dict())


@staff.get("/licenses", response=list[LicenseOut])
@paginate(Paging)
def license_list(request: HttpRequest, filters: Query[LicenseFilter]) -> Any:
    return selectors.license_list(filters=filters.dict())


@staff.get("/licenses/{license_id}", response=LicenseOut)
def license_detail(request: HttpRequest, license_id: Id) -> License:
    return selectors.license_get(license_id)


@staff.get("/licenses/{license_id}/key", response={200: str})
def license_key(request: HttpRequest, license_id: Id) -> HttpResponse:
    """The `.key` file: the bare token, no trailing newline, as the platform reads it."""
    license = selectors.license_get(license_id)
    services.license_key_downloaded(actor=actor_of(request), license=license)
    response = HttpResponse(license.token, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{license.key_filename}"'
    response["Cache-Control"] = "no-store"
    return response


@staff.post("/licenses/{license_id}/revoke", response=LicenseOut)
def license_revoke(request: HttpRequest, license_id: Id, payload: RevokeIn) -> License:
    require_write(request)
    license = selectors.license_get(license_id)
    services.license_revoke(actor=actor_of(request), license=license, reason=payload.reason)
    return selectors.license_get(license_id)


@staff.post("/licenses/{license_id}/reissue", response={201: LicenseOut})
def license_reissue(request: HttpRequest, license_id: Id) -> Status[Any]:
    require_write(request)
    license = services.license_reissue(actor=actor_of(request), license=selectors.license_get(license_id))
    return Status(201, selectors.license_get(license.pk))


@staff.get(
    "/fleet/versions",
    response={200: FleetVersionsOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    tags=["fleet"],
)
def fleet_versions(request: HttpRequest, filters: Query[FleetVersionsFilter]) -> dict[str, Any]:
    """Live deployments and their devices (as last reported) per platform version and edition, newest
    version first, with each version's support status. Errors: 401 without a valid staff token, 403 for
    a customer session, 422 invalid_input for a malformed `edition`."""
    rows = insights.fleet_versions(edition=filters.edition)
    return {
        "deployments": sum(r.deployments for r in rows),
        "devices": sum(r.devices for r in rows),
        "items": [r.__dict__ for r in rows],
    }


router.add_router("/platform", platform)
router.add_router("", staff)
