"""Error codes of the customer pages' own rules; raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from enum import StrEnum


class PageError(StrEnum):
    INVALID_INPUT = "invalid_input"
    INVALID_REQUEST_FILE = "invalid_request_file"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    MFA_REQUIRED = "mfa_required"
