"""The staff two-factor rule, in the core so that every way into staff data applies the same one: the
admin and the portal (portal.pages.middleware) and the integration API's session auth."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings


def staff_mfa_required(user: Any) -> bool:
    """Staff (sales, finance, support: the back office) must use TOTP when PORTAL_STAFF_MFA_REQUIRED
    is on, which it is by default outside DEBUG."""
    return bool(settings.PORTAL_STAFF_MFA_REQUIRED and getattr(user, "is_staff", False))


def staff_mfa_missing(user: Any) -> bool:
    """Required for this staff member, and no authenticator app set up yet (so this session was opened
    with the password alone): one query, none for customers."""
    return staff_mfa_required(user) and not has_totp(user)


def has_totp(user: Any) -> bool:
    found: bool = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    return found
