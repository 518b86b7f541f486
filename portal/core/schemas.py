"""What every API schema shares, so that bad input is refused by the schema (422) before it reaches a
query: ids, references by id or number, and paging.

- `Id`: an object's id in a path, a query filter or a body. ASCII digits only (Python's `isdigit()` and
  `int()` also take "٣" and choke on "³"), 1 to the largest bigint, so a lookup can never overflow.
- `IdOrNumber`: the same, or a document number such as CT-2026-000123 (contracts are addressed both ways).
- `refuse_nul`: no text anywhere in a request (query, JSON body) may hold U+0000, which PostgreSQL
  cannot store or compare; the API's parser (portal.core.api) applies it to every request, and a
  schema parsed outside ninja (the check-in fast path) refuses it with `contains_nul` itself.
- `Day`, `Moment`: dates and times between 1900 and 2999, with a UTC offset of at most ±14:00 (pydantic
  takes years 1–9999 and offsets to ±23:59; PostgreSQL refuses offsets past ±15:59, and date arithmetic
  or the conversion to Asia/Shanghai overflows at the ends of Python's range).
- `Paging`: the limit/offset pagination of every list, bounded by API_PAGE_MAX_LIMIT and
  API_PAGE_MAX_OFFSET; out of range is 422, not a silent clamp and not a database error.

A PATCH field that may be left out but has no empty value in the database is declared without None in
its type and with None as its default (`name: str = Field(None, max_length=200)`): pydantic does not
validate defaults, so leaving it out changes nothing (the API reads the body with exclude_unset), while
an explicit `null` is 422. Only fields the database can hold empty say `T | None`.
"""

import datetime as dt
import re
from typing import Annotated, Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, BeforeValidator, StringConstraints

from portal.core.errors import ApplicationError, CoreError

BIGINT_MAX = 2**63 - 1  # every primary key here is a bigint (DEFAULT_AUTO_FIELD) or smaller
INT_MAX = 2**31 - 1  # PositiveIntegerField and friends
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def _ascii_digits(value: Any) -> Any:
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise ValueError("An id is a whole number written in ASCII digits.")
        return int(value)
    return value


# The bounds come before the validator so that the OpenAPI schema shows them as minimum/maximum.
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX), BeforeValidator(_ascii_digits)]


def _id_or_number(value: str) -> str:
    if _DIGITS.fullmatch(value):
        if not 1 <= int(value) <= BIGINT_MAX:
            raise ValueError("An id is between 1 and 9223372036854775807.")
        return str(int(value))
    if not _NUMBER.fullmatch(value):
        raise ValueError("Give an id (ASCII digits) or a number such as CT-2026-000123.")
    return value.upper()


IdOrNumber = Annotated[
    str,
    StringConstraints(min_length=1, max_length=30, pattern=r"^([0-9]+|[A-Za-z][A-Za-z0-9-]*)$"),
    AfterValidator(_id_or_number),
]


FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
MAX_UTC_OFFSET = dt.timedelta(hours=14)  # Kiribati; no place on Earth is further from UTC


def _day_in_range(value: dt.date) -> dt.date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError("A date is between 1900-01-01 and 2999-12-31.")
    return value


def _moment_in_range(value: dt.datetime) -> dt.datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("A UTC offset is between -14:00 and +14:00.")
    _day_in_range(value.date())
    return value


Day = Annotated[dt.date, AfterValidator(_day_in_range)]
Moment = Annotated[dt.datetime, AfterValidator(_moment_in_range)]


def contains_nul(value: Any) -> bool:
    """Whether a string in `value` (dict keys included, at any depth) holds U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


def refuse_nul(value: Any) -> Any:
    """`value` unchanged, or 422 invalid_input when text in it holds a NUL."""
    if contains_nul(value):
        raise ApplicationError(
            CoreError.INVALID_INPUT, "Text may not contain NUL (U+0000) characters.", status=422
        )
    return value


def filter_values(filters: Schema) -> dict[str, Any]:
    """A list endpoint's filter schema as the selector's `filters` dict, enum members as their values."""
    return {k: (v.value if hasattr(v, "value") else v) for k, v in filters.dict().items()}


class Paging(LimitOffsetPagination):
    """`?limit=&offset=` → `{"count", "items"}`, with both bounds in the OpenAPI schema."""

    class Input(Schema):
        limit: int = Field(settings.API_PAGE_SIZE, ge=1, le=settings.API_PAGE_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=settings.API_PAGE_MAX_OFFSET)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=settings.API_PAGE_MAX_LIMIT, **kwargs)

    def paginate_queryset(
        self,
        queryset: QuerySet[Any],
        pagination: Input,  # type: ignore[override]  # ninja's Input, narrowed to this class's Input
        request: HttpRequest,
        **params: Any,
    ) -> dict[str, Any]:
        offset, limit = pagination.offset, pagination.limit
        return {"items": queryset[offset : offset + limit], "count": self._items_count(queryset)}
