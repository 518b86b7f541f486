"""Offline activation of air-gapped sites by request file (the file's format and parsing are the
portal page's: portal.pages.offline).

How a request is resolved:
1. with `current_license`: the token must be a genuine license of this organization for this
   machine; it is processed like a check-in (the device count is recorded as a usage report) and
   the current or a renewed license comes back;
2. else a live deployment of this organization with that machine ID gets its current license,
   re-issued when the contract was renewed or changed since;
3. else the activation code (from the file, or chosen on the page) registers a new offline
   deployment, within the code's deployment allowance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from contracts.entitlements import RENEWAL_CHAIN_LIMIT, chain_end, contract_in_force
from contracts.models import Contract
from customers.models import Membership, Organization, Role
from licenses import tokens
from licenses.models import ActivationCode, Deployment, License, LicenseState
from licenses.services.activation import PORTAL, deployment_register_with_code, license_fresh
from licenses.services.platform import license_checkin
from portal.core.errors import ApplicationError
from portal.core.services import audit, enqueue_on_commit


@dataclass(frozen=True)
class OfflineRequest:
    """An offline activation request, as the platform on the air-gapped machine wrote it."""

    machine_id: str
    hostname: str = ""
    activation_code: str = ""
    current_license: str = ""
    device_count: int | None = None
    platform_version: str = ""
    created_at: str = ""


def offline_activation_fulfil(
    *,
    actor: Any,
    organization: Organization,
    request: OfflineRequest,
    activation_code: ActivationCode | None = None,
    source_ip: str | None = None,
) -> License:
    """The license file for an uploaded request (see the module docstring for the rules)."""
    if request.current_license:
        claims, _key = tokens.verify(request.current_license)
        deployment = Deployment.objects.filter(pk=int(claims["sub"]), organization=organization).first()
        if deployment is None:
            raise ApplicationError(
                "token_invalid",
                _("The license in the request is not one of your organization's."),
                status=404,
            )
        answer = license_checkin(
            token=request.current_license,
            machine_id=request.machine_id,
            device_count=request.device_count,
            platform_version=request.platform_version or None,
            source_ip=source_ip,
        )
        _audit_request(actor, answer.license, request)
        return answer.license

    with transaction.atomic():
        existing = (
            Deployment.objects.filter(
                organization=organization, machine_id=request.machine_id, deactivated_at__isnull=True
            )
            .order_by("-offline", "-pk")
            .first()
        )
        if existing is not None:
            license = license_fresh(actor=actor, deployment=existing)
            _audit_request(actor, license, request)
            return license
        code_id = None
        if not request.activation_code:  # the code in the file wins over the one chosen on the page
            if activation_code is None:
                raise ApplicationError(
                    "machine_unknown",
                    _(
                        "This machine is not registered yet. Put the activation code in the request "
                        "or choose one below."
                    ),
                )
            code_id = activation_code.pk
        _deployment, license, _created = deployment_register_with_code(
            actor=actor,
            organization=organization,
            machine_id=request.machine_id,
            plain_code=request.activation_code or None,
            code_id=code_id,
            hostname=request.hostname,
            offline=True,
        )
        _audit_request(actor, license, request)
        return license


def _audit_request(actor: Any, license: License, request: OfflineRequest) -> None:
    audit(
        actor=actor,
        action="license.offline_request",
        target=license,
        data={
            "machine_id": request.machine_id,
            "hostname": request.hostname,
            "device_count": request.device_count,
            "platform_version": request.platform_version,
            "renewal": bool(request.current_license),
        },
        via=PORTAL,
    )


# --- renewals reach air-gapped sites ---------------------------------------------------------------------


def offline_deployments_renewed(contract: Contract) -> list[Deployment]:
    """Live offline deployments of the renewal chain `contract` belongs to whose current license states
    an earlier end than the chain's entitlement now grants: they need the new license file."""
    chain = [contract.pk]
    node = contract
    for _step in range(RENEWAL_CHAIN_LIMIT):
        if node.renewal_of_id is None:
            break
        chain.append(node.renewal_of_id)
        node = Contract.objects.only("pk", "renewal_of_id").get(pk=node.renewal_of_id)
    deployments = list(
        Deployment.objects.filter(contract_id__in=chain, offline=True, deactivated_at__isnull=True)
        .select_related("contract__organization", "contract__edition")
        .order_by("pk")
    )
    stale = []
    for deployment in deployments:
        in_force = contract_in_force(deployment.contract)
        license = License.objects.filter(deployment=deployment, state=LicenseState.ACTIVE).first()
        if license is not None and license.entitlement_end < chain_end(in_force):
            stale.append(deployment)
    return stale


def offline_renewal_offer(sender: Any = None, *, contract: Contract, **kwargs: Any) -> int:
    """Receiver of contracts.signals.contract_activated: when a renewal becomes active and offline
    deployments of its chain hold a license that ends earlier, mail the organization's owners and
    technical members a link to each deployment's new license file (after commit). Returns how many
    deployments are concerned."""
    if contract.renewal_of_id is None:
        return 0
    stale = offline_deployments_renewed(contract)
    if stale:
        enqueue_on_commit("licenses.tasks.offline_renewal_notify", contract.pk, [d.pk for d in stale])
    return len(stale)


def offline_renewal_notify(*, contract_id: int, deployment_ids: list[int]) -> list[str]:
    """The mail behind offline_renewal_offer: to the owners and technical members (else the
    organization's contacts), each deployment with its license-file link in the portal."""
    contract = Contract.objects.select_related("organization", "edition").get(pk=contract_id)
    organization = contract.organization
    deployments = list(Deployment.objects.filter(pk__in=deployment_ids, deactivated_at__isnull=True))
    if not deployments:
        return []
    recipients = sorted(
        set(
            Membership.objects.filter(
                organization=organization, role__in=[Role.OWNER, Role.TECHNICAL], user__is_active=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    ) or sorted({c.email for c in organization.contacts.exclude(email="")})
    if not recipients:
        return []
    language = "zh-hans" if (organization.country or "CN").upper() == "CN" else "en"
    links = [
        (
            deployment,
            f"{settings.SITE_URL}{reverse('portal:deployment_key', kwargs={'deployment_id': deployment.pk})}"
            f"?org={organization.pk}",
        )
        for deployment in deployments
    ]
    context = {"contract": contract, "organization": organization, "links": links}
    with translation.override(language):
        subject = render_to_string("licenses/email/offline_renewal_subject.txt", context).strip()
        body = render_to_string("licenses/email/offline_renewal.txt", context)
    owner = organization.account_owner
    EmailMessage(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        cc=[owner.email] if owner is not None and owner.email else None,
    ).send()
    audit(
        actor=None,
        action="license.offline_renewal_mailed",
        target=contract,
        data={"to": recipients, "deployments": [d.pk for d in deployments]},
    )
    return recipients
