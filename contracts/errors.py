"""Error codes of the contracts app; always raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from enum import StrEnum


class ContractError(StrEnum):
    INVALID_INPUT = "invalid_input"
    INVALID_STATE = "invalid_state"
    INVALID_TRANSITION = "invalid_transition"
    NOT_DRAFT = "contract_not_draft"
    CONTRACT_NOT_ACTIVE = "contract_not_active"
    INVALID_TRIAL_LENGTH = "invalid_trial_length"
    MODULE_NOT_OFFERED = "module_not_offered"
    NOT_SAAS = "not_saas"
    SAAS_ALREADY_STARTED = "saas_already_started"
    TRIAL_ALREADY_CONVERTED = "trial_already_converted"
    TRIAL_ALREADY_USED = "trial_already_used"
    TRIAL_NOT_OFFERED = "trial_not_offered"
    TRIAL_NOT_RUNNING = "trial_not_running"
