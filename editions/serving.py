"""Sending a stored file to the browser: by the web server (X-Accel-Redirect / X-Sendfile) when
DOWNLOADS_SERVE_MODE says so, else streamed by the application with single-range support (RFC 9110 §14):
206 + Content-Range for one satisfiable range, 416 for an unsatisfiable one, the whole file for anything
else (no Range, another unit, malformed, several ranges, or a stale If-Range)."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import Storage, default_storage, storages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from editions.models import ServeMode

CHUNK = 64 * 1024
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def downloads_storage() -> Storage:
    """STORAGES["downloads"] when configured (e.g. object storage), else the default storage."""
    return storages["downloads"] if "downloads" in settings.STORAGES else default_storage


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:400]


class Unsatisfiable(Exception):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str, size: int) -> ByteRange | None:
    """The one range to send, or None for the whole file; raises Unsatisfiable for a 416."""
    match = _RANGE_RE.match(header.strip().replace(" ", ""))
    if not match:
        return None  # another unit, several ranges or malformed: ignoring Range is always allowed
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid range-spec: the header is ignored
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(end, size - 1))


@dataclass(frozen=True)
class Served:
    response: HttpResponseBase
    status: int
    range: ByteRange | None
    bytes: int
    mode: str


def content_type_for(filename: str) -> str:
    content_type, encoding = mimetypes.guess_type(filename)
    if encoding in {"gzip", "bzip2", "xz"}:
        return {"gzip": "application/gzip", "bzip2": "application/x-bzip", "xz": "application/x-xz"}[encoding]
    return content_type or "application/octet-stream"


def serve_file(
    request: HttpRequest, *, storage_key: str, filename: str, size: int, sha256: str, mode: str | None = None
) -> Served:
    storage = downloads_storage()
    response: HttpResponseBase
    mode = mode if mode is not None else (settings.DOWNLOADS_SERVE_MODE or ServeMode.STREAM)
    etag = f'"{sha256}"' if sha256 else ""
    byte_range: ByteRange | None = None
    header = request.META.get("HTTP_RANGE", "")
    if_range = request.META.get("HTTP_IF_RANGE", "")
    if header and (not if_range or (etag and if_range.strip() == etag)):
        try:
            byte_range = parse_range(header, size)
        except Unsatisfiable:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            _common_headers(response, filename, etag)
            return Served(response, 416, None, 0, mode)

    status = 206 if byte_range else 200
    sent = byte_range.length if byte_range else size
    if mode == ServeMode.SENDFILE:
        try:
            path = storage.path(storage_key)
        except NotImplementedError:  # object storage has no local path: stream instead
            mode = ServeMode.STREAM
        else:
            response = HttpResponse(content_type=content_type_for(filename))
            response["X-Sendfile"] = path  # the web server handles Range itself
            _common_headers(response, filename, etag)
            return Served(response, status, byte_range, sent, mode)
    if mode == ServeMode.ACCEL:
        response = HttpResponse(content_type=content_type_for(filename))
        response["X-Accel-Redirect"] = settings.DOWNLOADS_ACCEL_PREFIX.rstrip("/") + "/" + quote(storage_key)
        _common_headers(response, filename, etag)
        return Served(response, status, byte_range, sent, mode)

    mode = ServeMode.STREAM
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type_for(filename))
        response["Content-Length"] = str(sent)
    elif byte_range is None:
        response = FileResponse(storage.open(storage_key, "rb"), content_type=content_type_for(filename))
        response["Content-Length"] = str(size)
    else:
        fh = storage.open(storage_key, "rb")
        response = StreamingHttpResponse(
            _iter_range(fh, byte_range.start, byte_range.length),
            status=206,
            content_type=content_type_for(filename),
        )
        response["Content-Length"] = str(byte_range.length)
    if byte_range is not None:
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    _common_headers(response, filename, etag)
    return Served(response, status, byte_range, 0 if request.method == "HEAD" else sent, mode)


def _common_headers(response: HttpResponseBase, filename: str, etag: str) -> None:
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(True, filename)  # type: ignore[assignment]  # never None for an attachment
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    if etag:
        response["ETag"] = etag


def _iter_range(fh: IO[bytes] | Any, start: int, length: int) -> Iterator[bytes]:
    try:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()
