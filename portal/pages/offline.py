"""The offline activation request file of air-gapped sites, as the portal reads it.

The offline activation request (format version 1) is a small JSON object the platform writes on the
air-gapped machine; the customer carries it to a connected computer, uploads it here and carries the
returned `.key` file back:

    {
      "format": "iot-platform-offline-request",   // optional; when present it must be this value
      "version": 1,                               // optional; 1 is the only version
      "machine_id": "3f9c0a…",                    // required: the platform's machine fingerprint
      "hostname": "scada-01",                     // optional
      "activation_code": "7KQ2M-…",               // first activation of this machine
      "current_license": "eyJhbGciOi…",           // renewal: the license the machine runs now
      "device_count": 812,                        // optional: devices connected right now
      "platform_version": "3.2.0",                // optional
      "created_at": "2026-05-01T08:00:00+08:00"   // optional, informational
    }

At most 16 KB; unknown keys are ignored, so newer platforms may add fields. The answer is the
license itself (the bare JWT, no trailing newline, as the platform's LicenseManager reads it). An
offline deployment's license runs to the contract end plus the grace period (DESIGN §4).

How a request is resolved, and the writes, are the licenses app's
(licenses.services.offline_activation_fulfil); this module reads the uploaded file.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from licenses import tokens
from licenses.services import OfflineRequest
from portal.core.errors import ApplicationError
from portal.pages.errors import PageError

REQUEST_FORMAT = "iot-platform-offline-request"
REQUEST_VERSION = 1
MAX_REQUEST_BYTES = 16 * 1024


def _invalid(detail: str) -> ApplicationError:
    return ApplicationError(PageError.INVALID_REQUEST_FILE, detail)


def _text(data: dict[str, Any], key: str, max_length: int) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(_("“%(key)s” must be a string.") % {"key": key})
    value = value.strip()
    if len(value) > max_length:
        raise _invalid(_("“%(key)s” is longer than %(n)d characters.") % {"key": key, "n": max_length})
    return value


def offline_request_parse(raw: bytes) -> OfflineRequest:
    """Validate an uploaded request file; ApplicationError(invalid_request_file) says what is wrong."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise _invalid(_("The file is larger than 16 KB."))
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise _invalid(_("The file is not a JSON activation request.")) from None
    if not isinstance(data, dict):
        raise _invalid(_("The file is not a JSON activation request."))
    if data.get("format", REQUEST_FORMAT) != REQUEST_FORMAT:
        raise _invalid(_("The file is not an offline activation request of the IoT Platform."))
    if data.get("version", REQUEST_VERSION) != REQUEST_VERSION:
        raise _invalid(_("This request format version is not supported; update the back office."))
    machine_id = _text(data, "machine_id", 128)
    if not machine_id or any(ch.isspace() for ch in machine_id):
        raise _invalid(_("The request has no valid “machine_id”."))
    device_count = data.get("device_count")
    if device_count is not None and (
        isinstance(device_count, bool) or not isinstance(device_count, int) or not 0 <= device_count < 2**31
    ):
        raise _invalid(_("“device_count” must be a whole number of devices."))
    return OfflineRequest(
        machine_id=machine_id,
        hostname=_text(data, "hostname", 255),
        activation_code=_text(data, "activation_code", 64),
        current_license=_text(data, "current_license", tokens.MAX_TOKEN_LENGTH),
        device_count=device_count,
        platform_version=_text(data, "platform_version", 50),
        created_at=_text(data, "created_at", 40),
    )


def example_request() -> str:
    return json.dumps(
        {
            "format": REQUEST_FORMAT,
            "version": REQUEST_VERSION,
            "machine_id": "3f9c0a6e5b2d4c1f",
            "hostname": "scada-01",
            "activation_code": "7KQ2M-XXXXX-XXXXX-XXXXX-XXXXX",
            "device_count": 812,
            "platform_version": "3.2.0",
        },
        indent=2,
    )
