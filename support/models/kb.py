"""Knowledge base (知识库): bilingual articles in categories, draft or published."""

from __future__ import annotations

import markdown
import nh3
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.core.i18n import BilingualNameMixin


def _is_chinese(language: str | None) -> bool:
    return (language or get_language() or "zh-hans").lower().startswith("zh")


class KbCategory(BilingualNameMixin):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("knowledge base category")
        verbose_name_plural = _("knowledge base categories")
        ordering = ["sort_order", "slug"]


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")


class KbArticle(models.Model):
    category = models.ForeignKey(
        KbCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="articles"
    )
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    body_zh = models.TextField(_("body (Chinese, Markdown)"), blank=True)
    body_en = models.TextField(_("body (English, Markdown)"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("knowledge base article")
        verbose_name_plural = _("knowledge base articles")
        ordering = ["category__sort_order", "-published_at", "slug"]

    def __str__(self) -> str:
        return self.title()

    def title(self, language: str | None = None) -> str:
        if _is_chinese(language):
            return self.title_zh or self.title_en
        return self.title_en or self.title_zh

    def body(self, language: str | None = None) -> str:
        if _is_chinese(language):
            return self.body_zh or self.body_en
        return self.body_en or self.body_zh

    def body_html(self, language: str | None = None) -> SafeString:
        html = markdown.markdown(self.body(language), extensions=["fenced_code", "tables"])
        return mark_safe(nh3.clean(html))  # noqa: S308 - sanitised by nh3 just above
