"""CSV downloads of the admin reports: UTF-8 with a BOM (Excel shows Chinese correctly), plain decimals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse

# A cell that starts like a formula is run by Excel/LibreOffice; names come from the public form.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that would be read as a formula gets a leading apostrophe; numbers and dates pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_bytes(
    columns: Sequence[Any], rows: Iterable[Sequence[Any]], preamble: Iterable[Sequence[Any]] = ()
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in preamble:
        writer.writerow([safe_cell(str(v)) for v in line])
    writer.writerow([safe_cell(str(c)) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_download(
    filename: str,
    columns: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    preamble: Iterable[Sequence[Any]] = (),
) -> HttpResponse:
    return download(csv_bytes(columns, rows, preamble), filename, "text/csv; charset=utf-8")
