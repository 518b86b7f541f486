# ruff: noqa: F811  (pytest fixtures imported from the portal tests)
"""The partner API (/api/v1/partner/...): a partner user's session; every object of partner A is a 404
for partner B, customer users get 403, anonymous callers 401 (issue 16 item 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from customers.models import DealRegistration, Inquiry, PartnerRole, Role
from portal.core.api import api
from tests.factories import OrganizationFactory, PartnerFactory
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    activated_deployment,
    client,
    enterprise_org,
    fast_keys,
    issued_invoice,
    member,
)
from tests.portal.test_partner_portal import _media, partner_a, partner_user  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
BASE = "/api/v1"


def deal_body(**overrides):
    body = {
        "company_name": "Delta Mining",
        "industry": "energy",
        "contact_email": "cto@delta.example",
        "edition": "enterprise",
        "expected_devices": 1000,
        "expected_value": "250000.00",
        "expected_close_date": (timezone.localdate() + dt.timedelta(days=45)).isoformat(),
    }
    body.update(overrides)
    return body


def object_paths(values):
    """Every partner API path that names an object, with partner A's ids."""
    return [
        ("get", f"{BASE}/partner/deals/{values['deal_id']}"),
        ("get", f"{BASE}/partner/customers/{values['organization_id']}"),
        ("post", f"{BASE}/partner/contracts/{values['number']}/renewal-quote"),
    ]


def list_paths():
    return [f"{BASE}/partner/deals", f"{BASE}/partner/customers", f"{BASE}/partner/commissions"]


def test_the_crawl_covers_every_partner_operation():
    paths = {path for path in api.get_openapi_schema()["paths"] if path.startswith("/api/v1/partner")}
    covered = {"/api/v1/partner/deals/{deal_id}", "/api/v1/partner/customers/{organization_id}"}
    covered |= {"/api/v1/partner/contracts/{number}/renewal-quote"} | set(list_paths())
    assert paths == covered


def test_own_partner_reads_and_writes(client, partner_a):
    client.force_login(partner_a["admin"])
    deals = client.get(f"{BASE}/partner/deals").json()
    assert [d["company_name"] for d in deals["items"]] == ["Alpha Prospect Secret Co"]
    created = client.post(f"{BASE}/partner/deals", deal_body(), content_type="application/json")
    assert created.status_code == 201 and created.json()["status"] == "submitted"
    assert DealRegistration.objects.get(pk=created.json()["id"]).partner == partner_a["partner"]
    book = client.get(f"{BASE}/partner/customers").json()["items"]
    assert book[0]["name"] == "Alpha End Customer Ltd"
    assert book[0]["contracts"][0]["license_state"] == "licensed"
    assert "invoice" not in str(book).lower()
    renewal = client.post(
        f"{BASE}/partner/contracts/{partner_a['contract'].number}/renewal-quote",
        {"note": "please"},
        content_type="application/json",
    )
    assert renewal.status_code == 201 and Inquiry.objects.filter(pk=renewal.json()["inquiry_id"]).exists()
    assert renewal.json()["quote_drafted"] is True
    [month] = client.get(f"{BASE}/partner/commissions").json()
    assert month["commission"] == "3000.00" and month["payout_status"] == "open"


def test_bad_input_is_400_or_422_never_500(client, partner_a):
    client.force_login(partner_a["admin"])
    bad_tax = client.post(
        f"{BASE}/partner/deals", deal_body(taxpayer_id="91310115000000000X"), content_type="application/json"
    )
    assert bad_tax.status_code == 400 and bad_tax.json()["code"] == "invalid_input"
    unknown_edition = client.post(
        f"{BASE}/partner/deals", deal_body(edition="nope"), content_type="application/json"
    )
    assert unknown_edition.status_code == 400
    schema = client.post(
        f"{BASE}/partner/deals", deal_body(expected_devices=0), content_type="application/json"
    )
    assert schema.status_code == 422 and schema.json()["code"] == "invalid_input"
    assert client.get(f"{BASE}/partner/deals/abc").status_code == 422
    assert client.get(f"{BASE}/partner/deals/999999").status_code == 404


def test_another_partner_gets_404_for_every_object_and_sees_nothing(client, partner_a):
    client.force_login(partner_user(PartnerFactory(name="Beta Partner")))
    for method, path in object_paths(partner_a["values"]):
        kwargs = {"content_type": "application/json", "data": {}} if method == "post" else {}
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 404, f"{method} {path} -> {response.status_code}"
        assert response.json()["code"] == "not_found"
    for path in list_paths():
        body = client.get(path).content.decode()
        for secret in partner_a["secrets"]:
            assert secret not in body, f"{path} shows {secret!r}"


@pytest.mark.parametrize("role", [Role.OWNER, Role.TECHNICAL])
def test_customer_users_get_403_and_anonymous_401(client, partner_a, role):
    paths = [("get", p) for p in list_paths()] + object_paths(partner_a["values"])
    for organization in (partner_a["organization"], OrganizationFactory()):
        client.force_login(member(organization, role))
        for method, path in paths:
            response = getattr(client, method)(path, content_type="application/json")
            assert response.status_code == 403 and response.json()["code"] == "forbidden", path
    client.logout()
    for method, path in paths:
        assert getattr(client, method)(path, content_type="application/json").status_code == 401, path


def test_partner_sales_may_not_read_commissions(client, partner_a):
    client.force_login(partner_user(partner_a["partner"], PartnerRole.SALES))
    response = client.get(f"{BASE}/partner/commissions")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert client.get(f"{BASE}/partner/deals").status_code == 200


def test_two_factor_required_for_the_api_too(client, partner_a, settings):
    settings.PARTNER_MFA_REQUIRED = True
    client.force_login(partner_a["admin"])
    response = client.get(f"{BASE}/partner/deals")
    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


def test_hostile_ids_and_paging_answer_404_or_422(client, partner_a):
    """The input tests/security/test_api_input.py feeds the staff API, with a partner session."""
    from tests.security.test_api_input import NOT_AN_ID, OUT_OF_RANGE_PAGING

    client.force_login(partner_a["admin"])
    for raw in NOT_AN_ID:
        for method, path in (
            ("get", f"{BASE}/partner/deals/{raw}"),
            ("get", f"{BASE}/partner/customers/{raw}"),
            ("post", f"{BASE}/partner/contracts/{raw}/renewal-quote"),
        ):
            response = getattr(client, method)(
                path, content_type="application/json", data={} if method == "post" else None
            )
            assert response.status_code in (404, 422) and response["Content-Type"].startswith(
                "application/json"
            ), (
                method,
                path,
                response.status_code,
            )
    for query in OUT_OF_RANGE_PAGING:
        response = client.get(f"{BASE}/partner/deals", query)
        assert response.status_code == 422 and response.json()["code"] == "invalid_input", query
