from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.core.actors import actor_user
from portal.core.admin_reports import ReadOnlyInline
from support import services
from support.models import ArticleStatus, HoursBucket, KbArticle, KbCategory, Ticket, TimeEntry


@admin.register(KbCategory)
class KbCategoryAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_zh", "name_en", "sort_order"]
    search_fields = ["slug", "name_zh", "name_en"]


@admin.register(KbArticle)
class KbArticleAdmin(admin.ModelAdmin):
    list_display = ["slug", "title_zh", "title_en", "category", "status", "published_at", "updated_at"]
    list_filter = ["status", "category"]
    list_select_related = ["category"]
    search_fields = ["slug", "title_zh", "title_en", "body_zh", "body_en"]
    prepopulated_fields = {"slug": ["title_en"]}
    readonly_fields = ["published_at", "created_by"]
    actions = ["publish", "unpublish"]

    def save_model(self, request: HttpRequest, obj: KbArticle, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = actor_user(request.user)
        if obj.status == ArticleStatus.PUBLISHED and obj.published_at is None:
            obj.published_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Publish"))
    def publish(self, request: HttpRequest, queryset: Any) -> None:
        count = services.kb_articles_publish(actor=request.user, articles=queryset)
        self.message_user(request, ngettext("%d article published.", "%d articles published.", count) % count)

    @admin.action(description=_("Back to draft"))
    def unpublish(self, request: HttpRequest, queryset: Any) -> None:
        count = services.kb_articles_unpublish(actor=request.user, articles=queryset)
        self.message_user(
            request, ngettext("%d article unpublished.", "%d articles unpublished.", count) % count
        )


class BucketEntryInline(ReadOnlyInline):
    model = TimeEntry
    fields = ["work_date", "ticket", "user", "minutes", "overage_minutes", "description"]
    readonly_fields = fields  # type: ignore[assignment]  # grouped names (tuples) are allowed in fields


@admin.register(HoursBucket)
class HoursBucketAdmin(admin.ModelAdmin):
    list_display = [
        "contract",
        "period_start",
        "period_end",
        "granted",
        "used",
        "remaining",
        "overage",
        "warned_at",
    ]
    list_select_related = ["contract__organization"]
    search_fields = ["contract__number", "contract__organization__name"]
    raw_id_fields = ["contract"]
    inlines = [BucketEntryInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()
            .get_queryset(request)
            .annotate(used_minutes=Sum("entries__minutes"), overage_minutes=Sum("entries__overage_minutes"))
        )

    @admin.display(description=_("granted h"))
    def granted(self, obj: HoursBucket) -> str:
        return f"{obj.granted_minutes / 60:.2f}"

    @admin.display(description=_("used h"))
    def used(self, obj: Any) -> str:  # a row of get_queryset(), with its annotations
        return f"{(obj.used_minutes or 0) / 60:.2f}"

    @admin.display(description=_("remaining h"))
    def remaining(self, obj: Any) -> str:  # a row of get_queryset(), with its annotations
        return f"{max(obj.granted_minutes - (obj.used_minutes or 0), 0) / 60:.2f}"

    @admin.display(description=_("overage h"))
    def overage(self, obj: Any) -> str:  # a row of get_queryset(), with its annotations
        return f"{(obj.overage_minutes or 0) / 60:.2f}"


class TimeEntryForm(forms.ModelForm):
    class Meta:
        model = TimeEntry
        fields = ["ticket", "user", "minutes", "work_date", "description"]

    def clean_user(self) -> Any:
        user = self.cleaned_data["user"]
        if not user.is_staff:
            raise forms.ValidationError(_("Time is logged by support engineers (staff)."))
        return user


@admin.register(TimeEntry)
class TimeEntryAdmin(admin.ModelAdmin):
    """Append-only: entries are added through the service (bucket arithmetic, overage), never edited."""

    form = TimeEntryForm
    list_display = ["work_date", "ticket", "user", "minutes", "overage_minutes", "bucket", "description"]
    list_filter = ["work_date", ("user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["ticket", "user", "bucket__contract"]
    search_fields = ["ticket__number", "description"]
    raw_id_fields = ["ticket"]
    date_hierarchy = "work_date"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: TimeEntry, form: Any, change: bool) -> None:
        data = form.cleaned_data
        entry = services.time_entry_add(
            actor=request.user,
            ticket=Ticket.objects.get(pk=data["ticket"].pk),
            minutes=data["minutes"],
            user=data["user"],
            work_date=data["work_date"],
            description=data.get("description", ""),
        )
        obj.pk = entry.pk
        obj.refresh_from_db()
