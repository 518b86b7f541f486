"""Reading an RFC 822 message for the support desk (pure: no database, no settings).

What a ticket needs from a mail: who wrote, which ticket it answers (Message-ID, In-Reply-To,
References, the ticket number in the subject), whether a machine wrote it (auto-replies, bounces,
lists), the new text without the quoted history and the signature, and the attached files."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
TICKET_NUMBER = re.compile(r"\b(TK-\d{4}-\d{6,})\b")
CJK = re.compile(r"[\u3400-\u9fff]")
BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)

# Where the quoted history starts (the line itself and everything after it go).
_HISTORY = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*在.{0,200}写道\s*[:：]\s*$"),
    re.compile(
        r"^\s*-{2,}\s*(Original Message|Forwarded message|原始邮件|转发邮件|转发的邮件)\s*-{2,}", re.I
    ),
    re.compile(r"^\s*_{10,}\s*$"),
]
# An Outlook-style header block of the quoted mail: "From:" / "发件人:" followed by Sent/Date/To lines.
_QUOTED_FROM = re.compile(r"^\s*\*?(From|发件人)\s*\*?\s*[:：]", re.IGNORECASE)
_QUOTED_META = re.compile(r"^\s*\*?(Sent|Date|To|Subject|发送时间|日期|收件人|主题)\s*\*?\s*[:：]", re.I)
# Where the signature starts.
_SIGNATURE = [
    re.compile(r"^--\s?$"),
    re.compile(r"^\s*(Sent from my|Get Outlook for|发自我的|从我的.{0,20}发送)", re.IGNORECASE),
]


@dataclass
class MailAttachment:
    filename: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class ParsedMail:
    message_id: str
    from_address: str = ""
    from_name: str = ""
    subject: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""
    body: str = ""
    attachments: list[MailAttachment] = field(default_factory=list)
    machine: str = ""  # why a machine wrote it ("" for a person)
    loop_markers: list[str] = field(default_factory=list)  # X-Loop values
    size: int = 0

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, the most specific first."""
        seen: list[str] = []
        for message_id in [*self.in_reply_to, *reversed(self.references)]:
            if message_id not in seen:
                seen.append(message_id)
        return seen[:30]

    @property
    def ticket_number(self) -> str:
        match = TICKET_NUMBER.search(self.subject)
        return match.group(1) if match else ""

    @property
    def language(self) -> str:
        return "zh-hans" if CJK.search(f"{self.subject} {self.body}") else "en"

    @property
    def clean_subject(self) -> str:
        return SUBJECT_PREFIX.sub("", self.subject).strip()


def normalize_message_id(value: str, raw: bytes = b"") -> str:
    """The first <...> of a Message-ID header; without one, a stable id made from the raw bytes."""
    found = MESSAGE_ID.findall(value or "")
    if found and len(found[0]) <= 250:
        return found[0]
    digest = hashlib.sha256(raw or (value or "").encode()).hexdigest()
    return f"<{digest}@no-message-id.invalid>"


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a malformed header the parser chokes on
        value = message.get_all(name, failobj=[""])[0] if hasattr(message, "get_all") else ""
    return str(value or "").strip()


def _ids(value: str) -> list[str]:
    return [found for found in MESSAGE_ID.findall(value or "") if len(found) <= 250]


def machine_reason(message: EmailMessage, from_address: str) -> str:
    """Why this mail was written by a machine and must not open or change a ticket ("" for a person)."""
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _header(message, name):
            return name
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return "mailing list"
    local = from_address.split("@", 1)[0].lower()
    if local in BOUNCE_SENDERS:
        return f"bounce from {local}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    if _header(message, "Return-Path") == "<>":
        return "bounce (empty Return-Path)"
    return ""


class _TextExtractor:
    """HTML to plain text: block elements become line breaks, tags go, entities are decoded."""

    BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6]|p|div|li|tr)\b[^>]*>", re.IGNORECASE)
    DROP = re.compile(r"<\s*(script|style|head)\b.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
    QUOTE = re.compile(r"<\s*blockquote\b.*?<\s*/\s*blockquote\s*>", re.IGNORECASE | re.DOTALL)
    TAG = re.compile(r"<[^>]+>")

    @classmethod
    def text(cls, markup: str) -> str:
        markup = cls.DROP.sub("", markup)
        markup = cls.QUOTE.sub("\n> (quoted)\n", markup)  # quoted history in HTML mail
        markup = cls.BLOCK.sub("\n", markup)
        text = html.unescape(cls.TAG.sub("", markup)).replace("\xa0", " ")
        return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def trim_reply(text: str) -> str:
    """The new part of a reply: no quoted history, no signature. The whole text if nothing would stay."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        two = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else line
        if any(p.match(line) for p in _HISTORY) or (
            _HISTORY[0].match(two) and line.strip().lower().startswith("on ")
        ):
            break
        if _QUOTED_FROM.match(line) and any(_QUOTED_META.match(n) for n in lines[index + 1 : index + 4]):
            break
        if any(p.match(line) for p in _SIGNATURE):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    trimmed = "\n".join(kept).strip()
    trimmed = re.sub(r"\n{3,}", "\n\n", trimmed)
    return trimmed or text.strip()


def _body_part(message: EmailMessage, preference: tuple[str, ...] = ("plain", "html")) -> EmailMessage | None:
    try:
        return message.get_body(preferencelist=preference)  # type: ignore[return-value]
    except (KeyError, LookupError):
        return None


def _part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    return _TextExtractor.text(content) if part.get_content_type() == "text/html" else content


def _attachments(message: EmailMessage, body: EmailMessage | None) -> list[MailAttachment]:
    found = []
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        filename = part.get_filename()
        if not filename:
            continue  # an unnamed inline part (the HTML twin of the text, an embedded header image)
        content = part.get_payload(decode=True)
        if isinstance(content, bytes):
            found.append(
                MailAttachment(filename=filename.replace("/", "_").replace("\\", "_"), content=content)
            )
    return found


def parse_mail(raw: bytes) -> ParsedMail:
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    return _parsed(message, raw, with_body=True)


def parse_headers(raw_start: bytes, size: int) -> ParsedMail:
    """Just the headers (the start of a message too large to read whole)."""
    head = re.split(rb"\r?\n\r?\n", raw_start, maxsplit=1)[0] + b"\r\n\r\n"
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
    parsed = _parsed(message, head, with_body=False)
    parsed.size = size
    return parsed


def _parsed(message: EmailMessage, raw: bytes, *, with_body: bool) -> ParsedMail:
    senders = getaddresses([_header(message, "From")])
    name, address = senders[0] if senders else ("", "")
    address = address.strip().lower() if "@" in address else ""
    parsed = ParsedMail(
        message_id=normalize_message_id(_header(message, "Message-ID"), raw),
        from_address=address,
        from_name=name.strip()[:200],
        subject=re.sub(r"\s+", " ", _header(message, "Subject"))[:300],
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        machine=machine_reason(message, address),
        loop_markers=[str(v).strip().lower() for v in message.get_all("X-Loop", [])],
        size=len(raw),
    )
    if with_body:
        part = _body_part(message)
        parsed.text = _part_text(part).strip() if part is not None else ""
        if not parsed.text:  # an empty plain part next to the HTML one
            html_part = _body_part(message, ("html",))
            if html_part is not None and html_part is not part:
                part, parsed.text = html_part, _part_text(html_part).strip()
        parsed.body = trim_reply(parsed.text)
        parsed.attachments = _attachments(message, part)
    return parsed
