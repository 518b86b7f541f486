"""Error codes of downloads and the registry token server, raised as portal.core.errors.ApplicationError."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from portal.core.errors import ApplicationError


class DownloadError(StrEnum):
    NOT_FOUND = "not_found"
    LINK_EXPIRED = "link_expired"
    NDA_NOT_ON_FILE = "nda_not_on_file"
    NDA_NOT_ACCEPTED = "nda_not_accepted"
    NDA_TERMS_MISSING = "nda_terms_missing"
    FILE_MISSING = "file_missing"
    ARCHIVE_INVALID = "archive_invalid"
    REGISTRY_DISABLED = "registry_disabled"
    REGISTRY_UNAUTHORIZED = "unauthorized"
    REGISTRY_SERVICE_UNKNOWN = "invalid_service"
    CREDENTIAL_REVOKED = "credential_revoked"


_STATUS: dict[DownloadError, int] = {
    DownloadError.NOT_FOUND: 404,
    DownloadError.LINK_EXPIRED: 410,
    DownloadError.NDA_NOT_ON_FILE: 403,
    DownloadError.NDA_NOT_ACCEPTED: 403,
    DownloadError.NDA_TERMS_MISSING: 503,
    DownloadError.FILE_MISSING: 503,
    DownloadError.ARCHIVE_INVALID: 503,
    DownloadError.REGISTRY_DISABLED: 503,
    DownloadError.REGISTRY_UNAUTHORIZED: 401,
    DownloadError.REGISTRY_SERVICE_UNKNOWN: 400,
    DownloadError.CREDENTIAL_REVOKED: 409,
}

_DETAIL = {
    DownloadError.NOT_FOUND: _("Not found."),
    DownloadError.LINK_EXPIRED: _(
        "This download link has expired; start the download again from the portal."
    ),
    DownloadError.NDA_NOT_ON_FILE: _(
        "Source code is delivered once the signed NDA is on file for your contract; "
        "please contact your account manager."
    ),
    DownloadError.NDA_NOT_ACCEPTED: _("Accept the confidentiality terms before downloading source code."),
    DownloadError.NDA_TERMS_MISSING: _(
        "The confidentiality terms are not available; please contact support."
    ),
    DownloadError.FILE_MISSING: _("This file is temporarily unavailable; please contact support."),
    DownloadError.ARCHIVE_INVALID: _("This archive cannot be prepared for download; please contact support."),
    DownloadError.REGISTRY_DISABLED: _("The image registry is not configured."),
    DownloadError.REGISTRY_UNAUTHORIZED: _("Invalid registry username or secret."),
    DownloadError.REGISTRY_SERVICE_UNKNOWN: _("Unknown registry service."),
    DownloadError.CREDENTIAL_REVOKED: _("This credential has already been revoked."),
}


def download_error(code: DownloadError, *, headers: dict[str, str] | None = None) -> ApplicationError:
    return ApplicationError(code, str(_DETAIL[code]), status=_STATUS[code], headers=headers)
