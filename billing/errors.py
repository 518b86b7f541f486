"""Error codes of the billing app; always raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from portal.core.errors import ApplicationError


class BillingError(StrEnum):
    INVALID_INPUT = "invalid_input"
    INVALID_TRANSITION = "invoice_invalid_transition"
    IMMUTABLE = "invoice_immutable"
    NOT_DRAFT = "invoice_not_draft"
    EMPTY = "invoice_empty"
    NEGATIVE_TOTAL = "invoice_total_not_positive"
    SELLER_NOT_CONFIGURED = "seller_not_configured"
    NO_EXCHANGE_RATE = "exchange_rate_missing"
    HAS_PAYMENTS = "invoice_has_payments"
    HAS_CREDIT_NOTES = "invoice_has_credit_notes"
    NOTHING_TO_CREDIT = "nothing_to_credit"
    CREDIT_EXCEEDS = "credit_exceeds_invoice"
    NOT_PAYABLE = "invoice_not_payable"
    CURRENCY_MISMATCH = "currency_mismatch"
    OVER_ALLOCATION = "allocation_exceeds_balance"
    PAYMENT_EXHAUSTED = "payment_fully_allocated"
    APPEND_ONLY = "append_only"
    STRIPE_DISABLED = "stripe_disabled"
    STRIPE_ERROR = "stripe_error"
    SIGNATURE_INVALID = "signature_invalid"
    PAYMENT_UNAVAILABLE = "online_payment_unavailable"
    PROVIDER_ERROR = "payment_provider_error"
    REFUND_NOT_POSSIBLE = "refund_not_possible"
    STATEMENT_UNREADABLE = "statement_unreadable"
    STATEMENT_LINE_STATE = "statement_line_state"
    FAPIAO_IMPORT_INVALID = "fapiao_import_invalid"
    NOT_BILLABLE = "contract_not_billable"
    EXPORT_TOO_LARGE = "export_too_large"
    EXPORT_NOT_READY = "export_not_ready"
    QUOTE_INVALID_TRANSITION = "quote_invalid_transition"
    QUOTE_EXPIRED = "quote_expired"
    QUOTE_DISCOUNT_NOT_APPROVED = "quote_discount_not_approved"
    QUOTE_CONTRACT_CONFLICT = "quote_contract_conflict"
    QUOTE_EMPTY = "quote_empty"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    CONTRACT_NOT_ACTIVE = "contract_not_active"
    MODULE_ALREADY_ADDED = "module_already_added"
    MODULE_NOT_OFFERED = "module_not_offered"
    MODULE_NOT_PRICED = "module_not_priced"
    NOT_SOLD_ONLINE = "not_sold_online"


def billing_error(code: BillingError, detail: Any, *, status: int = 409, **extra: Any) -> ApplicationError:
    return ApplicationError(code, str(detail), status=status, extra=extra or None)
