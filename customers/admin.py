from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract, ContractStatus

# Revenue shares per contract and inquiries: registered by customers/admin_crm.py (the partner statement
# and the revenue dashboard by billing/admin/reports.py); deal registrations and partner users by
# customers/admin_partners.py.
from customers import (
    admin_crm,  # noqa: F401
    admin_partners,  # noqa: F401
)
from customers.admin_invitations import InvitationInline, invite_users
from customers.models import (
    Contact,
    Inquiry,
    Membership,
    Organization,
    Partner,
    PartnerMembership,
)
from customers.selectors import revenue_share_percent_for
from editions.models import Edition
from portal.core.models import AuditEvent
from portal.core.services import audit


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("name", "email", "phone", "title", "is_primary")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


class ContractInline(admin.TabularInline):
    model = Contract
    extra = 0
    fields = ("number", "edition", "status", "start_date", "end_date", "price", "currency")
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    ordering = ("-start_date",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("edition")


class EditionFilter(admin.SimpleListFilter):
    title = _("edition (active contract)")
    parameter_name = "edition"

    def lookups(self, request, model_admin):
        return [(e.code, e.name) for e in Edition.objects.order_by("sort_order")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                contracts__edition__code=self.value(), contracts__status=ContractStatus.ACTIVE
            ).distinct()
        return queryset


class ContractStatusFilter(admin.SimpleListFilter):
    title = _("contract status")
    parameter_name = "contract_status"

    def lookups(self, request, model_admin):
        return [*ContractStatus.choices, ("none", _("no contract"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(contracts__isnull=True)
        if self.value():
            return queryset.filter(contracts__status=self.value()).distinct()
        return queryset


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "industry",
        "region",
        "country",
        "account_owner",
        "partner",
        "active_contracts",
        "taxpayer_id",
    )
    list_filter = (
        EditionFilter,
        ContractStatusFilter,
        "industry",
        "size",
        "country",
        "partner",
        "account_owner",
        "is_community",
    )
    search_fields = ("name", "short_name", "taxpayer_id", "contacts__email", "memberships__user__email")
    list_select_related = ("account_owner", "partner")
    autocomplete_fields = ("account_owner", "partner")
    inlines = [ContactInline, MembershipInline, InvitationInline, ContractInline]
    actions = [invite_users]
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "short_name",
                    "industry",
                    "size",
                    "region",
                    "country",
                    "account_owner",
                    "partner",
                    "license_name",
                    "is_community",
                )
            },
        ),
        (
            _("Invoicing data"),
            {
                "fields": (
                    "taxpayer_id",
                    "invoice_title",
                    "registered_address",
                    "registered_phone",
                    "bank_name",
                    "bank_account",
                    "fapiao_type",
                    "billing_email",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_active_contracts=Count("contracts", filter=Q(contracts__status=ContractStatus.ACTIVE)))
            # A grouped query drops Meta.ordering: the autocomplete's paginator would get it unordered.
            .order_by("name", "pk")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The customer-360: billing, deployments and support show their panels on this page (the
        template loads each app's admin tags); the inquiries and the history are this app's own."""
        inquiries = (
            Inquiry.objects.filter(organization_id=object_id).select_related("owner").order_by("-created_at")
        )
        history = (
            AuditEvent.objects.filter(
                target_type=ContentType.objects.get_for_model(Organization), target_id=str(object_id)
            )
            .select_related("actor")
            .order_by("-created_at")[:15]
        )
        extra = {"inquiries": list(inquiries[:8]), "history": list(history), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.display(description=_("active contracts"), ordering="_active_contracts")
    def active_contracts(self, obj: Any) -> int:  # a row of get_queryset(), with its annotations
        return obj._active_contracts

    def save_model(self, request, obj, form, change) -> None:
        # The admin view already runs in a transaction; the audit row joins it.
        super().save_model(request, obj, form, change)
        action = "organization.update" if change else "organization.create"
        audit(actor=request.user, action=action, target=obj, data={"fields": sorted(form.changed_data)})


class PartnerMembershipInline(admin.TabularInline):
    """The partner's users (partner area); invite new ones under "partner invitations"."""

    model = PartnerMembership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class PartnerContractInline(admin.TabularInline):
    """The partner-sourced contracts, with the revenue share that applies to each."""

    model = Contract
    fk_name = "partner"
    extra = 0
    fields = (
        "number",
        "organization",
        "edition",
        "status",
        "start_date",
        "end_date",
        "price",
        "currency",
        "share",
    )
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    ordering = ("-start_date",)
    verbose_name = _("partner-sourced contract")
    verbose_name_plural = _("partner-sourced contracts")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization", "edition", "partner", "revenue_share")
        )

    @admin.display(description=_("revenue share %"))
    def share(self, obj: Contract) -> str:
        percent = revenue_share_percent_for(contract=obj)
        if hasattr(obj, "revenue_share"):
            return _("%(percent)s (agreed for this contract)") % {"percent": percent}
        return str(percent)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display: tuple[str, ...] = (
        "name",
        "kind",
        "revenue_share_percent",
        "contact_email",
        "organization_count",
        "is_active",
    )
    list_filter = ("kind", "is_active")
    search_fields = ("name", "contact_email", "contact_name")
    inlines = [PartnerMembershipInline, PartnerContractInline]
    change_form_template = "customers/admin/partner_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_organizations=Count("organizations"))

    @admin.display(description=_("organizations"), ordering="_organizations")
    def organization_count(self, obj: Any) -> int:  # a row of get_queryset(), with its annotations
        return obj._organizations


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "user__username", "organization__name")
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user", "organization")
