"""Fleet insights in the back office (issue 18): silent deployments, support bundles (staff download),
versions across the fleet with the adoption chart, and the growth signals sales works from (upsell
candidates, accounts at risk, a contract's device trend). Report pages are mounted through
ModelAdmin.get_urls, so the admin login and the model's view permission guard them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.models import Contract
from licenses import insights
from licenses.models import FleetVersionSnapshot, SilenceEpisode, SupportBundle
from portal.core import charts
from portal.core.admin_reports import ReadOnlyAdminMixin
from portal.core.services import audit


@admin.register(SilenceEpisode)
class SilenceEpisodeAdmin(admin.ModelAdmin):
    list_display = (
        "deployment",
        "organization",
        "last_checkin_at",
        "last_version",
        "last_device_count",
        "detected_at",
        "ticket",
        "ended_at",
    )
    list_filter = (("ended_at", admin.EmptyFieldListFilter), "detected_at")
    search_fields = ("deployment__machine_id", "deployment__hostname", "deployment__organization__name")
    list_select_related = ("deployment__organization", "ticket")
    date_hierarchy = "detected_at"
    readonly_fields = [f.name for f in SilenceEpisode._meta.fields]

    @admin.display(description=gettext_lazy("organization"), ordering="deployment__organization__name")
    def organization(self, obj: SilenceEpisode) -> str:
        return obj.deployment.organization.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SupportBundle)
class SupportBundleAdmin(admin.ModelAdmin):
    list_display = (
        "filename",
        "deployment",
        "organization",
        "archive_type",
        "size",
        "ticket",
        "created_at",
        "expires_at",
        "download",
    )
    list_filter = ("archive_type", ("expired_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = (
        "filename",
        "sha256",
        "deployment__machine_id",
        "deployment__organization__name",
        "ticket__number",
    )
    list_select_related = ("deployment__organization", "ticket")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SupportBundle._meta.fields if f.name != "file"] + ["download"]
    exclude = ("file",)

    @admin.display(description=gettext_lazy("organization"), ordering="deployment__organization__name")
    def organization(self, obj: SupportBundle) -> str:
        return obj.deployment.organization.name

    @admin.display(description=gettext_lazy("download"))
    def download(self, obj: SupportBundle) -> str:
        if not obj.pk or not obj.file:
            return "–"
        url = reverse("admin:licenses_supportbundle_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="licenses_supportbundle_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        """The stored bytes as an attachment, never rendered or unpacked; each download is audited."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        bundle = get_object_or_404(SupportBundle, pk=pk)
        if not bundle.file:
            raise Http404
        audit(actor=request.user, action="support_bundle.download", target=bundle, data={"size": bundle.size})
        response = FileResponse(
            bundle.file.open("rb"),
            as_attachment=True,
            filename=f"support-bundle-{bundle.deployment_id}-{bundle.pk}.{bundle.archive_type}",
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "app_label": model_admin.model._meta.app_label,
        **extra,
    }


@admin.register(FleetVersionSnapshot)
class FleetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The changelist is the fleet versions page; growth signals hang below it."""

    def get_urls(self) -> list[URLPattern]:
        return [
            path("growth/", self.admin_site.admin_view(self.growth_view), name="licenses_fleet_growth"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        edition = request.GET.get("edition") or None
        rows = insights.fleet_versions(edition=edition)
        adoption = insights.version_adoption()
        chart = charts.line_chart(
            {version or _("(unknown)"): points for version, points in adoption["series"].items()},
            start=adoption["start"],
            end=adoption["end"],
            title=_("Deployments per platform version, last 90 days"),
        )
        health = insights.fleet_health_counts()
        return TemplateResponse(
            request,
            "licenses/admin/fleet_versions.html",
            _context(
                self,
                request,
                _("Fleet: versions and health"),
                rows=rows,
                total_deployments=sum(r.deployments for r in rows),
                total_devices=sum(r.devices for r in rows),
                chart=chart,
                health=health,
                edition=edition or "",
                silences=insights.open_silences()[:50],
            ),
        )

    def growth_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        signals = insights.growth_signals(today=today)
        contract_chart = None
        contract = None
        if request.GET.get("contract", "").isdigit():
            contract = (
                Contract.objects.select_related("organization", "edition")
                .filter(pk=request.GET["contract"])
                .first()
            )
            if contract is not None:
                daily = insights.contract_daily_devices([contract.pk], days=90, today=today).get(
                    contract.pk, []
                )
                limit = contract.effective_device_limit
                contract_chart = charts.line_chart(
                    {_("devices"): daily},
                    start=today - dt.timedelta(days=89),
                    end=today,
                    title=_("Connected devices of %(contract)s, daily peak, last 90 days")
                    % {"contract": contract.number},
                    limit=limit,
                    limit_label=_("limit %(limit)d") % {"limit": limit} if limit else "",
                )
        return TemplateResponse(
            request,
            "licenses/admin/fleet_growth.html",
            _context(
                self,
                request,
                _("Growth signals"),
                upsell=sorted((g for g in signals if g.upsell), key=lambda g: -(g.usage_ratio or 0)),
                at_risk=[g for g in signals if g.risk_reasons],
                contract=contract,
                contract_chart=contract_chart,
                threshold=round(settings.FLEET_UPSELL_THRESHOLD * 100),
            ),
        )
