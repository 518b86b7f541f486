"""Contracts, activation codes, deployments and their licenses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.services.contract_billing import usage_month_to_date
from contracts.models import Contract
from licenses.models import Deployment, License
from licenses.services import (
    deployment_deactivate_by_customer,
    deployment_move,
    deployment_moves_left,
    deployment_register_with_code,
    license_fresh,
    license_key_downloaded,
    offline_activation_fulfil,
    offline_deployments_renewed,
    support_bundle_upload,
)
from portal.core.errors import ApplicationError
from portal.pages import selectors
from portal.pages.charts import device_chart
from portal.pages.forms import (
    DeploymentRegisterForm,
    DeploymentRetireForm,
    OfflineRequestForm,
    SupportBundleForm,
)
from portal.pages.offline import (
    MAX_REQUEST_BYTES,
    REQUEST_FORMAT,
    example_request,
    offline_request_parse,
)
from portal.pages.permissions import Perm
from portal.pages.views.common import (
    MemberRequest,
    paginate,
    portal_view,
)

# --- contracts ------------------------------------------------------------------------------------------


@portal_view(Perm.VIEW_CONTRACTS)
def contract_list(request: MemberRequest) -> HttpResponse:
    page = paginate(request, selectors.contracts_visible(request.organization).order_by("-end_date", "-pk"))
    usage = selectors.contract_usage(request.organization)
    selectors.decorate_contracts(list(page.object_list), usage)
    return render(request, "portal/contract_list.html", {"page": page})


@portal_view(Perm.VIEW_CONTRACTS)
def contract_detail(request: MemberRequest, number: str) -> HttpResponse:
    """Linked from the renewal reminders with `?org=`, which makes the contract's organization the
    current one for a member of several."""
    organization = request.organization
    try:
        contract = selectors.contract_for_organization(organization, number)
    except Contract.DoesNotExist as exc:
        raise Http404 from exc
    perms = request.portal_perms
    usage = selectors.contract_usage(organization)
    selectors.decorate_contracts([contract], usage)
    codes = (
        selectors.reveal_codes(selectors.activation_codes(organization, contract=contract))
        if Perm.VIEW_ACTIVATION_CODES in perms
        else []
    )
    deployments = []
    if Perm.VIEW_DEPLOYMENTS in perms:
        deployments = selectors.decorate_deployments(
            selectors.deployments_for(organization).filter(contract=contract)[:20]
        )
    invoices = None
    if Perm.VIEW_INVOICES in perms:
        invoices = list(selectors.invoices_for(organization).filter(contract=contract)[:10])
    renewed_offline: set[int] = set()
    if Perm.DOWNLOAD_KEYS in perms:
        # Air-gapped deployments cannot check in: offer the license file a renewal extended.
        renewed_offline = {d.pk for d in offline_deployments_renewed(contract)}
    if Perm.ACCEPT_QUOTES in perms:
        row: Any = contract  # an attribute for the template
        row.renewal_quote = selectors.renewal_quotes_shown(organization, [contract]).get(contract.pk)
    return render(
        request,
        "portal/contract_detail.html",
        {
            "contract": contract,
            "codes": codes,
            "deployments": deployments,
            "invoices": invoices,
            "renewed_offline": renewed_offline,
            "sales_email": selectors.sales_contact(organization),
            "saas_usage": usage_month_to_date(contract) if contract.edition.is_metered else None,
        },
    )


# --- deployments ----------------------------------------------------------------------------------------


@portal_view(Perm.VIEW_DEPLOYMENTS)
def deployment_list(request: MemberRequest) -> HttpResponse:
    organization = request.organization
    status = request.GET.get("status", "all")
    if status not in selectors.DEPLOYMENT_FILTERS:
        status = "all"
    page = paginate(request, selectors.deployments_for(organization, status=status))
    page.object_list = selectors.decorate_deployments(page.object_list, strips=True)
    codes = selectors.reveal_codes(selectors.activation_codes(organization))
    return render(
        request,
        "portal/deployment_list.html",
        {
            "page": page,
            "status": status,
            "filters": selectors.DEPLOYMENT_FILTERS,
            "codes": codes,
        },
    )


def _deployment(request: MemberRequest, deployment_id: int) -> Deployment:
    try:
        return selectors.deployment_for_organization(request.organization, deployment_id)
    except Deployment.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(Perm.VIEW_DEPLOYMENTS)
def deployment_detail(request: MemberRequest, deployment_id: int) -> HttpResponse:
    deployment = _deployment(request, deployment_id)
    selectors.decorate_deployments([deployment], strips=True)
    today = timezone.localdate()
    start = today - dt.timedelta(days=selectors.CHART_DAYS - 1)
    peaks = selectors.daily_device_peaks(deployment, today=today)
    row: Any = deployment  # device_limit: annotated by licenses.selectors.deployment_queryset
    chart = device_chart(peaks, start=start, end=today, limit=row.device_limit)
    checkins = paginate(request, selectors.checkins_for(deployment))
    return render(
        request,
        "portal/deployment_detail.html",
        {
            "deployment": deployment,
            "chart": chart,
            "chart_days": selectors.CHART_DAYS,
            "checkins": checkins,
            "licenses": selectors.licenses_of(deployment),
            "just_registered": request.GET.get("registered") == "1",
        },
    )


def key_response(license: License) -> HttpResponse:
    """The `.key` file: the bare token, no trailing newline, as the platform reads it."""
    response = HttpResponse(license.token, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{license.key_filename}"'
    response["Cache-Control"] = "no-store"
    return response


@portal_view(Perm.DOWNLOAD_KEYS)
def deployment_key(request: MemberRequest, deployment_id: int) -> HttpResponse:
    deployment = _deployment(request, deployment_id)
    if deployment.deactivated_at is not None:
        raise Http404
    try:
        license = license_fresh(actor=request.user, deployment=deployment)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("portal:deployment_detail", deployment_id=deployment.pk)
    license_key_downloaded(actor=request.user, license=license, via="portal")
    return key_response(license)


@portal_view(Perm.REGISTER_DEPLOYMENTS, methods=("GET", "POST"))
def deployment_register(request: MemberRequest) -> HttpResponse:
    organization = request.organization
    codes = selectors.activation_codes(organization)
    form = DeploymentRegisterForm(request.POST or None, codes=codes)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deployment, _license, created = deployment_register_with_code(
                actor=request.user,
                organization=organization,
                code_id=data["activation_code"].pk,
                machine_id=data["machine_id"],
                hostname=data["hostname"],
                environment=data["environment"],
                offline=data["offline"],
            )
        except ApplicationError as exc:
            form.add_error("activation_code" if exc.code.startswith("activation_code") else None, exc.detail)
        else:
            if created:
                messages.success(request, _("The deployment was registered; download its license key below."))
            else:
                messages.info(request, _("This machine was already registered with this code."))
            return redirect(f"{_detail_url(deployment)}?registered=1")
    return render(
        request,
        "portal/deployment_register.html",
        {"form": form, "has_codes": codes.exists() if request.method == "GET" else True},
        status=400 if request.method == "POST" else 200,
    )


@portal_view(Perm.MANAGE_DEPLOYMENTS, methods=("GET", "POST"))
def deployment_retire(request: MemberRequest, deployment_id: int) -> HttpResponse:
    """Self-service: deactivate a deployment, or move it to a new machine (hardware replaced). Either
    frees its slot on the activation code; the old machine's license is refused from its next check-in."""
    deployment = _deployment(request, deployment_id)
    if deployment.deactivated_at is not None:
        raise Http404
    form = DeploymentRetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service = (
            deployment_move if form.cleaned_data["action"] == "move" else deployment_deactivate_by_customer
        )
        try:
            service(actor=request.user, deployment=deployment, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            if form.cleaned_data["action"] == "move":
                messages.success(
                    request,
                    _("The deployment was released. Activate the new machine with the same activation code."),
                )
            else:
                messages.success(request, _("The deployment was deactivated."))
            return redirect(_detail_url(deployment))
    return render(
        request,
        "portal/deployment_retire.html",
        {
            "deployment": deployment,
            "form": form,
            "moves_left": deployment_moves_left(deployment),
            "move_period_days": settings.FLEET_MOVE_PERIOD_DAYS,
        },
        status=400 if request.method == "POST" else 200,
    )


@portal_view(Perm.REGISTER_DEPLOYMENTS, methods=("GET", "POST"))
def deployment_support_bundle(request: MemberRequest, deployment_id: int) -> HttpResponse:
    """Upload a diagnostic bundle for one of the organization's deployments (optionally to a ticket)."""
    deployment = _deployment(request, deployment_id)
    form = SupportBundleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            bundle = support_bundle_upload(
                actor=request.user,
                deployment=deployment,
                upload=form.cleaned_data["bundle"],
                ticket_number=form.cleaned_data["ticket"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            form.add_error("ticket" if exc.code == "ticket_not_found" else "bundle", exc.detail)
        else:
            messages.success(
                request,
                _("The support bundle was uploaded (SHA-256 %(sha)s); our engineers can read it now.")
                % {"sha": bundle.sha256[:16]},
            )
            return redirect(_detail_url(deployment))
    return render(
        request,
        "portal/deployment_bundle.html",
        {
            "deployment": deployment,
            "form": form,
            "max_mb": settings.FLEET_SUPPORT_BUNDLE_MAX_BYTES // (1024 * 1024),
            "retention_days": settings.FLEET_SUPPORT_BUNDLE_RETENTION_DAYS,
        },
        status=400 if request.method == "POST" else 200,
    )


def _detail_url(deployment: Deployment) -> str:
    return reverse("portal:deployment_detail", kwargs={"deployment_id": deployment.pk})


@portal_view(Perm.REGISTER_DEPLOYMENTS, methods=("GET", "POST"))
def offline_activation(request: MemberRequest) -> HttpResponse:
    organization = request.organization
    codes = selectors.activation_codes(organization)
    form = OfflineRequestForm(request.POST or None, request.FILES or None, codes=codes)
    if request.method == "POST" and form.is_valid():
        try:
            offline_request = offline_request_parse(form.cleaned_data["request_file"])
            license = offline_activation_fulfil(
                actor=request.user,
                organization=organization,
                request=offline_request,
                activation_code=form.cleaned_data.get("activation_code"),
                source_ip=request.META.get("REMOTE_ADDR"),
            )
        except ApplicationError as exc:
            field = "request_file" if exc.code == "invalid_request_file" else None
            form.add_error(field, exc.detail)
        else:
            license_key_downloaded(actor=request.user, license=license, via="portal")
            return key_response(license)
    return render(
        request,
        "portal/offline_activation.html",
        {
            "form": form,
            "example": example_request(),
            "request_format": REQUEST_FORMAT,
            "max_kb": MAX_REQUEST_BYTES // 1024,
            "grace_days": settings.LICENSE_GRACE_DAYS,
        },
        status=400 if request.method == "POST" else 200,
    )
