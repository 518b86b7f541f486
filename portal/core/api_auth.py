"""Authentication for the integration API: staff bearer tokens, or a staff browser session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from portal.core.actors import Actor
from portal.core.errors import ApplicationError, CoreError
from portal.core.mfa import staff_mfa_missing
from portal.core.services import api_token_authenticate

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class StaffTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        user = api_token.user
        if not user.is_staff:
            raise ApplicationError(CoreError.FORBIDDEN, "API tokens must belong to staff users.", status=403)
        request.api_token = api_token  # type: ignore[attr-defined]
        user._audit_via = "api"  # type: ignore[attr-defined]  # read by audit(): the write came by the API
        return api_token


class StaffSessionAuth(SessionAuth):
    """A logged-in staff member's browser session (CSRF-checked). Customers get 403, not 401; so do
    staff who must use two-factor authentication and have not set it up: what /admin/ requires, the
    API requires (tokens are made by staff who passed it)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        if not user.is_staff:
            raise ApplicationError(
                CoreError.FORBIDDEN, "This API is for staff and integrations only.", status=403
            )
        if staff_mfa_missing(user):
            raise ApplicationError(
                CoreError.MFA_REQUIRED,
                "Set up two-factor authentication in the back office before using the API with this session.",
                status=403,
            )
        return user


staff_auth = [StaffTokenAuth(), StaffSessionAuth()]


def actor_of(request: HttpRequest) -> Actor:
    """The user to record in the audit trail for this request."""
    token = getattr(request, "api_token", None)
    if token is not None:
        return cast("User", token.user)
    user = request.user
    user._audit_via = "api"  # type: ignore[union-attr]  # read by audit(): the write came by the API
    return user


def require_write(request: HttpRequest) -> None:
    token = getattr(request, "api_token", None)
    if token is not None and token.scope != "write":
        raise ApplicationError(
            CoreError.FORBIDDEN, "This token has read scope; writing needs a write token.", status=403
        )
