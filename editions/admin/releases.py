"""Admin for releases and their artifacts: staff upload files (size and SHA-256 computed streaming) or name
a file already in storage, choose the entitled editions/modules, and publish the release."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from editions import services
from editions.models import Artifact, ArtifactKind, Release
from editions.serving import downloads_storage


class ArtifactInline(admin.TabularInline):
    model = Artifact
    extra = 0
    fields = ("name", "kind", "repository", "size", "sha256")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # artifacts are added on their own page, which takes the upload


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = (
        "version",
        "channel",
        "support_status",
        "released_on",
        "is_published",
        "published_at",
        "artifact_count",
    )
    list_filter = ("channel", "support_status", "is_published")
    search_fields = ("version",)
    date_hierarchy = "released_on"
    readonly_fields = ("is_published", "published_at", "created_at")
    fields = (
        "version",
        "channel",
        "support_status",
        "released_on",
        "notes",
        "is_published",
        "published_at",
        "created_at",
    )
    inlines = [ArtifactInline]
    actions = ["publish", "unpublish"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Release]:
        return super().get_queryset(request).annotate(artifact_total=Count("artifacts"))

    @admin.display(description=_("artifacts"), ordering="artifact_total")
    def artifact_count(self, obj: Any) -> int:  # a row of get_queryset(), with its annotations
        return obj.artifact_total

    @admin.action(description=_("Publish the selected releases"))
    def publish(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        count = 0
        for release in queryset.filter(is_published=False):
            services.release_publish(actor=request.user, release=release)
            count += 1
        self.message_user(
            request,
            ngettext("%d release published.", "%d releases published.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(description=_("Withdraw the selected releases"))
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        count = 0
        for release in queryset.filter(is_published=True):
            services.release_unpublish(actor=request.user, release=release)
            count += 1
        self.message_user(
            request,
            ngettext("%d release withdrawn.", "%d releases withdrawn.", count) % count,
            messages.SUCCESS,
        )


class ArtifactForm(forms.ModelForm):
    upload = forms.FileField(
        label=_("upload a file"),
        required=False,
        help_text=_("Stored in the downloads storage; size and SHA-256 are computed."),
    )
    verify_checksum = forms.BooleanField(
        label=_("verify the file in storage"),
        required=False,
        help_text=_("Recompute size and SHA-256 from the stored file (otherwise only when empty)."),
    )

    class Meta:
        model = Artifact
        fields = (
            "release",
            "kind",
            "name",
            "sort_order",
            "repository",
            "tag",
            "digest",
            "upload",
            "storage_key",
            "verify_checksum",
            "size",
            "sha256",
            "editions",
            "modules",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        upload = data.get("upload")
        key = (data.get("storage_key") or "").strip().lstrip("/")
        if kind == ArtifactKind.DOCKER_IMAGE:
            if upload:
                self.add_error("upload", _("Images are pushed to the registry, not uploaded here."))
            return data
        if upload:
            # A provisional key so the model's constraints validate; the service stores the upload and
            # sets the real key (the storage may pick another name if this one is taken).
            data["storage_key"] = (
                key or f"releases/{getattr(data.get('release'), 'version', '')}/{upload.name}"
            )
            return data
        if not key:
            self.add_error("storage_key", _("Upload the file or enter the storage key of an existing file."))
            return data
        if not downloads_storage().exists(key):
            self.add_error("storage_key", _("There is no file with this key in the downloads storage."))
            return data
        if not data.get("sha256") or data.get("size") is None or data.get("verify_checksum"):
            size, sha256 = services.artifact_checksum_from_storage(storage_key=key)
            entered = (data.get("sha256") or "").strip().lower()
            if entered and entered != sha256:
                self.add_error(
                    "sha256", _("The file in storage has a different SHA-256: %(sha)s.") % {"sha": sha256}
                )
                return data
            data["size"], data["sha256"] = size, sha256
            self.instance.size, self.instance.sha256 = size, sha256
        return data


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    form = ArtifactForm
    list_display = ("name", "release", "kind", "repository", "size", "short_sha256", "edition_codes")
    list_filter = ("kind", "release__channel", "release__is_published", "editions")
    list_select_related = ("release",)
    search_fields = ("name", "repository", "=sha256", "=digest", "storage_key", "release__version")
    autocomplete_fields = ("release",)
    filter_horizontal = ("editions", "modules")
    readonly_fields = ("created_by", "created_at")
    fieldsets = (
        (None, {"fields": ("release", "kind", "name", "sort_order")}),
        (_("Image in the registry"), {"fields": ("repository", "tag", "digest")}),
        (_("File"), {"fields": ("upload", "storage_key", "verify_checksum", "size", "sha256")}),
        (_("Who may fetch it"), {"fields": ("editions", "modules")}),
        (_("History"), {"fields": ("created_by", "created_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artifact]:
        return super().get_queryset(request).prefetch_related("editions")

    @admin.display(description=_("SHA-256"))
    def short_sha256(self, obj: Artifact) -> str:
        return f"{obj.sha256[:12]}…" if obj.sha256 else (obj.digest[:19] + "…" if obj.digest else "")

    @admin.display(description=_("entitled editions"))
    def edition_codes(self, obj: Artifact) -> str:
        return ", ".join(e.code for e in obj.editions.all())

    def save_model(self, request: HttpRequest, obj: Artifact, form: ArtifactForm, change: bool) -> None:
        try:
            services.artifact_save(actor=request.user, artifact=obj, upload=form.cleaned_data.get("upload"))
        except ValidationError as exc:  # a race with the storage since clean(): say so, do not 500
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            raise
