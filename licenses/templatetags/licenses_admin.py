"""Licensing's panels on other apps' admin pages: the organization's deployments (customer-360) and the
contract's activation codes, deployments and licenses."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Q

from licenses.models import ActivationCode, Deployment, License, LicenseState

register = template.Library()

RECENT = 10


def _deployments(**where: Any) -> dict[str, Any]:
    qs = Deployment.objects.filter(**where)
    counts = qs.aggregate(total=Count("pk"), active=Count("pk", filter=Q(deactivated_at__isnull=True)))
    return {
        "deployments": list(
            qs.filter(deactivated_at__isnull=True)
            .select_related("contract")
            .order_by("-last_checkin_at")[:RECENT]
        ),
        "deployment_counts": counts,
    }


@register.inclusion_tag("licenses/admin/_deployments_panel.html")
def organization_deployments(organization: Any) -> dict[str, Any]:
    return {**_deployments(organization=organization), "filter": f"organization__id__exact={organization.pk}"}


@register.inclusion_tag("licenses/admin/_contract_licensing_panel.html")
def contract_licensing(contract: Any) -> dict[str, Any]:
    codes = list(
        ActivationCode.objects.filter(contract=contract)
        .annotate(used=Count("deployments", filter=Q(deployments__deactivated_at__isnull=True)))
        .order_by("-created_at")
    )
    licenses = list(
        License.objects.filter(contract=contract, state=LicenseState.ACTIVE)
        .select_related("deployment")
        .order_by("-issued_at")[:RECENT]
    )
    return {
        **_deployments(contract=contract),
        "contract": contract,
        "codes": codes,
        "licenses": licenses,
        "filter": f"contract__id__exact={contract.pk}",
    }
