"""Scenarios for the contract lifecycle and reminder tests: a customer with owners, billing and technical
members, an account owner on staff, a contract made and activated through the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from contracts.models import Contract
from contracts.services import contract_activate, contract_create
from customers.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, edition


def at(day: dt.date, hour: int = 2, minute: int = 0) -> dt.datetime:
    """A moment of `day` in Asia/Shanghai (the beat runs the daily job at 02:00)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_default_timezone())


@dataclass
class Customer:
    organization: Any
    account_owner: Any
    owner: Any
    billing: Any
    technical: Any


def customer(*, prefix: str = "acme") -> Customer:
    account_owner = UserFactory(
        username=f"{prefix}-sales",
        email=f"{prefix}-sales@vendor.example",
        first_name="Li",
        last_name="Lei",
        is_staff=True,
    )
    organization = OrganizationFactory(account_owner=account_owner)
    owner = MembershipFactory(
        organization=organization,
        user=UserFactory(username=f"{prefix}-owner", email=f"owner@{prefix}.example"),
        role=Role.OWNER,
    ).user
    billing = MembershipFactory(
        organization=organization,
        user=UserFactory(username=f"{prefix}-billing", email=f"billing@{prefix}.example"),
        role=Role.BILLING,
    ).user
    technical = MembershipFactory(
        organization=organization,
        user=UserFactory(username=f"{prefix}-tech", email=f"tech@{prefix}.example"),
        role=Role.TECHNICAL,
    ).user
    # A former billing contact, deactivated: never mailed.
    MembershipFactory(
        organization=organization,
        user=UserFactory(username=f"{prefix}-gone", email=f"gone@{prefix}.example", is_active=False),
        role=Role.BILLING,
    )
    return Customer(organization, account_owner, owner, billing, technical)


def signed_contract(
    *,
    organization: Any,
    start: dt.date | None = None,
    days: int = 365,
    edition_code: str = "enterprise",
    actor: Any = None,
    **kwargs: Any,
) -> Contract:
    """A contract created and activated as sales does it; its term is `days` days from `start`."""
    start = start or timezone.localdate()
    contract = contract_create(
        actor=actor,
        organization=organization,
        edition=edition(edition_code),
        start_date=start,
        end_date=start + dt.timedelta(days=days - 1),
        **kwargs,
    )
    return contract_activate(actor=actor, contract=contract)
