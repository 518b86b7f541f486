# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Offline (air-gapped) deployments after a renewal: they cannot check in, so the activated renewal
mails their new license file and the portal's contract page offers it; the downloaded file states the
chain's end and passes the platform's check."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contracts.services import contract_activate, contract_renew
from customers.models import Role
from licenses.models import SigningKey
from licenses.services import deployment_register
from tests.licenses.factories import contract_through_services
from tests.portal.portal_helpers import client, fast_keys, member  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_renewal_offers_offline_deployments_their_new_license_file(
    client, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    contract = contract_through_services(
        edition_code="enterprise",
        start_date=today - dt.timedelta(days=300),
        end_date=today + dt.timedelta(days=40),
    )
    organization = contract.organization
    technical = member(organization, Role.TECHNICAL, email="ops@site.example")
    deployment, old = deployment_register(
        actor=None, contract=contract, machine_id="air-1", hostname="mine-site", offline=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        renewal = contract_activate(actor=None, contract=contract_renew(actor=None, contract=contract))
    [message] = mail.outbox
    key_url = reverse("portal:deployment_key", kwargs={"deployment_id": deployment.pk})
    assert (
        message.to == ["ops@site.example"] and key_url in message.body and renewal.number in message.subject
    )

    client.force_login(technical)
    page = client.get(reverse("portal:contract_detail", args=[contract.number])).content.decode()
    assert key_url in page
    response = client.get(key_url)
    assert response.status_code == 200
    token = response.content.decode()
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, SigningKey.objects.get(kid=kid).public_key_pem, algorithms=["RS256"])
    assert claims["entitlement_end"] == renewal.end_date.isoformat() and token != old.token
    page = client.get(reverse("portal:contract_detail", args=[contract.number])).content.decode()
    assert key_url not in page  # the file is current now
