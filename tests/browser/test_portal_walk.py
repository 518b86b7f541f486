"""The customer's walk through the portal in a real browser: invitation → sign-up → email
verification → two-factor set-up → login with TOTP → dashboard → license key download (verified by
the platform's PyJWT check) → offline activation → language switch. Screenshots of the main pages go
to tests/screenshots/."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jwt
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core import mail
from django.utils import timezone

from contracts.entitlements import end_of_grace
from customers.invitations import invitation_create
from customers.models import Role
from licenses.models import Deployment, SigningKey, UsageReport
from licenses.services import activation_code_create
from portal.core.models import UserPreference
from tests.portal.portal_helpers import (
    activated_deployment,
    enterprise_org,
    issued_invoice,
    totp_code,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Sunrise-Over-Pudong-42"
EMAIL = "li.wei@acme-robotics.example"


def _verify(token: str, machine_id: str) -> dict:
    """What the platform runs: jwt.decode(token, public_key, algorithms=['RS256'])."""
    kid = jwt.get_unverified_header(token)["kid"]
    public_key = SigningKey.objects.get(kid=kid).public_key_pem
    claims = jwt.decode(token, public_key, algorithms=["RS256"])
    assert claims["machine_id"] == machine_id
    return claims


def _seed(settings, live_server):
    settings.SITE_URL = live_server.url
    organization, contract = enterprise_org(name="Acme Robotics", days_left=60, device_limit=800)
    _code, plain = activation_code_create(actor=None, contract=contract)
    answer = activated_deployment(
        contract, machine_id="plant-7f3a", hostname="shanghai-plant-1", platform_version="3.2.0"
    )
    now = timezone.now()
    UsageReport.objects.bulk_create(
        UsageReport(
            deployment=answer.deployment,
            contract=contract,
            license=answer.license,
            reported_at=now - dt.timedelta(days=day, hours=hour),
            device_count=420 + day * 3 + hour,
            platform_version="3.2.0",
            status="valid",
        )
        for day in range(60)
        for hour in (2, 14)
    )
    Deployment.objects.filter(pk=answer.deployment.pk).update(last_checkin_at=now, last_device_count=436)
    issued_invoice(organization, "150000.00", contract=contract)
    invitation_create(actor=None, organization=organization, email=EMAIL, role=Role.OWNER)
    return organization, contract, plain, answer.deployment


def _submit(page, field: str | None = None):
    """Press the submit button of the main form (the one holding `field`)."""
    form = page.locator(f"main form:has([name={field}])" if field else "main form")
    form.locator("button[type=submit]").first.click()


def test_customer_walk(page, screenshot, settings, live_server, tmp_path):
    _organization, contract, plain_code, deployment = _seed(settings, live_server)

    # 1. The invitation email carries the link.
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    assert "Join Acme Robotics" in page.content()
    screenshot("01-invitation")

    # 2. Sign up with the invited address (prefilled).
    page.get_by_role("link", name="Create account").click()
    assert page.input_value("input[name=email]") == EMAIL
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    screenshot("02-signup")
    _submit(page, "password2")

    # 3. The invitation came to this address: no confirmation mail, the account is signed in at once
    #    (the live server shares the locmem outbox).
    assert not any(EMAIL in m.to and "confirm-email" in m.body for m in mail.outbox)

    # 4. An owner of an enterprise contract must set up two-factor authentication first.
    page.wait_for_url(re.compile(r".*/(accounts/reauthenticate|2fa/totp/activate)/.*"))
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        _submit(page, "password")
    page.wait_for_url("**/2fa/totp/activate/")
    secret = page.input_value("#authenticator_secret")
    screenshot("03-mfa-activate")
    page.fill("input[name=code]", totp_code(secret))
    _submit(page, "code")
    page.wait_for_url("**/2fa/recovery-codes/**")
    screenshot("04-recovery-codes")

    # 5. Log out, log in again with the TOTP code.
    page.locator("header form button[type=submit]").click()  # log out (header)
    page.goto("/accounts/login/")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    screenshot("05-login")
    _submit(page, "password")
    page.wait_for_url("**/2fa/authenticate/")
    page.fill("input[name=code]", totp_code(secret))
    _submit(page, "code")
    page.wait_for_url(live_server.url + "/")

    # 6. The dashboard.
    content = page.content()
    assert "Acme Robotics" in content and contract.number in content
    assert "This contract ends in 60 days." in content and "shanghai-plant-1" in content
    screenshot("06-dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("06b-dashboard-mobile")
    page.set_viewport_size({"width": 1280, "height": 900})

    # 7. Download the license key of the deployment; the platform's check accepts it.
    page.goto("/deployments/")
    assert plain_code in page.content()
    screenshot("07-deployments")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="License key").first.click()
    key_path = download_info.value.path()
    token = Path(key_path).read_text()
    claims = _verify(token, "plant-7f3a")
    assert claims["customer"] == "Acme Robotics" and claims["edition"] == "enterprise"

    page.goto(f"/deployments/{deployment.pk}/")
    assert page.locator("svg polyline").count() == 1
    screenshot("08-deployment-detail")

    # 8. Offline activation: upload the request file, receive the signed license.
    request_file = tmp_path / "offline-request.json"
    request_file.write_text(
        json.dumps(
            {
                "format": "iot-platform-offline-request",
                "version": 1,
                "machine_id": "airgap-9c1d",
                "hostname": "substation-3",
                "activation_code": plain_code,
                "device_count": 57,
            }
        )
    )
    page.goto("/deployments/offline/")
    screenshot("09-offline-activation")
    page.set_input_files("input[name=request_file]", str(request_file))
    with page.expect_download() as download_info:
        _submit(page, "request_file")
    offline_token = Path(download_info.value.path()).read_text()
    offline_claims = _verify(offline_token, "airgap-9c1d")
    assert offline_claims["exp"] == int(
        end_of_grace(contract.end_date, contract.effective_grace_days).timestamp()
    )
    assert Deployment.objects.get(machine_id="airgap-9c1d").offline

    # 9. The other main pages.
    page.goto("/invoices/")
    assert "¥159,000.00" in page.content()
    screenshot("10-invoices")
    page.goto("/organization/")
    assert EMAIL in page.content()
    screenshot("11-organization")
    page.goto(f"/contracts/{contract.number}/")
    screenshot("12-contract")

    # 10. Switch the language; it is stored for the user and applied at the next login.
    page.goto("/")
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "部署" in page.content()
    screenshot("13-dashboard-zh")
    assert UserPreference.objects.get(user__email=EMAIL).language == "zh-hans"

    page.context.clear_cookies()  # a new device: no language cookie, an English browser
    page.goto("/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    _submit(page, "password")
    page.wait_for_url("**/2fa/authenticate/")
    authenticator = Authenticator.objects.get(user__email=EMAIL, type=Authenticator.Type.RECOVERY_CODES)
    page.fill("input[name=code]", RecoveryCodes(authenticator).get_unused_codes()[0])
    _submit(page, "code")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
