"""Real mail servers on loopback for the inbound-mail tests: Debian's Dovecot (IMAP) with its own
configuration and mail directory in a temporary folder, and an aiosmtpd sink that keeps what we send.

Dovecot runs in the foreground as a child of the test process and is stopped at teardown. As root (CI,
the dev machines) mail is stored as the `dovecot` system user, since Dovecot refuses uid 0 for mail;
otherwise everything runs as the current user."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAILBOX_USER = "support@vendor.example"
MAILBOX_PASSWORD = "imap-test-password"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


@dataclass
class Dovecot:
    port: int
    root: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"imap://{MAILBOX_USER.replace('@', '%40')}:{MAILBOX_PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def mailbox(self) -> Any:
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=30).login(MAILBOX_USER, MAILBOX_PASSWORD)

    def deliver(self, raw: bytes) -> None:
        """Put a message into INBOX, unseen, as the MTA would."""
        with self.mailbox() as mailbox:
            status, _data = mailbox.client.append("INBOX", None, None, raw)
            assert status == "OK", status

    def mark_all_unseen(self) -> None:
        from imap_tools import MailMessageFlags

        with self.mailbox() as mailbox:
            uids = mailbox.uids("ALL")
            if uids:
                mailbox.flag(uids, MailMessageFlags.SEEN, False)

    def unseen(self) -> int:
        from imap_tools import AND

        with self.mailbox() as mailbox:
            return len(mailbox.uids(AND(seen=False)))


def dovecot_available() -> bool:
    return Path(DOVECOT).exists()


def start_dovecot(root: Path) -> Dovecot:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (root / "run").mkdir(exist_ok=True)
    mail = root / "mail"
    mail.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("dovecot")
        os.chown(mail, owner.pw_uid, owner.pw_gid)
        users = ""  # the packaged defaults: dovecot / dovenull
        mail_user = f"uid={owner.pw_uid} gid={owner.pw_gid}"
    else:
        me = getpass.getuser()
        users = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
        mail_user = f"uid={os.getuid()} gid={os.getgid()}"
    (root / "passwd").write_text(f"{MAILBOX_USER}:{{PLAIN}}{MAILBOX_PASSWORD}\n")
    os.chmod(root, 0o755)
    (root / "passwd").chmod(0o644)
    config = root / "dovecot.conf"
    config.write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run/state
instance_name = test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{mail}/%u
{users}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = {mail_user} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "stderr.log", "wb"),  # noqa: SIM115 - kept open for the server's life
    )
    try:
        wait_for_port(port)
    except RuntimeError:
        process.kill()
        log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
        raise RuntimeError(f"dovecot did not start: {(root / 'stderr.log').read_text()} {log}") from None
    return Dovecot(port=port, root=root, process=process)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class SmtpSink:
    port: int
    controller: Any
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, (_f, rcpts) in zip(self.received, self.envelopes, strict=True) if address in rcpts]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sink.received.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def smtp_sink() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    port = free_port()
    sink = SmtpSink(port=port, controller=None)
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=port)
    sink.controller = controller
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
