# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Trials from /pricing/: one per organization and edition, a trial contract and licenses that end with
it (and pass the seed's LicenseManager), sales extend and grant POCs, one click converts without a new
activation (the next check-in answers `renewed`)."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from contracts.entitlements import end_of_term
from contracts.models import Contract, ContractStatus, Trial, TrialConversion, TrialKind
from contracts.services import trial_extend, trial_start
from customers.models import Inquiry, Role
from editions.models import Edition
from licenses.models import ActivationCode
from licenses.services import activation_code_create, activation_code_reveal, deployment_activate
from portal.core.models import AuditEvent
from tests.factories import OrganizationFactory
from tests.licenses.seed_license_manager import PlatformLicenseManager
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    client,
    fast_keys,
    member,
)

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 12, 7, 12, 0, tzinfo=timezone.get_default_timezone())
CHECKIN = "/api/v1/platform/checkin"


def _owner_client(client, organization=None, role=Role.OWNER, totp=False):
    """Owners of an enterprise contract (a trial too) must use two-factor authentication: `totp`."""
    organization = organization or OrganizationFactory(name="Lanting Retail")
    user = member(organization, role, totp=totp)
    client.force_login(user)
    return organization, user


def _code_of(contract: Contract) -> str:
    return activation_code_reveal(ActivationCode.objects.filter(contract=contract).get())


@time_machine.travel(NOON, tick=False)
def test_owner_starts_a_standard_trial_and_its_license_ends_with_it(client, tmp_path):
    organization, _user = _owner_client(client)
    page = client.get("/pricing/trial/standard/")
    assert page.status_code == 200 and b'name="vertical"' in page.content
    response = client.post("/pricing/trial/standard/", {"vertical": "vehicle"})
    trial = Trial.objects.get(organization=organization)
    contract = trial.contract
    assert response.status_code == 302 and response["Location"] == f"/contracts/{contract.number}/"
    assert contract.status == ContractStatus.ACTIVE and contract.price == 0 and contract.grace_days == 0
    assert contract.start_date == dt.date(2026, 12, 7) and contract.end_date == dt.date(2027, 1, 5)  # 30 days
    assert [m.code for m in contract.modules.all()] == ["vehicle"]
    assert AuditEvent.objects.filter(action="trial.start").exists()
    detail = client.get(response["Location"]).content.decode()
    assert "Ends on" in detail and "Buy it now" in detail

    answer = deployment_activate(code=_code_of(contract), machine_id="trial-host-1")
    claims = jwt.decode(answer.license.token, options={"verify_signature": False})
    assert claims["entitlement_end"] == "2027-01-05" and claims["grace_days"] == 0
    assert claims["exp"] == int(end_of_term(dt.date(2027, 1, 5)).timestamp())  # the trial's end
    assert claims["features"] == ["core", "vehicle"]

    call_command("license_keys", "export", "--out", str(tmp_path / "keys"))
    (tmp_path / "license.key").write_text(answer.license.token)
    manager = PlatformLicenseManager(
        str(tmp_path / "license.key"), str(tmp_path / "keys" / "public_key.pem"), "trial-host-1"
    )
    assert manager.verify_license()["edition"] == "standard"


def test_one_self_service_trial_per_organization_and_edition(client):
    organization, _user = _owner_client(client, totp=True)
    assert client.post("/pricing/trial/enterprise/").status_code == 302
    again = client.post("/pricing/trial/enterprise/")
    assert again.status_code == 400 and b"already tried" in again.content
    assert Trial.objects.filter(organization=organization).count() == 1
    # the service says 409 to anyone else calling it
    with pytest.raises(Exception) as exc:
        trial_start(actor=None, organization=organization, edition=Edition.objects.get(code="enterprise"))
    assert exc.value.status == 409 and exc.value.code == "trial_already_used"
    # editions without a self-service trial: no page
    assert client.get("/pricing/trial/source/").status_code == 404
    assert client.get("/pricing/trial/nope/").status_code == 404


def test_roles_and_anonymous_visitors(client):
    anonymous = client.get("/pricing/trial/standard/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    _owner_client(client, role=Role.TECHNICAL)
    assert client.get("/pricing/trial/standard/").status_code == 404


def test_sales_extend_and_grant_a_poc_and_licenses_follow(client):
    organization = OrganizationFactory()
    enterprise = Edition.objects.get(code="enterprise")
    poc = trial_start(actor=None, organization=organization, edition=enterprise, kind=TrialKind.POC, days=60)
    assert (poc.contract.end_date - poc.contract.start_date).days == 59
    answer = deployment_activate(
        code=activation_code_create(actor=None, contract=poc.contract)[1],
        machine_id="poc-1",
    )
    trial_extend(actor=None, trial=poc, days=15)
    poc.contract.refresh_from_db()
    body = client.post(
        CHECKIN,
        json.dumps({"license": answer.license.token, "machine_id": "poc-1"}),
        content_type="application/json",
    ).json()
    assert body["status"] == "renewed"
    claims = jwt.decode(body["license"], options={"verify_signature": False})
    assert claims["entitlement_end"] == poc.contract.end_date.isoformat()
    with pytest.raises(Exception) as exc:
        trial_extend(actor=None, trial=poc, days=400)
    assert exc.value.status == 422


def test_enterprise_trial_converts_into_a_quote_request(client):
    organization, user = _owner_client(client, totp=True)
    client.post("/pricing/trial/enterprise/")
    trial = Trial.objects.get(organization=organization)
    response = client.post(f"/pricing/trials/{trial.pk}/convert/")
    assert response.status_code == 302
    trial.refresh_from_db()
    assert trial.conversion == TrialConversion.QUOTE_REQUEST
    inquiry = Inquiry.objects.get(organization=organization)
    assert inquiry.recommended_offer == "enterprise" and inquiry.contact_email == user.email
    assert client.post(f"/pricing/trials/{trial.pk}/convert/").status_code == 302  # 409 → a message
    assert Inquiry.objects.filter(organization=organization).count() == 1


def test_another_organizations_trial_is_not_found(client):
    other = OrganizationFactory()
    foreign = trial_start(actor=None, organization=other, edition=Edition.objects.get(code="standard"))
    _owner_client(client)
    assert client.post(f"/pricing/trials/{foreign.pk}/convert/").status_code == 404
    assert client.get(f"/contracts/{foreign.contract.number}/").status_code == 404


def test_trials_get_no_automatic_renewal_quote():
    from billing.models import Quote
    from billing.services.quotes import renewal_quotes_offer

    trial = trial_start(
        actor=None, organization=OrganizationFactory(), edition=Edition.objects.get(code="standard")
    )
    renewal_quotes_offer()
    assert not Quote.objects.filter(contract=trial.contract).exists()


def test_trials_are_reminded_before_they_end(django_capture_on_commit_callbacks):
    from django.core import mail

    from contracts.reminders import reminders_claim_due, reminders_pending_ids, reminders_send

    organization = OrganizationFactory()
    owner = member(organization, Role.OWNER, totp=False, email="owner@trial-reminder.example")
    start = dt.date(2026, 12, 1)
    trial = trial_start(
        actor=owner, organization=organization, edition=Edition.objects.get(code="standard"), today=start
    )
    seven_before = dt.datetime.combine(
        trial.contract.end_date - dt.timedelta(days=7), dt.time(9), tzinfo=NOON.tzinfo
    )
    with time_machine.travel(seven_before, tick=False):
        assert reminders_claim_due() >= 1
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            for ids in reminders_pending_ids():
                reminders_send(reminder_ids=ids)
    sent = [m for m in mail.outbox if "owner@trial-reminder.example" in m.to]
    # in the organization's language (Chinese for a mainland customer)
    assert sent and ("这是试用合同" in sent[-1].body or "This is a trial" in sent[-1].body)
