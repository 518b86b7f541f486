import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from contracts.models import Contract, ContractStatus
from customers.models import Organization

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "SECRET_KEY": "x7$k!p2@r9#m4^w8&z1*q6(v3)n5-b0=j-production-grade-secret-for-the-check",
            "ALLOWED_HOSTS": "portal.example.com",
            "LICENSE_KEY_ENCRYPTION_KEY": "c2VjcmV0LWtleS1mb3ItZGVwbG95LWNoZWNrLTMyYiE=",
            "DATABASE_URL": "sqlite:////tmp/check-deploy.sqlite3",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "0"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_demo_command_is_idempotent():
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    counts = (Organization.objects.count(), Contract.objects.count())
    call_command("seed_demo", stdout=second)
    assert (Organization.objects.count(), Contract.objects.count()) == counts
    assert counts[0] == 12
    assert "password" in second.getvalue()
    editions = set(Contract.objects.values_list("edition__code", flat=True))
    assert editions == {"standard", "enterprise", "source", "saas"}
    assert Contract.objects.filter(status=ContractStatus.EXPIRED).count() == 1
    source = Contract.objects.get(edition__code="source")
    assert source.status == ContractStatus.ACTIVE and source.nda_signed_on is not None
    expiring = [c for c in Contract.objects.filter(status=ContractStatus.ACTIVE) if c.days_to_expiry() <= 30]
    assert expiring, "some contracts should be expiring soon"


@pytest.mark.django_db
def test_home_page_shows_login_or_organization(client):
    from tests.factories import MembershipFactory

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "/accounts/login/" in response.content.decode()
    member = MembershipFactory(organization__name="Visible Org Ltd.")
    client.force_login(member.user)
    assert "Visible Org Ltd." in client.get("/").content.decode()


def _printed_logins(output: str) -> dict[str, tuple[str, str]]:
    """{"Back office": (email, password), "Portal": (...)} as the demo prints them."""
    import re

    found = {}
    for line in output.splitlines():
        match = re.match(r"\s*(Back office|Portal):.*email (\S+) / password (\S+)", line)
        if match:
            found[match[1]] = (match[2], match[3])
    return found


@pytest.mark.django_db
def test_the_logins_the_demo_prints_work_at_the_login_page(client):
    """Issue 21 item 5: the demo printed a username, but the login form takes the e-mail address."""
    out = StringIO()
    call_command("seed_demo", stdout=out)
    logins = _printed_logins(out.getvalue())
    assert set(logins) == {"Back office", "Portal"}, out.getvalue()
    for where, (email, password) in logins.items():
        client.logout()
        response = client.post("/accounts/login/", {"login": email, "password": password})
        assert response.status_code == 302, f"{where}: {response.content[:300]!r}"
        assert "_auth_user_id" in client.session, where
    client.logout()
    client.post("/accounts/login/", {"login": logins["Back office"][0], "password": logins["Back office"][1]})
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_staff_made_by_createsuperuser_log_in_at_once_and_still_set_up_two_factor(client, settings):
    settings.PORTAL_STAFF_MFA_REQUIRED = True
    os.environ["DJANGO_SUPERUSER_PASSWORD"] = "a-long-operator-password-2026"
    try:
        call_command(
            "createsuperuser",
            "--noinput",
            username="operator",
            email="operator@vendor.example",
            stdout=StringIO(),
        )
    finally:
        del os.environ["DJANGO_SUPERUSER_PASSWORD"]

    response = client.post(
        "/accounts/login/", {"login": "operator@vendor.example", "password": "a-long-operator-password-2026"}
    )

    assert response.status_code == 302 and "_auth_user_id" in client.session
    assert "confirm" not in response["Location"]
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"] == "/accounts/2fa/totp/activate/"
