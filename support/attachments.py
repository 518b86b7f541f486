"""Ticket attachments as HTTP responses, for the portal (public messages) and the admin (all)."""

from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import get_object_or_404

from support.models import TicketAttachment


def attachment_response(*, ticket_id: int, attachment_id: int, internal: bool) -> FileResponse:
    qs = TicketAttachment.objects.select_related("message").filter(message__ticket_id=ticket_id)
    if not internal:
        qs = qs.filter(message__is_internal=False)
    attachment = get_object_or_404(qs, pk=attachment_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
