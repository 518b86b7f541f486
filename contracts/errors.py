"""Error codes of the contracts app; always raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from enum import StrEnum


class ContractError(StrEnum):
    INVALID_INPUT = "invalid_input"
    INVALID_STATE = "invalid_state"
    INVALID_TRANSITION = "invalid_transition"
    NOT_DRAFT = "contract_not_draft"
