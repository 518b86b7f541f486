"""Helpers that build licensing scenarios through the real services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from contracts.services import contract_activate, contract_create
from licenses.services import activation_code_create, deployment_activate
from tests.factories import ContractFactory, OrganizationFactory, edition


def active_contract(
    *, edition_code: str = "enterprise", days_left: int = 200, device_limit: int | None = None, **kwargs: Any
) -> Any:
    """An active contract built directly (fast); its term ends `days_left` days from today."""
    today = timezone.localdate()
    return ContractFactory(
        edition=edition(edition_code),
        start_date=today - dt.timedelta(days=30),
        end_date=today + dt.timedelta(days=days_left),
        device_limit=device_limit,
        **kwargs,
    )


def contract_through_services(*, actor: Any = None, edition_code: str = "enterprise", **kwargs: Any) -> Any:
    """A contract created and activated with contracts.services, as sales does it."""
    today = timezone.localdate()
    contract = contract_create(
        actor=actor,
        organization=kwargs.pop("organization", None) or OrganizationFactory(),
        edition=edition(edition_code),
        start_date=kwargs.pop("start_date", today - dt.timedelta(days=1)),
        end_date=kwargs.pop("end_date", today + dt.timedelta(days=364)),
        **kwargs,
    )
    return contract_activate(actor=actor, contract=contract)


def activate(contract: Any, machine_id: str = "machine-A", **kwargs: Any) -> Any:
    _code, plain = activation_code_create(actor=None, contract=contract)
    return deployment_activate(code=plain, machine_id=machine_id, **kwargs)
