"""Integration API for quotes (DESIGN §8): create, list, read, PDF, send, accept, withdraw, and the
renewal quote of a contract. Thin: parse, look up, call billing.services.quotes."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from billing import selectors
from billing.errors import BillingError
from billing.models import Quote
from billing.pdf import quote_pdf_filename, render_quote_pdf
from billing.schemas import (
    ErrorOut,
    QuoteAcceptIn,
    QuoteFilter,
    QuoteIn,
    QuoteListOut,
    QuoteOut,
    QuoteSendIn,
    QuoteWithdrawIn,
    RenewalQuoteIn,
)
from billing.services import quotes as quote_services
from contracts.models import Contract
from contracts.selectors import contract_get
from contracts.services import modules_from_codes
from customers.models import Organization
from editions.models import Edition
from portal.core.api_auth import actor_of, require_write, staff_auth
from portal.core.errors import ApplicationError
from portal.core.schemas import Id, IdOrNumber, Paging, filter_values

router = Router(tags=["quotes"], auth=staff_auth)

_READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _quote(quote_id: int) -> Quote:
    return selectors.quote_get(quote_id)


def _contract(reference: str) -> Contract | None:
    try:
        return contract_get(reference)
    except Contract.DoesNotExist:
        return None


@router.get("/quotes", response={200: list[QuoteListOut], 401: ErrorOut, 422: ErrorOut})
@paginate(Paging)
def quote_list(request: HttpRequest, filters: Query[QuoteFilter]) -> Any:
    return selectors.quote_list(filters=filter_values(filters))


@router.post("/quotes", response={201: QuoteOut, **_WRITE_ERRORS})
def quote_create(request: HttpRequest, payload: QuoteIn) -> Status:
    """A draft quote; lines default to the price list (renewal: the next term with uplift and true-up;
    upgrade: the new edition for the rest of the term less the unused part)."""
    require_write(request)
    organization = Organization.objects.filter(pk=payload.organization).first()
    if organization is None:
        raise ApplicationError(
            BillingError.INVALID_INPUT,
            _("Organization %(id)s does not exist.") % {"id": payload.organization},
            status=400,
        )
    contract = None
    if payload.contract:
        contract = _contract(payload.contract)
        if contract is None:
            raise ApplicationError(
                BillingError.INVALID_INPUT,
                _("Contract %(id)s does not exist.") % {"id": payload.contract},
                status=400,
            )
    edition = None
    if payload.edition:
        edition = Edition.objects.filter(code=payload.edition).first()
        if edition is None:
            raise ApplicationError(
                BillingError.INVALID_INPUT,
                _("Unknown edition code %(code)s.") % {"code": payload.edition},
                status=400,
            )
    lines = None
    if payload.lines is not None:
        lines = [
            quote_services.QuoteLineSpec(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                tax_category=line.tax_category,
                unit=line.unit,
                discountable=line.discountable,
                recurring=line.recurring,
            )
            for line in payload.lines
        ]
    quote = quote_services.quote_create(
        actor=actor_of(request),
        organization=organization,
        kind=payload.kind,
        edition=edition,
        contract=contract,
        currency=payload.currency,
        lines=lines,
        modules=modules_from_codes(payload.modules) if payload.modules is not None else None,
        device_limit=payload.device_limit,
        term_start=payload.start_date,
        term_end=payload.end_date,
        discount_percent=payload.discount_percent,
        uplift_percent=payload.uplift_percent,
        valid_until=payload.valid_until,
        notes=payload.notes,
    )
    return Status(201, _quote(quote.pk))


@router.get("/quotes/{quote_id}", response={200: QuoteOut, **_READ_ERRORS})
def quote_detail(request: HttpRequest, quote_id: Id) -> Quote:
    return _quote(quote_id)


@router.get("/quotes/{quote_id}/pdf", response={200: None, **_READ_ERRORS})
def quote_pdf(request: HttpRequest, quote_id: Id) -> HttpResponse:
    """The quote as a PDF, every label in Chinese and English."""
    quote = _quote(quote_id)
    response = HttpResponse(render_quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote_pdf_filename(quote)}"'
    return response


@router.post("/quotes/{quote_id}/send", response={200: QuoteOut, **_WRITE_ERRORS})
def quote_send(request: HttpRequest, quote_id: Id, payload: QuoteSendIn | None = None) -> Quote:
    """Mark sent and mail the PDF (to `recipients`, else the customer's billing contacts). 409
    `quote_discount_not_approved` while a discount above the limit awaits a sales manager."""
    require_write(request)
    quote = quote_services.quote_send(
        actor=actor_of(request), quote=_quote(quote_id), recipients=payload.recipients if payload else None
    )
    return _quote(quote.pk)


@router.post("/quotes/{quote_id}/accept", response={200: QuoteOut, **_WRITE_ERRORS})
def quote_accept(request: HttpRequest, quote_id: Id, payload: QuoteAcceptIn | None = None) -> Quote:
    """Accept on the customer's behalf (recorded): creates the contract draft (a renewal is linked to
    the contract it renews) and issues the invoice. 409 `quote_expired`, `quote_invalid_transition`,
    `quote_discount_not_approved`, `quote_contract_conflict`."""
    require_write(request)
    quote = quote_services.quote_accept(
        actor=actor_of(request), quote=_quote(quote_id), on_behalf=payload.on_behalf if payload else True
    )
    return _quote(quote.pk)


@router.post("/quotes/{quote_id}/withdraw", response={200: QuoteOut, **_WRITE_ERRORS})
def quote_withdraw(request: HttpRequest, quote_id: Id, payload: QuoteWithdrawIn | None = None) -> Quote:
    require_write(request)
    quote = quote_services.quote_withdraw(
        actor=actor_of(request), quote=_quote(quote_id), reason=payload.reason if payload else ""
    )
    return _quote(quote.pk)


@router.post(
    "/contracts/{contract_id}/renewal-quote", response={201: QuoteOut, 200: QuoteOut, **_WRITE_ERRORS}
)
def contract_renewal_quote(
    request: HttpRequest, contract_id: IdOrNumber, payload: RenewalQuoteIn | None = None
) -> Status:
    """The contract's renewal quote with uplift and true-up computed (201), or its open renewal quote
    as it stands (200)."""
    require_write(request)
    contract = _contract(contract_id)
    if contract is None:
        raise ApplicationError(
            BillingError.NOT_FOUND, _("Contract %(id)s does not exist.") % {"id": contract_id}, status=404
        )
    open_before = Quote.objects.open().filter(contract=contract, kind="renewal").exists()
    payload = payload or RenewalQuoteIn(uplift_percent=None, discount_percent=None)
    quote = quote_services.quote_renewal_for_contract(
        actor=actor_of(request),
        contract=contract,
        uplift_percent=payload.uplift_percent,
        discount_percent=payload.discount_percent,
        valid_until=payload.valid_until,
        send=payload.send,
    )
    return Status(200 if open_before else 201, _quote(quote.pk))
