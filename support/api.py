"""Support endpoints of the API: inbound mail posted by a mail provider (the alternative to IMAP)."""

import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from portal.core.errors import ApplicationError
from support.errors import SupportError
from support.models import InboundSource
from support.services.inbound import inbound_mail_process, inbound_mail_refuse_oversized, inbound_max_bytes

router = Router(tags=["support"])

SECRET_HEADER = "X-Inbound-Mail-Secret"
READ_CHUNK = 1024 * 1024


class InboundMailOut(Schema):
    id: int
    status: str
    duplicate: bool
    ticket: str | None = None


class ErrorOut(Schema):
    detail: str
    code: str


def _check_secret(request: HttpRequest) -> None:
    secret = getattr(settings, "SUPPORT_INBOUND_MAIL_SECRET", "")
    if not secret:
        raise ApplicationError(SupportError.NOT_FOUND, "Not found.", status=404)  # the endpoint is off
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApplicationError(
            SupportError.FORBIDDEN, _("Wrong or missing %(header)s.") % {"header": SECRET_HEADER}, status=403
        )


def _read_limited(request: HttpRequest, limit: int) -> bytes:
    """At most limit + 1 bytes of the body, read from the stream (never the whole of a huge upload)."""
    chunks, total = [], 0
    while total <= limit:
        chunk = request.read(min(READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


@router.post(
    "/support/inbound-mail",
    auth=None,
    response={200: InboundMailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut},
    summary="Receive a support e-mail (raw RFC 822)",
)
def inbound_mail(request: HttpRequest) -> Status[Any]:
    """The raw message as the request body (Content-Type message/rfc822), authenticated by the shared
    secret in the X-Inbound-Mail-Secret header. Answers what became of it: a new ticket (`created`), a
    message on a ticket (`appended`), `triage`, `ignored` (auto-reply, bounce, loop) or `refused` (with a
    reply to the sender). Posting the same message again answers `duplicate: true` and changes nothing.
    A message over SUPPORT_INBOUND_MAIL_MAX_BYTES answers 413 after the sender has been told."""
    _check_secret(request)
    limit = inbound_max_bytes()
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    raw = _read_limited(request, limit)
    if declared > limit or len(raw) > limit:
        inbound_mail_refuse_oversized(
            raw_start=raw[: 256 * 1024], size=max(declared, len(raw)), source=InboundSource.HTTP
        )
        raise ApplicationError(
            SupportError.MESSAGE_TOO_LARGE,
            _("The message is larger than %(limit)d bytes; the sender has been told.") % {"limit": limit},
            status=413,
        )
    if not raw.strip():
        raise ApplicationError(SupportError.INVALID_INPUT, _("The body must be the raw RFC 822 message."))
    outcome = inbound_mail_process(raw=raw, source=InboundSource.HTTP)
    inbound = outcome.inbound
    return Status(
        200,
        {
            "id": inbound.pk,
            "status": inbound.status,
            "duplicate": outcome.duplicate,
            "ticket": inbound.ticket.number if inbound.ticket is not None else None,
        },
    )
