from datetime import datetime

from ninja import Field, FilterSchema, Schema

from customers.models import CompanySize, FapiaoType, Industry
from portal.core.schemas import Id


class OrganizationIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    industry: Industry
    country: str = Field(..., min_length=2, max_length=2)
    short_name: str = Field("", max_length=100)
    size: CompanySize | None = None
    region: str = Field("", max_length=100)
    account_owner: Id | None = None
    partner: Id | None = None
    taxpayer_id: str = Field("", max_length=30)
    invoice_title: str = Field("", max_length=200)
    registered_address: str = Field("", max_length=300)
    registered_phone: str = Field("", max_length=50)
    bank_name: str = Field("", max_length=200)
    bank_account: str = Field("", max_length=60)
    fapiao_type: FapiaoType = FapiaoType.GENERAL
    billing_email: str = Field("", max_length=254)


class OrganizationPatch(Schema):
    """Only the fields sent change. `null` empties what may be empty (size, account owner, partner);
    the other fields have no null (send "" to clear a text field)."""

    name: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]  # None = not sent; null is refused
    industry: Industry = None  # type: ignore[assignment]  # None = not sent; null is refused
    country: str = Field(None, min_length=2, max_length=2)  # type: ignore[assignment]  # None = not sent; null is refused
    short_name: str = Field(None, max_length=100)  # type: ignore[assignment]  # None = not sent; null is refused
    size: CompanySize | None = None
    region: str = Field(None, max_length=100)  # type: ignore[assignment]  # None = not sent; null is refused
    account_owner: Id | None = None
    partner: Id | None = None
    taxpayer_id: str = Field(None, max_length=30)  # type: ignore[assignment]  # None = not sent; null is refused
    invoice_title: str = Field(None, max_length=200)  # type: ignore[assignment]  # None = not sent; null is refused
    registered_address: str = Field(None, max_length=300)  # type: ignore[assignment]  # None = not sent; null is refused
    registered_phone: str = Field(None, max_length=50)  # type: ignore[assignment]  # None = not sent; null is refused
    bank_name: str = Field(None, max_length=200)  # type: ignore[assignment]  # None = not sent; null is refused
    bank_account: str = Field(None, max_length=60)  # type: ignore[assignment]  # None = not sent; null is refused
    fapiao_type: FapiaoType = None  # type: ignore[assignment]  # None = not sent; null is refused
    billing_email: str = Field(None, max_length=254)  # type: ignore[assignment]  # None = not sent; null is refused


class OrganizationOut(Schema):
    id: int
    name: str
    short_name: str
    industry: str
    size: str
    region: str
    country: str
    account_owner: int | None = Field(None, alias="account_owner_id")
    partner: int | None = Field(None, alias="partner_id")
    taxpayer_id: str
    invoice_title: str
    registered_address: str
    registered_phone: str
    bank_name: str
    bank_account: str
    fapiao_type: str
    billing_email: str
    created_at: datetime
    updated_at: datetime


class OrganizationFilter(FilterSchema):
    search: str | None = Field(None, description="Name, short name, exact taxpayer ID or contact email")
    industry: Industry | None = None
    country: str | None = None
    partner: Id | None = None
    account_owner: Id | None = None
