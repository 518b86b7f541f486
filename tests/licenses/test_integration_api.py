"""Integration API (DESIGN §5b): activation codes, deployments, licenses, key download, revoke."""

from __future__ import annotations

import pytest

from licenses.models import License, LicenseEvent, LicenseEventKind, LicenseState
from portal.core.models import AuditEvent
from tests.conftest import bearer
from tests.factories import MembershipFactory, UserFactory
from tests.licenses.factories import activate, active_contract

pytestmark = pytest.mark.django_db


def test_activation_codes_by_id_or_number(client, write_token, read_token, contract):
    response = client.post(
        f"/api/v1/contracts/{contract.pk}/activation-codes",
        {"max_deployments": 2, "note": "plant 1"},
        content_type="application/json",
        headers=bearer(write_token),
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert (
        created["max_deployments"] == 2
        and len(created["code"]) == 29
        and created["contract"] == contract.number
    )
    listing = client.get(
        f"/api/v1/contracts/{contract.number}/activation-codes", headers=bearer(read_token)
    ).json()
    assert listing["count"] == 1 and listing["items"][0]["code"] == created["code"]
    assert listing["items"][0]["deployments_used"] == 0
    assert (
        client.get("/api/v1/contracts/CT-0000-404/activation-codes", headers=bearer(read_token)).status_code
        == 404
    )
    denied = client.post(
        f"/api/v1/contracts/{contract.pk}/activation-codes",
        {},
        content_type="application/json",
        headers=bearer(read_token),
    )
    assert denied.status_code == 403


def test_lists_are_paginated_and_filtered(client, read_token, db):
    over = activate(active_contract(edition_code="standard", device_limit=10), machine_id="a")
    activate(active_contract(), machine_id="b")
    from licenses.services import license_checkin

    license_checkin(token=over.license.token, machine_id="a", device_count=50)
    deployments = client.get("/api/v1/deployments?limit=1", headers=bearer(read_token)).json()
    assert deployments["count"] == 2 and len(deployments["items"]) == 1
    over_limit = client.get("/api/v1/deployments?over_limit=true", headers=bearer(read_token)).json()
    assert [d["machine_id"] for d in over_limit["items"]] == ["a"]
    assert over_limit["items"][0]["license_state"] == "active"
    standard = client.get("/api/v1/deployments?edition=standard", headers=bearer(read_token)).json()
    assert standard["count"] == 1
    never = client.get("/api/v1/deployments?not_seen_days=1", headers=bearer(read_token)).json()
    assert [d["machine_id"] for d in never["items"]] == ["b"]
    licenses = client.get(
        "/api/v1/licenses?state=active&edition=enterprise", headers=bearer(read_token)
    ).json()
    assert licenses["count"] == 1 and licenses["items"][0]["kid"]
    by_contract = client.get(
        f"/api/v1/licenses?contract={over.license.contract.number}", headers=bearer(read_token)
    )
    assert by_contract.json()["count"] == 1
    assert client.get("/api/v1/licenses?state=bogus", headers=bearer(read_token)).status_code == 422


def test_key_download_and_revoke(client, read_token, write_token, staff_user, activated):
    license = activated.license
    response = client.get(f"/api/v1/licenses/{license.pk}/key", headers=bearer(read_token))
    assert response.status_code == 200
    assert response.content.decode() == license.token and not response.content.endswith(b"\n")
    assert "attachment" in response["Content-Disposition"]
    assert LicenseEvent.objects.filter(kind=LicenseEventKind.DOWNLOADED, actor=staff_user).exists()

    denied = client.post(
        f"/api/v1/licenses/{license.pk}/revoke",
        {"reason": "x"},
        content_type="application/json",
        headers=bearer(read_token),
    )
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert License.objects.get(pk=license.pk).state == LicenseState.ACTIVE

    missing_reason = client.post(
        f"/api/v1/licenses/{license.pk}/revoke",
        {},
        content_type="application/json",
        headers=bearer(write_token),
    )
    assert missing_reason.status_code == 422

    response = client.post(
        f"/api/v1/licenses/{license.pk}/revoke",
        {"reason": "contract breach"},
        content_type="application/json",
        headers=bearer(write_token),
    )
    assert response.status_code == 200 and response.json()["state"] == "revoked"
    event = AuditEvent.objects.get(action="license.revoke")
    assert event.actor == staff_user and event.via == "api" and event.data["reason"] == "contract breach"
    assert LicenseEvent.objects.get(kind=LicenseEventKind.REVOKED).actor == staff_user


def test_reissue_over_the_api(client, write_token, activated):
    response = client.post(f"/api/v1/licenses/{activated.license.pk}/reissue", headers=bearer(write_token))
    assert response.status_code == 201
    assert response.json()["supersedes"] == activated.license.pk
    assert License.objects.get(pk=activated.license.pk).state == LicenseState.SUPERSEDED


def test_customers_and_anonymous_callers_are_kept_out(client, activated):
    customer = UserFactory()
    MembershipFactory(user=customer, organization=activated.deployment.organization)
    assert client.get("/api/v1/licenses").status_code == 401
    client.force_login(customer)
    for method, path in [
        ("get", "/api/v1/deployments"),
        ("get", "/api/v1/licenses"),
        ("get", f"/api/v1/licenses/{activated.license.pk}/key"),
        ("get", f"/api/v1/contracts/{activated.license.contract_id}/activation-codes"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden"
