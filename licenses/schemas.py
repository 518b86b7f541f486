from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import BaseModel, StrictInt, field_validator

from licenses.models import Environment, LicenseState
from portal.core.schemas import Id, IdOrNumber, contains_nul

# --- platform API -----------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    code: str


class ActivateIn(Schema):
    activation_code: str = Field(..., min_length=1, max_length=64, description="As shown in the portal")
    machine_id: str = Field(..., min_length=1, max_length=128)
    hostname: str | None = Field(None, max_length=255)
    platform_version: str | None = Field(None, max_length=50)
    environment: Environment | None = None


class ActivateOut(Schema):
    license: str = Field(..., description="The JWT; store it as the .key file, as-is")
    deployment_id: int
    expires_at: datetime
    renew_after: datetime
    edition: str
    features: list[str]
    device_limit: int | None


class CheckinBody(BaseModel):
    """The check-in's fields as a plain pydantic model: the fast path (licenses.fastpath) parses the
    body with it directly. A ninja Schema wraps every input in its DjangoGetter first, which made
    parsing a check-in body cost six times as much (9.4 µs against 1.6 µs)."""

    license: str = Field(..., min_length=1, max_length=8192)
    machine_id: str = Field(..., min_length=1, max_length=128)
    device_count: StrictInt | None = Field(None, ge=0, le=1_000_000_000)
    platform_version: str | None = Field(None, max_length=50)
    nonce: str | None = Field(None, max_length=128)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # The check-in fast path parses this schema without the API's parser, which refuses NUL.
        if contains_nul(value):
            raise ValueError("Text may not contain NUL (U+0000) characters.")
        return value


class CheckinIn(Schema, CheckinBody):
    """What a deployment reports when it checks in."""


class CheckinOut(Schema):
    license: str
    status: str = Field(..., description="valid | renewed | grace | over_limit")
    expires_at: datetime
    renew_after: datetime
    messages: list[dict[str, Any]]
    server_time: datetime
    nonce: str | None = None


class PingOut(Schema):
    status: str


class JwkOut(Schema):
    kid: str
    kty: str = Field(..., description="RSA or OKP")
    alg: str = Field(..., description="RS256 or EdDSA: verify with this algorithm only")
    use: str
    n: str | None = None
    e: str | None = None
    crv: str | None = None
    x: str | None = None


class JwksOut(Schema):
    keys: list[JwkOut]


# --- integration API ----------------------------------------------------------------------------------


class ActivationCodeIn(Schema):
    max_deployments: int | None = Field(None, ge=1, le=1000, description="Default: the edition's allowance")
    note: str = Field("", max_length=200)


class ActivationCodeOut(Schema):
    id: int
    contract: str = Field(..., description="Contract number")
    code: str
    max_deployments: int
    deployments_used: int = 0
    note: str
    created_at: datetime
    revoked_at: datetime | None


class DeploymentFilter(Schema):
    organization: Id | None = None
    contract: IdOrNumber | None = Field(None, description="Contract id or number")
    edition: str | None = None
    environment: Environment | None = None
    machine_id: str | None = None
    active: bool | None = None
    not_seen_days: int | None = Field(None, ge=0, le=3650, description="No check-in for this many days")
    over_limit: bool | None = None
    search: str | None = Field(None, max_length=200)


class DeploymentOut(Schema):
    id: int
    organization: int = Field(..., alias="organization_id")
    organization_name: str = Field(..., alias="organization.name")
    contract: str = Field(..., alias="contract.number")
    edition: str = Field(..., alias="contract.edition.code")
    machine_id: str
    hostname: str
    environment: str
    platform_version: str
    offline: bool
    first_checkin_at: datetime | None
    last_checkin_at: datetime | None
    last_device_count: int | None
    peak_device_count: int
    peak_device_count_at: datetime | None
    device_limit: int | None = None
    license_id: int | None = None
    license_state: str | None = None
    license_expires_at: datetime | None = None
    created_at: datetime
    deactivated_at: datetime | None


class LicenseFilter(Schema):
    organization: Id | None = None
    contract: IdOrNumber | None = Field(None, description="Contract id or number")
    deployment: Id | None = None
    state: LicenseState | None = None
    edition: str | None = None
    kid: str | None = None
    expiring_within_days: int | None = Field(None, ge=0, le=3650)
    search: str | None = Field(None, max_length=200)


class LicenseOut(Schema):
    id: int
    deployment: int = Field(..., alias="deployment_id")
    organization: int = Field(..., alias="deployment.organization_id")
    organization_name: str = Field(..., alias="deployment.organization.name")
    contract: str = Field(..., alias="contract.number")
    edition: str = Field(..., alias="edition_code")
    features: list[str]
    device_limit: int | None
    entitlement_end: date
    grace_days: int
    offline: bool
    kid: str = Field(..., alias="signing_key.kid")
    issued_at: datetime
    expires_at: datetime
    renew_after: datetime
    state: str
    reason: str
    state_reason: str
    state_note: str
    state_changed_at: datetime | None
    supersedes: int | None = Field(None, alias="supersedes_id")


class RevokeIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


# --- fleet insights (issue 18) -------------------------------------------------------------------------


class SupportBundleOut(Schema):
    id: int
    deployment_id: int
    archive_type: str
    size: int
    sha256: str
    ticket: str | None = Field(None, description="The ticket the bundle is attached to, if any.")
    expires_at: datetime


class FleetVersionOut(Schema):
    version: str = Field(description="Platform version as last reported; empty when never reported.")
    edition: str
    deployments: int
    devices: int = Field(description="Sum of the devices each deployment reported at its last check-in.")
    support_status: str | None = Field(
        None, description="current, supported or eol; null when the version is not a published release."
    )


class FleetVersionsOut(Schema):
    deployments: int
    devices: int
    items: list[FleetVersionOut]


class FleetVersionsFilter(Schema):
    edition: str | None = Field(None, pattern=r"^[-a-z0-9_]{1,30}$", description="Only this edition (code).")
