"""Binding deployments to activation codes, wherever it happens: the platform's activation
(licenses.services.platform.deployment_activate), registration in the customer portal and offline
activation by request file (licenses.services.offline).

One function, `activation_code_claim`, locks the code, finds the contract in force behind it and the
machine's live deployment under it, and checks that a new deployment may be bound (the contract in
its term, a free slot in the code's allowance); the callers then bind and issue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.entitlements import Window, contract_in_force, contract_window, entitlement_of
from contracts.models import Contract, ContractStatus
from customers.models import Organization
from licenses.errors import LicenseError, license_error
from licenses.models import ActivationCode, Deployment, Environment, License, LicenseReason, LicenseState
from licenses.services.codes import normalize_code
from licenses.services.licensing import deployment_register, license_issue, license_matches
from portal.core.actors import Actor
from portal.core.services import audit

PORTAL = "portal"


@dataclass(frozen=True)
class CodeClaim:
    """An activation code locked for the caller's transaction, the contract in force behind it, and
    the machine's live deployment under the code (None: a new one may be bound)."""

    code: ActivationCode
    contract: Contract
    window: Window
    deployment: Deployment | None


def _code_invalid(organization: Organization | None) -> Exception:
    if organization is None:
        return license_error(LicenseError.ACTIVATION_CODE_INVALID)
    return license_error(
        LicenseError.ACTIVATION_CODE_INVALID, _("This activation code is not one of your organization's.")
    )


def activation_code_claim(
    *,
    machine_id: str,
    plain: str | None = None,
    code_id: int | None = None,
    organization: Organization | None = None,
    now: dt.datetime | None = None,
) -> CodeClaim:
    """Lock the activation code (typed as `plain`, or by `code_id`) for the rest of the transaction,
    so concurrent activations cannot exceed its allowance, and find the machine's live deployment
    under it. When there is none, a new deployment may be bound only while the contract in force is
    active and in its term (else 410 contract_inactive) and the code has a free slot (else 409
    activation_code_exhausted). An unknown or revoked code, or with `organization` (the customer
    portal) another organization's, is 404 activation_code_invalid."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("activation_code_claim() must be called inside a transaction")
    codes = ActivationCode.objects.select_for_update(of=("self",)).select_related(
        "contract__edition", "contract__organization"
    )
    if organization is not None:
        codes = codes.filter(contract__organization=organization)
    if code_id is not None:
        code = codes.filter(pk=code_id).first()
    else:
        normalized = normalize_code(plain)
        code = codes.filter(code_digest=ActivationCode.digest(normalized)).first() if normalized else None
    if code is None or code.revoked_at is not None:
        raise _code_invalid(organization)
    contract = contract_in_force(code.contract)
    window = contract_window(contract, now or timezone.now())
    deployment = (
        Deployment.objects.filter(activation_code=code, machine_id=machine_id, deactivated_at__isnull=True)
        .select_related("organization")
        .first()
    )
    if deployment is None:
        if contract.status != ContractStatus.ACTIVE or window != Window.TERM:
            raise license_error(LicenseError.CONTRACT_INACTIVE)
        used = Deployment.objects.filter(activation_code=code, deactivated_at__isnull=True).count()
        if used >= code.max_deployments:
            detail = None
            if organization is not None:
                detail = _(
                    "All %(n)d deployments of this activation code are in use; ask your account manager "
                    "for more."
                ) % {"n": code.max_deployments}
            raise license_error(
                LicenseError.ACTIVATION_CODE_EXHAUSTED,
                detail,
                extra={"max_deployments": code.max_deployments},
            )
    return CodeClaim(code=code, contract=contract, window=window, deployment=deployment)


def license_fresh(*, actor: Actor, deployment: Deployment, via: str = PORTAL) -> License:
    """The deployment's active license, or a new one when it has none, it lapsed, or the contract
    (or its renewal) now grants something else. A revoked license is never replaced here."""
    license = License.objects.filter(deployment=deployment, state=LicenseState.ACTIVE).order_by("-pk").first()
    if license is None:
        latest = License.objects.filter(deployment=deployment).order_by("-pk").first()
        if latest is not None and latest.state == LicenseState.REVOKED:
            raise license_error(
                LicenseError.LICENSE_REVOKED,
                _("The license of this deployment was revoked; contact your account manager."),
            )
        return license_issue(actor=actor, deployment=deployment, reason=LicenseReason.REFRESH, via=via)
    contract = contract_in_force(
        Contract.objects.select_related("organization", "edition").get(pk=deployment.contract_id)
    )
    if timezone.now() >= license.expires_at or not license_matches(
        license, contract, entitlement_of(contract)
    ):
        return license_issue(
            actor=actor, deployment=deployment, reason=LicenseReason.REFRESH, replacing=license, via=via
        )
    return license


@transaction.atomic
def deployment_register_with_code(
    *,
    actor: Actor,
    organization: Organization,
    machine_id: str,
    code_id: int | None = None,
    plain_code: str | None = None,
    hostname: str = "",
    environment: str = Environment.PRODUCTION,
    offline: bool = False,
) -> tuple[Deployment, License, bool]:
    """A customer registers a deployment in the portal under one of the organization's activation
    codes, within the code's allowance as the platform's activation is, and gets its license.
    Idempotent per (code, machine). Returns (deployment, license, created)."""
    machine_id = machine_id.strip()
    claim = activation_code_claim(
        machine_id=machine_id, plain=plain_code, code_id=code_id, organization=organization
    )
    if claim.deployment is not None:
        return claim.deployment, license_fresh(actor=actor, deployment=claim.deployment), False
    deployment, license = deployment_register(
        actor=actor,
        contract=claim.contract,
        machine_id=machine_id,
        hostname=hostname,
        environment=environment,
        offline=offline,
        notes=_("Registered in the customer portal."),
        activation_code=claim.code,
    )
    audit(
        actor=actor,
        action="deployment.register_portal",
        target=deployment,
        data={"activation_code": claim.code.pk, "offline": offline, "machine_id": machine_id},
        via=PORTAL,
    )
    return deployment, license, True
