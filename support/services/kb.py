"""The knowledge base: publishing articles and taking them back to draft, with an audit row each."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from portal.core.services import Actor, audit
from support.models import ArticleStatus, KbArticle


@transaction.atomic
def kb_articles_publish(*, actor: Actor, articles: Iterable[KbArticle]) -> int:
    """Publish the articles (the first publication stamps published_at); returns how many were given."""
    now = timezone.now()
    count = 0
    for article in (
        KbArticle.objects.select_for_update().filter(pk__in=[a.pk for a in articles]).order_by("pk")
    ):
        count += 1
        if article.status == ArticleStatus.PUBLISHED and article.published_at is not None:
            continue
        article.status = ArticleStatus.PUBLISHED
        article.published_at = article.published_at or now
        article.save(update_fields=["status", "published_at", "updated_at"])
        audit(actor=actor, action="kb_article.publish", target=article, data={"slug": article.slug})
    return count


@transaction.atomic
def kb_articles_unpublish(*, actor: Actor, articles: Iterable[KbArticle]) -> int:
    """Take the articles back to draft (published_at stays: it is the first publication)."""
    count = 0
    for article in (
        KbArticle.objects.select_for_update().filter(pk__in=[a.pk for a in articles]).order_by("pk")
    ):
        count += 1
        if article.status == ArticleStatus.DRAFT:
            continue
        article.status = ArticleStatus.DRAFT
        article.save(update_fields=["status", "updated_at"])
        audit(actor=actor, action="kb_article.unpublish", target=article, data={"slug": article.slug})
    return count
