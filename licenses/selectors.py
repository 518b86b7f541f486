"""Reads of the licenses app: published keys, deployments, licenses, codes, usage peaks."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from licenses import keys
from licenses.models import (
    ActivationCode,
    Deployment,
    Environment,
    KeyState,
    License,
    LicenseState,
    SigningKey,
    UsageReport,
)

# --- keys ---------------------------------------------------------------------------------------------


def keys_publishable(*, now: dt.datetime | None = None) -> list[SigningKey]:
    """Every key that may still verify a live license: the active keys, the staged next keys (so
    platform builds can pin them before they sign), and each retired key until the last
    non-revoked license it signed has expired."""
    now = now or timezone.now()
    live = License.objects.filter(signing_key=OuterRef("pk"), expires_at__gt=now).exclude(
        state=LicenseState.REVOKED
    )
    return list(
        SigningKey.objects.filter(Q(state__in=[KeyState.ACTIVE, KeyState.NEXT]) | Exists(live))
        .only("kid", "algorithm", "public_key_pem", "state", "created_at")
        .order_by("-created_at", "-pk")
    )


def jwks(*, now: dt.datetime | None = None) -> dict[str, Any]:
    return {"keys": [keys.jwk(key) for key in keys_publishable(now=now)]}


def signing_key_queryset() -> QuerySet[SigningKey]:
    return SigningKey.objects.defer("private_key_encrypted").annotate(
        license_count=Count("licenses"), last_license_expires_at=Max("licenses__expires_at")
    )


# --- deployments --------------------------------------------------------------------------------------


def _current_license(field: str) -> Subquery:
    return Subquery(License.objects.filter(deployment=OuterRef("pk")).order_by("-pk").values(field)[:1])


def deployment_queryset() -> QuerySet[Deployment]:
    """Deployments with what lists show, in one query: organization, contract and edition, the
    effective device limit and the newest license's id, state and expiry."""
    return Deployment.objects.select_related("organization", "contract__edition").annotate(
        device_limit=Coalesce(
            F("contract__device_limit"), F("contract__edition__device_limit"), output_field=IntegerField()
        ),
        license_id=_current_license("pk"),
        license_state=_current_license("state"),
        license_expires_at=_current_license("expires_at"),
    )


def _of_contract(qs: QuerySet[Any], contract: Any) -> QuerySet[Any]:
    """Rows of a contract named by id or by number (CT-2026-000123), as the API accepts both."""
    value = str(contract)
    return qs.filter(contract_id=int(value)) if value.isdigit() else qs.filter(contract__number=value.upper())


def deployment_list(
    *, filters: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> QuerySet[Deployment]:
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    now = now or timezone.now()
    qs = deployment_queryset().order_by("-created_at", "-pk")
    if "organization" in filters:
        qs = qs.filter(organization_id=filters["organization"])
    if "contract" in filters:
        qs = _of_contract(qs, filters["contract"])
    if "edition" in filters:
        qs = qs.filter(contract__edition__code=filters["edition"])
    if "environment" in filters:
        qs = qs.filter(environment=filters["environment"])
    if "machine_id" in filters:
        qs = qs.filter(machine_id=filters["machine_id"])
    if "active" in filters:
        qs = qs.filter(deactivated_at__isnull=bool(filters["active"]))
    if "not_seen_days" in filters:
        cutoff = now - dt.timedelta(days=int(filters["not_seen_days"]))
        qs = qs.filter(Q(last_checkin_at__lt=cutoff) | Q(last_checkin_at__isnull=True))
    if "over_limit" in filters:
        over = Q(device_limit__isnull=False, last_device_count__gt=F("device_limit"))
        qs = qs.filter(over) if filters["over_limit"] else qs.exclude(over)
    if q := filters.get("search"):
        qs = qs.filter(
            Q(hostname__icontains=q)
            | Q(machine_id=q)
            | Q(organization__name__icontains=q)
            | Q(contract__number__iexact=q)
        )
    return qs


def deployments_for_organization(organization_id: int) -> QuerySet[Deployment]:
    """For the customer portal: the organization's live deployments."""
    return deployment_list(filters={"organization": organization_id, "active": True})


# --- licenses -----------------------------------------------------------------------------------------


def license_queryset() -> QuerySet[License]:
    return License.objects.select_related(
        "deployment__organization", "contract__edition", "signing_key"
    ).defer("signing_key__private_key_encrypted", "signing_key__public_key_pem")


def license_list(
    *, filters: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> QuerySet[License]:
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    now = now or timezone.now()
    qs = license_queryset().order_by("-created_at", "-pk")
    if "organization" in filters:
        qs = qs.filter(deployment__organization_id=filters["organization"])
    if "contract" in filters:
        qs = _of_contract(qs, filters["contract"])
    if "deployment" in filters:
        qs = qs.filter(deployment_id=filters["deployment"])
    if "state" in filters:
        qs = qs.filter(state=filters["state"])
    if "edition" in filters:
        qs = qs.filter(edition_code=filters["edition"])
    if "kid" in filters:
        qs = qs.filter(signing_key__kid=filters["kid"])
    if "expiring_within_days" in filters:
        qs = qs.filter(
            state=LicenseState.ACTIVE,
            expires_at__gt=now,
            expires_at__lte=now + dt.timedelta(days=int(filters["expiring_within_days"])),
        )
    if q := filters.get("search"):
        qs = qs.filter(
            Q(deployment__machine_id=q)
            | Q(deployment__hostname__icontains=q)
            | Q(deployment__organization__name__icontains=q)
            | Q(contract__number__iexact=q)
        )
    return qs


def license_get(license_id: int) -> License:
    return license_queryset().get(pk=license_id)


def license_current_for_deployment(deployment: Deployment) -> License | None:
    return License.objects.filter(deployment=deployment, state=LicenseState.ACTIVE).first()


def licenses_for_organization(organization_id: int) -> QuerySet[License]:
    """For the customer portal: the current licenses of the organization's deployments."""
    return license_list(filters={"organization": organization_id, "state": LicenseState.ACTIVE})


# --- activation codes ---------------------------------------------------------------------------------


def activation_code_queryset() -> QuerySet[ActivationCode]:
    return ActivationCode.objects.select_related("contract__organization", "contract__edition").annotate(
        deployments_used=Count("deployments", filter=Q(deployments__deactivated_at__isnull=True))
    )


def activation_codes_for_contract(contract_id: int) -> QuerySet[ActivationCode]:
    return activation_code_queryset().filter(contract_id=contract_id).order_by("-created_at", "-pk")


def activation_codes_for_organization(organization_id: int) -> QuerySet[ActivationCode]:
    """For the customer portal (show each with services.activation_code_reveal)."""
    return (
        activation_code_queryset()
        .filter(contract__organization_id=organization_id, revoked_at__isnull=True)
        .order_by("-created_at", "-pk")
    )


# --- usage --------------------------------------------------------------------------------------------


def contract_peak_evidence(
    contract_id: int, period_start: dt.datetime, period_end: dt.datetime
) -> dict[str, Any] | None:
    """The peak of one contract over [period_start, period_end) counted as contract_peak_device_counts
    counts it, with the evidence a true-up shows: the first day the peak was reached and each
    deployment's highest count that day. None when nothing was reported."""
    per_deployment_day = (
        UsageReport.objects.filter(
            contract_id=contract_id,
            reported_at__gte=period_start,
            reported_at__lt=period_end,
            device_count__isnull=False,
        )
        .exclude(deployment__environment=Environment.STAGING)
        .annotate(day=TruncDate("reported_at", tzinfo=timezone.get_default_timezone()))
        .values("deployment_id", "day")
        .annotate(peak=Max("device_count"))
        .values_list("deployment_id", "day", "peak")
    )
    per_day: dict[dt.date, dict[int, int]] = defaultdict(dict)
    for deployment_id, day, peak in per_deployment_day:
        per_day[day][deployment_id] = peak
    if not per_day:
        return None
    day = min(per_day, key=lambda d: (-sum(per_day[d].values()), d))
    counts = per_day[day]
    names = dict(Deployment.objects.filter(pk__in=counts).values_list("pk", "hostname"))
    return {
        "peak": sum(counts.values()),
        "day": day.isoformat(),
        "deployments": [
            {"id": pk, "hostname": names.get(pk, ""), "devices": n}
            for pk, n in sorted(counts.items(), key=lambda kv: -kv[1])
        ],
    }


def contract_peak_device_counts(
    contract_ids: Iterable[int],
    period_start: dt.datetime,
    period_end: dt.datetime,
    *,
    include_staging: bool = False,
) -> dict[int, int]:
    """Peak device count per contract over [period_start, period_end), for usage invoicing.

    The rule: for each calendar day (Asia/Shanghai) take each deployment's highest reported device
    count that day; add those up across the contract's deployments to get the contract's count for
    the day; the peak is the highest day. A deployment that did not report on a day adds nothing to
    that day. Reports are attributed to the contract the deployment's license was under when it
    checked in (so after a renewal, usage counts on the renewal). Staging deployments are left out
    unless include_staging (they mirror production devices). Every requested contract is in the
    answer, 0 when nothing was reported."""
    ids = [int(c) for c in contract_ids]
    result = dict.fromkeys(ids, 0)
    if not ids:
        return result
    reports = UsageReport.objects.filter(
        contract_id__in=ids,
        reported_at__gte=period_start,
        reported_at__lt=period_end,
        device_count__isnull=False,
    )
    if not include_staging:
        reports = reports.exclude(deployment__environment=Environment.STAGING)
    per_deployment_day = (
        reports.annotate(day=TruncDate("reported_at", tzinfo=timezone.get_default_timezone()))
        .values("contract_id", "deployment_id", "day")
        .annotate(peak=Max("device_count"))
        .values_list("contract_id", "day", "peak")
    )
    per_day: dict[tuple[int, dt.date], int] = defaultdict(int)
    for contract_id, day, peak in per_deployment_day:
        per_day[(contract_id, day)] += peak
    for (contract_id, _day), total in per_day.items():
        result[contract_id] = max(result[contract_id], total)
    return result


def contract_stale_deployments(
    contract_ids: Iterable[int],
    period_start: dt.datetime,
    period_end: dt.datetime,
    stale_days: int,
) -> dict[int, list[dict[str, Any]]]:
    """Contracts with a live, non-staging, online deployment that had been registered before
    `period_end - stale_days` but had not checked in during the last `stale_days` days before
    `period_end` (or never): its device counts for the period are incomplete, so usage billing
    should hold the month for review. Maps contract id to one entry per stale deployment."""
    ids = [int(c) for c in contract_ids]
    if not ids:
        return {}
    cutoff = period_end - dt.timedelta(days=stale_days)
    last_report = Subquery(
        UsageReport.objects.filter(deployment=OuterRef("pk"), reported_at__lt=period_end)
        .order_by("-reported_at")
        .values("reported_at")[:1]
    )
    rows = (
        Deployment.objects.filter(
            contract_id__in=ids,
            deactivated_at__isnull=True,
            offline=False,
            created_at__lt=cutoff,
        )
        .exclude(environment=Environment.STAGING)
        .annotate(last_report_at=last_report)
        .filter(Q(last_report_at__lt=cutoff) | Q(last_report_at__isnull=True))
        .order_by("contract_id", "pk")
        .values("pk", "contract_id", "hostname", "machine_id", "environment", "last_report_at")
    )
    stale: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        stale[row["contract_id"]].append(
            {
                "deployment": row["pk"],
                "hostname": row["hostname"],
                "machine_id": row["machine_id"],
                "environment": row["environment"],
                "last_report_at": row["last_report_at"].isoformat() if row["last_report_at"] else None,
            }
        )
    return dict(stale)


def usage_history(deployment_id: int, *, limit: int = 100) -> QuerySet[UsageReport]:
    return UsageReport.objects.filter(deployment_id=deployment_id).order_by("-reported_at", "-pk")[:limit]
