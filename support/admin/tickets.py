from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.core.admin_reports import ReadOnlyInline
from portal.core.errors import ApplicationError
from support import services
from support.admin._utils import report_errors
from support.attachments import attachment_response
from support.models import (
    Macro,
    SlaNotification,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStatus,
    TicketTag,
    TimeEntry,
)
from support.validators import validate_attachment

if TYPE_CHECKING:
    from django.forms import ModelChoiceField


class MessageInline(ReadOnlyInline):
    model = TicketMessage
    fields = [
        "created_at",
        "author",
        "sender_email",
        "channel",
        "from_customer",
        "is_internal",
        "body",
        "files",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # grouped names (tuples) are allowed in fields
    verbose_name_plural = _("conversation")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("author").prefetch_related("attachments")

    @admin.display(description=_("attachments"))
    def files(self, obj: TicketMessage) -> str:
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:support_ticket_attachment", args=[a.message.ticket_id, a.pk]), a.filename)
                for a in obj.attachments.all()
            ),
        )


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["at", "kind", "actor", "data"]
    readonly_fields = fields  # type: ignore[assignment]  # grouped names (tuples) are allowed in fields
    classes = ["collapse"]


class TimeEntryInline(ReadOnlyInline):
    model = TimeEntry
    fields = ["work_date", "user", "minutes", "overage_minutes", "description", "bucket"]
    readonly_fields = fields  # type: ignore[assignment]  # grouped names (tuples) are allowed in fields


class NotificationInline(ReadOnlyInline):
    model = SlaNotification
    fields = ["metric", "kind", "due_at", "created_at", "sent_at", "recipients"]
    readonly_fields = fields  # type: ignore[assignment]  # grouped names (tuples) are allowed in fields
    classes = ["collapse"]


def _staff() -> Any:
    return get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")


class TicketAddForm(forms.ModelForm):
    body = forms.CharField(label=_("description"), widget=forms.Textarea)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requester"].required = True  # tickets without an account come in by e-mail only

    class Meta:
        model = Ticket
        fields = [
            "organization",
            "contract",
            "requester",
            "subject",
            "priority",
            "category",
            "deployment_ref",
            "assignee",
        ]


class TicketChangeForm(forms.ModelForm):
    """Status, priority and assignee changes plus a reply and time logging, each applied by a service."""

    reply_body = forms.CharField(label=_("reply"), widget=forms.Textarea(attrs={"rows": 5}), required=False)
    reply_internal = forms.BooleanField(label=_("internal note (not shown to the customer)"), required=False)
    reply_attachment = forms.FileField(
        label=_("attachment"), required=False, validators=[validate_attachment]
    )
    macro = forms.ModelChoiceField(
        label=_("apply macro"),
        queryset=Macro.objects.none(),
        required=False,
        help_text=_("Posts the macro's reply in the ticket's language, then sets its status and tags."),
    )
    log_minutes = forms.IntegerField(label=_("log time (minutes)"), min_value=1, required=False)
    log_description = forms.CharField(label=_("work done"), max_length=300, required=False)
    add_tags = forms.ModelMultipleChoiceField(
        label=_("add tags"), queryset=TicketTag.objects.none(), required=False
    )

    class Meta:
        model = Ticket
        fields = ["status", "priority", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("ModelChoiceField[Any]", self.fields["assignee"]).queryset = _staff()
        cast("ModelChoiceField[Any]", self.fields["macro"]).queryset = Macro.objects.filter(
            is_active=True
        ).order_by("name")
        cast("ModelChoiceField[Any]", self.fields["add_tags"]).queryset = TicketTag.objects.order_by("name")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "subject",
        "organization",
        "priority",
        "status",
        "assignee",
        "sla_due_at",
        "first_response_state",
        "resolution_state",
        "created_at",
    ]
    list_filter = [
        "status",
        "priority",
        "category",
        "first_response_state",
        "resolution_state",
        "contract__edition",
        "channel",
        "tags",
        "hours_overage",
        ("sla_uncovered_from", admin.EmptyFieldListFilter),
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["number", "subject", "organization__name", "requester__email", "requester_email"]
    list_select_related = ["organization", "assignee"]
    raw_id_fields = ["organization", "contract", "requester"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["recompute_sla", "resolve", "close"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("tags")

    sla_fields = [
        f"{m}_{p}"
        for m in ("first_response", "next_response", "resolution")
        for p in ("state", "due_at", "met_at", "breached_at")
    ]

    def get_form(self, request: HttpRequest, obj: Ticket | None = None, **kwargs: Any) -> Any:  # type: ignore[override]  # change= passes through **kwargs
        kwargs["form"] = TicketChangeForm if obj else TicketAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Ticket | None = None) -> Any:
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": [
                            "organization",
                            "contract",
                            "requester",
                            "subject",
                            "body",
                            "priority",
                            "category",
                            "deployment_ref",
                            "assignee",
                        ]
                    },
                )
            ]
        return [
            (
                None,
                {
                    "fields": [
                        "number",
                        "subject",
                        "organization",
                        "contract",
                        "requester",
                        "requester_email",
                        "channel",
                        "category",
                        "deployment_ref",
                        "created_at",
                        "hours_overage",
                        "tag_list",
                    ]
                },
            ),
            (
                _("Handle"),
                {
                    "fields": [
                        "status",
                        "priority",
                        "assignee",
                        "reply_body",
                        "reply_internal",
                        "reply_attachment",
                        "macro",
                        "add_tags",
                        "log_minutes",
                        "log_description",
                    ]
                },
            ),
            (_("SLA"), {"fields": ["calendar_warning", "sla_policy", "sla_due_at", *self.sla_fields]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> Any:
        if obj is None:
            return []
        return [
            "number",
            "subject",
            "organization",
            "contract",
            "requester",
            "requester_email",
            "channel",
            "category",
            "deployment_ref",
            "created_at",
            "hours_overage",
            "tag_list",
            "calendar_warning",
            "sla_policy",
            "sla_due_at",
            *self.sla_fields,
        ]

    @admin.display(description=_("tags"))
    def tag_list(self, obj: Ticket) -> str:
        return ", ".join(tag.name for tag in obj.tags.all()) or "–"

    @admin.display(description=_("holiday data"))
    def calendar_warning(self, obj: Ticket) -> str:
        if obj.sla_uncovered_from is None:
            return "–"
        return format_html(
            '<strong class="sla-calendar-warning" style="color:#b00020">{}</strong>',
            _(
                "The business calendar has no holidays from %(day)s: due times after that count every "
                "weekday as a working day and may be too early."
            )
            % {"day": obj.sla_uncovered_from.isoformat()},
        )

    def get_inlines(self, request: HttpRequest, obj: Ticket | None) -> Any:
        return [MessageInline, TimeEntryInline, NotificationInline, EventInline] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets are records; close them instead

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        if not change:
            data = form.cleaned_data
            ticket = services.ticket_create(
                actor=request.user,
                organization=data["organization"],
                requester=data["requester"],
                subject=data["subject"],
                body=data["body"],
                priority=data["priority"],
                category=data["category"],
                contract=data.get("contract"),
                deployment_ref=data.get("deployment_ref", ""),
                assignee=data.get("assignee"),
            )
            obj.pk = ticket.pk
            obj.refresh_from_db()
            return
        self._apply_changes(request, obj, form)

    def _apply_changes(self, request: HttpRequest, obj: Ticket, form: Any) -> None:
        data, changed, actor = form.cleaned_data, form.changed_data, request.user
        try:
            with transaction.atomic():
                if "assignee" in changed:
                    services.ticket_assign(actor=actor, ticket=obj, assignee=data["assignee"])
                if "priority" in changed:
                    services.ticket_change_priority(actor=actor, ticket=obj, priority=data["priority"])
                status = data["status"] if "status" in changed else None
                if data.get("reply_body"):
                    upload = data.get("reply_attachment")
                    services.ticket_reply(
                        actor=actor,
                        ticket=obj,
                        body=data["reply_body"],
                        internal=data.get("reply_internal", False),
                        attachments=[upload] if upload else [],
                        status=status,
                    )
                elif status:
                    services.ticket_transition(actor=actor, ticket=obj, status=status)
                if data.get("macro"):
                    services.macro_apply(actor=actor, ticket=obj, macro=data["macro"])
                if data.get("add_tags"):
                    services.ticket_tags_add(actor=actor, ticket=obj, tags=data["add_tags"])
                if data.get("log_minutes"):
                    services.time_entry_add(
                        actor=actor,
                        ticket=obj,
                        minutes=data["log_minutes"],
                        description=data.get("log_description", ""),
                    )
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        obj.refresh_from_db()

    def get_urls(self) -> list[Any]:
        from django.urls import path

        return [
            path(
                "<int:ticket_id>/attachment/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="support_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def attachment_view(self, request: HttpRequest, ticket_id: int, attachment_id: int) -> Any:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return attachment_response(ticket_id=ticket_id, attachment_id=attachment_id, internal=True)

    @admin.action(description=_("Recompute SLA from the event log"))
    def recompute_sla(self, request: HttpRequest, queryset: Any) -> None:
        count = services.tickets_sla_recompute(ticket_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, ngettext("%d ticket recomputed.", "%d tickets recomputed.", count) % count)

    def _transition_all(self, request: HttpRequest, queryset: Any, status: str) -> None:
        done = 0
        for ticket in queryset:
            if report_errors(
                request, services.ticket_transition, actor=request.user, ticket=ticket, status=status
            ):
                done += 1
        self.message_user(request, ngettext("%d ticket updated.", "%d tickets updated.", done) % done)

    @admin.action(description=_("Mark as resolved"))
    def resolve(self, request: HttpRequest, queryset: Any) -> None:
        self._transition_all(request, queryset, TicketStatus.RESOLVED)

    @admin.action(description=_("Close"))
    def close(self, request: HttpRequest, queryset: Any) -> None:
        self._transition_all(request, queryset, TicketStatus.CLOSED)


@admin.register(SlaNotification)
class SlaNotificationAdmin(admin.ModelAdmin):
    list_display = ["ticket", "metric", "kind", "due_at", "created_at", "sent_at"]
    list_filter = ["metric", "kind"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__number"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
