"""Integration API: contracts and their lifecycle actions (DESIGN §5b)."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from contracts import selectors, services
from contracts.errors import ContractError
from contracts.models import Contract
from contracts.schemas import CancelIn, ContractFilter, ContractIn, ContractOut, ContractPatch, RenewIn
from customers.models import Organization, Partner
from editions.models import Edition
from portal.core.api_auth import actor_of, require_write, staff_auth
from portal.core.errors import ApplicationError
from portal.core.schemas import IdOrNumber, Paging

router = Router(tags=["contracts"], auth=staff_auth)


def _edition(code: str) -> Edition:
    edition = Edition.objects.filter(code=code).first()
    if edition is None:
        raise ApplicationError(ContractError.INVALID_INPUT, f"Unknown edition code {code!r}.", status=400)
    return edition


def _reload(contract: Contract) -> Contract:
    return selectors.contract_get(str(contract.pk))


@router.get("/contracts", response=list[ContractOut])
@paginate(Paging)
def contract_list(request: HttpRequest, filters: Query[ContractFilter]) -> Any:
    return selectors.contract_list(filters=filters.dict())


@router.post("/contracts", response={201: ContractOut})
def contract_create(request: HttpRequest, payload: ContractIn) -> Status[Any]:
    require_write(request)
    organization = Organization.objects.filter(pk=payload.organization).first()
    if organization is None:
        raise ApplicationError(
            ContractError.INVALID_INPUT, f"Organization {payload.organization} does not exist.", status=400
        )
    partner = None
    if payload.partner is not None:
        partner = Partner.objects.filter(pk=payload.partner).first()
        if partner is None:
            raise ApplicationError(
                ContractError.INVALID_INPUT, f"Partner {payload.partner} does not exist.", status=400
            )
    contract = services.contract_create(
        actor=actor_of(request),
        organization=organization,
        edition=_edition(payload.edition),
        start_date=payload.start_date,
        end_date=payload.end_date,
        modules=services.modules_from_codes(payload.modules),
        device_limit=payload.device_limit,
        price=payload.price,
        currency=payload.currency,
        auto_renew=payload.auto_renew,
        nda_signed_on=payload.nda_signed_on,
        partner=partner,
        notes=payload.notes,
    )
    return Status(201, _reload(contract))


@router.get("/contracts/{contract_id}", response=ContractOut)
def contract_detail(request: HttpRequest, contract_id: IdOrNumber) -> Contract:
    return selectors.contract_get(contract_id)


@router.patch("/contracts/{contract_id}", response=ContractOut)
def contract_update(request: HttpRequest, contract_id: IdOrNumber, payload: ContractPatch) -> Contract:
    require_write(request)
    contract = selectors.contract_get(contract_id)
    changes = payload.dict(exclude_unset=True)
    module_codes = changes.pop("modules", None)
    if "edition" in changes:
        changes["edition"] = _edition(changes["edition"])
    modules = services.modules_from_codes(module_codes) if module_codes is not None else None
    contract = services.contract_update(
        actor=actor_of(request), contract=contract, modules=modules, **changes
    )
    return _reload(contract)


@router.post("/contracts/{contract_id}/activate", response=ContractOut)
def contract_activate(request: HttpRequest, contract_id: IdOrNumber) -> Contract:
    require_write(request)
    contract = services.contract_activate(
        actor=actor_of(request), contract=selectors.contract_get(contract_id)
    )
    return _reload(contract)


@router.post("/contracts/{contract_id}/renew", response={201: ContractOut})
def contract_renew(
    request: HttpRequest, contract_id: IdOrNumber, payload: RenewIn | None = None
) -> Status[Any]:
    require_write(request)
    renewal = services.contract_renew(
        actor=actor_of(request),
        contract=selectors.contract_get(contract_id),
        uplift_percent=payload.uplift_percent if payload else None,
    )
    return Status(201, _reload(renewal))


@router.post("/contracts/{contract_id}/cancel", response=ContractOut)
def contract_cancel(
    request: HttpRequest, contract_id: IdOrNumber, payload: CancelIn | None = None
) -> Contract:
    require_write(request)
    contract = services.contract_cancel(
        actor=actor_of(request),
        contract=selectors.contract_get(contract_id),
        reason=payload.reason if payload else "",
    )
    return _reload(contract)
