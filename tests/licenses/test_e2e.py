"""End to end over real HTTP: sales sells, the platform activates, verifies, checks in, renews."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from contracts.models import ContractStatus
from contracts.services import contract_activate, contract_expire, contract_renew
from licenses.models import License, LicenseState, UsageReport
from tests.conftest import bearer
from tests.factories import UserFactory
from tests.licenses.factories import contract_through_services
from tests.licenses.seed_license_manager import PlatformLicenseManager

pytestmark = pytest.mark.django_db(transaction=True)


def _seed_verify(tmp_path: Path, token: str, machine_id: str) -> dict:
    """Install the key file and the vendor's public key as a platform would, then run the seed's
    LicenseManager unchanged."""
    call_command("license_keys", "export", "--out", str(tmp_path / "keys"))
    key_file = tmp_path / "license.key"
    key_file.write_text(token)
    manager = PlatformLicenseManager(str(key_file), str(tmp_path / "keys" / "public_key.pem"), machine_id)
    return manager.verify_license()


def test_sell_activate_verify_checkin_renew_revoke(http, staff_user, write_token, tmp_path):
    contract = contract_through_services(actor=staff_user, edition_code="enterprise")
    assert contract.status == ContractStatus.ACTIVE

    # Sales creates an activation code over the integration API (by contract number).
    response = http.post(
        f"/api/v1/contracts/{contract.number}/activation-codes", json={}, headers=bearer(write_token)
    )
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    assert response.json()["max_deployments"] == 5  # enterprise: 3 production + 2 staging

    # The platform activates with it.
    body = {
        "activation_code": code,
        "machine_id": "123456789",
        "hostname": "iot-prod-1",
        "platform_version": "3.2.0",
    }
    response = http.post("/api/v1/platform/activate", json=body)
    assert response.status_code == 201, response.text
    activation = response.json()
    token = activation["license"]
    assert activation["edition"] == "enterprise"
    assert "core" in activation["features"] and "sso" in activation["features"]
    header = jwt.get_unverified_header(token)
    assert set(header) == {"alg", "typ", "kid"} and header["alg"] == "RS256" and header["typ"] == "JWT"

    # Repeating it is idempotent.
    again = http.post("/api/v1/platform/activate", json=body)
    assert again.status_code == 201
    assert again.json()["license"] == token and again.json()["deployment_id"] == activation["deployment_id"]

    # The .key download is what the platform's LicenseManager accepts as-is.
    license_id = int(jwt.decode(token, options={"verify_signature": False})["jti"])
    key_file = http.get(f"/api/v1/licenses/{license_id}/key", headers=bearer(write_token))
    assert key_file.status_code == 200
    assert key_file.text == token and not key_file.text.endswith("\n")
    data = _seed_verify(tmp_path, key_file.text, "123456789")
    assert data["customer"] == contract.organization.name
    assert data["edition"] == "enterprise"
    assert data["contract"] == contract.number
    assert data["sub"] == str(activation["deployment_id"]) and data["jti"] == str(license_id)
    with pytest.raises(Exception, match="机器码"):
        _seed_verify(tmp_path, key_file.text, "another-machine")

    # A check-in keeps the same token.
    response = http.post(
        "/api/v1/platform/checkin",
        json={"license": token, "machine_id": "123456789", "device_count": 42, "nonce": "n-1"},
    )
    assert response.status_code == 200, response.text
    checkin = response.json()
    assert checkin["status"] == "valid" and checkin["license"] == token and checkin["nonce"] == "n-1"
    assert UsageReport.objects.filter(device_count=42, source_ip="127.0.0.1").count() == 1

    # The contract is renewed; on the renewal's first day the lifecycle ends the old one and
    # activates the renewal.
    renewal = contract_renew(actor=staff_user, contract=contract)
    first_day = dt.datetime.combine(renewal.start_date, dt.time(9), tzinfo=timezone.get_default_timezone())
    with time_machine.travel(first_day, tick=True):
        contract_expire(actor=None, contract=contract)
        contract_activate(actor=staff_user, contract=renewal)
        response = http.post("/api/v1/platform/checkin", json={"license": token, "machine_id": "123456789"})
        assert response.status_code == 200, response.text
        renewed = response.json()
        assert renewed["status"] == "renewed"
        assert renewed["license"] != token
        claims = jwt.decode(renewed["license"], options={"verify_signature": False})
        assert claims["contract"] == renewal.number
        assert claims["entitlement_end"] == renewal.end_date.isoformat()
        assert dt.datetime.fromisoformat(renewed["expires_at"]) > dt.datetime.fromisoformat(
            checkin["expires_at"]
        )
        assert _seed_verify(tmp_path, renewed["license"], "123456789")["contract"] == renewal.number
        assert License.objects.get(pk=license_id).state == LicenseState.SUPERSEDED

        # Sales revokes it; the platform is refused.
        new_id = int(claims["jti"])
        response = http.post(
            f"/api/v1/licenses/{new_id}/revoke",
            json={"reason": "customer asked"},
            headers=bearer(write_token),
        )
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "revoked"
        response = http.post(
            "/api/v1/platform/checkin", json={"license": renewed["license"], "machine_id": "123456789"}
        )
        assert response.status_code == 403
        assert response.json()["code"] == "license_revoked"


def test_contract_activated_through_the_admin_action(http, client, tmp_path):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    from contracts.services import contract_create
    from tests.factories import OrganizationFactory, edition

    today = timezone.localdate()
    contract = contract_create(
        actor=admin,
        organization=OrganizationFactory(),
        edition=edition("enterprise"),
        start_date=today,
        end_date=today + dt.timedelta(days=365),
    )
    response = client.post(
        "/admin/contracts/contract/", {"action": "activate", "_selected_action": [contract.pk]}, follow=True
    )
    assert response.status_code == 200
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE

    from licenses.services import activation_code_create

    _code, plain = activation_code_create(actor=admin, contract=contract)
    response = http.post(
        "/api/v1/platform/activate", json={"activation_code": plain.lower(), "machine_id": "m-1"}
    )
    assert response.status_code == 201, response.text
    assert _seed_verify(tmp_path, response.json()["license"], "m-1")["edition"] == "enterprise"
