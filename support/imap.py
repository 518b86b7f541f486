"""Reading the support mailbox over IMAP (imap-tools): the one seam to the mail server.

New (unseen) messages are read oldest first; each is handed to support.services.inbound and then
marked seen (and moved to SUPPORT_IMAP_PROCESSED_FOLDER when set). A message above
SUPPORT_INBOUND_MAIL_MAX_BYTES is judged by its headers and size alone, without downloading it. A
message whose handling fails stays unseen and is tried again next minute; one handled twice (the
mark was lost) changes nothing the second time, since its Message-ID is already recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags

from support.models import InboundSource
from support.services.inbound import inbound_mail_process, inbound_mail_refuse_oversized, inbound_max_bytes
from support.services.sla import job_lock

logger = logging.getLogger(__name__)

FETCH_LOCK_KEY = 0x5E1A_3A11  # pg advisory lock: one mailbox reader at a time across all workers
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str  # "ssl", "starttls" or "none"
    user: str
    password: str
    folder: str

    @property
    def safe(self) -> str:
        return f"{self.security}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_imap_url(url: str) -> ImapConfig:
    """imaps://user:password@host:993/INBOX (TLS), imap+starttls://…:143/…, imap://… (loopback/tests)."""
    parts = urlsplit(url)
    security = {"imaps": "ssl", "imap+starttls": "starttls", "imap": "none"}.get(parts.scheme)
    if security is None or not parts.hostname or not parts.username:
        raise ValueError("SUPPORT_IMAP_URL must look like imaps://user:password@host:993/INBOX")
    return ImapConfig(
        host=parts.hostname,
        port=parts.port or (993 if security == "ssl" else 143),
        security=security,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def connect(config: ImapConfig) -> BaseMailBox:
    mailbox_class: Any = {"ssl": MailBox, "starttls": MailBoxStartTls, "none": MailBoxUnencrypted}[
        config.security
    ]
    mailbox = mailbox_class(config.host, config.port, timeout=TIMEOUT_SECONDS)
    return mailbox.login(config.user, config.password, initial_folder=config.folder)


def _raw_message(mailbox: BaseMailBox, uid: str) -> bytes:
    status, data = mailbox.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise RuntimeError(f"IMAP FETCH {uid} answered {status}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    raise RuntimeError(f"IMAP FETCH {uid} returned no message")


def imap_fetch(*, url: str = "", limit: int | None = None) -> dict[str, int]:
    """Read and handle up to `limit` (SUPPORT_IMAP_BATCH) new messages; counts of what became of them."""
    config = parse_imap_url(url or settings.SUPPORT_IMAP_URL)
    limit = limit or getattr(settings, "SUPPORT_IMAP_BATCH", 50)
    processed_folder = getattr(settings, "SUPPORT_IMAP_PROCESSED_FOLDER", "")
    stats = {"read": 0, "duplicates": 0, "failed": 0}
    with job_lock(FETCH_LOCK_KEY) as acquired:
        if not acquired:
            logger.info("imap_fetch: another worker is reading %s", config.safe)
            return stats
        with connect(config) as mailbox:
            for uid in mailbox.uids(AND(seen=False))[:limit]:
                try:
                    head = next(mailbox.fetch(uid_list=[uid], headers_only=True, mark_seen=False), None)
                    if head is None:
                        continue
                    if head.size_rfc822 > inbound_max_bytes():
                        outcome = inbound_mail_refuse_oversized(
                            raw_start=head.obj.as_bytes(), size=head.size_rfc822, source=InboundSource.IMAP
                        )
                    else:
                        outcome = inbound_mail_process(
                            raw=_raw_message(mailbox, uid), source=InboundSource.IMAP
                        )
                except Exception:  # one bad message must not stop the mailbox; it is retried next run
                    logger.exception("imap_fetch: message %s of %s failed", uid, config.safe)
                    stats["failed"] += 1
                    continue
                mailbox.flag(uid, MailMessageFlags.SEEN, True)
                if processed_folder:
                    mailbox.move(uid, processed_folder)
                stats["read"] += 1
                if outcome.duplicate:
                    stats["duplicates"] += 1
                else:
                    stats[outcome.inbound.status] = stats.get(outcome.inbound.status, 0) + 1
    return stats
