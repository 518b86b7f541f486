"""Portal pages for downloads: the list of what the current organization may fetch, artifact pages that
issue signed short-lived links, the link itself (served with Range support or by the web server), NDA
acceptance for source code, and the organization's registry credentials.

Tenancy: every artifact is looked up through editions.selectors.artifact_access with the current
organization's entitlement (contracts.entitlements), so what it is not entitled to is simply not found
(404). Public (Community) artifacts are
open to everyone; anything else sends anonymous visitors to the login page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from contracts.entitlements import organization_entitlement
from customers.models import Membership
from editions import registry, selectors, services
from editions.errors import DownloadError, download_error
from editions.models import Artifact, Download, RegistryCredential, ReleaseChannel
from editions.selectors import ArtifactAccess, DeliveryEntitlement
from editions.serving import downloads_storage, serve_file, user_agent
from portal.core.errors import ApplicationError
from portal.core.ratelimit import client_ip
from portal.pages.permissions import Perm, role_can
from portal.pages.views.common import Access, MemberRequest, PortalRequest, portal_view


def _error_page(request: HttpRequest, exc: ApplicationError, **context: Any) -> HttpResponse:
    return render(request, "downloads/error.html", {"error": exc, **context}, status=exc.status)


def _access_or_404(request: HttpRequest, entitlement: DeliveryEntitlement, pk: int) -> ArtifactAccess:
    try:
        return selectors.artifact_access(entitlement=entitlement, artifact_id=pk)
    except Artifact.DoesNotExist:
        raise Http404 from None


@portal_view(Perm.DOWNLOAD_SOFTWARE, access=Access.PUBLIC)
def index(request: PortalRequest) -> HttpResponse:
    organization = request.organization
    entitlement = organization_entitlement(organization)
    channel = request.GET.get("channel", "")
    if channel not in ReleaseChannel.values:
        channel = ""
    releases = selectors.releases_with_artifacts(entitlement, channel=channel)
    source_contracts = entitlement.source_contracts
    nda_accepted = bool(
        organization and selectors.nda_acceptance_current(user=request.user, organization=organization)
    )
    return render(
        request,
        "downloads/index.html",
        {
            "organization": organization,
            "releases": releases,
            "channel": channel,
            "channels": ReleaseChannel.choices,
            "has_contract": bool(entitlement.contracts),
            "nda_on_file": any(c.nda_signed_on for c in source_contracts),
            "nda_accepted": nda_accepted,
            "registry_enabled": registry.is_configured(),
        },
    )


@portal_view(Perm.DOWNLOAD_SOFTWARE, methods=("GET", "POST"), access=Access.PUBLIC)
def artifact_detail(request: PortalRequest, pk: int) -> HttpResponse:
    """The artifact's page (checksums, commands) and, by POST, the start of a download. Members whose
    role may not download software see what an anonymous visitor sees: public artifacts only."""
    organization = request.organization
    entitlement = organization_entitlement(organization)
    if not request.user.is_authenticated:
        try:
            access = selectors.artifact_access(entitlement=entitlement, artifact_id=pk)
        except Artifact.DoesNotExist:
            return redirect_to_login(request.get_full_path())
    else:
        access = _access_or_404(request, entitlement, pk)
    artifact = access.artifact
    context = {
        "artifact": artifact,
        "release": artifact.release,
        "access": access,
        "organization": organization,
    }

    if access.needs_nda:
        try:
            services.nda_gate(access=access, user=request.user, organization=organization)
        except ApplicationError as exc:
            if exc.code == DownloadError.NDA_NOT_ACCEPTED:
                query = urlencode(
                    {
                        "next": reverse("downloads:artifact", args=[artifact.pk]),
                        "org": organization.pk if organization is not None else "",
                    }
                )
                return redirect(f"{reverse('downloads:nda')}?{query}")
            return _error_page(request, exc, **context)

    if request.method == "POST":
        if not artifact.is_file:
            raise Http404
        try:
            download = services.download_issue(
                actor=request.user,
                organization=organization,
                access=access,
                ip_address=client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT),
                user_agent=user_agent(request),
            )
        except ApplicationError as exc:
            return _error_page(request, exc, **context)
        return redirect("downloads:fetch", token=services.download_link_token(download))
    return render(request, "downloads/artifact.html", context)


@portal_view(access=Access.PUBLIC)
def fetch(request: PortalRequest, token: str) -> HttpResponseBase:
    """A signed download link: valid for DOWNLOADS_LINK_MAX_AGE, for the user it was issued to only."""
    try:
        claims = services.download_link_verify(token)
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404 from None
        return _error_page(request, exc)
    try:
        download = selectors.download_get(claims.download_id)
    except (Download.DoesNotExist, ValidationError):
        raise Http404 from None
    if download.artifact_id != claims.artifact_id or download.user_id != claims.user_id:
        raise Http404
    if download.user_id is not None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.pk != download.user_id:
            raise Http404  # somebody else's link: as if it did not exist
    # Entitlement is checked again: the contract may have ended, the user may have left the organization
    # or lost the role that may download.
    organization = download.organization
    if organization is not None:
        role = (
            Membership.objects.filter(user_id=download.user_id, organization=organization)  # type: ignore[misc]  # a download without a user matches no membership
            .values_list("role", flat=True)
            .first()
        )
        if role is None or not role_can(role, Perm.DOWNLOAD_SOFTWARE):
            raise Http404
    access = _access_or_404(request, organization_entitlement(organization), download.artifact_id)
    if access.needs_nda and not download.delivered_storage_key:
        return _error_page(request, download_error(DownloadError.LINK_EXPIRED))
    try:
        size = download.served_size
        if size is None:  # entered without a size: ask the storage rather than send a wrong length
            size = downloads_storage().size(download.served_storage_key)
        served = serve_file(
            request,
            storage_key=download.served_storage_key,
            filename=download.artifact.filename,
            size=size,
            sha256=download.served_sha256,
        )
    except (FileNotFoundError, OSError):
        return _error_page(request, download_error(DownloadError.FILE_MISSING))
    if request.method != "HEAD":
        services.download_record_transfer(
            download=download,
            status=served.status,
            byte_range=served.range,
            bytes_sent=served.bytes,
            mode=served.mode,
            ip_address=client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT),
            user_agent=user_agent(request),
        )
    return served.response


@portal_view(Perm.DOWNLOAD_SOFTWARE, methods=("GET", "POST"))
def nda(request: MemberRequest) -> HttpResponse:
    """The confidentiality terms in force; accepting them (per user and organization) unlocks source code."""
    organization = request.organization
    terms = selectors.nda_terms_current()
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if terms is None:
        return _error_page(request, download_error(DownloadError.NDA_TERMS_MISSING))
    accepted = selectors.nda_acceptance_current(user=request.user, organization=organization)
    error = ""
    if request.method == "POST":
        if request.POST.get("accept") != "yes":
            error = _("Tick the box to confirm that you accept the terms.")
        else:
            services.nda_accept(
                actor=request.user,
                organization=organization,
                terms=terms,
                ip_address=client_ip(request, trusted_proxies=settings.LICENSE_TRUSTED_PROXY_COUNT),
                user_agent=user_agent(request),
            )
            messages.success(request, _("You have accepted the confidentiality terms."))
            return redirect(next_url or reverse("downloads:index"))
    return render(
        request,
        "downloads/nda.html",
        {
            "organization": organization,
            "terms": terms,
            "accepted": accepted,
            "next": next_url,
            "error": error,
        },
        status=400 if error else 200,
    )


@portal_view(Perm.DOWNLOAD_SOFTWARE, methods=("GET", "POST"))
def registry_credentials(request: MemberRequest) -> HttpResponse:
    """The organization's pull credentials for the private registry; a new secret is shown once."""
    organization = request.organization
    created: tuple[RegistryCredential, str] | None = None
    error = ""
    status = 200
    if request.method == "POST":
        try:
            created = services.registry_credential_create(
                actor=request.user, organization=organization, name=request.POST.get("name", "")
            )
            status = 201
        except ValidationError as exc:
            error = " ".join(exc.messages)
            status = 400
    entitlement = organization_entitlement(organization)
    return render(
        request,
        "downloads/registry.html",
        {
            "organization": organization,
            "credentials": selectors.registry_credentials_of(organization),
            "repositories": sorted(selectors.registry_repositories(entitlement)),
            "created": created,
            "error": error,
            "registry_enabled": registry.is_configured(),
        },
        status=status,
    )


@portal_view(Perm.DOWNLOAD_SOFTWARE, methods=("POST",))
def registry_credential_revoke(request: MemberRequest, pk: int) -> HttpResponse:
    organization = request.organization
    credential = RegistryCredential.objects.filter(organization=organization, pk=pk).first()
    if credential is None:
        raise Http404
    try:
        services.registry_credential_revoke(actor=request.user, credential=credential)
    except ApplicationError as exc:
        messages.warning(request, exc.detail)
    else:
        messages.success(
            request, _("Credential %(username)s has been revoked.") % {"username": credential.username}
        )
    return redirect(f"{reverse('downloads:registry')}?{urlencode({'org': organization.pk})}")
