from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from billing.models import DocumentKind, InvoiceStatus, PaymentMethod, PaymentStatus, TaxCategory
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
