"""Publishing knowledge-base articles goes through a service: the first publication is stamped, each
change leaves an audit row, the admin actions call it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.core.models import AuditEvent
from support import services
from support.models import ArticleStatus, KbArticle, KbCategory

pytestmark = pytest.mark.django_db


def _article(slug: str, status: str = ArticleStatus.DRAFT) -> KbArticle:
    category, _created = KbCategory.objects.get_or_create(
        slug="install", defaults={"name_zh": "安装", "name_en": "Installation"}
    )
    return KbArticle.objects.create(
        category=category, slug=slug, title_en=slug, title_zh=slug, body_en="x", body_zh="x", status=status
    )


def test_publish_stamps_the_first_publication_and_audits(agent):
    draft = _article("draft")
    _article("live", ArticleStatus.PUBLISHED)
    assert services.kb_articles_publish(actor=agent, articles=KbArticle.objects.all()) == 2
    draft.refresh_from_db()
    assert draft.status == ArticleStatus.PUBLISHED and draft.published_at is not None
    first = draft.published_at
    events = AuditEvent.objects.filter(action="kb_article.publish")
    assert {e.target_id for e in events} >= {str(draft.pk)}
    assert all(e.actor_id == agent.pk for e in events)

    assert services.kb_articles_unpublish(actor=agent, articles=[draft]) == 1
    draft.refresh_from_db()
    assert draft.status == ArticleStatus.DRAFT and draft.published_at == first
    assert AuditEvent.objects.filter(action="kb_article.unpublish", target_id=str(draft.pk)).count() == 1

    services.kb_articles_publish(actor=agent, articles=[draft])
    draft.refresh_from_db()
    assert draft.published_at == first  # republishing keeps the first publication
    # Nothing changes, nothing is audited.
    before = AuditEvent.objects.count()
    services.kb_articles_publish(actor=agent, articles=[draft])
    assert AuditEvent.objects.count() == before


def test_admin_publish_action_goes_through_the_service(admin_client):
    draft = _article("from-admin")
    response = admin_client.post(
        reverse("admin:support_kbarticle_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == ArticleStatus.PUBLISHED
    assert AuditEvent.objects.filter(action="kb_article.publish", target_id=str(draft.pk)).exists()
