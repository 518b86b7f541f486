"""Customers deactivate a deployment or move it to a new machine in the portal (issue 18, item 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from customers.models import Role
from licenses.models import Deployment, LicenseEvent, LicenseEventKind, LicenseState
from licenses.services import deployment_activate
from portal.core.models import AuditEvent
from tests.portal.portal_helpers import enterprise_org, fast_keys, member  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

CHECKIN = "/api/v1/platform/checkin"


def _checkin(token: str, machine_id: str) -> Any:
    body = json.dumps({"license": token, "machine_id": machine_id, "device_count": 3})
    return Client().post(
        CHECKIN, data=body, content_type="application/json", headers={"accept-language": "en"}
    )


def _retire_url(deployment: Deployment) -> str:
    return f"/deployments/{deployment.pk}/retire/"


@pytest.fixture(autouse=True)
def _english(client: Client, settings: Any) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def fleet() -> dict[str, Any]:
    from licenses.services import activation_code_create

    organization, contract = enterprise_org()
    _code, plain = activation_code_create(actor=None, contract=contract, max_deployments=1)
    answer = deployment_activate(code=plain, machine_id="old-machine", hostname="old")
    return {"organization": organization, "contract": contract, "code": plain, "answer": answer}


def test_move_frees_the_slot_refuses_the_old_license_on_both_paths_and_is_audited(
    client: Client, fleet: dict[str, Any]
) -> None:
    token = fleet["answer"].license.token
    deployment = fleet["answer"].deployment
    assert _checkin(token, "old-machine").status_code == 200  # full path: fills the memo
    assert _checkin(token, "old-machine").status_code == 200  # unchanged: the fast path answers
    technical = member(fleet["organization"], Role.TECHNICAL)
    client.force_login(technical)
    assert client.get(_retire_url(deployment)).status_code == 200
    response = client.post(
        _retire_url(deployment), {"action": "move", "reason": "disk died", "confirm": "on"}
    )
    assert response.status_code == 302

    refused = _checkin(token, "old-machine")
    assert refused.status_code == 403
    assert refused.json()["code"] == "license_revoked"
    assert "moved to another machine" in refused.json()["detail"]
    # The slot on the code (one deployment allowed) is free: the new machine activates with it.
    new = deployment_activate(code=fleet["code"], machine_id="new-machine", hostname="new")
    assert new.created and new.deployment.pk != deployment.pk
    assert _checkin(new.license.token, "new-machine").status_code == 200
    deployment.refresh_from_db()
    assert deployment.deactivated_at is not None
    assert deployment.licenses.get().state == LicenseState.REVOKED
    assert (
        LicenseEvent.objects.filter(deployment=deployment, kind=LicenseEventKind.DEPLOYMENT_MOVED).count()
        == 1
    )
    audit = AuditEvent.objects.get(action="deployment.move")
    assert audit.actor == technical and audit.data == {"reason": "disk died"}


def test_moves_are_limited_per_period(client: Client, fleet: dict[str, Any], settings: Any) -> None:
    settings.FLEET_MOVES_PER_PERIOD = 1
    client.force_login(member(fleet["organization"], Role.TECHNICAL))
    first = fleet["answer"].deployment
    assert client.post(_retire_url(first), {"action": "move", "confirm": "on"}).status_code == 302
    second = deployment_activate(code=fleet["code"], machine_id="second-machine").deployment
    response = client.post(_retire_url(second), {"action": "move", "confirm": "on"})
    assert response.status_code == 400
    assert "moved too often" in response.content.decode()
    second.refresh_from_db()
    assert second.deactivated_at is None


def test_deactivate_needs_the_confirmation_and_then_refuses_the_license(
    client: Client, fleet: dict[str, Any]
) -> None:
    deployment = fleet["answer"].deployment
    client.force_login(member(fleet["organization"], Role.OWNER))
    assert client.post(_retire_url(deployment), {"action": "deactivate"}).status_code == 400
    assert client.post(_retire_url(deployment), {"action": "deactivate", "confirm": "on"}).status_code == 302
    refused = _checkin(fleet["answer"].license.token, "old-machine")
    assert refused.status_code == 403 and refused.json()["code"] == "license_revoked"
    assert "moved" not in refused.json()["detail"]
    assert AuditEvent.objects.filter(action="deployment.deactivate", target_id=str(deployment.pk)).exists()
    # A retired deployment has no retire page any more.
    assert client.get(_retire_url(deployment)).status_code == 404


@pytest.mark.parametrize("role", [Role.BILLING, Role.ADMIN])
def test_roles_without_the_permission_and_other_organizations_get_404(
    client: Client, fleet: dict[str, Any], role: str
) -> None:
    deployment = fleet["answer"].deployment
    client.force_login(member(fleet["organization"], role, totp=False))
    assert client.post(_retire_url(deployment), {"action": "move", "confirm": "on"}).status_code == 404
    other, _contract = enterprise_org()
    client.force_login(member(other, Role.OWNER))
    assert client.get(_retire_url(deployment)).status_code == 404
    assert client.post(_retire_url(deployment), {"action": "move", "confirm": "on"}).status_code == 404
    deployment.refresh_from_db()
    assert deployment.deactivated_at is None


def test_deployments_page_shows_health_and_the_90_day_strip(client: Client, fleet: dict[str, Any]) -> None:
    assert _checkin(fleet["answer"].license.token, "old-machine").status_code == 200
    client.force_login(member(fleet["organization"], Role.TECHNICAL))
    html = client.get("/deployments/").content.decode()
    assert '<span class="tag ok">healthy</span>' in html
    assert 'class="chart strip"' in html and html.count('fill="#5a9e6f"') == 1  # one day with a check-in
    detail = client.get(f"/deployments/{fleet['answer'].deployment.pk}/").content.decode()
    assert "Check-ins, last 90 days" in detail and "Deactivate or move" in detail


def test_customers_upload_a_support_bundle_in_the_portal(
    client: Client, fleet: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from licenses.models import SupportBundle
    from tests.licenses.test_fleet_bundles import tar_gz

    settings.MEDIA_ROOT = tmp_path
    deployment = fleet["answer"].deployment
    url = f"/deployments/{deployment.pk}/support-bundle/"
    technical = member(fleet["organization"], Role.TECHNICAL)
    client.force_login(technical)
    assert client.get(url).status_code == 200
    wrong = client.post(url, {"bundle": SimpleUploadedFile("notes.tar.gz", b"plain text")})
    assert wrong.status_code == 400 and "not a tar.gz or zip" in wrong.content.decode()
    ok = client.post(url, {"bundle": SimpleUploadedFile("diag.tar.gz", tar_gz()), "note": "slow"})
    assert ok.status_code == 302
    bundle = SupportBundle.objects.get()
    assert bundle.deployment == deployment and bundle.uploaded_by == technical
    # Another organization's member, and a role without the permission, find nothing.
    other, _contract = enterprise_org()
    client.force_login(member(other, Role.TECHNICAL))
    assert client.post(url, {"bundle": SimpleUploadedFile("d.tar.gz", tar_gz())}).status_code == 404
    client.force_login(member(fleet["organization"], Role.BILLING))
    assert client.get(url).status_code == 404
    assert SupportBundle.objects.count() == 1
