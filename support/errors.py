"""Error codes of the support app; always raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from enum import StrEnum


class SupportError(StrEnum):
    INVALID_INPUT = "invalid_input"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    INVALID_TRANSITION = "invalid_transition"
    TICKET_CLOSED = "ticket_closed"
    NOT_RESOLVED = "not_resolved"
    ALREADY_RATED = "already_rated"
    INVALID_ATTACHMENT = "invalid_attachment"
    MESSAGE_TOO_LARGE = "message_too_large"
    ALREADY_HANDLED = "already_handled"
    UNKNOWN_SENDER = "unknown_sender"
    MACRO_INACTIVE = "macro_inactive"
