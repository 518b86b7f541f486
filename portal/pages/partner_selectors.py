"""Reads of the partner area, always scoped to one partner: its book (end customers, their contracts,
renewal dates, deployments and license state) and its deal registrations. Another partner's object,
or a customer the partner did not bring, is simply not found (404).

The book never includes an end customer's invoices: a partner sees invoices only where it is the
billed party, that is as a member of its own organization in the customer portal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from contracts.models import EXPIRING_WINDOW_DAYS, Contract, ContractStatus
from customers.models import DealRegistration, Organization, Partner, PartnerInvitation, PartnerMembership
from licenses.models import Deployment, License, LicenseState


def _contracts_q(partner: Partner) -> Q:
    """A contract is in the partner's book when it carries the partner, or its customer was brought
    by the partner."""
    return Q(partner=partner) | Q(organization__partner=partner)


def partner_contracts_qs(partner: Partner) -> QuerySet[Contract]:
    return Contract.objects.filter(_contracts_q(partner)).select_related("organization", "edition")


@dataclass
class BookCustomer:
    organization: Organization
    contracts: list[Contract] = field(default_factory=list)

    @property
    def next_renewal(self) -> dt.date | None:
        ends = [c.end_date for c in self.contracts if c.status == ContractStatus.ACTIVE]
        return min(ends) if ends else None

    @property
    def deployment_count(self) -> int:
        return sum(cast(Any, c).deployment_count for c in self.contracts)

    @property
    def active_license_count(self) -> int:
        return sum(cast(Any, c).active_license_count for c in self.contracts)


def _decorate(contracts: list[Contract]) -> list[Contract]:
    """Deployment counts, active licenses and the license state of each contract, in two queries."""
    ids = [c.pk for c in contracts]
    deployments = dict(
        Deployment.objects.filter(contract_id__in=ids, deactivated_at__isnull=True)
        .values("contract_id")
        .annotate(n=Count("id"))
        .values_list("contract_id", "n")
    )
    licenses = dict(
        License.objects.filter(contract_id__in=ids, state=LicenseState.ACTIVE)
        .values("contract_id")
        .annotate(n=Count("id"))
        .values_list("contract_id", "n")
    )
    today = timezone.localdate()
    for contract in contracts:
        row: Any = contract  # attributes for the templates
        row.deployment_count = deployments.get(contract.pk, 0)
        row.active_license_count = licenses.get(contract.pk, 0)
        row.renewal_due = (
            contract.status == ContractStatus.ACTIVE
            and contract.end_date <= today + dt.timedelta(days=EXPIRING_WINDOW_DAYS)
        )
        if row.active_license_count:
            row.license_state = "licensed"
        elif row.deployment_count:
            row.license_state = "unlicensed"
        else:
            row.license_state = "not_deployed"
    return contracts


def partner_book(partner: Partner) -> list[BookCustomer]:
    """The partner's end customers with their contracts, customers without contracts included."""
    contracts = _decorate(list(partner_contracts_qs(partner).order_by("organization__name", "-end_date")))
    book: dict[int, BookCustomer] = {}
    for organization in Organization.objects.filter(partner=partner).order_by("name"):
        book[organization.pk] = BookCustomer(organization=organization)
    for contract in contracts:
        entry = book.setdefault(contract.organization_id, BookCustomer(organization=contract.organization))
        entry.contracts.append(contract)
    return sorted(book.values(), key=lambda b: b.organization.name.lower())


def partner_customer(partner: Partner, organization_id: int) -> BookCustomer:
    """One customer of the partner's book (404 for anyone else's)."""
    contracts = _decorate(
        list(partner_contracts_qs(partner).filter(organization_id=organization_id).order_by("-end_date"))
    )
    organization = (
        contracts[0].organization
        if contracts
        else Organization.objects.filter(partner=partner, pk=organization_id).first()
    )
    if organization is None:
        raise Http404
    return BookCustomer(organization=organization, contracts=contracts)


def partner_contract(partner: Partner, number: str) -> Contract:
    contract = partner_contracts_qs(partner).filter(number=number).first()
    if contract is None:
        raise Http404
    return contract


def partner_deals(partner: Partner, *, status: str = "") -> QuerySet[DealRegistration]:
    qs = DealRegistration.objects.filter(partner=partner).select_related(
        "edition", "contract", "organization"
    )
    return qs.filter(status=status) if status else qs


def partner_deal(partner: Partner, deal_id: int) -> DealRegistration:
    deal = partner_deals(partner).filter(pk=deal_id).first()
    if deal is None:
        raise Http404
    return deal


def partner_members(partner: Partner) -> list[PartnerMembership]:
    return list(
        PartnerMembership.objects.filter(partner=partner).select_related("user").order_by("created_at")
    )


def partner_member(partner: Partner, membership_id: int) -> PartnerMembership:
    membership = (
        PartnerMembership.objects.filter(partner=partner, pk=membership_id).select_related("user").first()
    )
    if membership is None:
        raise Http404
    return membership


def partner_invitations_pending(partner: Partner) -> list[PartnerInvitation]:
    return list(
        PartnerInvitation.objects.filter(
            partner=partner, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-created_at")
    )


def partner_invitation(partner: Partner, invitation_id: int) -> PartnerInvitation:
    invitation = PartnerInvitation.objects.filter(partner=partner, pk=invitation_id).first()
    if invitation is None:
        raise Http404
    return invitation


def partner_overview(partner: Partner) -> dict[str, Any]:
    """The overview's figures, counted in the database (not by building the whole book)."""
    today = timezone.localdate()
    contracts = Contract.objects.filter(_contracts_q(partner))
    active = contracts.filter(status=ContractStatus.ACTIVE)
    return {
        "customer_count": Organization.objects.filter(Q(partner=partner) | Q(contracts__partner=partner))
        .distinct()
        .count(),
        "active_contracts": active.count(),
        "renewals_due": list(
            active.filter(end_date__lte=today + dt.timedelta(days=EXPIRING_WINDOW_DAYS))
            .select_related("organization")
            .order_by("end_date", "pk")[:50]
        ),
        "open_deals": partner_deals(partner).filter(status__in=["submitted", "approved"]).count(),
        "deployments": Deployment.objects.filter(contract__in=contracts, deactivated_at__isnull=True).count(),
    }
