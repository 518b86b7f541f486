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
