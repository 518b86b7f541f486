"""Hostile input on the integration and platform API answers 4xx, never 500 (issue 20, finding 4):
paging out of range, path ids that are not ASCII digits or do not fit a bigint, and `null` for fields
that have no null in the database. Real HTTP against the live server with a staff write token."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.models import Contract
from customers.models import Organization
from tests.conftest import bearer
from tests.factories import ContractFactory, OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)

BIGINT_MAX = 2**63 - 1


def _openapi() -> dict[str, Any]:
    from portal.api import api

    return api.get_openapi_schema(path_prefix="/api/v1/")


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    """The operations a staff token may call: the partner API answers a partner user's session only
    (401 to a token before any input is read); tests/portal/test_partner_api.py feeds it the same input."""
    return [
        (method.upper(), path, operation)
        for path, operations in _openapi()["paths"].items()
        for method, operation in operations.items()
        if not path.startswith("/api/v1/partner/")
    ]


def _paged_lists() -> list[str]:
    return sorted(
        path
        for method, path, operation in _operations()
        if method == "GET" and any(p["name"] == "limit" for p in operation.get("parameters", []))
    )


def _with_path_ids() -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for method, path, operation in _operations()
        if any(p["in"] == "path" for p in operation.get("parameters", []))
    )


@pytest.fixture
def api(http, write_token):
    http.headers.update({**bearer(write_token), "Accept-Language": "en"})
    return http


@pytest.fixture
def contract(db) -> Contract:
    return ContractFactory(notes="signed in Fuzhou")


def _fill(path: str, value: str) -> str:
    """Every {param} of the path replaced by `value`; contracts get an existing one elsewhere."""
    import re

    return re.sub(r"\{[^}]+\}", value, path)


# --- paging -------------------------------------------------------------------------------------------


def test_every_list_is_paged_with_the_shared_bounds():
    """One paging schema for every list: limit 1..API_PAGE_MAX_LIMIT, offset 0..API_PAGE_MAX_OFFSET, both
    in the OpenAPI schema (so clients and schemathesis see them) — a new list cannot forget them."""
    from django.conf import settings

    lists = _paged_lists()
    assert {
        "/api/v1/organizations",
        "/api/v1/contracts",
        "/api/v1/invoices",
        "/api/v1/payments",
        "/api/v1/deployments",
        "/api/v1/licenses",
        "/api/v1/contracts/{contract_id}/activation-codes",
    } <= set(lists)
    for method, path, operation in _operations():
        if path not in lists or method != "GET":
            continue
        params = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] == settings.API_PAGE_MAX_LIMIT
        assert (
            params["offset"]["minimum"] == 0 and params["offset"]["maximum"] == settings.API_PAGE_MAX_OFFSET
        )


OUT_OF_RANGE_PAGING = [
    {"limit": str(BIGINT_MAX + 1)},  # was 500: bigint out of range
    {"offset": str(BIGINT_MAX + 1)},  # was 500
    {"offset": str(BIGINT_MAX)},  # was 200 by luck; offset + limit overflows a bigint
    {"limit": "0"},
    {"limit": "-1"},
    {"offset": "-1"},
    {"limit": "١٠"},  # Arabic-Indic digits
    {"limit": "10000"},  # above the page size ceiling: refused, not silently clamped
]


def test_paging_out_of_range_is_422_on_every_list(api, contract):
    wrong = []
    for path in _paged_lists():
        for query in OUT_OF_RANGE_PAGING:
            response = api.get(_fill(path, str(contract.pk)), params=query)
            if response.status_code != 422 or response.json()["code"] != "invalid_input":
                wrong.append((path, query, response.status_code, response.text[:200]))
    assert wrong == []


def test_paging_within_bounds_still_pages(api, settings):
    OrganizationFactory.create_batch(3)
    page = api.get("/api/v1/organizations", params={"limit": 2, "offset": 1}).json()
    assert page["count"] == 3 and len(page["items"]) == 2
    assert api.get("/api/v1/organizations", params={"limit": settings.API_PAGE_MAX_LIMIT}).status_code == 200
    far = api.get("/api/v1/organizations", params={"offset": settings.API_PAGE_MAX_OFFSET})
    assert far.status_code == 200 and far.json() == {"items": [], "count": 3}


# --- ids ----------------------------------------------------------------------------------------------


NOT_AN_ID = [
    "%C2%B3",  # superscript three: isdigit() but not int() — was 500 on /contracts/{id}
    "%D9%A3",  # Arabic-Indic three: was read as contract 3
    "%EF%BC%93",  # fullwidth three
    str(BIGINT_MAX + 1),
    "-1",
    "0",
    "1.0",
    "+3",
    "%203",
]


def test_path_ids_that_are_not_plain_ascii_ids_are_refused_everywhere(api, contract):
    """Each operation with an id in its path: 404 or 422 JSON, never a 500 and never another object."""
    wrong = []
    for method, path in _with_path_ids():
        for raw in NOT_AN_ID:
            response = api.request(method, _fill(path, raw), json={})
            json_body = response.headers["content-type"].startswith("application/json")
            if response.status_code not in (404, 422) or not json_body:
                wrong.append((method, path, raw, response.status_code, response.text[:200]))
    assert wrong == []


def test_a_unicode_digit_does_not_read_a_contract(api):
    contract = ContractFactory()
    arabic = "".join(chr(0x0660 + int(d)) for d in str(contract.pk))
    assert api.get(f"/api/v1/contracts/{arabic}").status_code in (404, 422)
    assert api.get(f"/api/v1/contracts/{contract.pk}").json()["number"] == contract.number
    assert api.get(f"/api/v1/contracts/{contract.number.lower()}").json()["id"] == contract.pk


ID_FILTERS = [
    {"organization": str(BIGINT_MAX + 1)},
    {"partner": "٣"},
    {"contract": "%C2%B3"},
    {"contract": str(BIGINT_MAX + 1)},
    {"deployment": str(BIGINT_MAX + 1)},
    {"account_owner": str(BIGINT_MAX + 1)},
]


def test_id_filters_out_of_range_are_422(api):
    wrong = []
    for query in ID_FILTERS:
        name = next(iter(query))
        lists = [
            path
            for method, path, operation in _operations()
            if method == "GET"
            and any(p["name"] == name and p["in"] == "query" for p in operation.get("parameters", []))
        ]
        assert lists, name
        for path in lists:
            response = api.get(path, params=query)
            if response.status_code != 422:
                wrong.append((path, query, response.status_code, response.text[:200]))
    assert wrong == []


# --- null ---------------------------------------------------------------------------------------------

ORGANIZATION_TEXT_FIELDS = [
    "name",
    "industry",
    "country",
    "short_name",
    "region",
    "taxpayer_id",
    "invoice_title",
    "registered_address",
    "registered_phone",
    "bank_name",
    "bank_account",
    "fapiao_type",
    "billing_email",
]


def test_null_for_an_organization_field_without_null_is_422(api):
    """Was 500 (IntegrityError) for bank_account and six more text fields, 400 for the rest."""
    organization = OrganizationFactory(bank_account="6222 0000 0000 0000", region="福建")
    before = Organization.objects.values().get(pk=organization.pk)
    wrong = []
    for field in ORGANIZATION_TEXT_FIELDS:
        response = api.patch(f"/api/v1/organizations/{organization.pk}", json={field: None})
        if response.status_code != 422 or response.json()["code"] != "invalid_input":
            wrong.append((field, response.status_code, response.text[:200]))
    assert wrong == []
    assert Organization.objects.values().get(pk=organization.pk) == before


@pytest.mark.parametrize("field", ["account_owner", "partner", "size"])
def test_null_still_clears_what_may_be_empty(api, field, staff_user):
    from tests.factories import PartnerFactory

    organization = OrganizationFactory(account_owner=staff_user, partner=PartnerFactory(), size="large")
    response = api.patch(f"/api/v1/organizations/{organization.pk}", json={field: None})
    assert response.status_code == 200, response.text
    assert response.json()[field] in (None, "")


def test_null_for_a_contract_field_without_null_is_422(api):
    """`notes: null` was 500 (IntegrityError); the other fields 400 from the model or the service."""
    contract = ContractFactory(status="draft", activated_at=None, notes="signed in Fuzhou")
    wrong = []
    for field in ["notes", "edition", "start_date", "end_date", "modules", "price", "currency", "auto_renew"]:
        response = api.patch(f"/api/v1/contracts/{contract.pk}", json={field: None})
        if response.status_code != 422:
            wrong.append((field, response.status_code, response.text[:200]))
    assert wrong == []
    contract.refresh_from_db()
    assert contract.notes == "signed in Fuzhou"


@pytest.mark.parametrize("field", ["device_limit", "nda_signed_on"])
def test_null_clears_a_contract_field_that_may_be_empty(api, field):
    import datetime

    contract = ContractFactory(
        status="draft", activated_at=None, device_limit=50, nda_signed_on=datetime.date(2026, 1, 5)
    )
    response = api.patch(f"/api/v1/contracts/{contract.pk}", json={field: None})
    assert response.status_code == 200, response.text
    contract.refresh_from_db()
    assert getattr(contract, field) is None


# --- NUL ----------------------------------------------------------------------------------------------


def test_nul_in_text_is_422_not_a_database_error(api):
    """PostgreSQL cannot store or compare U+0000; it was a 500 on every search and text field."""
    organization = OrganizationFactory()
    contract = ContractFactory(status="draft", activated_at=None)
    requests = [
        ("GET", "/api/v1/organizations?search=a%00b", None),
        ("GET", "/api/v1/contracts?edition=a%00b", None),
        ("GET", "/api/v1/deployments?machine_id=a%00b", None),
        ("GET", "/api/v1/licenses?kid=a%00b", None),
        ("GET", "/api/v1/invoices?search=a%00b", None),
        ("PATCH", f"/api/v1/organizations/{organization.pk}", {"name": "a\x00b"}),
        ("PATCH", f"/api/v1/contracts/{contract.pk}", {"notes": "a\x00b"}),
        ("POST", "/api/v1/organizations", {"name": "N", "industry": "retail", "country": "CN", "\x00": 1}),
        ("POST", "/api/v1/platform/activate", {"activation_code": "a\x00b", "machine_id": "m"}),
        ("GET", "/api/v1/registry/token?service=a%00b", None),
    ]
    wrong = []
    for method, path, body in requests:
        response = api.request(method, path, json=body)
        if response.status_code != 422 or response.json()["code"] != "invalid_input":
            wrong.append((method, path, response.status_code, response.text[:200]))
    assert wrong == []


def test_nul_in_a_checkin_is_422_on_the_fast_path_too(http):
    from tests.licenses.factories import activate, active_contract

    token = activate(active_contract(), machine_id="m-1").license.token
    body = {"license": token, "machine_id": "m-1", "platform_version": "3.2\x00"}
    response = http.post("/api/v1/platform/checkin", json=body)
    assert response.status_code == 422, response.text
    assert http.post("/api/v1/platform/checkin", json={**body, "platform_version": "3.2"}).status_code == 200


def test_nul_in_registry_credentials_or_a_pay_link_is_refused(http, settings, tmp_path):
    import base64

    from editions import registry

    settings.REGISTRY_TOKEN_KEY_FILE = str(tmp_path / "registry-key.pem")
    registry.generate_key_file(tmp_path / "registry-key.pem")
    basic = base64.b64encode(b"robot\x00:secret").decode()
    response = http.get("/api/v1/registry/token", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    assert http.get("/api/v1/billing/pay/a%00b").status_code == 404


# --- dates and times ------------------------------------------------------------------------------------


def test_dates_and_times_out_of_range_are_422(api):
    """Found by the schemathesis run: an offset of +16:53 was a PostgreSQL error (500); the ends of
    Python's date range overflow date arithmetic and the conversion to Asia/Shanghai."""
    organization = OrganizationFactory()
    requests = [
        (
            "POST",
            "/api/v1/payments",
            {"amount": "10.00", "currency": "CNY", "received_at": "2026-03-02T10:00:00+16:53"},
        ),
        (
            "POST",
            "/api/v1/payments",
            {"amount": "10.00", "currency": "CNY", "received_at": "9999-12-31T23:59:00+00:00"},
        ),
        (
            "POST",
            "/api/v1/contracts",
            {
                "organization": organization.pk,
                "edition": "standard",
                "start_date": "2026-01-01",
                "end_date": "9999-12-31",
            },
        ),
        ("GET", "/api/v1/contracts?ends_after=0001-01-01", None),
        ("GET", "/api/v1/invoices?from=0001-01-01", None),
    ]
    wrong = []
    for method, path, body in requests:
        response = api.request(method, path, json=body)
        if response.status_code != 422:
            wrong.append((method, path, body, response.status_code, response.text[:200]))
    assert wrong == []
    ok = api.post(
        "/api/v1/payments",
        json={"amount": "10.00", "currency": "CNY", "received_at": "2026-03-02T10:00:00-14:00"},
    )
    assert ok.status_code == 201, ok.text
