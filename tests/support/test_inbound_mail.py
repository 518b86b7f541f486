"""Support by e-mail through the service and the provider endpoint (the IMAP path: test_mail_servers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from customers.models import Contact
from support import services
from support.mailparse import parse_mail, trim_reply
from support.models import (
    Channel,
    InboundMail,
    InboundStatus,
    Ticket,
    TicketMailId,
    TicketStatus,
)
from tests.factories import MembershipFactory, OrganizationFactory
from tests.support.factories import open_ticket
from tests.support.mails import header, raw_mail

pytestmark = pytest.mark.django_db

SUPPORT = "support@vendor.example"


@pytest.fixture(autouse=True)
def support_address(settings: Any) -> None:
    settings.SUPPORT_MAIL_ADDRESS = SUPPORT
    settings.SUPPORT_INBOUND_MAIL_SECRET = ""


@pytest.fixture
def receive(django_capture_on_commit_callbacks: Any) -> Any:
    def run(raw: bytes) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return services.inbound_mail_process(raw=raw, source="http")

    return run


def test_a_new_mail_from_a_member_opens_a_ticket_with_the_contracts_sla(receive, member, standard_contract):
    raw = raw_mail(message_id="<first@customer.example>")
    outcome = receive(raw)

    assert outcome.inbound.status == InboundStatus.CREATED and not outcome.duplicate
    ticket = outcome.inbound.ticket
    assert ticket.organization == standard_contract.organization
    assert ticket.contract == standard_contract and ticket.sla_policy is not None
    assert ticket.requester == member and ticket.requester_email == "alice@customer.example"
    assert ticket.channel == Channel.EMAIL and ticket.subject == "Gateway offline since this morning"
    assert ticket.first_response_due_at is not None
    assert ticket.mail_thread_id == "<first@customer.example>"
    first = ticket.messages.get()
    assert first.from_customer and first.channel == Channel.EMAIL
    assert first.body.startswith("Our gateway GW-7 stopped reporting")
    assert TicketMailId.objects.filter(
        ticket=ticket, message_id="<first@customer.example>", outgoing=False
    ).exists()

    # The acknowledgement threads under the customer's mail and sends replies back to the desk.
    [ack] = [m for m in mail.outbox if m.to == ["alice@customer.example"]]
    assert ticket.number in ack.subject
    assert header(ack, "Reply-To") == SUPPORT
    assert header(ack, "In-Reply-To") == "<first@customer.example>"
    assert "<first@customer.example>" in header(ack, "References")
    assert header(ack, "Auto-Submitted") == "auto-replied"
    assert TicketMailId.objects.filter(
        ticket=ticket, message_id=header(ack, "Message-ID"), outgoing=True
    ).exists()


def test_a_reply_to_our_mail_threads_into_the_ticket_and_reopens_it(
    receive, member, standard_contract, agent, django_capture_on_commit_callbacks
):
    ticket = receive(raw_mail(message_id="<q1@customer.example>")).inbound.ticket
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(
            actor=agent,
            ticket=ticket,
            body="Please restart the gateway.",
            status=TicketStatus.PENDING_CUSTOMER,
        )
    [reply_mail] = mail.outbox
    assert header(reply_mail, "In-Reply-To") == "<q1@customer.example>"
    ours = header(reply_mail, "Message-ID")

    answer = raw_mail(
        subject=f"Re: {reply_mail.subject}",
        body=(
            "Restarted it, data flows again.\n\n"
            "On Fri, 4 Dec 2026 at 10:00, IoT Platform <noreply@localhost> wrote:\n"
            "> Please restart the gateway.\n"
        ),
        in_reply_to=ours,
        references=f"<q1@customer.example> {ours}",
    )
    outcome = receive(answer)

    assert outcome.inbound.status == InboundStatus.APPENDED and outcome.inbound.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN  # back from pending_customer
    assert ticket.messages.last().body == "Restarted it, data flows again."
    assert Ticket.objects.count() == 1


def test_a_reply_naming_the_ticket_number_threads_without_headers(receive, member, standard_contract):
    ticket = open_ticket(member, standard_contract)
    outcome = receive(raw_mail(subject=f"Re: [{ticket.number}] {ticket.subject}", body="One more log line."))
    assert outcome.inbound.status == InboundStatus.APPENDED and outcome.inbound.ticket == ticket
    assert ticket.messages.last().sender_email == "alice@customer.example"


def test_another_organization_cannot_write_into_a_ticket_by_its_number(
    receive, member, standard_contract, outsider
):
    ticket = open_ticket(member, standard_contract)
    outcome = receive(raw_mail(sender="mallory@other.example", subject=f"Re: [{ticket.number}]", body="hi"))
    assert outcome.inbound.status == InboundStatus.TRIAGE
    assert outcome.inbound.ticket is None
    assert ticket.messages.count() == 1


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("alice@customer.example", {"Auto-Submitted": "auto-replied"}),
        ("alice@customer.example", {"Precedence": "bulk"}),
        ("alice@customer.example", {"X-Autoreply": "yes"}),
        ("alice@customer.example", {"List-Id": "<news.customer.example>"}),
        ("MAILER-DAEMON@mx.customer.example", {}),
        ("IoT Support <support@vendor.example>", {}),
        ("noreply@localhost", {}),
        ("alice@customer.example", {"X-Loop": SUPPORT}),
    ],
)
def test_auto_replies_bounces_and_loops_never_create_tickets(
    receive, member, standard_contract, sender, headers
):
    ticket = open_ticket(member, standard_contract)
    mail.outbox.clear()
    outcome = receive(raw_mail(sender=sender, subject=f"Out of office: [{ticket.number}]", headers=headers))
    assert outcome.inbound.status == InboundStatus.IGNORED
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 1
    assert mail.outbox == []


def test_the_same_message_twice_is_one_ticket(receive, member, standard_contract):
    raw = raw_mail(message_id="<twice@customer.example>")
    first, second = receive(raw), receive(raw)
    assert second.duplicate and second.inbound == first.inbound
    assert Ticket.objects.count() == 1
    assert InboundMail.objects.count() == 1
    assert len([m for m in mail.outbox if m.to == ["alice@customer.example"]]) == 1


def test_a_contact_without_an_account_opens_a_ticket(receive, organization, standard_contract):
    Contact.objects.create(organization=organization, name="Carol", email="carol@customer.example")
    outcome = receive(raw_mail(sender="Carol <Carol@Customer.example>", body="日志见附件。"))
    ticket = outcome.inbound.ticket
    assert ticket.requester is None and ticket.requester_email == "carol@customer.example"
    assert ticket.language == "zh-hans"
    assert [m.to for m in mail.outbox if "Ticket received" in m.subject or ticket.number in m.subject] == [
        ["carol@customer.example"]
    ]


def test_unknown_senders_wait_for_triage_until_staff_assign_them(
    receive, admin_client, organization, standard_contract, django_capture_on_commit_callbacks
):
    outcome = receive(raw_mail(sender="Bob <bob@newco.example>", attachments=[("trace.log", b"x" * 100)]))
    inbound = outcome.inbound
    assert inbound.status == InboundStatus.TRIAGE and inbound.reason == "unknown sender"
    assert inbound.raw and Ticket.objects.count() == 0 and mail.outbox == []

    url = reverse("admin:support_inboundmail_change", args=[inbound.pk])
    assert (
        admin_client.get(reverse("admin:support_inboundmail_changelist") + "?status=triage").status_code
        == 200
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"organization": organization.pk, "add_contact": "on", "target_ticket": ""}
        )
    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.CREATED and not inbound.raw
    ticket = inbound.ticket
    assert ticket.organization == organization and ticket.requester_email == "bob@newco.example"
    assert ticket.messages.get().attachments.get().filename == "trace.log"
    assert Contact.objects.filter(organization=organization, email="bob@newco.example").exists()
    assert any(m.to == ["bob@newco.example"] for m in mail.outbox)


def test_a_member_of_two_organizations_goes_to_triage(receive, member, standard_contract):
    MembershipFactory(user=member, organization=OrganizationFactory(name="Second Co"))
    outcome = receive(raw_mail())
    assert outcome.inbound.status == InboundStatus.TRIAGE
    assert "several organizations" in outcome.inbound.reason


def test_attachments_over_the_limit_are_refused_with_one_reply(receive, member, standard_contract, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1000
    raw = raw_mail(message_id="<big@customer.example>", attachments=[("capture.log", b"y" * 2000)])
    outcome = receive(raw)
    assert outcome.inbound.status == InboundStatus.REFUSED and "capture.log" in outcome.inbound.reason
    assert Ticket.objects.count() == 0
    [reply] = mail.outbox
    assert reply.to == ["alice@customer.example"]
    assert reply.subject.endswith("Not accepted: Gateway offline since this morning")
    assert header(reply, "In-Reply-To") == "<big@customer.example>"
    assert header(reply, "Auto-Submitted") == "auto-replied"
    assert "too large" in reply.body
    assert receive(raw).duplicate
    assert len(mail.outbox) == 1  # told once


def test_files_of_other_types_are_left_out_and_noted(receive, member, standard_contract):
    outcome = receive(raw_mail(attachments=[("setup.exe", b"MZ" * 10), ("gateway.log", b"boot ok\n")]))
    ticket = outcome.inbound.ticket
    message = ticket.messages.get()
    assert [a.filename for a in message.attachments.all()] == ["gateway.log"]
    assert "setup.exe" in message.body


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(receive, member, standard_contract):
    ticket = open_ticket(member, standard_contract)
    services.ticket_transition(actor=None, ticket=ticket, status=TicketStatus.RESOLVED)
    services.ticket_transition(actor=None, ticket=ticket, status=TicketStatus.CLOSED)
    outcome = receive(raw_mail(subject=f"Re: [{ticket.number}] again", body="It happened again."))
    assert outcome.inbound.status == InboundStatus.CREATED
    follow_up = outcome.inbound.ticket
    assert follow_up != ticket and ticket.number in follow_up.messages.get().body


def test_html_only_mail_becomes_text():
    raw = raw_mail(
        body="", html="<p>Hello&nbsp;team,</p><p>GW-7 is <b>down</b>.</p><blockquote>old</blockquote>"
    )
    parsed = parse_mail(raw)
    assert parsed.body == "Hello team,\n\nGW-7 is down."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Works now.\n\nOn Mon, 7 Dec 2026, Support <s@v.example> wrote:\n> old text", "Works now."),
        ("Works now.\nOn Mon, 7 Dec 2026 at 10:00, Support\n<s@v.example> wrote:\n> old", "Works now."),
        ("好的，谢谢。\n\n在 2026年12月7日 10:00，支持团队 写道：\n> 旧内容", "好的，谢谢。"),
        ("See below.\n\n-----Original Message-----\nFrom: x\nSent: y", "See below."),
        ("收到。\n\n发件人: 支持 <s@v.example>\n发送时间: 2026年12月7日\n收件人: 我\n主题: 回复", "收到。"),
        ("Fixed.\n\n-- \nAlice Wang\nCTO, Customer Co.", "Fixed."),
        ("Fixed.\n\nSent from my iPhone", "Fixed."),
        ("> quoted question\nmy answer\n> another\nsecond answer", "my answer\nsecond answer"),
        ("> only quotes", "> only quotes"),
    ],
)
def test_quoted_history_and_signatures_are_trimmed(text, expected):
    assert trim_reply(text) == expected


# The provider endpoint (real HTTP) ----------------------------------------------------------------------


def test_inbound_endpoint_is_off_without_a_secret(http):
    response = http.post("/api/v1/support/inbound-mail", content=raw_mail())
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_inbound_endpoint_takes_raw_mail_with_the_shared_secret(http, settings, member, standard_contract):
    settings.SUPPORT_INBOUND_MAIL_SECRET = "s3cret-value"
    raw = raw_mail(message_id="<posted@customer.example>")
    headers = {"Content-Type": "message/rfc822"}
    assert http.post("/api/v1/support/inbound-mail", content=raw, headers=headers).status_code == 403
    wrong = http.post(
        "/api/v1/support/inbound-mail", content=raw, headers={**headers, "X-Inbound-Mail-Secret": "guess"}
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"

    headers["X-Inbound-Mail-Secret"] = "s3cret-value"
    first = http.post("/api/v1/support/inbound-mail", content=raw, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "created" and body["duplicate"] is False
    ticket = Ticket.objects.get(number=body["ticket"])
    assert ticket.organization == standard_contract.organization
    again = http.post("/api/v1/support/inbound-mail", content=raw, headers=headers).json()
    assert again == {**body, "duplicate": True}
    assert http.post("/api/v1/support/inbound-mail", content=b"  ", headers=headers).status_code == 400


def test_inbound_endpoint_refuses_an_oversized_mail_and_tells_the_sender(http, settings, member):
    settings.SUPPORT_INBOUND_MAIL_SECRET = "s3cret-value"
    settings.SUPPORT_INBOUND_MAIL_MAX_BYTES = 50_000
    raw = raw_mail(message_id="<huge@customer.example>", attachments=[("dump.log", b"z" * 80_000)])
    response = http.post(
        "/api/v1/support/inbound-mail", content=raw, headers={"X-Inbound-Mail-Secret": "s3cret-value"}
    )
    assert response.status_code == 413 and response.json()["code"] == "message_too_large"
    inbound = InboundMail.objects.get(message_id="<huge@customer.example>")
    assert inbound.status == InboundStatus.REFUSED and inbound.size >= 80_000
    assert [m.to for m in mail.outbox] == [["alice@customer.example"]]
    assert Ticket.objects.count() == 0


def test_a_mailed_ticket_shows_in_the_portal_of_its_organization_only(
    receive, client, member, organization, standard_contract, outsider
):
    Contact.objects.create(organization=organization, name="Carol", email="carol@customer.example")
    ticket = receive(raw_mail(sender="carol@customer.example", body="Sensor S-12 reads 0.")).inbound.ticket
    url = reverse("support:ticket_detail", args=[ticket.number])
    client.force_login(member)
    page = client.get(url)
    assert page.status_code == 200
    assert (
        "carol@customer.example" in page.content.decode() and "Sensor S-12 reads 0." in page.content.decode()
    )
    client.force_login(outsider)
    assert client.get(url).status_code == 404
