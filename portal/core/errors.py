"""The one exception type business code raises; the API maps it to {"detail", "code"}."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class CoreError(StrEnum):
    """The codes the core itself raises (and the ones every app shares: an app's own Enum repeats a
    shared code such as "invalid_input" under its own name, the wire value is the same)."""

    INVALID_INPUT = "invalid_input"
    FORBIDDEN = "forbidden"
    MFA_REQUIRED = "mfa_required"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    DATABASE_UNAVAILABLE = "database_unavailable"
    SERVER_ERROR = "server_error"
    ERROR = "error"


class ApplicationError(Exception):
    """A business rule said no. `code` is stable (clients branch on it), `detail` is for humans; it is a
    member of the raising app's error Enum (`<app>/errors.py`, here CoreError)."""

    def __init__(
        self,
        code: StrEnum,
        detail: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code: str = str(code)
        self.detail = str(detail)
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def as_payload(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


def validation_error_to_application_error(exc: Any) -> ApplicationError:
    """Turn a django ValidationError (from model.clean()) into a 400 invalid_input."""
    if hasattr(exc, "message_dict"):
        errors = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        detail = "; ".join(
            f"{f}: {' '.join(m)}" if f != "__all__" else " ".join(m) for f, m in errors.items()
        )
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
        detail = " ".join(errors["__all__"])
    return ApplicationError(CoreError.INVALID_INPUT, detail, status=400, extra={"errors": errors})
