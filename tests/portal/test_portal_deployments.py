# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Deployments and licenses in the portal: activation codes, key download (verified by the platform's
own check), registration by machine ID, offline activation by request file, the device chart."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from contracts.entitlements import end_of_grace
from customers.models import Role
from licenses.models import Deployment, License, LicenseEvent, LicenseState, SigningKey, UsageReport
from licenses.services import activation_code_create, license_revoke
from portal.core.errors import ApplicationError
from portal.pages.offline import offline_request_parse
from tests.licenses.seed_license_manager import PlatformLicenseManager
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    activated_deployment,
    client,
    enterprise_org,
    fast_keys,
    member,
)

pytestmark = pytest.mark.django_db


def platform_verifies(tmp_path, token: str, machine_id: str) -> dict:
    """Run the platform's LicenseManager (seed 000, unchanged) on the downloaded file."""
    kid = jwt.get_unverified_header(token)["kid"]
    (tmp_path / "public_key.pem").write_text(SigningKey.objects.get(kid=kid).public_key_pem)
    (tmp_path / "license.key").write_text(token)
    manager = PlatformLicenseManager(
        str(tmp_path / "license.key"), str(tmp_path / "public_key.pem"), machine_id
    )
    return manager.verify_license()


@pytest.fixture
def site():
    organization, contract = enterprise_org(name="Acme Robotics", days_left=300, device_limit=1000)
    return organization, contract


def test_deployment_list_shows_codes_and_deployments(client, site):
    organization, contract = site
    _code, plain = activation_code_create(actor=None, contract=contract)
    answer = activated_deployment(contract, machine_id="m-1", hostname="plant-1")
    client.force_login(member(organization, Role.TECHNICAL))
    page = client.get(reverse("portal:deployments")).content.decode()
    assert plain in page and 'data-copy="code-' in page
    assert "plant-1" in page
    assert reverse("portal:deployment_key", kwargs={"deployment_id": answer.deployment.pk}) in page


def test_downloaded_key_passes_the_platforms_check(client, site, tmp_path):
    organization, contract = site
    answer = activated_deployment(contract, machine_id="machine-42")
    user = member(organization, Role.TECHNICAL)
    client.force_login(user)

    response = client.get(reverse("portal:deployment_key", kwargs={"deployment_id": answer.deployment.pk}))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="license-')
    assert response["Cache-Control"] == "no-store"
    token = response.content.decode()
    assert not token.endswith("\n")
    claims = platform_verifies(tmp_path, token, "machine-42")
    assert claims["customer"] == "Acme Robotics"
    assert claims["edition"] == "enterprise" and "core" in claims["features"]
    assert claims["machine_id"] == "machine-42"
    assert LicenseEvent.objects.filter(kind="downloaded", actor=user).exists()


def test_key_of_a_revoked_license_is_not_reissued(client, site):
    organization, contract = site
    answer = activated_deployment(contract)
    license_revoke(actor=None, license=answer.license, reason="cloned")
    client.force_login(member(organization, Role.ADMIN))
    response = client.get(
        reverse("portal:deployment_key", kwargs={"deployment_id": answer.deployment.pk}), follow=True
    )
    assert "revoked" in response.content.decode()
    assert License.objects.filter(deployment=answer.deployment).count() == 1


def test_billing_member_cannot_download_keys(client, site):
    organization, contract = site
    answer = activated_deployment(contract)
    client.force_login(member(organization, Role.BILLING))
    assert (
        client.get(
            reverse("portal:deployment_key", kwargs={"deployment_id": answer.deployment.pk})
        ).status_code
        == 404
    )
    assert client.get(reverse("portal:deployments")).status_code == 404


def test_register_by_machine_id_then_download(client, site, tmp_path):
    organization, contract = site
    code, _plain = activation_code_create(actor=None, contract=contract, max_deployments=1)
    user = member(organization, Role.TECHNICAL)
    client.force_login(user)
    data = {
        "activation_code": code.pk,
        "machine_id": "box-7",
        "hostname": "edge-7",
        "environment": "production",
    }

    response = client.post(reverse("portal:deployment_register"), data)

    deployment = Deployment.objects.get(machine_id="box-7")
    assert response.status_code == 302 and response.url.endswith(
        f"/deployments/{deployment.pk}/?registered=1"
    )
    assert deployment.organization == organization and deployment.activation_code == code
    assert not deployment.offline
    key = client.get(
        reverse("portal:deployment_key", kwargs={"deployment_id": deployment.pk})
    ).content.decode()
    claims = platform_verifies(tmp_path, key, "box-7")
    assert claims["exp"] - claims["iat"] <= 30 * 86400  # online: 30 days, renewed by check-ins

    # idempotent for the same machine; the allowance (1) holds for another
    assert client.post(reverse("portal:deployment_register"), data).status_code == 302
    assert Deployment.objects.filter(machine_id="box-7").count() == 1
    response = client.post(reverse("portal:deployment_register"), {**data, "machine_id": "box-8"})
    assert response.status_code == 400
    assert "All 1 deployments of this activation code are in use" in response.content.decode()


def test_register_form_errors(client, site):
    organization, contract = site
    activation_code_create(actor=None, contract=contract)
    client.force_login(member(organization, Role.TECHNICAL))
    response = client.post(reverse("portal:deployment_register"), {"machine_id": "has space"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "A machine ID has no spaces." in page
    assert "This field is required." in page


def test_foreign_activation_code_cannot_be_used(client, site):
    organization, _contract = site
    _other_org, other_contract = enterprise_org()
    foreign, _plain = activation_code_create(actor=None, contract=other_contract)
    client.force_login(member(organization, Role.TECHNICAL))
    response = client.post(
        reverse("portal:deployment_register"),
        {"activation_code": foreign.pk, "machine_id": "x", "environment": "production"},
    )
    assert response.status_code == 400
    assert not Deployment.objects.filter(machine_id="x").exists()


# --- offline activation --------------------------------------------------------------------------------


def upload(payload) -> SimpleUploadedFile:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return SimpleUploadedFile("request.json", body, content_type="application/json")


def test_offline_first_activation_returns_a_license_to_contract_end_plus_grace(client, site, tmp_path):
    organization, contract = site
    _code, plain = activation_code_create(actor=None, contract=contract)
    user = member(organization, Role.TECHNICAL)
    client.force_login(user)
    request = {"machine_id": "airgap-1", "hostname": "scada", "activation_code": plain, "device_count": 12}

    response = client.post(reverse("portal:offline_activation"), {"request_file": upload(request)})

    assert response.status_code == 200, response.content.decode()[:3000]
    assert response["Content-Disposition"].startswith("attachment;")
    claims = platform_verifies(tmp_path, response.content.decode(), "airgap-1")
    expected = end_of_grace(contract.end_date, contract.effective_grace_days)
    assert claims["exp"] == int(expected.timestamp())
    deployment = Deployment.objects.get(machine_id="airgap-1")
    assert deployment.offline and deployment.hostname == "scada" and deployment.organization == organization


def test_offline_renewal_with_the_current_license_records_usage(client, site, tmp_path):
    organization, contract = site
    _code, plain = activation_code_create(actor=None, contract=contract)
    client.force_login(member(organization, Role.TECHNICAL))
    first = client.post(
        reverse("portal:offline_activation"),
        {"request_file": upload({"machine_id": "airgap-2", "activation_code": plain})},
    ).content.decode()

    response = client.post(
        reverse("portal:offline_activation"),
        {"request_file": upload({"machine_id": "airgap-2", "current_license": first, "device_count": 345})},
    )

    assert response.status_code == 200
    platform_verifies(tmp_path, response.content.decode(), "airgap-2")
    report = UsageReport.objects.get(deployment__machine_id="airgap-2")
    assert report.device_count == 345


def test_offline_request_of_a_known_machine_needs_no_code(client, site):
    organization, contract = site
    answer = activated_deployment(contract, machine_id="known-1")
    client.force_login(member(organization, Role.TECHNICAL))
    response = client.post(
        reverse("portal:offline_activation"), {"request_file": upload({"machine_id": "known-1"})}
    )
    assert response.status_code == 200
    assert (
        response.content.decode()
        == License.objects.get(deployment=answer.deployment, state=LicenseState.ACTIVE).token
    )


def test_offline_request_with_another_organizations_license_is_refused(client, site):
    organization, _contract = site
    _other, other_contract = enterprise_org()
    foreign = activated_deployment(other_contract, machine_id="theirs")
    client.force_login(member(organization, Role.TECHNICAL))
    response = client.post(
        reverse("portal:offline_activation"),
        {"request_file": upload({"machine_id": "theirs", "current_license": foreign.license.token})},
    )
    assert response.status_code == 400
    assert "not one of your organization" in response.content.decode()


def test_offline_unknown_machine_without_code(client, site):
    organization, _contract = site
    client.force_login(member(organization, Role.TECHNICAL))
    response = client.post(
        reverse("portal:offline_activation"), {"request_file": upload({"machine_id": "new"})}
    )
    assert response.status_code == 400
    assert "not registered yet" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not a JSON activation request"),
        (b"[1, 2]", "not a JSON activation request"),
        (json.dumps({"hostname": "x"}).encode(), "machine_id"),
        (json.dumps({"machine_id": "a b"}).encode(), "machine_id"),
        (json.dumps({"machine_id": "m", "device_count": "12"}).encode(), "device_count"),
        (json.dumps({"machine_id": "m", "format": "other"}).encode(), "not an offline activation request"),
        (json.dumps({"machine_id": "m", "version": 2}).encode(), "version"),
        (json.dumps({"machine_id": "m", "pad": "x" * 17000}).encode(), "16 KB"),
    ],
)
def test_offline_request_validation(body, message):
    with pytest.raises(ApplicationError) as exc:
        offline_request_parse(body)
    assert message in exc.value.detail


def test_offline_request_format_accepts_the_documented_example():
    from portal.pages.offline import example_request

    parsed = offline_request_parse(example_request().encode())
    assert parsed.machine_id and parsed.device_count == 812


def test_offline_page_documents_the_format(client, site):
    organization, _contract = site
    client.force_login(member(organization, Role.TECHNICAL))
    page = client.get(reverse("portal:offline_activation")).content.decode()
    assert "iot-platform-offline-request" in page and "current_license" in page


# --- detail page and chart ------------------------------------------------------------------------------


def test_deployment_detail_aggregates_the_chart_by_day(client, site):
    organization, contract = site
    answer = activated_deployment(contract, machine_id="chart-1")
    now = timezone.now()
    reports = []
    for day in range(5):
        for hour, count in ((1, 100 + day), (5, 300 + day), (9, 200)):
            reports.append(
                UsageReport(
                    deployment=answer.deployment,
                    contract=contract,
                    license=answer.license,
                    reported_at=now - dt.timedelta(days=day, hours=hour),
                    device_count=count,
                    status="valid",
                )
            )
    UsageReport.objects.bulk_create(reports)
    from portal.pages.selectors import daily_device_peaks

    expected: dict[dt.date, int] = {}
    for report in reports:  # the daily maximum, days in Asia/Shanghai
        day = timezone.localtime(report.reported_at).date()
        expected[day] = max(expected.get(day, 0), report.device_count)
    assert daily_device_peaks(answer.deployment) == sorted(expected.items())  # one point per day

    client.force_login(member(organization, Role.TECHNICAL))
    page = client.get(
        reverse("portal:deployment_detail", kwargs={"deployment_id": answer.deployment.pk})
    ).content.decode()
    assert "<svg" in page and "<polyline" in page
    assert "limit 1000" in page  # the device limit line
    assert "Check-in history" in page


def test_check_in_history_is_paginated(client, site, settings):
    settings.PORTAL_PAGE_SIZE = 10
    organization, contract = site
    answer = activated_deployment(contract, machine_id="hist-1")
    UsageReport.objects.bulk_create(
        UsageReport(
            deployment=answer.deployment,
            contract=contract,
            license=answer.license,
            reported_at=timezone.now() - dt.timedelta(hours=i),
            device_count=i,
            status="valid",
        )
        for i in range(25)
    )
    client.force_login(member(organization, Role.TECHNICAL))
    url = reverse("portal:deployment_detail", kwargs={"deployment_id": answer.deployment.pk})
    page = client.get(url).content.decode()
    assert "Page 1 of 3" in page
    assert "Page 3 of 3" in client.get(url + "?page=3").content.decode()


def test_contract_detail_page(client, site):
    organization, contract = site
    _code, plain = activation_code_create(actor=None, contract=contract)
    client.force_login(member(organization, Role.TECHNICAL))
    page = client.get(f"/contracts/{contract.number}/").content.decode()
    assert contract.number in page and plain in page
    assert "Price" not in page  # technical members do not see prices
