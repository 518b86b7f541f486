"""Inbound mail (the triage queue), macros and tags in the back office."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.models import Organization
from support import services
from support.admin._utils import report_errors
from support.models import PLACEHOLDERS, InboundMail, InboundStatus, Macro, Ticket, TicketTag

if TYPE_CHECKING:
    from django.forms import ModelChoiceField


class TriageForm(forms.ModelForm):
    """A waiting mail becomes a ticket of the chosen organization, or a message on the chosen ticket."""

    organization: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("open a ticket for organization"),
        queryset=None,
        required=False,
    )
    target_ticket = forms.CharField(label=_("or add it to ticket (number)"), max_length=30, required=False)
    add_contact = forms.BooleanField(
        label=_("add the sender as a contact of the organization"), required=False, initial=True
    )

    class Meta:
        model = InboundMail
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("ModelChoiceField[Any]", self.fields["organization"]).queryset = Organization.objects.order_by(
            "name"
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        number = (data.get("target_ticket") or "").strip()
        data["ticket"] = None
        if number:
            data["ticket"] = Ticket.objects.filter(number=number).first()
            if data["ticket"] is None:
                self.add_error("target_ticket", _("No ticket with this number."))
        return data


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    form = TriageForm
    list_display = ["received_at", "from_address", "subject", "status", "reason", "ticket_link", "source"]
    list_filter = ["status", "source"]
    list_select_related = ["ticket"]
    search_fields = ["from_address", "subject", "message_id", "ticket__number"]
    date_hierarchy = "received_at"
    actions = ["discard"]
    readonly_fields = [
        "message_id",
        "source",
        "status",
        "reason",
        "from_address",
        "from_name",
        "subject",
        "size",
        "received_at",
        "reply_sent_at",
        "ticket_link",
        "handled_by",
        "body",
    ]

    def get_fieldsets(self, request: HttpRequest, obj: InboundMail | None = None) -> Any:
        sets: list[Any] = [(None, {"fields": self.readonly_fields})]
        if obj is not None and obj.status == InboundStatus.TRIAGE:
            sets.append((_("Triage"), {"fields": ["organization", "add_contact", "target_ticket"]}))
        return sets

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_link(self, obj: InboundMail) -> str:
        if not obj.ticket_id:
            return "–"
        url = reverse("admin:support_ticket_change", args=[obj.ticket_id])
        return format_html('<a href="{}">{}</a>', url, obj.ticket.number if obj.ticket is not None else "")

    def save_model(self, request: HttpRequest, obj: InboundMail, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if obj.status != InboundStatus.TRIAGE or not (data.get("organization") or data.get("ticket")):
            return
        ticket = report_errors(
            request,
            services.inbound_mail_triage,
            actor=request.user,
            inbound=obj,
            organization=None if data.get("ticket") else data.get("organization"),
            ticket=data.get("ticket"),
            add_contact=data.get("add_contact", False),
        )
        if ticket is not None:
            messages.success(request, _("The mail is now on ticket %(number)s.") % {"number": ticket.number})

    def response_change(self, request: HttpRequest, obj: InboundMail) -> Any:
        return HttpResponseRedirect(reverse("admin:support_inboundmail_change", args=[obj.pk]))

    @admin.action(description=_("Discard (spam, not for support)"))
    def discard(self, request: HttpRequest, queryset: Any) -> None:
        done = 0
        for inbound in queryset.filter(status=InboundStatus.TRIAGE):
            if report_errors(request, services.inbound_mail_discard, actor=request.user, inbound=inbound):
                done += 1
        self.message_user(request, ngettext("%d mail discarded.", "%d mails discarded.", done) % done)


class MacroForm(forms.ModelForm):
    class Meta:
        model = Macro
        fields = ["name", "body_zh", "body_en", "internal", "set_status", "add_tags", "is_active"]
        widgets = {
            "body_zh": forms.Textarea(attrs={"rows": 8}),
            "body_en": forms.Textarea(attrs={"rows": 8}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        available = ", ".join("{{ " + name + " }}" + f" ({label})" for name, label in PLACEHOLDERS.items())
        for name in ("body_zh", "body_en"):
            self.fields[name].help_text = _("Placeholders: %(list)s") % {"list": available}


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    form = MacroForm
    list_display = ["name", "set_status", "internal", "is_active", "updated_at"]
    list_filter = ["is_active", "internal", "set_status"]
    search_fields = ["name", "body_zh", "body_en"]
    filter_horizontal = ["add_tags"]

    def save_model(self, request: HttpRequest, obj: Macro, form: Any, change: bool) -> None:
        from django.utils import timezone

        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(TicketTag)
class TicketTagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
