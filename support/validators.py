"""Attachment limits, shared by the portal form, admin and the services (which have the last word)."""

from __future__ import annotations

import mimetypes
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

DEFAULT_EXTENSIONS = [
    ".txt",
    ".log",
    ".md",
    ".csv",
    ".json",
    ".yaml",
    ".yml",
    ".xml",
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".zip",
    ".gz",
    ".tgz",
    ".tar",
    ".7z",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".har",
    ".pcap",
]
_EXTRA_TYPES = {
    ".log": "text/plain",
    ".md": "text/markdown",
    ".yaml": "text/yaml",
    ".yml": "text/yaml",
    ".har": "application/json",
    ".pcap": "application/vnd.tcpdump.pcap",
    ".7z": "application/x-7z-compressed",
}


def attachment_max_bytes() -> int:
    return getattr(settings, "SUPPORT_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)


def attachment_max_files() -> int:
    return getattr(settings, "SUPPORT_ATTACHMENT_MAX_FILES", 10)


def attachment_extensions() -> list[str]:
    return [e.lower() for e in getattr(settings, "SUPPORT_ATTACHMENT_EXTENSIONS", DEFAULT_EXTENSIONS)]


def attachment_content_type(filename: str) -> str:
    """Derived from the (allowed) extension, never trusted from the client."""
    suffix = PurePath(filename).suffix.lower()
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(filename)[0] or "application/octet-stream"


def validate_attachment(upload: Any) -> None:
    name = PurePath(getattr(upload, "name", "") or "").name
    suffix = PurePath(name).suffix.lower()
    if not name or suffix not in attachment_extensions():
        raise ValidationError(
            _("%(name)s: this file type is not accepted. Allowed: %(types)s.")
            % {"name": name or "?", "types": ", ".join(attachment_extensions())},
            code="file_type",
        )
    if upload.size > attachment_max_bytes():
        raise ValidationError(
            _("%(name)s is larger than %(limit)s.")
            % {"name": name, "limit": filesizeformat(attachment_max_bytes())},
            code="file_size",
        )
    if upload.size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name}, code="file_empty")


def validate_attachments(uploads: list[Any]) -> None:
    if len(uploads) > attachment_max_files():
        raise ValidationError(
            _("At most %(n)d files per message.") % {"n": attachment_max_files()}, code="too_many_files"
        )
    for upload in uploads:
        validate_attachment(upload)
