"""Offline activation of air-gapped sites by request file (the file's format and parsing are the
portal page's: portal.pages.offline).

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

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Organization
from licenses import tokens
from licenses.errors import LicenseError
from licenses.models import ActivationCode, Deployment, License
from licenses.services.activation import PORTAL, deployment_register_with_code, license_fresh
from licenses.services.platform import CurrentToken, license_checkin
from portal.core.actors import Actor
from portal.core.errors import ApplicationError
from portal.core.services import audit


@dataclass(frozen=True)
class OfflineRequest:
    """An offline activation request, as the platform on the air-gapped machine wrote it."""

    machine_id: str
    hostname: str = ""
    activation_code: str = ""
    current_license: str = ""
    device_count: int | None = None
    platform_version: str = ""
    created_at: str = ""


def offline_activation_fulfil(
    *,
    actor: Actor,
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
                LicenseError.TOKEN_INVALID,
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
        # An unchanged check-in answers with the stored token only: the License row is read here.
        license = answer.license
        if isinstance(license, CurrentToken):
            license = License.objects.get(pk=license.pk)
        _audit_request(actor, license, request)
        return license

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
        code_id = None
        if not request.activation_code:  # the code in the file wins over the one chosen on the page
            if activation_code is None:
                raise ApplicationError(
                    LicenseError.MACHINE_UNKNOWN,
                    _(
                        "This machine is not registered yet. Put the activation code in the request "
                        "or choose one below."
                    ),
                )
            code_id = activation_code.pk
        _deployment, license, _created = deployment_register_with_code(
            actor=actor,
            organization=organization,
            machine_id=request.machine_id,
            plain_code=request.activation_code or None,
            code_id=code_id,
            hostname=request.hostname,
            offline=True,
        )
        _audit_request(actor, license, request)
        return license


def _audit_request(actor: Actor, license: License, request: OfflineRequest) -> None:
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
        via=PORTAL,
    )
