"""One rule for the language of a mail (portal.core.i18n.recipient_language): the recipient's stored
preference, else the organization's, else the fallback, else the site default."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.utils import timezone, translation

from customers.invitations import invitation_mail_compose
from customers.models import Invitation, Organization, Role
from portal.core.i18n import language_normalize, organization_language, recipient_language
from portal.core.models import UserPreference
from portal.pages.accounts import mail_language
from support.mailparse import CJK
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_language_codes_are_normalized():
    assert language_normalize("zh_Hans") == "zh-hans"
    assert language_normalize("zh-CN") == "zh-hans"
    assert language_normalize("en-GB") == "en"
    assert language_normalize("fr") == ""


def test_preference_then_organization_then_fallback_then_default():
    user = UserFactory()
    foreign = SimpleNamespace(country="DE")
    mainland = SimpleNamespace(country="CN")
    assert recipient_language() == "zh-hans"
    assert recipient_language(fallback="en") == "en"
    assert recipient_language(user=user, fallback="en") == "en"
    assert recipient_language(user=user, organization=foreign, fallback="zh-hans") == "en"
    assert recipient_language(user=user, organization=mainland, fallback="en") == "zh-hans"
    UserPreference.objects.create(user=user, language="en")
    user.refresh_from_db()
    assert recipient_language(user=user, organization=mainland) == "en"
    assert organization_language(SimpleNamespace(country="US", language="zh-hans")) == "zh-hans"


def test_allauth_mail_language_follows_the_rule():
    user = UserFactory(email="reader@example.com")
    with translation.override("en"):  # no preference, no organization: the page's language
        assert mail_language("reader@example.com") == "en"
        UserPreference.objects.create(user=user, language="zh-hans")
        assert mail_language("READER@example.com") == "zh-hans"


def test_invitation_mail_in_the_organizations_language():
    organization = Organization.objects.create(name="Acme GmbH", country="DE")
    invitation = Invitation.objects.create(
        organization=organization,
        email="new@example.com",
        role=Role.TECHNICAL,
        token_hash="t" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    message = invitation_mail_compose(invitation.pk)
    assert message is not None
    assert not CJK.search(message.subject + message.body)
    assert mail.outbox == []


def test_codes_are_shown_by_their_label_in_the_active_language():
    from billing.models import PaymentStatus
    from portal.core.display import code_label, details_text

    with translation.override("zh-hans"):
        assert code_label("paid", PaymentStatus) == "已付款"
        assert code_label("invoice.issue") == "发票 · 已开具"
        assert code_label("zh-hans") == "简体中文"
        assert "原值" in details_text({"from": "new", "to": "open"})
    with translation.override("en"):
        assert code_label("invoice.issue") == "Invoice · issued"
        assert code_label("not a code") == "not a code"
