"""Writes of organizations, contacts and memberships. Each runs in one transaction and is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from customers.models import Membership, Organization, Role
from portal.services import audit

ORGANIZATION_FIELDS = (
    "name",
    "short_name",
    "industry",
    "size",
    "region",
    "country",
    "account_owner_id",
    "partner_id",
    "taxpayer_id",
    "invoice_title",
    "registered_address",
    "registered_phone",
    "bank_name",
    "bank_account",
    "fapiao_type",
    "billing_email",
)


@transaction.atomic
def organization_create(*, actor: Any, name: str, industry: str, country: str, **fields: Any) -> Organization:
    unknown = set(fields) - set(ORGANIZATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organization fields: {sorted(unknown)}")
    organization = Organization(name=name, industry=industry, country=country, **fields)
    organization.full_clean()
    organization.save()
    audit(actor=actor, action="organization.create", target=organization, data={"name": name})
    return organization


@transaction.atomic
def organization_update(*, actor: Any, organization: Organization, **changes: Any) -> Organization:
    unknown = set(changes) - set(ORGANIZATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organization fields: {sorted(unknown)}")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = {field: getattr(organization, field) for field in changes}
    for field, value in changes.items():
        setattr(organization, field, value)
    organization.full_clean()
    organization.save()
    diff = {
        f: [_plain(before[f]), _plain(getattr(organization, f))]
        for f in changes
        if before[f] != getattr(organization, f)
    }
    if diff:
        audit(actor=actor, action="organization.update", target=organization, data={"changes": diff})
    return organization


@transaction.atomic
def membership_add(
    *, actor: Any, organization: Organization, user: Any, role: str = Role.TECHNICAL
) -> Membership:
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    audit(actor=actor, action="membership.add", target=organization, data={"user": user.email, "role": role})
    return membership


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
