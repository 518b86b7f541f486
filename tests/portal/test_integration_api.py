"""Organizations and contracts over the integration API, with real HTTP requests."""

import datetime

import pytest

from contracts.models import Contract
from portal.core.models import AuditEvent
from tests.conftest import bearer
from tests.factories import ContractFactory, OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = datetime.date.today()


@pytest.fixture
def api(http, write_token):
    http.headers.update({**bearer(write_token), "Accept-Language": "en"})
    return http


def test_organization_crud_filters_and_pagination(api, staff_user):
    created = api.post(
        "/api/v1/organizations",
        json={
            "name": "福州示例科技有限公司",
            "industry": "manufacturing",
            "country": "cn",
            "taxpayer_id": "91350100M000100Y43",
            "account_owner": staff_user.pk,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["country"] == "CN"
    assert body["account_owner"] == staff_user.pk
    OrganizationFactory.create_batch(3, industry="retail")

    page = api.get("/api/v1/organizations", params={"limit": 2, "offset": 0}).json()
    assert page["count"] == 4 and len(page["items"]) == 2
    retail = api.get("/api/v1/organizations", params={"industry": "retail"}).json()
    assert retail["count"] == 3
    by_tax_id = api.get("/api/v1/organizations", params={"search": "91350100M000100Y43"}).json()
    assert [o["name"] for o in by_tax_id["items"]] == ["福州示例科技有限公司"]

    patched = api.patch(f"/api/v1/organizations/{body['id']}", json={"invoice_title": "福州示例"})
    assert patched.status_code == 200 and patched.json()["invoice_title"] == "福州示例"
    audit = AuditEvent.objects.filter(
        action__startswith="organization.", target_id=str(body["id"])
    ).values_list("action", "actor__username")
    assert set(audit) == {("organization.create", "sales"), ("organization.update", "sales")}


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        (
            {"name": "X", "industry": "retail", "country": "CN", "taxpayer_id": "91350100M000100Y44"},
            400,
            "taxpayer_id",
        ),
        ({"name": "X", "industry": "shipbuilding", "country": "CN"}, 422, "industry"),
        ({"name": "X", "industry": "retail"}, 422, "country"),
        ({"name": "X", "industry": "retail", "country": "C1"}, 400, "country"),
        ({"name": "X", "industry": "retail", "country": "CN", "account_owner": 999999}, 400, None),
    ],
)
def test_organization_validation(api, payload, status, field):
    response = api.post("/api/v1/organizations", json=payload)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == "invalid_input"
    if field:
        assert field in response.text
    assert not Contract.objects.exists()


def test_bad_json_and_unknown_ids(api):
    response = api.post(
        "/api/v1/organizations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["code"] == "invalid_input"
    assert api.get("/api/v1/organizations/987654").status_code == 404
    assert api.get("/api/v1/contracts/CT-1999-000001").json()["code"] == "not_found"


def test_contract_lifecycle_over_the_api(api):
    organization = OrganizationFactory()
    payload = {
        "organization": organization.pk,
        "edition": "standard",
        "modules": ["vehicle"],
        "start_date": str(TODAY),
        "end_date": str(TODAY + datetime.timedelta(days=364)),
    }
    created = api.post("/api/v1/contracts", json=payload)
    assert created.status_code == 201, created.text
    contract = created.json()
    assert contract["status"] == "draft"
    assert contract["price"] == "30000.00"
    assert contract["features"] == ["core", "vehicle"]
    assert contract["device_limit"] == 1000

    number = contract["number"]
    assert (
        api.patch(f"/api/v1/contracts/{number}", json={"device_limit": 1200}).json()["device_limit"] == 1200
    )
    active = api.post(f"/api/v1/contracts/{number}/activate")
    assert active.status_code == 200 and active.json()["status"] == "active"
    assert api.patch(f"/api/v1/contracts/{contract['id']}", json={"price": "1.00"}).status_code == 409

    renewal = api.post(f"/api/v1/contracts/{number}/renew", json={"uplift_percent": "10"})
    assert renewal.status_code == 201, renewal.text
    assert renewal.json()["renewal_of"] == number
    assert renewal.json()["price"] == "33000.00"
    assert api.get(f"/api/v1/contracts/{number}").json()["renewal"] == renewal.json()["number"]

    cancelled = api.post(f"/api/v1/contracts/{renewal.json()['number']}/cancel", json={"reason": "lost deal"})
    assert cancelled.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/contracts/{renewal.json()['number']}/activate").status_code == 409


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"end_date": str(TODAY)}, 400, "end_date"),
        ({"modules": ["retail", "finance"]}, 400, "vertical"),
        ({"modules": ["teleportation"]}, 400, "teleportation"),
        ({"edition": "platinum"}, 400, "platinum"),
        ({"organization": 424242}, 400, "424242"),
        ({"price": "-5"}, 422, "price"),
        ({"start_date": "yesterday"}, 422, "start_date"),
    ],
)
def test_contract_validation(api, change, status, needle):
    payload = {
        "organization": OrganizationFactory().pk,
        "edition": "standard",
        "start_date": str(TODAY),
        "end_date": str(TODAY + datetime.timedelta(days=30)),
        **change,
    }
    response = api.post("/api/v1/contracts", json=payload)
    assert response.status_code == status, response.text
    assert response.json()["code"] == "invalid_input"
    assert needle in response.text
    assert not Contract.objects.exists()


def test_source_activation_without_nda_is_refused(api):
    organization = OrganizationFactory()
    created = api.post(
        "/api/v1/contracts",
        json={
            "organization": organization.pk,
            "edition": "source",
            "start_date": str(TODAY),
            "end_date": str(TODAY + datetime.timedelta(days=364)),
        },
    ).json()
    response = api.post(f"/api/v1/contracts/{created['id']}/activate")
    assert response.status_code == 400
    assert "nda_signed_on" in response.json()["errors"]
    assert Contract.objects.get().status == "draft"


def test_errors_follow_the_requested_language(api):
    payload = {"organization": OrganizationFactory().pk, "edition": "standard", "start_date": str(TODAY)}
    payload["end_date"] = payload["start_date"]
    response = api.post("/api/v1/contracts", json=payload, headers={"Accept-Language": "zh-hans"})
    assert response.status_code == 400
    assert "结束日期必须晚于开始日期" in response.json()["detail"]
    assert "结束日期" in response.text  # UTF-8, not \u escapes


def test_contract_list_filters(api):
    ContractFactory.create_batch(2)
    ContractFactory(status="expired")
    assert api.get("/api/v1/contracts", params={"status": "active"}).json()["count"] == 2
    assert api.get("/api/v1/contracts", params={"edition": "standard"}).json()["count"] == 0
