"""Integration API: organizations (DESIGN §5b)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status
from ninja.pagination import paginate

from customers import selectors, services
from customers.errors import CustomerError
from customers.models import Organization, Partner
from customers.schemas import OrganizationFilter, OrganizationIn, OrganizationOut, OrganizationPatch
from portal.core.api_auth import actor_of, require_write, staff_auth
from portal.core.errors import ApplicationError
from portal.core.schemas import Id, Paging

router = Router(tags=["organizations"], auth=staff_auth)


def _relations(data: dict[str, Any]) -> dict[str, Any]:
    """Map API names of related objects to model fields, checking that they exist."""
    out = dict(data)
    if "account_owner" in out:
        owner_id = out.pop("account_owner")
        if owner_id is not None and not get_user_model().objects.filter(pk=owner_id, is_staff=True).exists():
            raise ApplicationError(
                CustomerError.INVALID_INPUT, f"account_owner {owner_id} is not a staff user.", status=400
            )
        out["account_owner_id"] = owner_id
    if "partner" in out:
        partner_id = out.pop("partner")
        if partner_id is not None and not Partner.objects.filter(pk=partner_id).exists():
            raise ApplicationError(
                CustomerError.INVALID_INPUT, f"partner {partner_id} does not exist.", status=400
            )
        out["partner_id"] = partner_id
    if out.get("size") is None and "size" in out:
        out["size"] = ""
    return out


@router.get("/organizations", response=list[OrganizationOut])
@paginate(Paging)
def organization_list(request: HttpRequest, filters: Query[OrganizationFilter]) -> Any:
    return selectors.organization_list(
        filters={
            "search": filters.search,
            "industry": filters.industry,
            "country": (filters.country or "").upper() or None,
            "partner_id": filters.partner,
            "account_owner_id": filters.account_owner,
        }
    )


@router.post("/organizations", response={201: OrganizationOut})
def organization_create(request: HttpRequest, payload: OrganizationIn) -> Status[Any]:
    require_write(request)
    data = _relations(payload.dict())
    organization = services.organization_create(actor=actor_of(request), **data)
    return Status(201, organization)


@router.get("/organizations/{organization_id}", response=OrganizationOut)
def organization_detail(request: HttpRequest, organization_id: Id) -> Organization:
    return get_object_or_404(Organization, pk=organization_id)


@router.patch("/organizations/{organization_id}", response=OrganizationOut)
def organization_update(
    request: HttpRequest, organization_id: Id, payload: OrganizationPatch
) -> Organization:
    require_write(request)
    organization = get_object_or_404(Organization, pk=organization_id)
    changes = _relations(payload.dict(exclude_unset=True))
    return services.organization_update(actor=actor_of(request), organization=organization, **changes)
