"""Reads of organizations, memberships, inquiries and partner revenue shares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract
from customers.models import (
    ContractRevenueShare,
    Industry,
    Inquiry,
    InquiryInterest,
    InquiryMotive,
    InquiryStage,
    Membership,
    Organization,
    Partner,
    PartnerMembership,
)


def memberships_for_user(user: Any) -> list[Membership]:
    """The user's seats, each with `user_is_partner` (the user also has a seat in an active partner),
    so that the portal's navigation knows without another query."""
    partner_seat = PartnerMembership.objects.filter(user=OuterRef("user_id"), partner__is_active=True)
    return list(
        Membership.objects.filter(user=user)
        .annotate(user_is_partner=Exists(partner_seat))
        .select_related("organization__partner")
        .order_by("organization__name")
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


def organizations_with_email(email: str) -> list[Organization]:
    """Organizations that know this address as a contact or a member's login (for linking inquiries)."""
    from django.db.models import Q

    email = email.strip()
    if not email:
        return []
    return list(
        Organization.objects.filter(
            Q(contacts__email__iexact=email) | Q(memberships__user__email__iexact=email)
        )
        .distinct()
        .order_by("id")[:2]
    )


# Partner revenue share ----------------------------------------------------------------------------------


def revenue_share_percent_for(*, contract: Any = None, partner: Any = None) -> Decimal:
    """The revenue share (in %) owed to the partner on money from this contract: the contract's own
    agreed share when set (ContractRevenueShare), else the partner's (which defaults from its type:
    OEM 30 %, source-license partner 15 %, joint development 0 %). 0 without a partner."""
    if contract is not None:
        try:
            override = contract.revenue_share
        except ContractRevenueShare.DoesNotExist:
            override = None
        if override is not None:
            return Decimal(override.percent)
        partner = partner if partner is not None else contract.partner
    if partner is None:
        return Decimal("0")
    return partner.revenue_share_percent or Decimal("0")


def partner_contracts(partner: Partner) -> list[Any]:
    """The partner's contracts (any status), newest first, with the revenue share that applies to each."""
    contracts = list(
        Contract.objects.filter(partner=partner)
        .select_related("organization", "edition", "revenue_share")
        .order_by("-start_date", "-id")
    )
    for contract in contracts:
        row: Any = contract  # the statement's columns, set on the instance
        row.share_percent = revenue_share_percent_for(contract=contract, partner=partner)
        row.share_is_override = hasattr(contract, "revenue_share")
    return contracts


# Inquiry analysis --------------------------------------------------------------------------------------


@dataclass
class InquirySegment:
    """Counts for one segment (an industry, a thing asked for, or everything)."""

    key: str
    label: str
    inquiries: int = 0
    asked: dict[str, int] = dataclasses.field(default_factory=dict)
    won: int = 0
    lost: int = 0
    motives: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def open(self) -> int:
        return self.inquiries - self.won - self.lost

    @property
    def source_code_share(self) -> Decimal | None:
        """Inquiries that asked for the source code ÷ inquiries."""
        return _ratio(self.asked.get(InquiryInterest.SOURCE_CODE, 0), self.inquiries)

    @property
    def win_rate(self) -> Decimal | None:
        """won ÷ (won + lost): how often a decided inquiry was won."""
        return _ratio(self.won, self.won + self.lost)

    @property
    def conversion_rate(self) -> Decimal | None:
        """won ÷ all inquiries of the segment (open ones count as not won yet)."""
        return _ratio(self.won, self.inquiries)


@dataclass
class InquiryAnalysis:
    date_from: date | None
    date_to: date | None
    by_industry: list[InquirySegment]
    by_interest: list[InquirySegment]
    total: InquirySegment
    source_code_motives: dict[str, int]
    interests: list[tuple[str, str]]
    motives: list[tuple[str, str]]


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def inquiry_analysis(
    *, date_from: date | None = None, date_to: date | None = None, channel: str = ""
) -> InquiryAnalysis:
    """Inquiries received in [date_from, date_to] (local dates, inclusive), by industry and by what was
    asked for. An inquiry may ask for several things, so the asked-for columns need not add up."""
    qs = Inquiry.objects.all()
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    if channel:
        qs = qs.filter(channel=channel)
    industries = dict(Industry.choices)
    interests = list(InquiryInterest.choices)
    total = InquirySegment(key="", label=str(_("All industries")))
    by_industry: dict[str, InquirySegment] = {}
    by_interest = {code: InquirySegment(key=code, label=str(label)) for code, label in interests}
    source_motives: dict[str, int] = {code: 0 for code, _label in InquiryMotive.choices}
    for industry, asked, motives, stage in qs.values_list("industry", "interests", "motives", "stage"):
        asked = [code for code in (asked or []) if code in by_interest]
        segment = by_industry.setdefault(
            industry, InquirySegment(key=industry, label=str(industries.get(industry, industry)))
        )
        targets = [segment, total, *(by_interest[code] for code in asked)]
        for target in targets:
            target.inquiries += 1
            target.won += stage == InquiryStage.WON
            target.lost += stage == InquiryStage.LOST
            for code in motives or []:
                target.motives[code] = target.motives.get(code, 0) + 1
        for target in (segment, total):
            for code in asked:
                target.asked[code] = target.asked.get(code, 0) + 1
        if InquiryInterest.SOURCE_CODE in asked:
            for code in motives or []:
                if code in source_motives:
                    source_motives[code] += 1
    order = {code: i for i, code in enumerate(industries)}
    return InquiryAnalysis(
        date_from=date_from,
        date_to=date_to,
        by_industry=sorted(by_industry.values(), key=lambda s: order.get(s.key, len(order))),
        by_interest=list(by_interest.values()),
        total=total,
        source_code_motives=source_motives,
        interests=[(code, str(label)) for code, label in interests],
        motives=[(code, str(label)) for code, label in InquiryMotive.choices],
    )


# White label (OEM partners) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    """What an OEM partner's customers see instead of our name: in the portal and in mails."""

    partner_id: int
    name: str
    has_logo: bool
    support_email: str
    support_phone: str


def brand_for_organization(organization: Organization | None) -> Brand | None:
    """The partner's brand when the organization was brought by a white-label (OEM) partner, else
    None (our own brand). Reads the organization's partner (select_related it when listing many)."""
    if organization is None or not organization.partner_id:
        return None
    partner = organization.partner
    if partner is None or not partner.is_white_label:
        return None
    return Brand(
        partner_id=partner.pk,
        name=partner.brand_name,
        has_logo=bool(partner.brand_logo),
        support_email=partner.support_email or partner.contact_email,
        support_phone=partner.support_phone,
    )
