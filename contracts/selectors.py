"""Reads of contracts."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from contracts.models import Contract
from editions.models import Module


def contract_queryset() -> QuerySet[Contract]:
    """Contracts with everything their API/admin representation reads, in a fixed number of queries."""
    modules = Module.objects.order_by("sort_order", "code")
    return Contract.objects.select_related(
        "organization", "edition", "partner", "renewal_of", "renewal"
    ).prefetch_related(
        Prefetch("modules", queryset=modules), Prefetch("edition__included_modules", queryset=modules)
    )


def contract_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Contract]:
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    qs = contract_queryset().order_by("-start_date", "-id")
    if "organization" in filters:
        qs = qs.filter(organization_id=filters["organization"])
    if "status" in filters:
        qs = qs.filter(status=filters["status"])
    if "edition" in filters:
        qs = qs.filter(edition__code=filters["edition"])
    if "partner" in filters:
        qs = qs.filter(partner_id=filters["partner"])
    if "ends_after" in filters:
        qs = qs.filter(end_date__gte=filters["ends_after"])
    if "ends_before" in filters:
        qs = qs.filter(end_date__lte=filters["ends_before"])
    if q := filters.get("search"):
        qs = qs.filter(Q(number__iexact=q) | Q(organization__name__icontains=q))
    return qs


def contract_get(identifier: str) -> Contract:
    """By id or by number (CT-2026-000001); raises Contract.DoesNotExist."""
    qs = contract_queryset()
    if identifier.isdigit():
        return qs.get(pk=int(identifier))
    return qs.get(number=identifier.upper())
