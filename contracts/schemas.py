from datetime import date, datetime
from decimal import Decimal

from ninja import Field, FilterSchema, Schema

from contracts.entitlements import features_of
from contracts.models import ContractStatus
from editions.models import Currency
from portal.core.schemas import INT_MAX, Day, Id


class ContractIn(Schema):
    organization: Id
    edition: str = Field(..., description="Edition code, e.g. standard")
    start_date: Day
    end_date: Day
    modules: list[str] = Field(default_factory=list, description="Module codes beyond the edition's")
    device_limit: int | None = Field(None, ge=0, le=INT_MAX)
    price: Decimal | None = Field(
        None, ge=0, max_digits=18, decimal_places=2, description="Defaults from the price list"
    )
    currency: Currency = Currency.CNY
    auto_renew: bool = False
    nda_signed_on: Day | None = None
    partner: Id | None = None
    notes: str = Field("", max_length=5000)


class ContractPatch(Schema):
    """Only the fields sent change. `null` empties the device-limit override (back to the edition's)
    and the NDA date; the other fields have no null."""

    edition: str = Field(None, min_length=1, max_length=30)  # type: ignore[assignment]  # None = not sent; null is refused
    start_date: Day = None  # type: ignore[assignment]  # None = not sent; null is refused
    end_date: Day = None  # type: ignore[assignment]  # None = not sent; null is refused
    modules: list[str] = None  # type: ignore[assignment]  # None = not sent; null is refused
    device_limit: int | None = Field(None, ge=0, le=INT_MAX)
    price: Decimal = Field(None, ge=0, max_digits=18, decimal_places=2)  # type: ignore[assignment]  # None = not sent; null is refused
    currency: Currency = None  # type: ignore[assignment]  # None = not sent; null is refused
    auto_renew: bool = None  # type: ignore[assignment]  # None = not sent; null is refused
    nda_signed_on: Day | None = None
    notes: str = Field(None, max_length=5000)  # type: ignore[assignment]  # None = not sent; null is refused


class ContractOut(Schema):
    id: int
    number: str
    organization: int = Field(..., alias="organization_id")
    organization_name: str = Field(..., alias="organization.name")
    edition: str = Field(..., alias="edition.code")
    status: str
    start_date: date
    end_date: date
    modules: list[str]
    features: list[str]
    device_limit: int | None = Field(None, alias="effective_device_limit")
    price: Decimal
    currency: str
    auto_renew: bool
    renewal_of: str | None = None
    renewal: str | None = None
    partner: int | None = Field(None, alias="partner_id")
    custom_dev_hours: int
    nda_signed_on: date | None
    days_to_expiry: int
    activated_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_modules(obj) -> list[str]:
        return [m.code for m in obj.modules.all()]

    @staticmethod
    def resolve_features(obj) -> list[str]:
        return list(features_of(obj))

    @staticmethod
    def resolve_renewal_of(obj) -> str | None:
        return obj.renewal_of.number if obj.renewal_of_id else None

    @staticmethod
    def resolve_renewal(obj) -> str | None:
        renewal = getattr(obj, "renewal", None)
        return renewal.number if renewal is not None else None

    @staticmethod
    def resolve_days_to_expiry(obj) -> int:
        return obj.days_to_expiry()


class ContractFilter(FilterSchema):
    organization: Id | None = None
    status: ContractStatus | None = None
    edition: str | None = None
    partner: Id | None = None
    ends_after: Day | None = None
    ends_before: Day | None = None
    search: str | None = Field(None, description="Contract number or organization name")


class RenewIn(Schema):
    uplift_percent: Decimal | None = Field(None, ge=-100, le=1000, max_digits=6, decimal_places=2)


class CancelIn(Schema):
    reason: str = Field("", max_length=300)
