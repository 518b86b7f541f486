"""Customer portal pages: tenancy on every URL (another organization → 404, anonymous → login) and the
plain-form flows (new ticket, reply, rate, knowledge base, suggestions)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from support import services
from support.models import ArticleStatus, KbArticle, KbCategory, Ticket, TicketAttachment, TicketStatus
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(member, standard_contract, agent):
    ticket = open_ticket(
        member, standard_contract, attachments=[SimpleUploadedFile("log.txt", b"boot failed")]
    )
    services.ticket_reply(actor=agent, ticket=ticket, body="Please send the log.")
    services.ticket_reply(actor=agent, ticket=ticket, body="Secret internal note", internal=True)
    return ticket


@pytest.fixture
def article(db):
    category = KbCategory.objects.create(slug="install", name_zh="安装", name_en="Installation")
    return KbArticle.objects.create(
        category=category,
        slug="mqtt-port",
        title_en="MQTT broker port blocked",
        title_zh="MQTT 端口被防火墙阻止",
        body_en="Open port **1883** on the firewall.",
        body_zh="请在防火墙上开放 1883 端口。",
        status=ArticleStatus.PUBLISHED,
    )


def ticket_urls(ticket: Ticket) -> list[tuple[str, str]]:
    attachment = TicketAttachment.objects.get(message__ticket=ticket)
    return [
        ("get", reverse("support:ticket_detail", args=[ticket.number])),
        ("post", reverse("support:ticket_reply", args=[ticket.number])),
        ("get", reverse("support:ticket_rate", args=[ticket.number])),
        ("post", reverse("support:ticket_rate", args=[ticket.number])),
        ("get", reverse("support:attachment", args=[ticket.number, attachment.pk])),
    ]


def all_urls(ticket: Ticket, article: KbArticle) -> list[tuple[str, str]]:
    return [
        ("get", reverse("support:ticket_list")),
        ("get", reverse("support:ticket_new")),
        ("post", reverse("support:ticket_new")),
        ("get", reverse("support:suggest") + "?q=mqtt"),
        ("get", reverse("support:kb_search")),
        ("get", reverse("support:kb_article", args=[article.slug])),
        *ticket_urls(ticket),
    ]


def test_anonymous_is_sent_to_login_everywhere(client, ticket, article):
    for method, url in all_urls(ticket, article):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


def test_another_organizations_member_gets_404_for_every_ticket_url(client, ticket, outsider):
    client.force_login(outsider)
    for method, url in ticket_urls(ticket):
        response = getattr(client, method)(
            url, data={"body": "hi", "rating": 5} if method == "post" else None
        )
        assert response.status_code == 404, url
    assert ticket.messages.count() == 3  # nothing written


def test_another_organizations_member_does_not_see_the_ticket_in_lists(client, ticket, outsider):
    client.force_login(outsider)
    response = client.get(reverse("support:ticket_list") + "?status=all")
    assert response.status_code == 200
    assert ticket.number not in response.content.decode()


def test_member_sees_public_conversation_only(client, member, ticket):
    client.force_login(member)
    page = client.get(reverse("support:ticket_detail", args=[ticket.number])).content.decode()
    assert "Please send the log." in page
    assert "Secret internal note" not in page
    assert "log.txt" in page
    listing = client.get(reverse("support:ticket_list")).content.decode()
    assert ticket.number in listing


def test_attachment_download(client, member, ticket):
    client.force_login(member)
    attachment = TicketAttachment.objects.get(message__ticket=ticket)
    response = client.get(reverse("support:attachment", args=[ticket.number, attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"boot failed"
    assert response["Content-Type"] == "text/plain"
    assert "attachment" in response["Content-Disposition"]


def test_internal_attachment_is_not_downloadable_by_the_customer(client, member, ticket, agent):
    note = services.ticket_reply(
        actor=agent,
        ticket=ticket,
        body="internal",
        internal=True,
        attachments=[SimpleUploadedFile("dump.txt", b"x")],
    )
    client.force_login(member)
    pk = note.attachments.get().pk
    assert client.get(reverse("support:attachment", args=[ticket.number, pk])).status_code == 404


def test_new_ticket_flow(client, member, standard_contract, django_capture_on_commit_callbacks):
    client.force_login(member)
    page = client.get(reverse("support:ticket_new"))
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("support:ticket_new"),
            {
                "organization": standard_contract.organization_id,
                "contract": standard_contract.pk,
                "category": "incident",
                "priority": "P2",
                "subject": "Gateway offline",
                "body": "Gateway GW-7 went offline.",
                "deployment_ref": "machine-42",
                "attachments": [SimpleUploadedFile("trace.log", b"trace")],
            },
        )
    ticket = Ticket.objects.get(subject="Gateway offline")
    assert response.status_code == 302
    assert response["Location"] == reverse("support:ticket_detail", args=[ticket.number])
    assert ticket.requester == member and ticket.contract == standard_contract
    assert ticket.first_response_due_at is not None
    assert ticket.messages.get().attachments.get().filename == "trace.log"
    assert [m.to for m in mail.outbox] == [[member.email]]


def test_new_ticket_rejects_another_organizations_contract(client, member, outsider, standard_contract):
    from tests.factories import ContractFactory, edition

    foreign = ContractFactory(
        organization=outsider.memberships.get().organization, edition=edition("standard")
    )
    client.force_login(member)
    response = client.post(
        reverse("support:ticket_new"),
        {
            "organization": standard_contract.organization_id,
            "contract": foreign.pk,
            "category": "question",
            "priority": "P3",
            "subject": "x",
            "body": "y",
        },
    )
    assert response.status_code == 200
    assert not Ticket.objects.exists()


def test_new_ticket_rejects_bad_attachments(client, member, standard_contract, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 10
    client.force_login(member)
    data = {
        "organization": standard_contract.organization_id,
        "contract": standard_contract.pk,
        "category": "question",
        "priority": "P3",
        "subject": "x",
        "body": "y",
    }
    too_big = client.post(
        reverse("support:ticket_new"), {**data, "attachments": [SimpleUploadedFile("a.txt", b"x" * 11)]}
    )
    exe = client.post(
        reverse("support:ticket_new"), {**data, "attachments": [SimpleUploadedFile("a.exe", b"MZ")]}
    )
    assert "larger than" in too_big.content.decode()
    assert "not accepted" in exe.content.decode()
    assert not Ticket.objects.exists()


def test_community_ticket_shows_forum_link(client, member, community_contract):
    ticket = open_ticket(member, community_contract)
    client.force_login(member)
    page = client.get(reverse("support:ticket_detail", args=[ticket.number])).content.decode()
    assert "forum.example.com" in page
    assert "First response" not in page


def test_customer_reply_reopens_pending_ticket(client, member, ticket, agent):
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.PENDING_CUSTOMER)
    client.force_login(member)
    response = client.post(reverse("support:ticket_reply", args=[ticket.number]), {"body": "Here it is."})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.messages.filter(from_customer=True, body="Here it is.").exists()


def test_rate_flow_once(client, member, ticket, agent):
    client.force_login(member)
    url = reverse("support:ticket_rate", args=[ticket.number])
    assert "once it has been resolved" in client.get(url).content.decode()
    services.ticket_transition(actor=agent, ticket=ticket, status=TicketStatus.RESOLVED)
    assert client.post(url, {"rating": 4, "comment": "Quick"}).status_code == 302
    second = client.post(url, {"rating": 1})
    assert second.status_code in {200, 409}
    ticket.rating.refresh_from_db()
    assert ticket.rating.rating == 4


def test_kb_search_article_and_suggestions(client, member, article):
    client.force_login(member)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    found = client.get(reverse("support:kb_search"), {"q": "firewall"}).content.decode()
    assert "MQTT broker port blocked" in found
    assert "1883" in client.get(reverse("support:kb_article", args=[article.slug])).content.decode()
    fragment = client.get(
        reverse("support:suggest"), {"q": "Our MQTT devices cannot connect"}
    ).content.decode()
    assert "MQTT broker port blocked" in fragment
    data = client.get(reverse("support:suggest"), {"q": "mqtt", "format": "json"}).json()
    assert data["articles"][0]["url"] == reverse("support:kb_article", args=[article.slug])


def test_kb_in_chinese(client, member, article):
    client.force_login(member)
    page = client.get(reverse("support:kb_search"), {"q": "防火墙"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "MQTT 端口被防火墙阻止" in page.content.decode()


def test_draft_article_is_not_visible(client, member, article):
    KbArticle.objects.filter(pk=article.pk).update(status=ArticleStatus.DRAFT)
    client.force_login(member)
    assert client.get(reverse("support:kb_article", args=[article.slug])).status_code == 404
