"""Admin of the CRM side of customers: inquiries with their activity notes, revenue shares agreed per
contract. Imported by customers/admin.py."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from customers.admin_inquiry_analysis import inquiry_analysis_view
from customers.forms import InquiryAdminForm
from customers.models import (
    ContractRevenueShare,
    Inquiry,
    InquiryInterest,
    InquiryMotive,
    InquiryNote,
    InquiryStage,
)
from customers.services import contract_revenue_share_set, inquiry_add_note, inquiry_convert, inquiry_move
from portal.core.admin import AuditTimelineInline
from portal.core.errors import ApplicationError
from portal.core.services import audit


@admin.register(ContractRevenueShare)
class ContractRevenueShareAdmin(admin.ModelAdmin):
    """Revenue shares agreed per contract; without one the partner's own share applies."""

    list_display = (
        "contract",
        "partner",
        "organization",
        "partner_default",
        "percent",
        "reason",
        "set_by",
        "updated_at",
    )
    list_select_related = ("contract__partner", "contract__organization", "set_by")
    list_filter = ("contract__partner",)
    search_fields = ("contract__number", "contract__organization__name", "contract__partner__name")
    autocomplete_fields = ("contract",)
    fields = ("contract", "percent", "reason", "set_by", "updated_at")
    readonly_fields = ("set_by", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return ("contract", *self.readonly_fields) if obj is not None else self.readonly_fields

    @admin.display(description=_("partner"), ordering="contract__partner__name")
    def partner(self, obj: ContractRevenueShare) -> str:
        return str(obj.contract.partner or "—")

    @admin.display(description=_("organization"))
    def organization(self, obj: ContractRevenueShare) -> str:
        return str(obj.contract.organization)

    @admin.display(description=_("partner's default %"))
    def partner_default(self, obj: ContractRevenueShare) -> str:
        partner = obj.contract.partner
        return str(partner.revenue_share_percent) if partner else "—"

    def save_model(self, request, obj, form, change) -> None:
        share = contract_revenue_share_set(
            actor=request.user, contract=obj.contract, percent=obj.percent, reason=obj.reason
        )
        obj.pk = share.pk if share else obj.pk

    def delete_model(self, request, obj) -> None:
        contract_revenue_share_set(actor=request.user, contract=obj.contract, percent=None)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset.select_related("contract"):
            contract_revenue_share_set(actor=request.user, contract=obj.contract, percent=None)


# Inquiries (CRM) ------------------------------------------------------------------------------------------


class InquiryNoteInline(admin.TabularInline):
    """Append-only: earlier notes are read-only, a new note is added at the bottom."""

    model = InquiryNote
    extra = 1
    fields = ("created_at", "kind", "author", "body")
    readonly_fields = ("created_at", "kind", "author")
    can_delete = False
    ordering = ("created_at", "id")
    verbose_name = _("activity note")
    verbose_name_plural = _("activity")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class AskedForFilter(admin.SimpleListFilter):
    title = _("asked for")
    parameter_name = "asked"

    def lookups(self, request, model_admin):
        return InquiryInterest.choices

    def queryset(self, request, queryset):
        if self.value() in InquiryInterest.values:
            # A JSON list of codes: match the quoted code, which works on PostgreSQL and SQLite alike.
            return queryset.filter(interests__icontains=f'"{self.value()}"')
        return queryset


class MotiveFilter(admin.SimpleListFilter):
    title = _("motive")
    parameter_name = "motive"

    def lookups(self, request, model_admin):
        return InquiryMotive.choices

    def queryset(self, request, queryset):
        if self.value() in InquiryMotive.values:
            return queryset.filter(motives__icontains=f'"{self.value()}"')
        return queryset


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    form = InquiryAdminForm
    change_form_template = "customers/admin/inquiry_change_form.html"
    change_list_template = "customers/admin/inquiry_change_list.html"
    list_display = (
        "created_at",
        "who",
        "industry",
        "channel",
        "asked_for",
        "recommended_offer",
        "stage",
        "owner",
        "contract",
    )
    list_filter = (
        "stage",
        "channel",
        "industry",
        AskedForFilter,
        MotiveFilter,
        "recommended_offer",
        "owner",
        "partner",
    )
    search_fields = (
        "company_name",
        "contact_name",
        "contact_email",
        "contact_phone",
        "organization__name",
        "message",
    )
    list_select_related = ("organization", "owner", "contract", "partner")
    autocomplete_fields = ("organization", "partner", "owner")
    date_hierarchy = "created_at"
    inlines = [InquiryNoteInline, AuditTimelineInline]
    actions = ["convert_selected", "mark_qualified"]
    readonly_fields = (
        "contract",
        "signup_user",
        "source_ip",
        "stage_changed_at",
        "closed_at",
        "converted_at",
        "notified_at",
        "updated_at",
    )
    fieldsets = (
        (
            _("Who asked"),
            {
                "fields": (
                    "organization",
                    "company_name",
                    ("contact_name", "contact_email", "contact_phone"),
                    ("channel", "partner"),
                    ("industry", "company_size", "country"),
                )
            },
        ),
        (_("What they asked"), {"fields": ("interests", "motives", "message")}),
        (_("Sales"), {"fields": ("recommended_offer", "owner", ("stage", "lost_reason"))}),
        (
            _("Record"),
            {
                "classes": ("collapse",),
                "fields": (
                    "created_at",
                    "contract",
                    "signup_user",
                    "source_ip",
                    ("stage_changed_at", "closed_at", "converted_at"),
                    ("notified_at", "updated_at"),
                ),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("created_at", "channel", *self.readonly_fields)
        return self.readonly_fields

    @admin.display(description=_("who"), ordering="company_name")
    def who(self, obj: Inquiry) -> str:
        contact = obj.contact_name or obj.contact_email or obj.contact_phone
        return (
            f"{obj.display_name} · {contact}" if contact and contact != obj.display_name else obj.display_name
        )

    @admin.display(description=_("asked for"))
    def asked_for(self, obj: Inquiry) -> str:
        return ", ".join(obj.interest_labels())

    def get_urls(self):
        return [
            path(
                "analysis/",
                self.admin_site.admin_view(self.analysis_view),
                name="customers_inquiry_analysis",
            ),
            path(
                "<path:object_id>/convert/",
                self.admin_site.admin_view(self.convert_view),
                name="customers_inquiry_convert",
            ),
            *super().get_urls(),
        ]

    def analysis_view(self, request):
        return inquiry_analysis_view(self, request)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            # The admin view already runs in a transaction; the audit row joins it.
            super().save_model(request, obj, form, change)
            audit(actor=request.user, action="inquiry.create", target=obj, data={"channel": obj.channel})
            return
        target_stage, lost_reason = obj.stage, obj.lost_reason
        if "stage" in form.changed_data:
            obj.stage = form.initial["stage"]
            obj.lost_reason = form.initial.get("lost_reason", "")
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name not in {"stage", "lost_reason"}]
        if changed:
            audit(actor=request.user, action="inquiry.update", target=obj, data={"fields": sorted(changed)})
        if "stage" in form.changed_data:
            moved = inquiry_move(actor=request.user, inquiry=obj, stage=target_stage, lost_reason=lost_reason)
            obj.stage, obj.lost_reason = moved.stage, moved.lost_reason

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not InquiryNote:
            return super().save_formset(request, form, formset, change)
        created = []
        for note_form in formset.extra_forms:
            body = note_form.cleaned_data.get("body") if note_form.has_changed() else None
            if body:
                created.append(inquiry_add_note(actor=request.user, inquiry=form.instance, body=body))
        formset.new_objects, formset.changed_objects, formset.deleted_objects = created, [], []
        return None

    def convert_view(self, request, object_id: str):
        inquiry = self.get_object(request, object_id)
        if inquiry is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, inquiry):
            raise PermissionDenied
        self._convert(request, inquiry)
        return redirect(reverse("admin:customers_inquiry_change", args=[inquiry.pk]))

    def _convert(self, request, inquiry: Inquiry) -> bool:
        try:
            contract = inquiry_convert(actor=request.user, inquiry=inquiry)
        except (ApplicationError, ValidationError) as exc:
            detail = exc.detail if isinstance(exc, ApplicationError) else " ".join(exc.messages)
            self.message_user(request, f"{inquiry.display_name}: {detail}", messages.ERROR)
            return False
        self.message_user(
            request,
            format_html(
                str(
                    _(
                        '{inquiry}: customer {organization} with draft contract <a href="{url}">{contract}</a>.'
                    )
                ),
                inquiry=inquiry.display_name,
                organization=contract.organization.name,
                url=reverse("admin:contracts_contract_change", args=[contract.pk]),
                contract=contract.number,
            ),
            messages.SUCCESS,
        )
        return True

    @admin.action(description=_("Convert won inquiries into customers with a draft contract"))
    def convert_selected(self, request, queryset) -> None:
        for inquiry in queryset.order_by("pk"):
            self._convert(request, inquiry)

    @admin.action(description=_("Mark selected new inquiries as qualified"))
    def mark_qualified(self, request, queryset) -> None:
        moved = 0
        for inquiry in queryset.filter(stage=InquiryStage.NEW):
            inquiry_move(actor=request.user, inquiry=inquiry, stage=InquiryStage.QUALIFIED)
            moved += 1
        self.message_user(request, _("%(n)d inquiries qualified.") % {"n": moved})
