"""The back office for licensing: keys, deployments, activation codes, licenses, usage.

State changes go through licenses.services; the admin only collects input and reports results.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from licenses import selectors, services
from licenses.models import (
    ActivationCode,
    Deployment,
    License,
    LicenseEvent,
    LicenseState,
    SigningKey,
    UsageReport,
)
from portal.core.admin_reports import ReadOnlyAdminMixin, ReadOnlyInline
from portal.core.errors import ApplicationError


def _run(modeladmin: admin.ModelAdmin, request: HttpRequest, items: Any, operation: Any, done: Any) -> int:
    """Call a service per item; report successes in one message and each refusal on its own."""
    ok = 0
    for item in items:
        try:
            operation(item)
            ok += 1
        except (ApplicationError, ValidationError) as exc:
            modeladmin.message_user(request, f"{item}: {getattr(exc, 'detail', None) or exc}", messages.ERROR)
    if ok:
        modeladmin.message_user(request, done(ok), messages.SUCCESS)
    return ok


# --- signing keys ------------------------------------------------------------------------------------


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = (
        "kid",
        "algorithm",
        "state",
        "created_at",
        "retired_at",
        "license_count",
        "last_license_expires_at",
        "published",
    )
    list_filter = ("algorithm", "state")
    search_fields = ("kid",)
    fields = ("kid", "algorithm", "state", "created_at", "retired_at", "public_key_pem")
    readonly_fields = fields
    actions = ["rotate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SigningKey]:
        return selectors.signing_key_queryset()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are made by rotation (action or `manage.py license_keys`)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("licenses signed"), ordering="license_count")
    def license_count(self, obj: SigningKey) -> int:
        return obj.license_count  # type: ignore[attr-defined]

    @admin.display(description=_("last license expires"), ordering="last_license_expires_at")
    def last_license_expires_at(self, obj: SigningKey) -> Any:
        return obj.last_license_expires_at  # type: ignore[attr-defined]

    @admin.display(description=_("published in JWKS"), boolean=True)
    def published(self, obj: SigningKey) -> bool:
        last = obj.last_license_expires_at  # type: ignore[attr-defined]
        return obj.state == "active" or (last is not None and last > timezone.now())

    @admin.action(description=_("Rotate: create a new active key of the same algorithm"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        algorithms = sorted({key.algorithm for key in queryset})
        _run(
            self,
            request,
            algorithms,
            lambda algorithm: services.signing_key_rotate(actor=request.user, algorithm=algorithm),
            lambda n: ngettext("%(n)d key rotated.", "%(n)d keys rotated.", n) % {"n": n},
        )


# --- inlines -----------------------------------------------------------------------------------------


class LicenseInline(ReadOnlyInline):
    model = License
    fk_name = "deployment"
    fields = ("license_link", "state", "reason", "contract", "issued_at", "expires_at", "signing_key")
    readonly_fields = fields
    ordering = ("-pk",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[License]:
        return super().get_queryset(request).select_related("contract", "signing_key")

    @admin.display(description=_("license"))
    def license_link(self, obj: License) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:licenses_license_change", args=[obj.pk]), obj
        )


class UsageReportInline(ReadOnlyInline):
    model = UsageReport
    fields = ("reported_at", "device_count", "platform_version", "source_ip", "status", "contract")
    readonly_fields = fields
    verbose_name_plural = _("usage history (last 90 days)")
    ordering = ("-reported_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[UsageReport]:
        since = timezone.now() - dt.timedelta(days=90)
        return super().get_queryset(request).filter(reported_at__gte=since).select_related("contract")


class LicenseEventInline(ReadOnlyInline):
    model = LicenseEvent
    fields = ("created_at", "kind", "reason", "license", "actor", "via", "source_ip", "data")
    readonly_fields = fields
    ordering = ("-created_at", "-pk")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LicenseEvent]:
        return super().get_queryset(request).select_related("actor", "license")


class LicenseTimelineInline(LicenseEventInline):
    fk_name = "license"
    fields = ("created_at", "kind", "reason", "actor", "via", "source_ip", "data")  # type: ignore[assignment]  # without the license column
    readonly_fields = fields  # type: ignore[assignment]  # the same


# --- deployments -------------------------------------------------------------------------------------


class NotSeenFilter(admin.SimpleListFilter):
    title = _("not seen for")
    parameter_name = "not_seen"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("1", _("1 day")), ("7", _("7 days")), ("30", _("30 days")), ("never", _("never checked in"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "never":
            return queryset.filter(last_checkin_at__isnull=True)
        if value and value.isdigit():
            return queryset.filter(last_checkin_at__lt=timezone.now() - dt.timedelta(days=int(value)))
        return queryset


class OverLimitFilter(admin.SimpleListFilter):
    title = _("device limit")
    parameter_name = "over_limit"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("over the limit")), ("no", _("within the limit"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        over = Q(device_limit__isnull=False, last_device_count__gt=F("device_limit"))
        if self.value() == "yes":
            return queryset.filter(over)
        if self.value() == "no":
            return queryset.exclude(over)
        return queryset


class LiveFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("active")), ("no", _("deactivated"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {"yes", "no"}:
            return queryset.filter(deactivated_at__isnull=self.value() == "yes")
        return queryset


class DeploymentAddForm(forms.ModelForm):
    class Meta:
        model = Deployment
        fields = (
            "contract",
            "machine_id",
            "hostname",
            "environment",
            "offline",
            "license_algorithm",
            "notes",
        )


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "organization",
        "contract_number",
        "edition",
        "environment",
        "offline",
        "last_checkin_at",
        "last_device_count",
        "device_limit_display",
        "over_limit",
        "license_state",
        "license_expires_at",
    )
    list_display_links = ("id", "name")
    list_filter = (
        ("contract__edition", admin.RelatedOnlyFieldListFilter),
        "environment",
        "offline",
        NotSeenFilter,
        OverLimitFilter,
        LiveFilter,
    )
    search_fields = ("hostname", "=machine_id", "organization__name", "=contract__number")
    list_select_related = ("organization", "contract__edition")
    date_hierarchy = "created_at"
    autocomplete_fields = ("contract",)
    inlines = [LicenseInline, UsageReportInline, LicenseEventInline]
    actions = ["issue_license", "deactivate"]
    readonly_fields = (
        "organization",
        "contract",
        "activation_code",
        "machine_id",
        "platform_version",
        "first_checkin_at",
        "last_checkin_at",
        "last_checkin_ip",
        "last_device_count",
        "peak_device_count",
        "peak_device_count_at",
        "created_at",
        "deactivated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Deployment]:
        return selectors.deployment_queryset()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = DeploymentAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return DeploymentAddForm.Meta.fields
        return (
            ("organization", "contract"),
            ("machine_id", "activation_code"),
            ("hostname", "environment"),
            ("offline", "license_algorithm"),
            "platform_version",
            ("first_checkin_at", "last_checkin_at", "last_checkin_ip"),
            ("last_device_count", "peak_device_count", "peak_device_count_at"),
            ("created_at", "deactivated_at"),
            "notes",
        )

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Deployment, form: Any, change: bool) -> None:
        if change:
            obj.save()  # descriptive fields only; state changes are actions
            return
        deployment, _license = services.deployment_register(
            actor=request.user,
            contract=form.cleaned_data["contract"],
            machine_id=form.cleaned_data["machine_id"],
            hostname=form.cleaned_data.get("hostname") or "",
            environment=form.cleaned_data["environment"],
            offline=form.cleaned_data.get("offline") or False,
            license_algorithm=form.cleaned_data["license_algorithm"],
            notes=form.cleaned_data.get("notes") or "",
        )
        obj.pk = deployment.pk
        obj.organization_id = deployment.organization_id
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("deployment"))
    def name(self, obj: Deployment) -> str:
        return obj.hostname or obj.machine_id[:24]

    @admin.display(description=_("contract"), ordering="contract__number")
    def contract_number(self, obj: Deployment) -> str:
        return obj.contract.number

    @admin.display(description=_("edition"), ordering="contract__edition__sort_order")
    def edition(self, obj: Deployment) -> str:
        return obj.contract.edition.name

    @admin.display(description=_("device limit"), ordering="device_limit")
    def device_limit_display(self, obj: Deployment) -> Any:
        return obj.device_limit if obj.device_limit is not None else "∞"  # type: ignore[attr-defined]

    @admin.display(description=_("over limit"), boolean=True)
    def over_limit(self, obj: Deployment) -> bool:
        limit = obj.device_limit  # type: ignore[attr-defined]
        return limit is not None and (obj.last_device_count or 0) > limit

    @admin.display(description=_("license"), ordering="license_state")
    def license_state(self, obj: Deployment) -> str:
        state = obj.license_state  # type: ignore[attr-defined]
        return str(LicenseState(state).label) if state else "—"

    @admin.display(description=_("license expires"), ordering="license_expires_at")
    def license_expires_at(self, obj: Deployment) -> Any:
        return obj.license_expires_at  # type: ignore[attr-defined]

    @admin.action(description=_("Issue a new license (re-issue)"))
    def issue_license(self, request: HttpRequest, queryset: QuerySet[Deployment]) -> None:
        _run(
            self,
            request,
            queryset,
            lambda d: services.license_issue(actor=request.user, deployment=d),
            lambda n: ngettext("%(n)d license issued.", "%(n)d licenses issued.", n) % {"n": n},
        )

    @admin.action(description=_("Deactivate (revokes the license, frees the slot)"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Deployment]) -> None:
        _run(
            self,
            request,
            queryset,
            lambda d: services.deployment_deactivate(actor=request.user, deployment=d, reason="admin"),
            lambda n: (
                ngettext("%(n)d deployment deactivated.", "%(n)d deployments deactivated.", n) % {"n": n}
            ),
        )


# --- activation codes --------------------------------------------------------------------------------


class ActivationCodeForm(forms.ModelForm):
    max_deployments = forms.IntegerField(
        label=_("deployments allowed"),
        min_value=1,
        max_value=1000,
        required=False,
        help_text=_("Empty: the edition's production plus staging deployments."),
    )

    class Meta:
        model = ActivationCode
        fields = ("contract", "max_deployments", "note")


class RevokedFilter(admin.SimpleListFilter):
    title = _("revoked")
    parameter_name = "revoked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("usable")), ("yes", _("revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {"yes", "no"}:
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(ActivationCode)
class ActivationCodeAdmin(admin.ModelAdmin):
    form = ActivationCodeForm
    list_display = (
        "__str__",
        "contract",
        "organization",
        "max_deployments",
        "deployments_used",
        "created_at",
        "revoked_at",
    )
    list_filter = (RevokedFilter, ("contract__edition", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=contract__number", "contract__organization__name", "code_hint")
    list_select_related = ("contract__organization", "contract__edition")
    autocomplete_fields = ("contract",)
    actions = ["revoke_codes"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ActivationCode]:
        return selectors.activation_code_queryset()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("contract", "max_deployments", "note")
        return (
            "contract",
            "code",
            "max_deployments",
            "deployments_used",
            "note",
            "created_by",
            "created_at",
            "revoked_at",
            "revoke_reason",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return (
            "contract",
            "code",
            "deployments_used",
            "created_by",
            "created_at",
            "revoked_at",
            "revoke_reason",
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("code"))
    def code(self, obj: ActivationCode) -> str:
        return format_html("<code style='font-size:1.2em'>{}</code>", services.activation_code_reveal(obj))

    @admin.display(description=_("organization"), ordering="contract__organization__name")
    def organization(self, obj: ActivationCode) -> str:
        return obj.contract.organization.name

    @admin.display(description=_("deployments used"), ordering="deployments_used")
    def deployments_used(self, obj: ActivationCode) -> int:
        return getattr(obj, "deployments_used", 0)

    def save_model(self, request: HttpRequest, obj: ActivationCode, form: Any, change: bool) -> None:
        if change:
            if "max_deployments" in form.changed_data and form.cleaned_data.get("max_deployments"):
                services.activation_code_update(
                    actor=request.user, code=obj, max_deployments=form.cleaned_data["max_deployments"]
                )
            ActivationCode.objects.filter(pk=obj.pk).update(note=obj.note)
            return
        code, _plain = services.activation_code_create(
            actor=request.user,
            contract=form.cleaned_data["contract"],
            max_deployments=form.cleaned_data.get("max_deployments"),
            note=form.cleaned_data.get("note") or "",
        )
        obj.pk = code.pk
        obj._state.adding = False

    @admin.action(description=_("Revoke the selected activation codes"))
    def revoke_codes(self, request: HttpRequest, queryset: QuerySet[ActivationCode]) -> None:
        _run(
            self,
            request,
            queryset,
            lambda c: services.activation_code_revoke(actor=request.user, code=c, reason="admin"),
            lambda n: ngettext("%(n)d code revoked.", "%(n)d codes revoked.", n) % {"n": n},
        )


# --- licenses ----------------------------------------------------------------------------------------


class ExpiringFilter(admin.SimpleListFilter):
    title = _("expiring")
    parameter_name = "expiring"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("7", _("within 7 days")), ("30", _("within 30 days")), ("past", _("past exp, still active"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "past":
            return queryset.filter(state=LicenseState.ACTIVE, expires_at__lte=now)
        if self.value() in {"7", "30"}:
            return queryset.filter(
                state=LicenseState.ACTIVE,
                expires_at__gt=now,
                expires_at__lte=now + dt.timedelta(days=int(str(self.value()))),
            )
        return queryset


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300, widget=forms.TextInput(attrs={"size": 60}))


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "deployment_link",
        "organization",
        "contract_number",
        "edition_code",
        "state",
        "reason",
        "issued_at",
        "expires_at",
        "kid",
    )
    list_filter = (
        "state",
        "edition_code",
        ExpiringFilter,
        "reason",
        "offline",
        ("signing_key", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = (
        "=id",
        "=deployment__machine_id",
        "deployment__hostname",
        "deployment__organization__name",
        "=contract__number",
    )
    list_select_related = ("deployment__organization", "contract", "signing_key")
    date_hierarchy = "issued_at"
    actions = ["reissue", "revoke"]
    inlines = [LicenseTimelineInline]
    fields = (
        ("deployment", "contract"),
        ("state", "reason", "state_reason", "state_changed_at"),
        "state_note",
        ("edition_code", "device_limit", "offline"),
        "features",
        ("entitlement_end", "grace_days"),
        ("issued_at", "renew_after", "expires_at"),
        ("signing_key", "supersedes"),
        "key_download",
    )
    readonly_fields = (
        "deployment",
        "contract",
        "state",
        "reason",
        "state_reason",
        "state_changed_at",
        "state_note",
        "edition_code",
        "device_limit",
        "offline",
        "features",
        "entitlement_end",
        "grace_days",
        "issued_at",
        "renew_after",
        "expires_at",
        "signing_key",
        "supersedes",
        "key_download",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[License]:
        return (
            super()
            .get_queryset(request)
            .defer("signing_key__private_key_encrypted", "signing_key__public_key_pem")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # licenses are issued from deployments (action) or by activation

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:license_id>/key/",
                self.admin_site.admin_view(self.download_key),
                name="licenses_license_key",
            ),
            *super().get_urls(),
        ]

    def download_key(self, request: HttpRequest, license_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        license = get_object_or_404(License, pk=license_id)
        services.license_key_downloaded(actor=request.user, license=license, via="admin")
        response = HttpResponse(license.token, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{license.key_filename}"'
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description=_(".key file"))
    def key_download(self, obj: License) -> str:
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:licenses_license_key", args=[obj.pk]),
            _("Download"),
        )

    @admin.display(description=_("deployment"), ordering="deployment_id")
    def deployment_link(self, obj: License) -> str:
        deployment = obj.deployment
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:licenses_deployment_change", args=[deployment.pk]),
            deployment.hostname or deployment.machine_id[:24],
        )

    @admin.display(description=_("organization"), ordering="deployment__organization__name")
    def organization(self, obj: License) -> str:
        return obj.deployment.organization.name

    @admin.display(description=_("contract"), ordering="contract__number")
    def contract_number(self, obj: License) -> str:
        return obj.contract.number

    @admin.display(description=_("key"), ordering="signing_key__kid")
    def kid(self, obj: License) -> str:
        return obj.signing_key.kid

    @admin.action(description=_("Re-issue (new token for the same deployment)"))
    def reissue(self, request: HttpRequest, queryset: QuerySet[License]) -> None:
        _run(
            self,
            request,
            queryset,
            lambda lic: services.license_reissue(actor=request.user, license=lic),
            lambda n: ngettext("%(n)d license re-issued.", "%(n)d licenses re-issued.", n) % {"n": n},
        )

    @admin.action(description=_("Revoke… (asks for a reason)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[License]) -> HttpResponse | None:
        if "apply" in request.POST:
            form = RevokeForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                _run(
                    self,
                    request,
                    queryset,
                    lambda lic: services.license_revoke(actor=request.user, license=lic, reason=reason),
                    lambda n: ngettext("%(n)d license revoked.", "%(n)d licenses revoked.", n) % {"n": n},
                )
                return HttpResponseRedirect(request.get_full_path())
        else:
            form = RevokeForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke licenses"),
            "opts": self.model._meta,
            "licenses": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/licenses/license/revoke.html", context)


# --- usage (read-only) -------------------------------------------------------------------------------


@admin.register(UsageReport)
class UsageReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "reported_at",
        "deployment",
        "organization",
        "contract",
        "device_count",
        "status",
        "platform_version",
        "source_ip",
    )
    list_filter = ("status", ("contract__edition", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "=contract__number",
        "deployment__organization__name",
        "deployment__hostname",
        "=deployment__machine_id",
    )
    list_select_related = ("deployment__organization", "contract")
    date_hierarchy = "reported_at"

    @admin.display(description=_("organization"))
    def organization(self, obj: UsageReport) -> str:
        return obj.deployment.organization.name


from licenses import admin_fleet  # noqa: E402, F401  -- fleet insight pages (issue 18)
