"""Admin of the partner area: deal registrations (sales approve, reject with a reason, mark won or
lost; conflicts shown), partner users and their invitations. Imported by customers/admin.py.
State changes go through customers.partner_services, never obj.save()."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from customers.models import DealRegistration, DealStatus, PartnerInvitation, PartnerMembership
from customers.partner_services import (
    deal_approve,
    deal_mark_lost,
    deal_mark_won,
    deal_protection_set,
    deal_reject,
    partner_invitation_create,
    partner_invitation_revoke,
)
from portal.core.admin import AuditTimelineInline
from portal.core.errors import ApplicationError

DECISIONS = {
    "approve": (_("approve (protects the partner's claim)"), DealStatus.APPROVED),
    "reject": (_("reject (say why)"), DealStatus.REJECTED),
    "won": (_("won: create the customer and draft contract"), DealStatus.WON),
    "lost": (_("lost"), DealStatus.LOST),
}


class DealDecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label=_("decision"),
        required=False,
        choices=[("", "—")] + [(key, label) for key, (label, _status) in DECISIONS.items()],
    )
    decision_reason_input = forms.CharField(
        label=_("reason"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required to reject; the partner sees it."),
    )

    class Meta:
        model = DealRegistration
        fields = ("protected_until",)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("decision_reason_input") or "").strip():
            self.add_error("decision_reason_input", _("Say why the registration is rejected."))
        return data


@admin.register(DealRegistration)
class DealRegistrationAdmin(admin.ModelAdmin):
    form = DealDecisionForm
    list_display = (
        "company_name",
        "partner",
        "edition",
        "expected_value",
        "currency",
        "expected_close_date",
        "status",
        "conflict_count",
        "protected_until",
        "created_at",
    )
    list_filter = ("status", ("partner", admin.RelatedOnlyFieldListFilter), "edition")
    search_fields = ("company_name", "taxpayer_id", "partner__name", "contact_email")
    list_select_related = ("partner", "edition")
    date_hierarchy = "created_at"
    actions = ["approve_selected"]
    inlines = [AuditTimelineInline]
    readonly_fields = (
        "partner",
        "registered_by",
        "company_name",
        "taxpayer_id",
        "industry",
        "country",
        "contact_name",
        "contact_email",
        "edition",
        "expected_devices",
        "expected_value",
        "currency",
        "expected_close_date",
        "notes",
        "status",
        "conflict_list",
        "decision_reason",
        "decided_by",
        "decided_at",
        "organization",
        "contract",
        "inquiry",
        "created_at",
    )
    fieldsets = (
        (
            _("Registration"),
            {
                "fields": (
                    ("partner", "registered_by", "created_at"),
                    ("company_name", "taxpayer_id"),
                    ("industry", "country"),
                    ("contact_name", "contact_email"),
                    ("edition", "expected_devices"),
                    ("expected_value", "currency", "expected_close_date"),
                    "notes",
                )
            },
        ),
        (_("Conflicts"), {"fields": ("conflict_list",)}),
        (
            _("Decision"),
            {
                "fields": (
                    "status",
                    ("decision", "decision_reason_input"),
                    "protected_until",
                    ("decision_reason", "decided_by", "decided_at"),
                    ("organization", "contract", "inquiry"),
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners register deals in the partner area

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("conflicts"))
    def conflict_count(self, obj: DealRegistration) -> str:
        return format_html("<strong>{}</strong>", len(obj.conflicts)) if obj.conflicts else "–"

    @admin.display(description=_("conflicts"))
    def conflict_list(self, obj: DealRegistration) -> str:
        if not obj.conflicts:
            return str(_("none"))
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {} {}</li>",
                (
                    (
                        _("existing customer")
                        if c["kind"] == "customer"
                        else _("registration by another partner"),
                        c["name"],
                        f"({c['partner']})" if c.get("partner") else "",
                    )
                    for c in obj.conflicts
                ),
            ),
        )

    def save_model(self, request: HttpRequest, obj: DealRegistration, form: forms.Form, change: bool) -> None:
        decision = form.cleaned_data.get("decision")
        reason = form.cleaned_data.get("decision_reason_input") or ""
        if not decision:
            if "protected_until" in form.changed_data:
                try:
                    deal_protection_set(actor=request.user, deal=obj, protected_until=obj.protected_until)
                except ApplicationError as exc:
                    self.message_user(request, f"{obj.company_name}: {exc.detail}", messages.ERROR)
            return
        services = {
            "approve": lambda: deal_approve(actor=request.user, deal=obj, reason=reason),
            "reject": lambda: deal_reject(actor=request.user, deal=obj, reason=reason),
            "won": lambda: deal_mark_won(actor=request.user, deal=obj),
            "lost": lambda: deal_mark_lost(actor=request.user, deal=obj, reason=reason),
        }
        try:
            deal = services[decision]()
        except (ApplicationError, ValidationError) as exc:
            detail = exc.detail if isinstance(exc, ApplicationError) else " ".join(exc.messages)
            self.message_user(request, f"{obj.company_name}: {detail}", messages.ERROR)
            return
        self.message_user(request, f"{deal.company_name}: {deal.get_status_display()}", messages.SUCCESS)

    @admin.action(description=_("Approve selected registrations"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[DealRegistration]) -> None:
        for deal in queryset.filter(status=DealStatus.SUBMITTED).order_by("pk"):
            try:
                deal_approve(actor=request.user, deal=deal)
            except ApplicationError as exc:
                self.message_user(request, f"{deal.company_name}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, _("%(name)s approved.") % {"name": deal.company_name})


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "partner", "role", "created_at")
    list_filter = ("role", ("partner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__email", "partner__name")
    list_select_related = ("user", "partner")
    autocomplete_fields = ("user", "partner")


class PartnerInvitationForm(forms.ModelForm):
    class Meta:
        model = PartnerInvitation
        fields = ("partner", "email", "role")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        partner, email = data.get("partner"), data.get("email")
        if (
            partner
            and email
            and PartnerMembership.objects.filter(partner=partner, user__email__iexact=email).exists()
        ):
            self.add_error("email", _("This address is already a user of this partner."))
        return data


@admin.register(PartnerInvitation)
class PartnerInvitationAdmin(admin.ModelAdmin):
    """Sales invite a partner's first administrator here; the partner invites the rest itself."""

    form = PartnerInvitationForm
    list_display = ("email", "partner", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role", ("partner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("email", "partner__name")
    list_select_related = ("partner",)
    fields = ("partner", "email", "role")
    autocomplete_fields = ("partner",)
    actions = ["revoke_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("partner", "email", "role") if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: PartnerInvitation, form: forms.Form, change: bool
    ) -> None:
        if change:
            return
        created = partner_invitation_create(
            actor=request.user, partner=obj.partner, email=obj.email, role=obj.role
        )
        obj.pk = created.pk

    @admin.action(description=_("Withdraw selected invitations"))
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[PartnerInvitation]) -> None:
        for invitation in queryset:
            partner_invitation_revoke(actor=request.user, invitation=invitation)
