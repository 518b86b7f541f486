"""Raw RFC 822 messages for the inbound-mail tests, built the way mail clients send them."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from django.utils import timezone


def raw_mail(
    *,
    sender: str = "alice@customer.example",
    to: str = "support@vendor.example",
    subject: str = "Gateway offline since this morning",
    body: str = "Our gateway GW-7 stopped reporting at 08:10.\n\nRegards,\nAlice",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes]] | None = None,
    html: str = "",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content in attachments or []:
        maintype, subtype = (
            ("text", "plain") if filename.endswith((".txt", ".log")) else ("application", "octet-stream")
        )
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def header(message: Any, name: str) -> str:
    value = message.extra_headers.get(name) if hasattr(message, "extra_headers") else message[name]
    return str(value or "")
