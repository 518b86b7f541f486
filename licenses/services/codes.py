"""Activation codes: create, reveal, revoke.

Codes are 25 characters of Crockford base32 (125 random bits) in groups of five,
e.g. `7KQ2M-…`: easy to read out over the phone (no I, L, O, U; those typed by mistake are mapped),
impossible to guess.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from contracts.models import Contract, ContractStatus
from licenses import keys
from licenses.errors import LicenseError, license_error
from licenses.models import ActivationCode
from portal.core.actors import Actor, actor_user
from portal.core.services import audit

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 25
GROUP = 5
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def generate_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalize_code(value: Any) -> str | None:
    """The canonical form of what a customer typed, or None when it cannot be a code."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    raw = "".join(ch for ch in value.upper() if ch not in "- \t").translate(_TYPO)
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return raw


def default_max_deployments(contract: Contract) -> int:
    edition = contract.edition
    return max(1, (edition.production_deployments or 0) + (edition.staging_deployments or 0))


@transaction.atomic
def activation_code_create(
    *, actor: Actor, contract: Contract, max_deployments: int | None = None, note: str = ""
) -> tuple[ActivationCode, str]:
    """A new code for the contract; returns it with the plain code (also retrievable later)."""
    if contract.status not in {ContractStatus.DRAFT, ContractStatus.ACTIVE}:
        raise license_error(LicenseError.CONTRACT_INACTIVE)
    if max_deployments is None:
        max_deployments = default_max_deployments(contract)
    if max_deployments < 1:
        raise license_error(LicenseError.INVALID_INPUT, extra={"errors": {"max_deployments": [">= 1"]}})
    plain = generate_code()
    normalized = normalize_code(plain)
    assert normalized is not None
    code = ActivationCode.objects.create(
        contract=contract,
        code_digest=ActivationCode.digest(normalized),
        code_encrypted=keys.encrypt(plain.encode()),
        code_hint=plain[-4:],
        max_deployments=max_deployments,
        note=note[:200],
        created_by=actor_user(actor),
    )
    audit(
        actor=actor,
        action="activation_code.create",
        target=code,
        data={"contract": contract.number, "max_deployments": max_deployments},
    )
    return code, plain


def activation_code_reveal(code: ActivationCode) -> str:
    """The plain code, for staff and for the customer's portal pages."""
    return keys.decrypt(code.code_encrypted).decode()


@transaction.atomic
def activation_code_update(*, actor: Actor, code: ActivationCode, max_deployments: int) -> ActivationCode:
    code = ActivationCode.objects.select_for_update().get(pk=code.pk)
    if max_deployments < 1:
        raise license_error(LicenseError.INVALID_INPUT, extra={"errors": {"max_deployments": [">= 1"]}})
    before = code.max_deployments
    code.max_deployments = max_deployments
    code.save(update_fields=["max_deployments"])
    audit(
        actor=actor,
        action="activation_code.update",
        target=code,
        data={"max_deployments": [before, max_deployments]},
    )
    return code


@transaction.atomic
def activation_code_revoke(*, actor: Actor, code: ActivationCode, reason: str = "") -> ActivationCode:
    """No new deployment can use the code; deployments already activated keep their licenses."""
    code = ActivationCode.objects.select_for_update().get(pk=code.pk)
    if code.revoked_at is None:
        code.revoked_at = timezone.now()
        code.revoke_reason = reason[:300]
        code.save(update_fields=["revoked_at", "revoke_reason"])
        audit(actor=actor, action="activation_code.revoke", target=code, data={"reason": reason})
    return code
