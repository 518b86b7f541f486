from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from billing.models import (
    DocumentKind,
    InvoiceStatus,
    PaymentMethod,
    PaymentStatus,
    QuoteKind,
    QuoteOrigin,
    QuoteStatus,
    TaxCategory,
)
from editions.models import Currency
from portal.core.schemas import Day, Id, IdOrNumber, Moment


class LineIn(Schema):
    description: str = Field(..., min_length=1, max_length=500)
    quantity: Decimal = Field(..., max_digits=14, decimal_places=4, description='Decimal string, e.g. "12.5"')
    unit_price: Decimal = Field(
        ..., max_digits=18, decimal_places=6, description="Net unit price, up to 6 places"
    )
    tax_rate: Decimal = Field(
        ..., ge=0, le=1, max_digits=5, decimal_places=4, description='A fraction: "0.06"'
    )
    tax_category: TaxCategory | None = Field(
        None, description="Defaults from the rate (0.13 license, 0.06 services)"
    )
    unit: str = Field("", max_length=30)


class InvoiceIn(Schema):
    organization: Id
    currency: Currency
    contract: IdOrNumber | None = Field(None, description="Contract id or number")
    lines: list[LineIn] = Field(..., min_length=1, max_length=500)
    notes: str = Field("", max_length=5000)
    due_date: Day | None = None
    rate_to_cny: Decimal | None = Field(None, gt=0, max_digits=12, decimal_places=6)


class LineOut(Schema):
    id: int
    position: int
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tax_category: str
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    period_start: date | None
    period_end: date | None
    device_count: int | None


class InvoiceListOut(Schema):
    id: int
    number: str | None
    kind: str
    status: str
    payment_status: str
    organization: int = Field(..., alias="organization_id")
    organization_name: str = Field(..., alias="organization.name")
    currency: str
    issue_date: date | None
    due_date: date | None
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    amount_paid: Decimal
    amount_credited: Decimal
    open_balance: Decimal
    credit_for: str | None = None
    fapiao_number: str

    @staticmethod
    def resolve_credit_for(obj) -> str | None:
        return obj.credit_for.number if obj.credit_for_id else None


class InvoiceOut(InvoiceListOut):
    contract: str | None = None
    edition: str | None = None
    partner: int | None = Field(None, alias="partner_id")
    rate_to_cny: Decimal | None
    period_start: date | None
    period_end: date | None
    language: str
    seller: dict
    buyer: dict
    notes: str
    reason: str
    lines: list[LineOut]
    created_at: datetime
    issued_at: datetime | None
    voided_at: datetime | None

    @staticmethod
    def resolve_contract(obj) -> str | None:
        return obj.contract.number if obj.contract_id else None

    @staticmethod
    def resolve_edition(obj) -> str | None:
        return obj.edition.code if obj.edition_id else None

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


class InvoiceFilter(Schema):
    kind: DocumentKind | None = None
    status: InvoiceStatus | None = None
    payment_status: PaymentStatus | None = None
    currency: Currency | None = None
    organization: Id | None = None
    contract: Id | None = None
    edition: str | None = None
    partner: Id | None = None
    date_from: Day | None = Field(None, alias="from", description="Issue date from (inclusive)")
    date_to: Day | None = Field(None, alias="to", description="Issue date to (inclusive)")
    search: str | None = Field(None, description="Invoice number, fapiao number or customer name")


class ExportFilter(Schema):
    format: Literal["csv", "xlsx", "zip"] = "csv"
    date_from: Day | None = Field(None, alias="from", description="Issue date from (inclusive)")
    date_to: Day | None = Field(None, alias="to", description="Issue date to (inclusive)")
    kind: DocumentKind | None = None
    status: InvoiceStatus | None = None
    payment_status: PaymentStatus | None = None
    currency: Currency | None = None
    edition: str | None = None
    partner: Id | None = None


class ExportJobOut(Schema):
    id: int
    format: str
    status: str
    total: int
    done: int
    progress_percent: int
    error: str
    download_url: str | None = None
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_download_url(obj) -> str | None:
        return f"/api/v1/invoices/exports/{obj.pk}/download" if obj.status == "done" else None


class VoidIn(Schema):
    reason: str = Field("", max_length=300)


class CreditLineIn(Schema):
    line: Id = Field(..., description="Id of the invoice line to credit")
    quantity: Decimal = Field(..., gt=0, max_digits=14, decimal_places=4)


class CreditIn(Schema):
    reason: str = Field("", max_length=300)
    lines: list[CreditLineIn] | None = Field(None, description="Omit to credit everything still open")


class FapiaoIn(Schema):
    fapiao_number: str = Field(..., max_length=25)
    issued_on: Day | None = None


class SendIn(Schema):
    recipients: list[str] | None = Field(None, description="Default: the organization's billing email")


class CheckoutOut(Schema):
    url: str
    session: str = Field(..., alias="stripe_id")
    amount: Decimal
    currency: str
    expires_at: datetime | None


class AllocationIn(Schema):
    invoice: Id
    amount: Decimal = Field(..., gt=0, max_digits=18, decimal_places=2)


class PaymentIn(Schema):
    amount: Decimal = Field(..., gt=0, max_digits=18, decimal_places=2)
    currency: Currency
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER
    received_at: Moment | None = None
    payer_name: str = Field("", max_length=200)
    payer_account: str = Field("", max_length=60)
    reference: str = Field("", max_length=100)
    memo: str = Field("", max_length=300)
    allocations: list[AllocationIn] = Field(default_factory=list)
    match_memo: bool = Field(False, description="Allocate to the invoices named in the memo")


class AllocationOut(Schema):
    invoice: int = Field(..., alias="invoice_id")
    invoice_number: str | None = Field(None, alias="invoice.number")
    amount: Decimal
    created_at: datetime


class PaymentOut(Schema):
    id: int
    kind: str
    method: str
    amount: Decimal
    currency: str
    received_at: datetime
    payer_name: str
    reference: str
    memo: str
    external_id: str | None
    allocations: list[AllocationOut]

    @staticmethod
    def resolve_allocations(obj) -> list:
        return list(obj.allocations.all())


class WebhookOut(Schema):
    received: bool
    duplicate: bool
    outcome: str


# --- quotes ------------------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    code: str


class QuoteLineIn(Schema):
    description: str = Field(..., min_length=1, max_length=500)
    quantity: Decimal = Field(
        ..., gt=0, max_digits=14, decimal_places=4, description='Decimal string, e.g. "12"'
    )
    unit_price: Decimal = Field(
        ..., max_digits=18, decimal_places=6, description="Before tax and discount; negative for a credit"
    )
    tax_rate: Decimal | None = Field(None, ge=0, le=1, max_digits=5, decimal_places=4)
    tax_category: TaxCategory | None = None
    unit: str = Field("", max_length=30)
    discountable: bool = True
    recurring: bool = Field(True, description="Part of the contract price (false for one-off charges)")


class QuoteIn(Schema):
    organization: Id
    kind: QuoteKind
    contract: IdOrNumber | None = Field(None, description="Contract renewed or upgraded (id or number)")
    edition: str | None = Field(None, max_length=30, description="Edition code (new and upgrade quotes)")
    currency: Currency | None = None
    modules: list[str] | None = Field(None, max_length=20, description="Module codes")
    device_limit: int | None = Field(None, ge=1, le=2**31 - 1)
    start_date: Day | None = None
    end_date: Day | None = None
    lines: list[QuoteLineIn] | None = Field(None, max_length=200, description="Default: from the price list")
    discount_percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    uplift_percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    valid_until: Day | None = None
    notes: str = Field("", max_length=5000)


class RenewalQuoteIn(Schema):
    uplift_percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    discount_percent: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    valid_until: Day | None = None
    send: bool = False


class QuoteSendIn(Schema):
    recipients: list[str] | None = Field(None, max_length=20)


class QuoteAcceptIn(Schema):
    on_behalf: bool = Field(True, description="Sales accepts on the customer's behalf (recorded)")


class QuoteWithdrawIn(Schema):
    reason: str = Field("", max_length=300)


class QuoteLineOut(Schema):
    id: int
    position: int
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tax_category: str
    tax_rate: Decimal
    list_amount: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    recurring: bool
    evidence: dict


class QuoteListOut(Schema):
    id: int
    number: str
    version: int
    kind: str
    status: str
    origin: str
    organization: int = Field(..., alias="organization_id")
    organization_name: str = Field(..., alias="organization.name")
    contract: str | None = None
    edition: str = Field(..., alias="edition.code")
    currency: str
    term_start: date
    term_end: date
    valid_until: date
    discount_percent: Decimal
    discount_approved: bool
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal

    @staticmethod
    def resolve_contract(obj) -> str | None:
        return obj.contract.number if obj.contract_id else None

    @staticmethod
    def resolve_discount_approved(obj) -> bool:
        return not obj.needs_discount_approval


class QuoteOut(QuoteListOut):
    modules: list[str]
    device_limit: int | None
    list_total: Decimal
    discount_total: Decimal
    language: str
    notes: str
    accepted_at: datetime | None
    accepted_on_behalf: bool
    resulting_contract: str | None = None
    invoice: str | None = None
    invoice_id: int | None
    previous_version: int | None = Field(None, alias="previous_version_id")
    created_at: datetime
    sent_at: datetime | None
    lines: list[QuoteLineOut]

    @staticmethod
    def resolve_modules(obj) -> list[str]:
        return [m.code for m in obj.modules.all()]

    @staticmethod
    def resolve_resulting_contract(obj) -> str | None:
        return obj.resulting_contract.number if obj.resulting_contract_id else None

    @staticmethod
    def resolve_invoice(obj) -> str | None:
        return obj.invoice.number if obj.invoice_id else None

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())


class QuoteFilter(Schema):
    status: QuoteStatus | None = None
    kind: QuoteKind | None = None
    origin: QuoteOrigin | None = None
    organization: Id | None = None
    contract: Id | None = None
