"""The public inquiry form: no login, a honeypot that silently drops, a rate limit per address (429),
and a valid post that creates the inquiry and tells sales after commit."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from customers.models import Inquiry, InquiryChannel, InquiryStage
from portal.core.models import AuditEvent
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

VALID = {
    "company_name": "深圳智能制造有限公司",
    "contact_name": "张伟",
    "contact_email": "zhang@smart-mfg.example",
    "contact_phone": "+86 755 1234 5678",
    "industry": "manufacturing",
    "company_size": "medium",
    "interests": ["source_code", "customization"],
    "motives": ["data_security", "customization"],
    "message": "我们需要对接SAP，能否提供源码？",
    "website": "",
}


@pytest.fixture(autouse=True)
def fresh_limits(settings):
    cache.clear()
    settings.SALES_NOTIFICATION_EMAILS = ["sales@vendor.example", "lead@vendor.example"]
    settings.INQUIRY_RATE_LIMIT = "3/h"
    yield
    cache.clear()


def test_the_form_is_public(client):
    response = client.get(reverse("customers:inquiry"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="website"' in body and 'class="hp"' in body
    assert 'name="interests"' in body


def test_a_valid_post_creates_the_inquiry_and_notifies_sales_after_commit(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("customers:inquiry"), VALID, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302 and response["Location"] == reverse("customers:inquiry_thanks")
    assert len(callbacks) == 1
    inquiry = Inquiry.objects.get()
    assert inquiry.channel == InquiryChannel.WEB_FORM and inquiry.stage == InquiryStage.NEW
    assert inquiry.company_name == "深圳智能制造有限公司"
    assert inquiry.interests == ["source_code", "customization"]
    assert inquiry.motives == ["data_security", "customization"]
    assert inquiry.source_ip == "203.0.113.7"
    assert inquiry.notified_at is not None
    assert AuditEvent.objects.filter(action="inquiry.create", via="web").exists()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sales@vendor.example", "lead@vendor.example"]
    assert message.reply_to == ["zhang@smart-mfg.example"]
    assert "深圳智能制造有限公司" in message.subject
    assert f"/admin/customers/inquiry/{inquiry.pk}/change/" in message.body
    assert client.get(reverse("customers:inquiry_thanks")).status_code == 200


def test_no_mail_is_sent_before_the_transaction_commits(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("customers:inquiry"), VALID)
    assert Inquiry.objects.count() == 1
    assert mail.outbox == []


def test_the_notification_is_sent_once(client, django_capture_on_commit_callbacks):
    from customers.tasks import inquiry_notify_sales

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("customers:inquiry"), VALID)
    assert inquiry_notify_sales(Inquiry.objects.get().pk) == 0  # a retried task does not mail twice
    assert len(mail.outbox) == 1


def test_the_honeypot_silently_drops_the_post(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:inquiry"), {**VALID, "website": "http://spam.example"})
    assert response.status_code == 302 and response["Location"] == reverse("customers:inquiry_thanks")
    assert not Inquiry.objects.exists()
    assert mail.outbox == []


def test_too_many_posts_from_one_address_get_429(client):
    for _ in range(3):
        assert client.post(reverse("customers:inquiry"), VALID, REMOTE_ADDR="198.51.100.9").status_code == 302
    response = client.post(reverse("customers:inquiry"), VALID, REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "请求过于频繁" in response.content.decode()  # the public site speaks Chinese by default
    assert Inquiry.objects.count() == 3
    # Another address is not affected; a GET is never limited.
    assert client.post(reverse("customers:inquiry"), VALID, REMOTE_ADDR="198.51.100.10").status_code == 302
    assert client.get(reverse("customers:inquiry"), REMOTE_ADDR="198.51.100.9").status_code == 200


def test_honeypot_posts_count_towards_the_limit(client):
    for _ in range(3):
        client.post(reverse("customers:inquiry"), {**VALID, "website": "x"}, REMOTE_ADDR="198.51.100.20")
    assert client.post(reverse("customers:inquiry"), VALID, REMOTE_ADDR="198.51.100.20").status_code == 429
    assert not Inquiry.objects.exists()


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, settings):
    settings.INQUIRY_TRUSTED_PROXY_COUNT = 1
    for n in range(4):
        response = client.post(
            reverse("customers:inquiry"),
            VALID,
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
        assert response.status_code == 302  # four clients behind one proxy
    assert Inquiry.objects.get(source_ip="192.0.2.3")


def test_invalid_posts_show_errors_and_store_nothing(client):
    response = client.post(
        reverse("customers:inquiry"), {**VALID, "contact_email": "not-an-email", "interests": []}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "contact_email" in errors and "interests" in errors
    assert not Inquiry.objects.exists()


def test_a_known_email_links_the_existing_customer(client, django_capture_on_commit_callbacks):
    organization = OrganizationFactory(name="Known Co.")
    organization.contacts.create(name="Zhang", email="ZHANG@smart-mfg.example")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("customers:inquiry"), VALID)
    assert Inquiry.objects.get().organization == organization
