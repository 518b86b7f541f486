"""Mail is a job too: nothing sends mail inside a web request. A message is composed where it is
needed, stored in the outbox with the business change and sent by a worker (retried while the mail
server is down; sent once)."""

from __future__ import annotations

import base64
from email.mime.base import MIMEBase
from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives

from portal.core.jobs import enqueue_on_commit
from portal.core.models import Job

SEND_TASK = "portal.core.tasks.send_email"


def message_to_payload(message: EmailMessage) -> dict[str, Any]:
    """A JSON form of the message: text, alternatives and attachments (bytes as base64)."""
    attachments = []
    for attachment in message.attachments:
        if isinstance(attachment, MIMEBase):
            raise ValueError("MIME attachments are not supported in the outbox; attach (name, bytes, type)")
        name, content, mimetype = attachment
        raw = content.encode() if isinstance(content, str) else content
        attachments.append({"name": name, "content": base64.b64encode(raw).decode(), "mimetype": mimetype})
    return {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [[content, mimetype] for content, mimetype in getattr(message, "alternatives", [])],
        "attachments": attachments,
        "content_subtype": message.content_subtype,
    }


def payload_to_message(payload: dict[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        cc=payload["cc"],
        bcc=payload["bcc"],
        reply_to=payload["reply_to"],
        headers=payload["headers"],
    )
    message.content_subtype = payload.get("content_subtype", "plain")
    for content, mimetype in payload["alternatives"]:
        message.attach_alternative(content, mimetype)
    for attachment in payload["attachments"]:
        message.attach(attachment["name"], base64.b64decode(attachment["content"]), attachment["mimetype"])
    return message


def mail_enqueue(message: EmailMessage) -> Job:
    """Send `message` from a worker once the current transaction commits."""
    return enqueue_on_commit(SEND_TASK, message_to_payload(message))
