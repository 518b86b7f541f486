"""The partner API (/api/v1/partner/...): what the partner area shows, for a partner's own tools, over
the browser session of a partner user (CSRF-checked for writes). Mounted by portal/api.py; it lives
with the pages because, like them, it reads several apps (customers, contracts, licenses, billing).

Tenancy is the partner area's: every read goes through portal.pages.partner_selectors scoped to the
caller's partner, so another partner's object is a 404, and the roles are PARTNER_PERMISSION_ROLES.

Errors (JSON `{"detail", "code"}`): 401 `unauthorized` (no session); 403 `forbidden` (not a partner
user, or the role lacks the permission), 403 `mfa_required` (two-factor not set up yet); 404
`not_found` (no such object of this partner); 400 `invalid_input` (a rule of the registration, e.g.
the taxpayer ID's check character); 422 `invalid_input` (the body does not match the schema)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from ninja.security import SessionAuth

from billing.selectors import partner_commission_months
from customers.models import Industry, PartnerMembership
from customers.partner_services import deal_register
from editions.models import Currency, Edition
from portal.core.errors import ApplicationError
from portal.core.schemas import Day, Id, Paging
from portal.pages import partner_selectors as selectors
from portal.pages.accounts import mfa_missing
from portal.pages.errors import PageError
from portal.pages.permissions import PartnerPerm, partner_role_can
from portal.pages.views.partners import renewal_quote_request


class PartnerSessionAuth(SessionAuth):
    """A partner user's browser session. Signed-in users who are not partner users get 403."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        membership = (
            PartnerMembership.objects.filter(user=user, partner__is_active=True)
            .select_related("partner")
            .order_by("partner__name")
            .first()
        )
        if membership is None:
            raise ApplicationError(PageError.FORBIDDEN, "This API is for partner users.", status=403)
        if mfa_missing(user):
            raise ApplicationError(
                PageError.MFA_REQUIRED, "Set up two-factor authentication in the portal first.", status=403
            )
        request.partner_membership = membership  # type: ignore[attr-defined]
        return membership


router = Router(tags=["partner"], auth=PartnerSessionAuth())


def _partner(request: HttpRequest, perm: PartnerPerm) -> Any:
    membership: PartnerMembership = request.partner_membership  # type: ignore[attr-defined]
    if not partner_role_can(membership.role, perm):
        raise ApplicationError(PageError.FORBIDDEN, "Your partner role does not allow this.", status=403)
    return membership.partner


class DealIn(Schema):
    company_name: str = Field(min_length=1, max_length=200)
    taxpayer_id: str = Field("", max_length=30)
    industry: Industry
    country: str = Field("CN", min_length=2, max_length=2)
    contact_name: str = Field("", max_length=100)
    contact_email: str = Field(min_length=3, max_length=254)
    edition: str = Field(description="edition code, e.g. enterprise", max_length=30)
    expected_devices: int = Field(ge=1, le=10_000_000)
    expected_value: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: Currency = Currency.CNY
    expected_close_date: Day
    notes: str = Field("", max_length=4000)


class DealOut(Schema):
    id: int
    company_name: str
    taxpayer_id: str
    industry: str
    edition: str = Field(alias="edition.code")
    expected_devices: int
    expected_value: Decimal
    currency: str
    expected_close_date: dt.date
    status: str
    decision_reason: str
    protected_until: dt.date | None
    organization_id: int | None
    contract: str | None = Field(None, alias="contract.number")
    created_at: dt.datetime


class ContractOut(Schema):
    number: str
    edition: str = Field(alias="edition.code")
    status: str
    start_date: dt.date
    end_date: dt.date
    renewal_due: bool
    deployment_count: int
    active_license_count: int
    license_state: str


class CustomerOut(Schema):
    id: int
    name: str
    next_renewal: dt.date | None
    deployment_count: int
    contracts: list[ContractOut]


class RenewalRequestIn(Schema):
    note: str = Field("", max_length=2000)


class RenewalRequestOut(Schema):
    inquiry_id: int
    quote_drafted: bool


class CommissionMonthOut(Schema):
    month: dt.date
    currency: str
    commission: Decimal
    paid: Decimal
    payout_status: str


def _customer_out(entry: selectors.BookCustomer) -> dict[str, Any]:
    return {
        "id": entry.organization.pk,
        "name": entry.organization.name,
        "next_renewal": entry.next_renewal,
        "deployment_count": entry.deployment_count,
        "contracts": entry.contracts,
    }


@router.get("/partner/deals", response=list[DealOut])
@paginate(Paging)
def deal_list(request: HttpRequest) -> Any:
    """The partner's deal registrations, newest first."""
    return selectors.partner_deals(_partner(request, PartnerPerm.REGISTER_DEALS))


@router.post("/partner/deals", response={201: DealOut})
def deal_create(request: HttpRequest, payload: DealIn) -> Status:
    """Register a deal; sales approve or reject it. 400 `invalid_input` for an unknown edition or an
    invalid taxpayer ID or address."""
    partner = _partner(request, PartnerPerm.REGISTER_DEALS)
    data = payload.dict()
    edition = Edition.objects.filter(code=data.pop("edition"), is_commercial=True).first()
    if edition is None:
        raise ApplicationError(PageError.INVALID_INPUT, "Unknown edition.", status=400)
    deal = deal_register(actor=request.user, partner=partner, edition=edition, **data)
    return Status(201, deal)


@router.get("/partner/deals/{deal_id}", response=DealOut)
def deal_detail(request: HttpRequest, deal_id: Id) -> Any:
    return selectors.partner_deal(_partner(request, PartnerPerm.REGISTER_DEALS), deal_id)


@router.get("/partner/customers", response=list[CustomerOut])
@paginate(Paging)
def customer_list(request: HttpRequest) -> Any:
    """The partner's book: its end customers, their contracts, renewal dates, deployments and license
    state. No invoices of the end customers."""
    return [
        _customer_out(entry) for entry in selectors.partner_book(_partner(request, PartnerPerm.VIEW_BOOK))
    ]


@router.get("/partner/customers/{organization_id}", response=CustomerOut)
def customer_detail(request: HttpRequest, organization_id: Id) -> Any:
    return _customer_out(
        selectors.partner_customer(_partner(request, PartnerPerm.VIEW_BOOK), organization_id)
    )


@router.post("/partner/contracts/{number}/renewal-quote", response={201: RenewalRequestOut})
def renewal_quote_create(request: HttpRequest, number: str, payload: RenewalRequestIn) -> Status:
    """Ask sales for a renewal quote for one of the partner's customers' contracts: an inquiry for sales
    and, where the price list allows, a drafted renewal quote that sales review and send
    (`quote_drafted`)."""
    partner = _partner(request, PartnerPerm.REQUEST_RENEWAL)
    contract = selectors.partner_contract(partner, number[:50])
    inquiry, quote = renewal_quote_request(
        user=request.user, partner=partner, contract=contract, note=payload.note
    )
    return Status(201, {"inquiry_id": inquiry.pk, "quote_drafted": quote is not None})


@router.get("/partner/commissions", response=list[CommissionMonthOut])
def commission_months(request: HttpRequest) -> Any:
    """Commission per month and currency, what was paid out, and the payout status."""
    return partner_commission_months(_partner(request, PartnerPerm.VIEW_COMMISSIONS))
