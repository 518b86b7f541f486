"""Reads of organizations and memberships."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from customers.models import Membership, Organization


def memberships_for_user(user: Any) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")
    )


def organization_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Organization]:
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    qs = Organization.objects.select_related("account_owner", "partner").order_by("name", "id")
    if q := filters.get("search"):
        from django.db.models import Q

        qs = qs.filter(
            Q(name__icontains=q)
            | Q(short_name__icontains=q)
            | Q(taxpayer_id__iexact=q)
            | Q(contacts__email__iexact=q)
        ).distinct()
    for field in ("industry", "country", "size", "partner_id", "account_owner_id"):
        if field in filters:
            qs = qs.filter(**{field: filters[field]})
    return qs
