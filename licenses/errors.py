"""Error codes of the licenses app (DESIGN §5), raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from portal.core.errors import ApplicationError


class LicenseError(StrEnum):
    INVALID_INPUT = "invalid_input"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    ACTIVATION_CODE_INVALID = "activation_code_invalid"
    ACTIVATION_CODE_EXHAUSTED = "activation_code_exhausted"
    CONTRACT_INACTIVE = "contract_inactive"
    TOKEN_INVALID = "token_invalid"
    MACHINE_MISMATCH = "machine_mismatch"
    LICENSE_REVOKED = "license_revoked"
    GRACE_EXPIRED = "grace_expired"
    RATE_LIMITED = "rate_limited"
    INVALID_TRANSITION = "invalid_transition"
    NO_SIGNING_KEY = "no_signing_key"
    DEPLOYMENT_INACTIVE = "deployment_inactive"
    MACHINE_UNKNOWN = "machine_unknown"
    MOVE_LIMIT_REACHED = "move_limit_reached"
    MOVE_NOT_POSSIBLE = "move_not_possible"
    FORBIDDEN = "forbidden"
    ARCHIVE_TYPE_INVALID = "archive_type_invalid"
    TICKET_NOT_FOUND = "ticket_not_found"


_STATUS: dict[LicenseError, int] = {
    LicenseError.INVALID_INPUT: 400,
    LicenseError.PAYLOAD_TOO_LARGE: 413,
    LicenseError.ACTIVATION_CODE_INVALID: 404,
    LicenseError.ACTIVATION_CODE_EXHAUSTED: 409,
    LicenseError.CONTRACT_INACTIVE: 410,
    LicenseError.TOKEN_INVALID: 401,
    LicenseError.MACHINE_MISMATCH: 403,
    LicenseError.LICENSE_REVOKED: 403,
    LicenseError.GRACE_EXPIRED: 403,
    LicenseError.RATE_LIMITED: 429,
    LicenseError.INVALID_TRANSITION: 409,
    LicenseError.NO_SIGNING_KEY: 503,
    LicenseError.DEPLOYMENT_INACTIVE: 409,
    LicenseError.MACHINE_UNKNOWN: 400,
    LicenseError.MOVE_LIMIT_REACHED: 429,
    LicenseError.MOVE_NOT_POSSIBLE: 409,
    LicenseError.FORBIDDEN: 403,
    LicenseError.ARCHIVE_TYPE_INVALID: 415,
    LicenseError.TICKET_NOT_FOUND: 404,
}

_DETAIL = {
    LicenseError.INVALID_INPUT: _("The request is not valid."),
    LicenseError.PAYLOAD_TOO_LARGE: _("The request body is too large."),
    LicenseError.ACTIVATION_CODE_INVALID: _("This activation code does not exist or has been revoked."),
    LicenseError.ACTIVATION_CODE_EXHAUSTED: _(
        "This activation code has no deployments left; ask your account manager for more."
    ),
    LicenseError.CONTRACT_INACTIVE: _("The contract behind this code is not active."),
    LicenseError.TOKEN_INVALID: _("The license is not a valid license of this vendor."),
    LicenseError.MACHINE_MISMATCH: _("The license belongs to another machine."),
    LicenseError.LICENSE_REVOKED: _("The license has been revoked."),
    LicenseError.GRACE_EXPIRED: _("The contract has ended and its grace period is over."),
    LicenseError.RATE_LIMITED: _("Too many requests; retry later."),
    LicenseError.INVALID_TRANSITION: _("This change is not allowed in the current state."),
    LicenseError.NO_SIGNING_KEY: _("No signing key is available."),
    LicenseError.DEPLOYMENT_INACTIVE: _("The deployment has been deactivated."),
    LicenseError.MOVE_LIMIT_REACHED: _(
        "This license has been moved too often recently; ask your account manager to move it."
    ),
    LicenseError.MOVE_NOT_POSSIBLE: _(
        "This deployment was not activated with a code; ask your account manager to move it."
    ),
    LicenseError.FORBIDDEN: _("This license may not do that."),
    LicenseError.ARCHIVE_TYPE_INVALID: _("The file is not a tar.gz or zip archive."),
    LicenseError.TICKET_NOT_FOUND: _("No ticket with this number belongs to this customer."),
}


def license_error(
    code: LicenseError,
    detail: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ApplicationError:
    return ApplicationError(
        code,
        str(detail if detail is not None else _DETAIL[code]),
        status=_STATUS[code],
        headers=headers,
        extra=extra,
    )
