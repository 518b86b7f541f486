"""Support by mail against real servers on loopback: Dovecot for the mailbox the beat job reads, and an
aiosmtpd sink receiving what we send (acknowledgements, replies, refusals)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import imap, services
from support.models import InboundMail, InboundStatus, Ticket, TicketStatus
from tests.support.mails import raw_mail
from tests.support.mailservers import Dovecot, SmtpSink, dovecot_available, smtp_sink, start_dovecot, stop

pytestmark = pytest.mark.django_db

SUPPORT = "support@vendor.example"
ALICE = "alice@customer.example"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not dovecot_available():
        if os.environ.get("CI"):
            pytest.fail("dovecot is missing; CI installs dovecot-imapd (Makefile SYSTEM_PACKAGES_TEST)")
        pytest.skip("dovecot-imapd is not installed (make system-deps-test installs it)")
    # Not under pytest's tmp_path: its parents are private to root and Dovecot's mail processes run as
    # the dovecot user, which must reach the mail directory.
    root = Path(tempfile.mkdtemp(prefix="support-dovecot-"))
    server = start_dovecot(root)
    try:
        yield server
    finally:
        stop(server.process)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpSink]:
    sinks = smtp_sink()
    sink = next(sinks)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield sink
    sinks.close()


@pytest.fixture(autouse=True)
def mail_settings(settings: Any) -> None:
    settings.SUPPORT_MAIL_ADDRESS = SUPPORT


@pytest.fixture
def fetch(dovecot: Dovecot, django_capture_on_commit_callbacks: Any) -> Any:
    """One run of the beat job's work against the Dovecot mailbox (after-commit mail sent at once)."""

    def run() -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return imap.imap_fetch(url=dovecot.url)

    return run


def test_a_new_mail_opens_a_ticket_and_the_acknowledgement_is_delivered(
    dovecot, smtp, fetch, member, standard_contract
):
    dovecot.deliver(raw_mail(message_id="<imap-1@customer.example>"))
    stats = fetch()
    assert stats["read"] == 1 and stats["created"] == 1
    ticket = Ticket.objects.get()
    assert ticket.organization == standard_contract.organization and ticket.sla_policy is not None
    assert dovecot.unseen() == 0  # marked seen on the server

    [ack] = smtp.to(ALICE)
    assert ticket.number in ack["Subject"]
    assert ack["Reply-To"] == SUPPORT
    assert ack["In-Reply-To"] == "<imap-1@customer.example>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Message-ID"] and ack["Message-ID"] != "<imap-1@customer.example>"


def test_a_reply_threads_into_its_ticket(
    dovecot, smtp, fetch, member, standard_contract, agent, django_capture_on_commit_callbacks
):
    dovecot.deliver(raw_mail(message_id="<imap-2@customer.example>"))
    fetch()
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(
            actor=agent,
            ticket=ticket,
            body="Which firmware runs on GW-7?",
            status=TicketStatus.PENDING_CUSTOMER,
        )
    question = smtp.to(ALICE)[-1]
    assert "Which firmware" in question.get_body(("plain",)).get_content()

    dovecot.deliver(
        raw_mail(
            subject=f"Re: {question['Subject']}",
            body="Firmware 3.2.1.\n\n-- \nAlice",
            in_reply_to=question["Message-ID"],
            references=f"<imap-2@customer.example> {question['Message-ID']}",
        )
    )
    stats = fetch()
    assert stats["appended"] == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.messages.last().body == "Firmware 3.2.1."
    assert Ticket.objects.count() == 1


def test_an_auto_reply_is_ignored(dovecot, smtp, fetch, member, standard_contract):
    dovecot.deliver(
        raw_mail(
            subject="Automatic reply: out of office",
            body="I am out of the office until Monday.",
            headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        )
    )
    stats = fetch()
    assert stats["ignored"] == 1
    assert not Ticket.objects.exists()
    assert smtp.received == []


def test_the_same_message_fetched_twice_is_one_ticket(dovecot, smtp, fetch, member, standard_contract):
    raw = raw_mail(message_id="<imap-twice@customer.example>")
    dovecot.deliver(raw)
    dovecot.deliver(raw)  # the MTA delivered it twice
    first = fetch()
    assert first["created"] == 1 and first["duplicates"] == 1
    dovecot.mark_all_unseen()  # someone marked everything unread in a mail client
    second = fetch()
    assert second["read"] == 2 and second["duplicates"] == 2
    assert Ticket.objects.count() == 1
    assert InboundMail.objects.count() == 1
    assert len(smtp.to(ALICE)) == 1


def test_a_mail_with_a_30_mb_attachment_is_refused_with_a_reply(
    dovecot, smtp, fetch, member, standard_contract
):
    dump = b"\x00" * (30 * 1024 * 1024)
    dovecot.deliver(
        raw_mail(message_id="<imap-huge@customer.example>", attachments=[("core-dump.zip", dump)])
    )
    stats = fetch()
    assert stats["refused"] == 1
    assert not Ticket.objects.exists()
    inbound = InboundMail.objects.get()
    assert inbound.status == InboundStatus.REFUSED and inbound.size > 30 * 1024 * 1024
    assert inbound.reason.startswith("message is")  # judged by size and headers, never downloaded
    assert inbound.reply_sent_at is not None
    [refusal] = smtp.to(ALICE)
    assert refusal["Subject"].endswith("Not accepted: Gateway offline since this morning")
    assert refusal["In-Reply-To"] == "<imap-huge@customer.example>"
    assert refusal["Auto-Submitted"] == "auto-replied"
    assert "too large" in refusal.get_body(("plain",)).get_content()
    assert dovecot.unseen() == 0


def test_the_beat_job_reads_the_configured_mailbox(dovecot, smtp, settings, member, standard_contract):
    from portal.schedule import BEAT_SCHEDULE
    from support.tasks import inbound_mail_fetch

    assert any(entry["task"] == "support.tasks.inbound_mail_fetch" for entry in BEAT_SCHEDULE.values())
    settings.SUPPORT_IMAP_URL = ""
    assert inbound_mail_fetch() == {}  # off
    settings.SUPPORT_IMAP_URL = dovecot.url
    dovecot.deliver(raw_mail(message_id="<imap-beat@customer.example>"))
    assert inbound_mail_fetch.delay().get()["created"] == 1


def test_imap_urls():
    config = imap.parse_imap_url("imaps://support%40vendor.example:p%40ss@mail.vendor.example/Support/Inbox")
    assert (config.host, config.port, config.security) == ("mail.vendor.example", 993, "ssl")
    assert (config.user, config.password, config.folder) == (
        "support@vendor.example",
        "p@ss",
        "Support/Inbox",
    )
    assert "p@ss" not in config.safe
    assert imap.parse_imap_url("imap+starttls://u:p@h").port == 143
    with pytest.raises(ValueError):
        imap.parse_imap_url("pop3://u:p@h")
