"""License writes: issue (and re-issue), revoke, expire; deployments registered by staff."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contracts.entitlements import (
    Entitlement,
    Window,
    contract_in_force,
    contract_window,
    entitlement_of,
)
from contracts.models import Contract, ContractStatus
from licenses import tokens
from licenses.errors import LicenseError, license_error
from licenses.events import license_event_record
from licenses.models import (
    LICENSE_TRANSITIONS,
    ActivationCode,
    Deployment,
    Environment,
    License,
    LicenseEvent,
    LicenseEventKind,
    LicenseReason,
    LicenseState,
)
from licenses.services.keys import signing_key_for_issuing
from portal.core.actors import Actor
from portal.core.services import audit

ENTITLEMENT_CACHE_SECONDS = 300


# --- entitlement --------------------------------------------------------------------------------------
# Which contract is in force and what it grants are contracts.entitlements' rules; this module keeps
# the check-in's memo of them.


@dataclass(frozen=True)
class EntitlementMemo:
    contract_id: int
    contract_updated_at: dt.datetime | None
    entitlement: Entitlement
    valid_until: float  # time.monotonic()

    @cached_property
    def checkin_params(self) -> dict[str, Any]:
        """The parameters of the unchanged-check-in statement that depend only on the contract,
        computed once per memo instead of on every check-in."""
        return {
            "term_end": self.entitlement.term_end,
            "grace_end": self.entitlement.grace_end,
            "contract": self.contract_id,
            "updated_at": self.contract_updated_at,
        }

    @cached_property
    def _granted(self) -> dict[str, Any]:
        return tokens.entitlement_claims(self.entitlement)

    def stated_by(self, claims: dict[str, Any]) -> bool:
        """Whether a license with these (verified) claims states this entitlement: the check-in
        form of license_matches(), read off the token instead of the license row."""
        return all(claims.get(name) == value for name, value in self._granted.items())


_ENTITLEMENTS: dict[tuple[int, float], EntitlementMemo] = {}
_BY_NUMBER: dict[str, EntitlementMemo] = {}


def entitlement_cached(contract: Contract) -> Entitlement:
    """entitlement_of() for the check-in path, memoized in this process. Keyed by the contract's
    `updated_at`, so a change to the contract shows at once; a change to the edition's catalog
    (included modules, default limit) shows within five minutes."""
    stamp = contract.updated_at.timestamp() if contract.updated_at else 0.0
    memo = _ENTITLEMENTS.get((contract.pk, stamp))
    if memo is None or memo.valid_until < time.monotonic():
        if len(_ENTITLEMENTS) > 10_000:
            _ENTITLEMENTS.clear()
            _BY_NUMBER.clear()
        memo = EntitlementMemo(
            contract_id=contract.pk,
            contract_updated_at=contract.updated_at,
            entitlement=entitlement_of(contract),
            valid_until=time.monotonic() + ENTITLEMENT_CACHE_SECONDS,
        )
        _ENTITLEMENTS[(contract.pk, stamp)] = memo
        _BY_NUMBER[contract.number] = memo
    return memo.entitlement


def entitlement_memo_by_number(number: str) -> EntitlementMemo | None:
    """The memo of the contract a (verified) token names; the caller must check that the contract's
    `updated_at` still equals the memo's."""
    memo = _BY_NUMBER.get(number)
    if memo is None or memo.valid_until < time.monotonic():
        return None
    return memo


def entitlement_memo_clear() -> None:
    _ENTITLEMENTS.clear()
    _BY_NUMBER.clear()


def license_matches(license: License, contract: Contract, entitlement: Entitlement) -> bool:
    return (
        license.contract_id == contract.pk
        and license.edition_code == entitlement.edition
        and tuple(license.features) == entitlement.features
        and license.device_limit == entitlement.device_limit
        and license.entitlement_end == entitlement.entitlement_end
        and license.grace_days == entitlement.grace_days
    )


# --- state changes ---------------------------------------------------------------------------------


def _transition(
    license: License, target: str, *, reason: str, note: str = "", now: dt.datetime | None = None
) -> None:
    if target not in LICENSE_TRANSITIONS[LicenseState(license.state)]:
        raise license_error(
            LicenseError.INVALID_TRANSITION,
            extra={"state": license.state, "target": str(target)},
        )
    license.state = target
    license.state_reason = reason
    license.state_note = note[:300]
    license.state_changed_at = now or timezone.now()
    license.save(update_fields=["state", "state_reason", "state_note", "state_changed_at"])


@transaction.atomic
def license_issue(
    *,
    actor: Actor,
    deployment: Deployment,
    reason: str = LicenseReason.MANUAL,
    contract: Contract | None = None,
    replacing: License | None = None,
    via: str = "",
    now: dt.datetime | None = None,
) -> License:
    """Sign a new license for the deployment under its current contract (or `contract`), superseding
    the active one. With `replacing`, a concurrent re-issue that already replaced that license wins
    and its license is returned instead of signing twice."""
    now = now or timezone.now()
    deployment = Deployment.objects.select_for_update().select_related("organization").get(pk=deployment.pk)
    if deployment.deactivated_at is not None:
        raise license_error(LicenseError.DEPLOYMENT_INACTIVE)
    current = License.objects.filter(deployment=deployment, state=LicenseState.ACTIVE).first()
    if replacing is not None:
        if current is not None and current.pk != replacing.pk:
            return current
        if License.objects.filter(pk=replacing.pk, state=LicenseState.REVOKED).exists():
            raise license_error(LicenseError.LICENSE_REVOKED)
    if contract is None:
        contract = contract_in_force(
            Contract.objects.select_related("organization", "edition").get(pk=deployment.contract_id)
        )
    if (
        contract.organization_id != deployment.organization_id
        or contract_window(contract, now) == Window.OVER
    ):
        raise license_error(LicenseError.CONTRACT_INACTIVE)
    entitlement = entitlement_of(contract)
    key = signing_key_for_issuing(deployment.license_algorithm)
    times = tokens.lifetime(entitlement=entitlement, offline=deployment.offline, now=now)
    if current is None and replacing is not None and replacing.state == LicenseState.EXPIRED:
        current = License.objects.select_for_update().get(pk=replacing.pk)
    if current is not None:
        _transition(current, LicenseState.SUPERSEDED, reason=LicenseReason.SUPERSEDED, now=now)
        license_event_record(
            actor=actor,
            deployment=deployment,
            license=current,
            kind=LicenseEventKind.SUPERSEDED,
            reason=reason,
            via=via,
        )
    license = License.objects.create(
        deployment=deployment,
        contract=contract,
        signing_key=key,
        supersedes=current,
        token="",
        edition_code=entitlement.edition,
        features=list(entitlement.features),
        device_limit=entitlement.device_limit,
        entitlement_end=entitlement.entitlement_end,
        grace_days=entitlement.grace_days,
        offline=deployment.offline,
        issued_at=times.issued_at,
        expires_at=times.expires_at,
        renew_after=times.renew_after,
        reason=reason,
        created_at=now,
    )
    claims = tokens.claims_for(
        license_id=license.pk,
        deployment_id=deployment.pk,
        machine_id=deployment.machine_id,
        entitlement=entitlement,
        times=times,
    )
    license.token = tokens.sign(claims, key)
    license.save(update_fields=["token"])
    if deployment.contract_id != contract.pk:
        Deployment.objects.filter(pk=deployment.pk).update(contract=contract)
        deployment.contract = contract
    data = {
        "contract": contract.number,
        "kid": key.kid,
        "expires_at": times.expires_at.isoformat(),
        "features": list(entitlement.features),
        "device_limit": entitlement.device_limit,
        "supersedes": current.pk if current else None,
    }
    license_event_record(
        actor=actor,
        deployment=deployment,
        license=license,
        kind=LicenseEventKind.ISSUED,
        reason=reason,
        via=via,
        data=data,
    )
    audit(
        actor=actor,
        action="license.reissue" if current else "license.issue",
        target=license,
        data={"reason": str(reason), **data},
        via=via,
    )
    return license


@transaction.atomic
def license_reissue(*, actor: Actor, license: License, via: str = "") -> License:
    """Staff re-issue: a fresh token for the license's deployment (the old one is superseded)."""
    license = License.objects.select_related("deployment").get(pk=license.pk)
    if license.state == LicenseState.REVOKED:
        raise license_error(LicenseError.LICENSE_REVOKED)
    return license_issue(actor=actor, deployment=license.deployment, reason=LicenseReason.MANUAL, via=via)


@transaction.atomic
def license_revoke(
    *,
    actor: Actor,
    license: License,
    reason: str,
    state_reason: str = LicenseReason.REVOKED_BY_STAFF,
    via: str = "",
) -> License:
    """Final: the deployment's check-ins answer 403 license_revoked from now on."""
    # Lock the deployment first, as license_issue does, so a revocation and a concurrent re-issue
    # at check-in are serialized (the re-issue then sees the revocation and refuses).
    Deployment.objects.select_for_update().filter(pk=license.deployment_id).first()
    license = License.objects.select_for_update().get(pk=license.pk)
    if license.state == LicenseState.REVOKED:
        return license
    _transition(license, LicenseState.REVOKED, reason=state_reason, note=reason)
    license_event_record(
        actor=actor,
        deployment=license.deployment_id,
        license=license,
        kind=LicenseEventKind.REVOKED,
        reason=state_reason,
        via=via,
        data={"note": reason},
    )
    audit(
        actor=actor,
        action="license.revoke",
        target=license,
        data={"reason": reason, "code": str(state_reason)},
        via=via,
    )
    return license


@transaction.atomic
def license_expire(
    *, actor: Actor, license: License, reason: str, via: str = "", now: dt.datetime | None = None
) -> License:
    """Mark a license expired (its token lapsed or its contract and grace ended). Not final: a
    genuine lapsed token may still check in and receive a new one while a contract entitles it."""
    license = License.objects.select_for_update().get(pk=license.pk)
    if license.state != LicenseState.ACTIVE:
        return license
    _transition(license, LicenseState.EXPIRED, reason=reason, now=now)
    license_event_record(
        actor=actor,
        deployment=license.deployment_id,
        license=license,
        kind=LicenseEventKind.EXPIRED,
        reason=reason,
        via=via,
    )
    audit(actor=actor, action="license.expire", target=license, data={"reason": str(reason)}, via=via)
    return license


def license_key_downloaded(*, actor: Actor, license: License, via: str = "") -> None:
    """Record who downloaded a `.key` file (the token is a bearer artifact of the customer)."""
    license_event_record(
        actor=actor,
        deployment=license.deployment_id,
        license=license,
        kind=LicenseEventKind.DOWNLOADED,
        via=via,
    )


# --- deployments registered by staff (offline sites) ---------------------------------------------------


@transaction.atomic
def deployment_register(
    *,
    actor: Actor,
    contract: Contract,
    machine_id: str,
    hostname: str = "",
    environment: str = Environment.PRODUCTION,
    offline: bool = False,
    platform_version: str = "",
    license_algorithm: str = "RS256",
    notes: str = "",
    activation_code: Any = None,
) -> tuple[Deployment, License]:
    """A deployment staff register by hand, typically an air-gapped site that sent its machine ID;
    its license (offline: valid to the contract end plus grace) is downloaded as a `.key` file.
    With `activation_code` it counts against that code's allowance (the caller checks and locks the
    allowance, as deployment_activate does)."""
    machine_id = (machine_id or "").strip()
    if not machine_id or len(machine_id) > 128:
        raise license_error(
            LicenseError.INVALID_INPUT, extra={"errors": {"machine_id": ["1-128 characters"]}}
        )
    if contract.status != ContractStatus.ACTIVE:
        raise license_error(LicenseError.CONTRACT_INACTIVE)
    deployment = Deployment(
        organization_id=contract.organization_id,
        contract=contract,
        activation_code=activation_code,
        machine_id=machine_id,
        hostname=hostname[:255],
        environment=environment,
        offline=offline,
        platform_version=platform_version[:50],
        license_algorithm=license_algorithm,
        notes=notes,
    )
    deployment.full_clean(exclude=["organization", "contract", "activation_code"])
    deployment.save()
    license_event_record(
        actor=actor,
        deployment=deployment,
        kind=LicenseEventKind.DEPLOYMENT_ACTIVATED,
        data={"machine_id": machine_id, "offline": offline, "by": "staff"},
    )
    audit(actor=actor, action="deployment.register", target=deployment, data={"contract": contract.number})
    license = license_issue(
        actor=actor, deployment=deployment, reason=LicenseReason.MANUAL, contract=contract
    )
    return deployment, license


@transaction.atomic
def deployment_deactivate(*, actor: Actor, deployment: Deployment, reason: str = "") -> Deployment:
    """Retire a deployment (hardware replaced, site closed): its license is revoked and its slot on
    the activation code is freed."""
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if deployment.deactivated_at is not None:
        return deployment
    return _deployment_retire(
        actor=actor,
        deployment=deployment,
        reason=reason,
        state_reason=LicenseReason.DEPLOYMENT_DEACTIVATED,
        kind=LicenseEventKind.DEPLOYMENT_DEACTIVATED,
        action="deployment.deactivate",
    )


def _deployment_retire(
    *,
    actor: Any,
    deployment: Deployment,
    reason: str,
    state_reason: str,
    kind: str,
    action: str,
    via: str = "",
) -> Deployment:
    for license in License.objects.filter(
        deployment=deployment, state__in=[LicenseState.ACTIVE, LicenseState.EXPIRED]
    ):
        license_revoke(actor=actor, license=license, reason=reason, state_reason=state_reason)
    deployment.deactivated_at = timezone.now()
    deployment.save(update_fields=["deactivated_at"])
    license_event_record(
        actor=actor, deployment=deployment, kind=kind, data={"reason": reason}, via=via or "system"
    )
    audit(actor=actor, action=action, target=deployment, data={"reason": reason})
    return deployment


def deployment_moves_left(deployment: Deployment, *, now: dt.datetime | None = None) -> int:
    """How many more moves the deployment's activation code allows in the current period."""
    if deployment.activation_code_id is None:
        return 0
    since = (now or timezone.now()) - dt.timedelta(days=settings.FLEET_MOVE_PERIOD_DAYS)
    used = LicenseEvent.objects.filter(
        kind=LicenseEventKind.DEPLOYMENT_MOVED,
        deployment__activation_code_id=deployment.activation_code_id,
        created_at__gte=since,
    ).count()
    return max(0, int(settings.FLEET_MOVES_PER_PERIOD) - used)


@transaction.atomic
def deployment_move(
    *, actor: Any, deployment: Deployment, reason: str = "", via: str = "portal"
) -> Deployment:
    """The customer replaced the machine: the deployment is retired so its slot on the activation
    code is free for the new machine, which activates with the same code; the old machine's license
    is refused at its next check-in (license_revoked, saying it moved). Moves per activation code are
    limited per period (FLEET_MOVES_PER_PERIOD in FLEET_MOVE_PERIOD_DAYS), so one license cannot hop
    between machines."""
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if deployment.deactivated_at is not None:
        raise license_error(LicenseError.DEPLOYMENT_INACTIVE)
    if deployment.activation_code_id is None:
        raise license_error(LicenseError.MOVE_NOT_POSSIBLE)
    # The code's row serialises concurrent moves of its deployments, so the count below holds.
    ActivationCode.objects.select_for_update().filter(pk=deployment.activation_code_id).first()
    if deployment_moves_left(deployment) <= 0:
        raise license_error(LicenseError.MOVE_LIMIT_REACHED)
    return _deployment_retire(
        actor=actor,
        deployment=deployment,
        reason=reason,
        state_reason=LicenseReason.DEPLOYMENT_MOVED,
        kind=LicenseEventKind.DEPLOYMENT_MOVED,
        action="deployment.move",
        via=via,
    )


@transaction.atomic
def deployment_deactivate_by_customer(*, actor: Any, deployment: Deployment, reason: str = "") -> Deployment:
    """A customer retires a deployment in the portal (site closed): as staff's deactivation, audited."""
    deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if deployment.deactivated_at is not None:
        raise license_error(LicenseError.DEPLOYMENT_INACTIVE)
    return _deployment_retire(
        actor=actor,
        deployment=deployment,
        reason=reason,
        state_reason=LicenseReason.DEPLOYMENT_DEACTIVATED,
        kind=LicenseEventKind.DEPLOYMENT_DEACTIVATED,
        action="deployment.deactivate",
        via="portal",
    )


# --- lifecycle (called by the contracts lifecycle job and our own nightly task) -----------------------


@transaction.atomic
def licenses_expire_for_contract(*, actor: Actor, contract: Contract, now: dt.datetime | None = None) -> int:
    """Bring the licenses of an ended contract in line with it; returns how many changed.

    - cancelled contract: its active licenses are revoked (reason contract_cancelled);
    - an active renewal exists: nothing (each deployment moves to the renewal at its next
      check-in; offline deployments need a re-issue by staff, see `licenses_reissue_for_contract`);
    - expired, grace period running: nothing (check-ins answer `grace`, tokens run to end + grace);
    - expired, grace over: active licenses become expired (reason contract_ended); check-ins
      answer 403 grace_expired.
    Idempotent; safe to call daily for every ended contract."""
    now = now or timezone.now()
    contract = Contract.objects.select_related("edition").get(pk=contract.pk)
    live = License.objects.filter(contract=contract, state=LicenseState.ACTIVE)
    changed = 0
    if contract.status == ContractStatus.CANCELLED:
        for license in live:
            license_revoke(
                actor=actor,
                license=license,
                reason=contract.cancel_reason,
                state_reason=LicenseReason.CONTRACT_CANCELLED,
            )
            changed += 1
        return changed
    if contract_in_force(contract).status == ContractStatus.ACTIVE:
        return 0
    if contract_window(contract, now) != Window.OVER:
        return 0
    for license in live:
        license_expire(actor=actor, license=license, reason=LicenseReason.CONTRACT_ENDED, now=now)
        changed += 1
    return changed


def licenses_follow_contract(
    sender: Any, *, contract: Contract, now: dt.datetime | None = None, **kwargs: Any
) -> int:
    """Receiver of contracts.signals.contract_ended (connected in licenses.apps): the licenses of an
    ended contract follow it. Returns how many changed."""
    return licenses_expire_for_contract(actor=None, contract=contract, now=now)


@transaction.atomic
def licenses_reissue_for_contract(*, actor: Actor, contract: Contract) -> list[License]:
    """Re-issue every live license bound to `contract` under its current contract (after a renewal
    or a change of modules), e.g. for offline deployments that cannot check in."""
    issued = []
    deployments = Deployment.objects.filter(
        licenses__contract=contract, licenses__state=LicenseState.ACTIVE, deactivated_at__isnull=True
    ).distinct()
    for deployment in deployments:
        issued.append(
            license_issue(actor=actor, deployment=deployment, reason=LicenseReason.ENTITLEMENT_CHANGED)
        )
    return issued


def licenses_expire_lapsed(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Nightly: active licenses whose token has passed `exp` become expired (token_lapsed, or
    contract_ended when no contract entitles the deployment any more). Returns the count."""
    now = now or timezone.now()
    count = 0
    ids = list(
        License.objects.filter(state=LicenseState.ACTIVE, expires_at__lte=now).values_list("pk", flat=True)[
            :batch
        ]
    )
    for pk in ids:
        with transaction.atomic():
            license = License.objects.select_related("contract__edition").get(pk=pk)
            window = contract_window(contract_in_force(license.contract), now)
            reason = LicenseReason.CONTRACT_ENDED if window == Window.OVER else LicenseReason.TOKEN_LAPSED
            license_expire(actor=None, license=license, reason=reason, now=now)
            count += 1
    return count
