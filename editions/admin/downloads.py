"""Admin for the download trail (search a leaked archive by its SHA-256), NDA terms and acceptances, and
registry credentials (service accounts for publishing are created here; secrets are shown once)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from editions import services
from editions.models import Download, DownloadTransfer, NdaAcceptance, NdaTerms, RegistryCredential
from portal.core.admin_reports import ReadOnlyAdminMixin
from portal.core.errors import ApplicationError


class DownloadTransferInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DownloadTransfer
    extra = 0
    fields = ("at", "status", "range_start", "range_end", "bytes", "mode", "ip_address", "user_agent")
    readonly_fields = fields


@admin.register(Download)
class DownloadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "artifact",
        "organization",
        "user",
        "ip_address",
        "bytes_served",
        "download_id",
        "delivered_sha256",
    )
    list_filter = ("artifact__kind", "artifact__release__channel")
    list_select_related = ("artifact__release", "organization", "user")
    search_fields = (
        "=delivered_sha256",
        "=artifact__sha256",
        "download_id__exact",
        "user__email",
        "organization__name",
        "contract__number",
        "artifact__name",
        "ip_address",
    )
    search_help_text = _(
        "Search by the SHA-256 of a file found elsewhere, a download ID, a user, an organization."
    )
    date_hierarchy = "created_at"
    fields = (
        "download_id",
        "artifact",
        "organization",
        "contract",
        "user",
        "created_at",
        "ip_address",
        "user_agent",
        "nda_acceptance",
        "delivered_storage_key",
        "delivered_size",
        "delivered_sha256",
    )
    readonly_fields = fields
    inlines = [DownloadTransferInline]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm("editions.view_download")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Download]:
        return super().get_queryset(request).annotate(bytes_total=Sum("transfers__bytes"))

    @admin.display(description=_("bytes served"), ordering="bytes_total")
    def bytes_served(self, obj: Any) -> str:  # a row of get_queryset(), with its annotations
        return f"{obj.bytes_total or 0:,}"


@admin.register(NdaTerms)
class NdaTermsAdmin(admin.ModelAdmin):
    list_display = ("version", "title", "published_at", "acceptance_count")
    search_fields = ("version", "title")
    date_hierarchy = "published_at"

    @admin.display(description=_("acceptances"))
    def acceptance_count(self, obj: NdaTerms) -> int:
        return obj.acceptances.count()

    def get_readonly_fields(self, request: HttpRequest, obj: NdaTerms | None = None) -> tuple[str, ...]:
        # Accepted text is evidence: it never changes; publish a new version instead.
        if obj is not None and obj.acceptances.exists():
            return ("version", "title", "body", "published_at")
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: NdaTerms | None = None) -> bool:
        return obj is None or not obj.acceptances.exists()


@admin.register(NdaAcceptance)
class NdaAcceptanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("accepted_at", "user", "organization", "terms", "ip_address")
    list_filter = ("terms",)
    list_select_related = ("user", "organization", "terms")
    search_fields = ("user__email", "organization__name", "terms__version")
    date_hierarchy = "accepted_at"
    fields = ("user", "organization", "terms", "terms_sha256", "accepted_at", "ip_address", "user_agent")
    readonly_fields = fields


class RegistryCredentialForm(forms.ModelForm):
    username = forms.CharField(
        label=_("username"),
        required=False,
        max_length=60,
        help_text=_("Service accounts only (no organization); customers' usernames are generated."),
    )

    class Meta:
        model = RegistryCredential
        fields = ("organization", "name")


@admin.register(RegistryCredential)
class RegistryCredentialAdmin(admin.ModelAdmin):
    form = RegistryCredentialForm
    list_display = (
        "username",
        "name",
        "organization",
        "can_push",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (("organization", admin.EmptyFieldListFilter), ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("organization",)
    search_fields = ("username", "name", "organization__name")
    autocomplete_fields = ("organization",)
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: RegistryCredential | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("organization", "name", "username")
        return (
            "username",
            "organization",
            "name",
            "created_by",
            "created_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
            "revoked_by",
        )

    def get_readonly_fields(
        self, request: HttpRequest, obj: RegistryCredential | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "username",
            "organization",
            "created_by",
            "created_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
            "revoked_by",
        )

    @admin.display(description=_("may push"), boolean=True)
    def can_push(self, obj: RegistryCredential) -> bool:
        from django.conf import settings

        return obj.is_service_account and obj.username in settings.REGISTRY_PUSH_USERS

    def save_model(self, request: HttpRequest, obj: RegistryCredential, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        credential, secret = services.registry_credential_create(
            actor=request.user,
            organization=form.cleaned_data.get("organization"),
            name=form.cleaned_data["name"],
            username=form.cleaned_data.get("username") or "",
        )
        for field in credential._meta.concrete_fields:
            setattr(obj, field.attname, getattr(credential, field.attname))
        obj._state.adding = False
        self.message_user(
            request,
            _("Username %(username)s, secret %(secret)s — copy the secret now, it is not shown again.")
            % {"username": credential.username, "secret": secret},
            messages.WARNING,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # no many-to-many fields; the service created the row

    @admin.action(description=_("Revoke the selected credentials"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[RegistryCredential]) -> None:
        count = 0
        for credential in queryset.filter(revoked_at__isnull=True):
            try:
                services.registry_credential_revoke(actor=request.user, credential=credential)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{credential}: {exc.detail}", messages.ERROR)
        self.message_user(
            request,
            ngettext("%d credential revoked.", "%d credentials revoked.", count) % count,
            messages.SUCCESS,
        )
