"""Error codes of the customers app; always raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from enum import StrEnum


class CustomerError(StrEnum):
    INVALID_INPUT = "invalid_input"
    INVALID_TRANSITION = "invalid_transition"
    LAST_OWNER = "last_owner"
    ALREADY_MEMBER = "already_member"
    INVITATION_CLOSED = "invitation_closed"
    INVITATION_INVALID = "invitation_invalid"
    INVITATION_REVOKED = "invitation_revoked"
    INVITATION_USED = "invitation_used"
    INVITATION_EXPIRED = "invitation_expired"
    INVITATION_EMAIL_MISMATCH = "invitation_email_mismatch"
    INQUIRY_NOT_WON = "inquiry_not_won"
    INQUIRY_NO_EDITION = "inquiry_no_edition"
    CUSTOMER_OF_OTHER_PARTNER = "customer_of_other_partner"
    DEAL_PROTECTED_ELSEWHERE = "deal_protected_elsewhere"
    FORBIDDEN = "forbidden"
    LAST_ADMIN = "last_admin"
    NOT_FOUND = "not_found"
    PARTNER_INACTIVE = "partner_inactive"
    REASON_REQUIRED = "reason_required"
    MFA_REQUIRED = "mfa_required"
