"""The core's back office: the audit trail (and its inline for any audited object), API tokens,
sequences, the scheduler heartbeat and the outbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.core.admin_reports import ReadOnlyAdminMixin
from portal.core.models import ApiToken, AuditEvent, Job, SchedulerHeartbeat, SequenceCounter
from portal.core.services import api_token_create, api_token_revoke, jobs_retry


class AuditTimelineInline(GenericTabularInline):
    """The read-only history of an object, for any admin that shows audited objects."""

    model = AuditEvent
    ct_field = "target_type"
    ct_fk_field = "target_id"
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "actor", "via", "data")
    readonly_fields = fields
    ordering = ("-created_at",)
    verbose_name = _("history entry")
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request).select_related("actor")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[AuditEvent]):
    list_display = ("created_at", "action", "target_repr", "actor", "via")
    list_filter = ("action", "via", "target_type")
    search_fields = ("target_repr", "action", "actor__username", "actor__email")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "scope", "token_prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__username", "user__email", "token_prefix")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    fields = ("user", "name", "scope", "token_prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("token_prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> tuple[str, ...]:
        if obj is not None:
            return ("user", "name", "scope", *self.readonly_fields)
        return tuple(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            return
        token, secret = api_token_create(
            user=obj.user, name=obj.name, write=obj.scope == "write", actor=request.user
        )
        obj.pk = token.pk
        messages.warning(
            request,
            _("Copy the token now; it is not shown again: %(secret)s") % {"secret": secret},
        )

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            api_token_revoke(token=token, actor=request.user)
        self.message_user(request, _("%(n)d token(s) revoked.") % {"n": queryset.count()})


@admin.register(SequenceCounter)
class SequenceCounterAdmin(admin.ModelAdmin[SequenceCounter]):
    list_display = ("series", "year", "last_value")
    list_filter = ("series", "year")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SchedulerHeartbeat)
class SchedulerHeartbeatAdmin(admin.ModelAdmin[SchedulerHeartbeat]):
    list_display = ("name", "last_seen_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    """The outbox: what waits for the queue, runs, failed (with the error) and is retried; staff retry
    failed jobs here once the cause is fixed."""

    list_display = (
        "created_at",
        "task",
        "state",
        "deliveries",
        "failures",
        "run_after",
        "finished_at",
        "error",
    )
    list_filter = ("state", "task")
    search_fields = ("task", "id", "last_error")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Job._meta.fields]
    actions = ["retry"]

    @admin.display(description=_("last error"))
    def error(self, obj: Job) -> str:
        return obj.last_error[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Retry selected failed jobs"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        count = jobs_retry(jobs=queryset, actor=request.user)
        self.message_user(request, _("%(n)d failed job(s) sent again.") % {"n": count})
