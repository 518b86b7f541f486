"""Self-service licensing in the portal: registering a deployment by machine ID, and offline
activation of air-gapped sites by request file.

The offline activation request (format version 1) is a small JSON object the platform writes on the
air-gapped machine; the customer carries it to a connected computer, uploads it here and carries the
returned `.key` file back:

    {
      "format": "iot-platform-offline-request",   // optional; when present it must be this value
      "version": 1,                               // optional; 1 is the only version
      "machine_id": "3f9c0a…",                    // required: the platform's machine fingerprint
      "hostname": "scada-01",                     // optional
      "activation_code": "7KQ2M-…",               // first activation of this machine
      "current_license": "eyJhbGciOi…",           // renewal: the license the machine runs now
      "device_count": 812,                        // optional: devices connected right now
      "platform_version": "3.2.0",                // optional
      "created_at": "2026-05-01T08:00:00+08:00"   // optional, informational
    }

At most 16 KB; unknown keys are ignored, so newer platforms may add fields. The answer is the
license itself (the bare JWT, no trailing newline, as the platform's LicenseManager reads it). An
offline deployment's license runs to the contract end plus the grace period (DESIGN §4).

How a request is resolved:
1. with `current_license`: the token must be a genuine license of this organization for this
   machine; it is processed like a check-in (the device count is recorded as a usage report) and
   the current or a renewed license comes back;
2. else a live deployment of this organization with that machine ID gets its current license,
   re-issued when the contract was renewed or changed since;
3. else the activation code (from the file, or chosen on the page) registers a new offline
   deployment, within the code's deployment allowance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contract
from customers.models import Organization
from licenses import tokens
from licenses.models import ActivationCode, Deployment, Environment, License, LicenseReason, LicenseState
from licenses.services import (
    current_contract,
    deployment_register,
    entitlement_of,
    license_checkin,
    license_issue,
    normalize_code,
)
from licenses.services.licensing import license_matches
from portal.core.errors import ApplicationError
from portal.core.services import audit

REQUEST_FORMAT = "iot-platform-offline-request"
REQUEST_VERSION = 1
MAX_REQUEST_BYTES = 16 * 1024
VIA = "portal"


@dataclass(frozen=True)
class OfflineRequest:
    machine_id: str
    hostname: str = ""
    activation_code: str = ""
    current_license: str = ""
    device_count: int | None = None
    platform_version: str = ""
    created_at: str = ""


def _invalid(detail: str) -> ApplicationError:
    return ApplicationError("invalid_request_file", detail)


def _text(data: dict[str, Any], key: str, max_length: int) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(_("“%(key)s” must be a string.") % {"key": key})
    value = value.strip()
    if len(value) > max_length:
        raise _invalid(_("“%(key)s” is longer than %(n)d characters.") % {"key": key, "n": max_length})
    return value


def offline_request_parse(raw: bytes) -> OfflineRequest:
    """Validate an uploaded request file; ApplicationError(invalid_request_file) says what is wrong."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise _invalid(_("The file is larger than 16 KB."))
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise _invalid(_("The file is not a JSON activation request.")) from None
    if not isinstance(data, dict):
        raise _invalid(_("The file is not a JSON activation request."))
    if data.get("format", REQUEST_FORMAT) != REQUEST_FORMAT:
        raise _invalid(_("The file is not an offline activation request of the IoT Platform."))
    if data.get("version", REQUEST_VERSION) != REQUEST_VERSION:
        raise _invalid(_("This request format version is not supported; update the back office."))
    machine_id = _text(data, "machine_id", 128)
    if not machine_id or any(ch.isspace() for ch in machine_id):
        raise _invalid(_("The request has no valid “machine_id”."))
    device_count = data.get("device_count")
    if device_count is not None and (
        isinstance(device_count, bool) or not isinstance(device_count, int) or not 0 <= device_count < 2**31
    ):
        raise _invalid(_("“device_count” must be a whole number of devices."))
    return OfflineRequest(
        machine_id=machine_id,
        hostname=_text(data, "hostname", 255),
        activation_code=_text(data, "activation_code", 64),
        current_license=_text(data, "current_license", tokens.MAX_TOKEN_LENGTH),
        device_count=device_count,
        platform_version=_text(data, "platform_version", 50),
        created_at=_text(data, "created_at", 40),
    )


def example_request() -> str:
    return json.dumps(
        {
            "format": REQUEST_FORMAT,
            "version": REQUEST_VERSION,
            "machine_id": "3f9c0a6e5b2d4c1f",
            "hostname": "scada-01",
            "activation_code": "7KQ2M-XXXXX-XXXXX-XXXXX-XXXXX",
            "device_count": 812,
            "platform_version": "3.2.0",
        },
        indent=2,
    )


# --- registering a deployment ---------------------------------------------------------------------------


def _code_of_organization(organization: Organization, plain: str) -> ActivationCode:
    normalized = normalize_code(plain)
    code = (
        ActivationCode.objects.filter(
            code_digest=ActivationCode.digest(normalized), contract__organization=organization
        ).first()
        if normalized
        else None
    )
    if code is None or code.revoked_at is not None:
        raise ApplicationError(
            "activation_code_invalid",
            _("This activation code is not one of your organization's."),
            status=404,
        )
    return code


def license_fresh(*, actor: Any, deployment: Deployment) -> License:
    """The deployment's active license, or a new one when it has none, it lapsed, or the contract
    (or its renewal) now grants something else. A revoked license is never replaced here."""
    license = License.objects.filter(deployment=deployment, state=LicenseState.ACTIVE).order_by("-pk").first()
    if license is None:
        latest = License.objects.filter(deployment=deployment).order_by("-pk").first()
        if latest is not None and latest.state == LicenseState.REVOKED:
            raise ApplicationError(
                "license_revoked",
                _("The license of this deployment was revoked; contact your account manager."),
                status=403,
            )
        return license_issue(actor=actor, deployment=deployment, reason=LicenseReason.REFRESH, via=VIA)
    contract = current_contract(
        Contract.objects.select_related("organization", "edition").get(pk=deployment.contract_id)
    )
    if timezone.now() >= license.expires_at or not license_matches(
        license, contract, entitlement_of(contract)
    ):
        return license_issue(
            actor=actor, deployment=deployment, reason=LicenseReason.REFRESH, replacing=license, via=VIA
        )
    return license


@transaction.atomic
def portal_deployment_register(
    *,
    actor: Any,
    organization: Organization,
    activation_code: ActivationCode,
    machine_id: str,
    hostname: str = "",
    environment: str = Environment.PRODUCTION,
    offline: bool = False,
) -> tuple[Deployment, License, bool]:
    """Register a deployment under one of the organization's activation codes, within the code's
    allowance (the code row is locked, as the platform's activation does), and issue its license.
    Idempotent per (code, machine). Returns (deployment, license, created)."""
    code = (
        ActivationCode.objects.select_for_update(of=("self",))
        .filter(pk=activation_code.pk, contract__organization=organization)
        .first()
    )
    if code is None or code.revoked_at is not None:
        raise ApplicationError(
            "activation_code_invalid",
            _("This activation code is not one of your organization's."),
            status=404,
        )
    machine_id = machine_id.strip()
    existing = Deployment.objects.filter(
        activation_code=code, machine_id=machine_id, deactivated_at__isnull=True
    ).first()
    if existing is not None:
        return existing, license_fresh(actor=actor, deployment=existing), False
    used = Deployment.objects.filter(activation_code=code, deactivated_at__isnull=True).count()
    if used >= code.max_deployments:
        raise ApplicationError(
            "activation_code_exhausted",
            _("All %(n)d deployments of this activation code are in use; ask your account manager for more.")
            % {"n": code.max_deployments},
            status=409,
        )
    contract = current_contract(
        Contract.objects.select_related("organization", "edition").get(pk=code.contract_id)
    )
    deployment, license = deployment_register(
        actor=actor,
        contract=contract,
        machine_id=machine_id,
        hostname=hostname,
        environment=environment,
        offline=offline,
        notes=_("Registered in the customer portal."),
    )
    # licenses.services.deployment_register (staff) does not take the code; count this deployment
    # against it so the allowance holds for the platform's own activations too.
    Deployment.objects.filter(pk=deployment.pk).update(activation_code=code)
    deployment.activation_code = code
    audit(
        actor=actor,
        action="deployment.register_portal",
        target=deployment,
        data={"activation_code": code.pk, "offline": offline, "machine_id": machine_id},
        via=VIA,
    )
    return deployment, license, True


# --- offline activation ---------------------------------------------------------------------------------


def offline_activation_fulfil(
    *,
    actor: Any,
    organization: Organization,
    request: OfflineRequest,
    activation_code: ActivationCode | None = None,
    source_ip: str | None = None,
) -> License:
    """The license file for an uploaded request (see the module docstring for the rules)."""
    if request.current_license:
        claims, _key = tokens.verify(request.current_license)
        deployment = Deployment.objects.filter(pk=int(claims["sub"]), organization=organization).first()
        if deployment is None:
            raise ApplicationError(
                "token_invalid",
                _("The license in the request is not one of your organization's."),
                status=404,
            )
        answer = license_checkin(
            token=request.current_license,
            machine_id=request.machine_id,
            device_count=request.device_count,
            platform_version=request.platform_version or None,
            source_ip=source_ip,
        )
        _audit_request(actor, answer.license, request)
        return answer.license

    with transaction.atomic():
        existing = (
            Deployment.objects.filter(
                organization=organization, machine_id=request.machine_id, deactivated_at__isnull=True
            )
            .order_by("-offline", "-pk")
            .first()
        )
        if existing is not None:
            license = license_fresh(actor=actor, deployment=existing)
            _audit_request(actor, license, request)
            return license
        if request.activation_code:
            activation_code = _code_of_organization(organization, request.activation_code)
        if activation_code is None:
            raise ApplicationError(
                "machine_unknown",
                _(
                    "This machine is not registered yet. Put the activation code in the request "
                    "or choose one below."
                ),
            )
        _deployment, license, _created = portal_deployment_register(
            actor=actor,
            organization=organization,
            activation_code=activation_code,
            machine_id=request.machine_id,
            hostname=request.hostname,
            offline=True,
        )
        _audit_request(actor, license, request)
        return license


def _audit_request(actor: Any, license: License, request: OfflineRequest) -> None:
    audit(
        actor=actor,
        action="license.offline_request",
        target=license,
        data={
            "machine_id": request.machine_id,
            "hostname": request.hostname,
            "device_count": request.device_count,
            "platform_version": request.platform_version,
            "renewal": bool(request.current_license),
        },
        via=VIA,
    )
