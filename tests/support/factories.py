"""Tickets through the real service (events, SLA columns, audit), for tests."""

from __future__ import annotations

from typing import Any

from support.models import Priority
from support.services import ticket_create


def open_ticket(member: Any, contract: Any = None, *, priority: str = Priority.P3, **kwargs: Any) -> Any:
    organization = contract.organization if contract is not None else member.memberships.get().organization
    return ticket_create(
        actor=member,
        organization=organization,
        requester=member,
        contract=contract,
        subject=kwargs.pop("subject", "Devices stop reporting"),
        body=kwargs.pop("body", "Since this morning no telemetry arrives."),
        priority=priority,
        **kwargs,
    )
