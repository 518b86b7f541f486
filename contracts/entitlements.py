"""Entitlements: which contract of a renewal chain is in force, and what it grants.

One rule for everything a customer receives under contract, read by the licenses (tokens, check-ins,
activation), downloads and the container registry (editions), the SLA of a new ticket (support) and
the portal's pages:

- **The contract in force** (`contract_in_force`): of a renewal chain, the newest active contract
  whose start date has come; a renewal activated ahead of its start is skipped until then, and a
  draft or cancelled renewal ends the chain. Without an active one, the newest expired one, whose
  end sets the grace period.
- **Its window** (`window_of`), by dates, so that a late nightly job and an early manual expiry give
  the same answer: `term` up to the end of its last day (Asia/Shanghai); `grace` after that (or once
  it is no longer active) for `grace_days` days; `over` afterwards, and at once when cancelled.
- **What it grants** (`Entitlement`, built only by `entitlement_of`): the edition and its modules
  plus the chosen ones (the license `features`, in catalog order), the device limit, source code for
  an edition sold under NDA, the delivery and support level of the edition, the start date, the end
  of the term and the grace days.
- **In which window**: in the term, everything. In grace, licenses keep working (that is what the
  grace days are for: "days licenses keep working after the end") while nothing new is delivered: no
  downloads, no registry pulls, no new ticket under the contract's SLA. Over: nothing.

An organization's entitlement (`organization_entitlement`) is the contract in force of each of its
renewal chains, so downloads and licenses agree on the same contract on the same day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from contracts.models import Contract, ContractStatus
from customers.models import Organization
from editions.models import Module

RENEWAL_CHAIN_LIMIT = 50
_RENEWAL = Contract._meta.get_field("renewal")  # the reverse side of Contract.renewal_of


class Window(StrEnum):
    TERM = "term"
    GRACE = "grace"
    OVER = "over"


# --- dates --------------------------------------------------------------------------------------------


def end_of_term(end_date: dt.date) -> dt.datetime:
    """A contract's last day runs until midnight, local time (Asia/Shanghai)."""
    return dt.datetime.combine(
        end_date + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_default_timezone()
    )


def end_of_grace(end_date: dt.date, grace_days: int) -> dt.datetime:
    return end_of_term(end_date) + dt.timedelta(days=grace_days)


def window_of(*, status: str, end_date: dt.date, grace_days: int, now: dt.datetime) -> Window:
    if status == ContractStatus.CANCELLED:
        return Window.OVER
    if now >= end_of_grace(end_date, grace_days):
        return Window.OVER
    if status != ContractStatus.ACTIVE or now >= end_of_term(end_date):
        return Window.GRACE
    return Window.TERM


def contract_window(contract: Contract, now: dt.datetime | None = None) -> Window:
    """`term`, `grace` or `over` for this contract at `now`."""
    return window_of(
        status=contract.status,
        end_date=contract.end_date,
        grace_days=contract.effective_grace_days,
        now=now or timezone.now(),
    )


# --- the renewal chain ------------------------------------------------------------------------------


def renewal_of(contract: Contract) -> Contract | None:
    """The renewal linked to `contract` (any status), or None."""
    return getattr(contract, "renewal", None)


def contract_is_in_force(contract: Contract, *, on: dt.date | None = None) -> bool:
    on = on or timezone.localdate()
    return contract.status == ContractStatus.ACTIVE and contract.start_date <= on <= contract.end_date


def contract_in_force(contract: Contract, *, on: dt.date | None = None) -> Contract:
    """The contract of the renewal chain starting at `contract` whose terms apply on `on` (today):
    the newest active renewal whose start date has come; a renewal activated ahead of its start is
    skipped until then. Without an active one, the newest expired one (its end sets the grace
    period). Drafts and cancelled renewals end the walk."""
    on = on or timezone.localdate()
    best = contract
    seen_active = contract.status == ContractStatus.ACTIVE
    node = contract
    for _step in range(RENEWAL_CHAIN_LIMIT):
        renewal = renewal_of(node)
        if (
            renewal is None
            or renewal.organization_id != contract.organization_id
            or renewal.status not in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}
        ):
            break
        if renewal.status == ContractStatus.ACTIVE:
            if renewal.start_date > on:
                break  # signed, not yet in force
            best, seen_active = renewal, True
        elif not seen_active:
            best = renewal
        node = renewal
    return best


def chain_end(contract: Contract) -> dt.date:
    """The end of the chain of active renewals that continue `contract` (the contract in force): a
    renewal that is active and starts at the latest the day after its predecessor ends extends the
    entitlement to its own end, even before it takes effect. The license states this end
    (`entitlement_end`), so a renewed customer is not told the license is about to end; what the
    renewal changes (modules, limits) still takes effect at its start, with the contract in force."""
    end = contract.end_date
    if contract.status != ContractStatus.ACTIVE:
        return end
    node = contract
    for _step in range(RENEWAL_CHAIN_LIMIT):
        renewal = renewal_of(node)
        if (
            renewal is None
            or renewal.status != ContractStatus.ACTIVE
            or renewal.organization_id != contract.organization_id
            or renewal.start_date > node.end_date + dt.timedelta(days=1)
        ):
            break
        end = max(end, renewal.end_date)
        node = renewal
    return end


# --- what a contract grants -------------------------------------------------------------------------


def modules_of(contract: Contract) -> list[Module]:
    """The edition's modules plus the contract's chosen ones, each once, in catalog order."""
    modules = {m.code: m for m in contract.edition.included_modules.all()}
    modules.update({m.code: m for m in contract.modules.all()})
    return [m for _code, m in sorted(modules.items(), key=lambda kv: (kv[1].sort_order, kv[0]))]


def features_of(contract: Contract) -> tuple[str, ...]:
    """The license `features`: the codes of `modules_of`."""
    return tuple(m.code for m in modules_of(contract))


@dataclass(frozen=True)
class Entitlement:
    """What one contract grants; the license states it (claims), downloads and support read it."""

    contract_id: int
    contract_number: str
    organization_id: int
    customer: str
    edition: str
    edition_id: int
    features: tuple[str, ...]
    module_ids: frozenset[int]
    device_limit: int | None
    start_date: dt.date
    entitlement_end: dt.date
    grace_days: int
    source_code: bool  # an edition sold under NDA (the source license): its source archives
    delivery: str
    support_level: str

    @property
    def term_end(self) -> dt.datetime:
        return end_of_term(self.entitlement_end)

    @property
    def grace_end(self) -> dt.datetime:
        return end_of_grace(self.entitlement_end, self.grace_days)


def entitlement_of(contract: Contract) -> Entitlement:
    """The one builder of an Entitlement. Reads the contract's organization, edition, the edition's
    included modules and the contract's modules (prefetch them when building many)."""
    modules = modules_of(contract)
    edition = contract.edition
    return Entitlement(
        contract_id=contract.pk,
        contract_number=contract.number,
        organization_id=contract.organization_id,
        customer=contract.organization.name,
        edition=edition.code,
        edition_id=edition.pk,
        features=tuple(m.code for m in modules),
        module_ids=frozenset(m.pk for m in modules),
        device_limit=contract.effective_device_limit,
        start_date=contract.start_date,
        entitlement_end=chain_end(contract),
        grace_days=contract.effective_grace_days,
        source_code=edition.requires_nda,
        delivery=edition.delivery,
        support_level=edition.support_level,
    )


# --- an organization's contracts in force ------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    """The contract in force of one renewal chain, its window now, and what it grants."""

    contract: Contract
    window: Window
    entitlement: Entitlement

    @property
    def licensed(self) -> bool:
        return self.window != Window.OVER

    @property
    def delivers(self) -> bool:
        """Downloads, registry pulls and new tickets under the contract's SLA: in the term only."""
        return self.window == Window.TERM


@dataclass(frozen=True)
class OrganizationEntitlement:
    """What an organization's contracts grant on a day: the contract in force of each renewal chain.
    Anonymous visitors and organizations without a contract get nothing but public artifacts."""

    organization_id: int | None
    in_force: tuple[InForce, ...] = ()

    @property
    def delivering(self) -> tuple[InForce, ...]:
        return tuple(item for item in self.in_force if item.delivers)

    # What downloads and the registry read (editions.selectors.DeliveryEntitlement) ---------------

    @property
    def contracts(self) -> tuple[Contract, ...]:
        """The contracts that deliver now, the one ending last first."""
        return tuple(item.contract for item in self.delivering)

    @property
    def edition_ids(self) -> frozenset[int]:
        return frozenset(item.entitlement.edition_id for item in self.delivering)

    @property
    def module_ids(self) -> frozenset[int]:
        return frozenset(pk for item in self.delivering for pk in item.entitlement.module_ids)

    @property
    def source_contracts(self) -> tuple[Contract, ...]:
        """Contracts of an edition sold under NDA (the source license): only they give source code."""
        return tuple(item.contract for item in self.delivering if item.entitlement.source_code)

    def source_grants(self) -> tuple[frozenset[int], frozenset[int]]:
        """(edition ids, module ids) of the source-license contracts."""
        source = [item.entitlement for item in self.delivering if item.entitlement.source_code]
        return frozenset(e.edition_id for e in source), frozenset(pk for e in source for pk in e.module_ids)

    def contracts_entitling(self, artifact: Any, *, source_only: bool = False) -> list[Contract]:
        """The delivering contracts whose edition or modules the artifact belongs to."""
        edition_ids = {e.pk for e in artifact.editions.all()}
        module_ids = {m.pk for m in artifact.modules.all()}
        return [
            item.contract
            for item in self.delivering
            if (item.entitlement.source_code or not source_only)
            and (item.entitlement.edition_id in edition_ids or module_ids & item.entitlement.module_ids)
        ]


def _chain_heads(contracts: Iterable[Contract]) -> list[Contract]:
    """The first contract of each renewal chain among `contracts` (one whose predecessor is not
    among them)."""
    by_pk = {c.pk: c for c in contracts}
    return [c for c in by_pk.values() if c.renewal_of_id not in by_pk]


def organization_entitlement(
    organization: Organization | None, *, now: dt.datetime | None = None
) -> OrganizationEntitlement:
    """The contract in force of each of the organization's renewal chains at `now`, with its window
    and what it grants, the one ending last first. Three queries whatever the number of contracts."""
    if organization is None:
        return OrganizationEntitlement(organization_id=None)
    now = now or timezone.now()
    today = timezone.localdate(now)
    modules = Module.objects.order_by("sort_order", "code")
    contracts = list(
        Contract.objects.filter(
            organization_id=organization.pk, status__in=(ContractStatus.ACTIVE, ContractStatus.EXPIRED)
        )
        .select_related("organization", "edition")
        .prefetch_related(
            Prefetch("modules", queryset=modules), Prefetch("edition__included_modules", queryset=modules)
        )
        .order_by("pk")
    )
    # The renewal links, from the rows already read: no query per hop of the walk. A renewal that is
    # not among them (a draft, a cancelled one) ends the walk, as it would when read.
    by_renewed = {c.renewal_of_id: c for c in contracts if c.renewal_of_id is not None}
    for contract in contracts:
        _RENEWAL.set_cached_value(contract, by_renewed.get(contract.pk))
    in_force = []
    for head in _chain_heads(contracts):
        contract = contract_in_force(head, on=today)
        in_force.append(InForce(contract, contract_window(contract, now), entitlement_of(contract)))
    in_force.sort(key=lambda item: (item.contract.end_date, item.contract.pk), reverse=True)
    return OrganizationEntitlement(organization_id=organization.pk, in_force=tuple(in_force))
