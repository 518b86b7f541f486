# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""The overview page: contracts with their terms and a renewal call to action, deployments, open
invoices and tickets, in a constant number of queries; choosing the current organization."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from customers.models import Role
from licenses.models import Deployment
from tests.factories import MembershipFactory, OrganizationFactory
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    activated_deployment,
    client,
    enterprise_org,
    fast_keys,
    issued_invoice,
    member,
)

pytestmark = pytest.mark.django_db


def test_anonymous_home_shows_the_login_and_signup(client):
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("account_login") in response.content.decode()
    assert reverse("account_signup") in response.content.decode()


def test_user_without_organization_gets_an_empty_state(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/")
    assert response.status_code == 200
    assert "not linked to an organization" in response.content.decode()


def test_dashboard_shows_contract_deployments_invoices_and_renewal_cta(client):
    organization, contract = enterprise_org(name="Acme Robotics", days_left=45, device_limit=500)
    owner = member(organization, Role.OWNER)
    answer = activated_deployment(contract, machine_id="m-1", hostname="plant-1")
    Deployment.objects.filter(pk=answer.deployment.pk).update(
        last_device_count=321, last_checkin_at=timezone.now()
    )
    issued_invoice(organization, "1000.00", contract=contract)
    client.force_login(owner)

    page = client.get("/").content.decode()

    assert "Acme Robotics" in page
    assert contract.number in page
    assert "This contract ends in 45 days." in page
    assert "Renew / contact sales" in page
    assert "plant-1" in page
    assert "321 / 500" in page
    assert "¥1,060.00" in page  # 1,000 + 6 % VAT, with its currency


def test_no_renewal_cta_beyond_90_days(client):
    organization, contract = enterprise_org(days_left=200)
    client.force_login(member(organization, Role.OWNER))
    page = client.get("/").content.decode()
    assert contract.number in page
    assert "Renew / contact sales" not in page


def test_technical_member_sees_no_invoices_on_the_dashboard(client):
    organization, _contract = enterprise_org()
    issued_invoice(organization, "1000.00")
    client.force_login(member(organization, Role.TECHNICAL))
    page = client.get("/").content.decode()
    assert "Open invoices" not in page
    assert reverse("portal:invoices") not in page


def _seed(organization, contract, n_deployments: int, n_invoices: int) -> None:
    for i in range(n_deployments):
        Deployment.objects.create(
            organization=organization,
            contract=contract,
            machine_id=f"bulk-{organization.pk}-{i}",
            hostname=f"host-{i}",
            last_device_count=i,
            last_checkin_at=timezone.now() - dt.timedelta(hours=i),
        )
    for _ in range(n_invoices):
        issued_invoice(organization, "500.00", contract=contract)


def test_dashboard_runs_a_constant_number_of_queries(client, django_assert_max_num_queries):
    organization, contract = enterprise_org()
    owner = member(organization, Role.OWNER)
    client.force_login(owner)
    counts = []
    for size in (1, 12):
        for _ in range(size):
            enterprise_org()  # other organizations' data must not matter either
        _seed(organization, contract, n_deployments=size * 3, n_invoices=size)
        client.get("/")  # warm caches (content types, session activity)
        with django_assert_max_num_queries(12) as ctx:
            response = client.get("/")
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts  # the same queries whatever the data size


def test_several_memberships_choose_the_organization(client):
    first, _c1 = enterprise_org(name="First Co")
    second, _c2 = enterprise_org(name="Second Co")
    user = member(first, Role.TECHNICAL)
    MembershipFactory(organization=second, user=user, role=Role.BILLING)
    client.force_login(user)

    page = client.get("/").content.decode()
    assert "Choose an organization" in page

    response = client.post(reverse("portal:choose_organization"), {"organization": second.pk, "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Second Co" in page
    assert client.session["portal_organization"] == second.pk


def test_choosing_a_foreign_organization_is_404(client):
    mine, _c = enterprise_org()
    foreign = OrganizationFactory()
    client.force_login(member(mine, Role.TECHNICAL))
    response = client.post(reverse("portal:choose_organization"), {"organization": foreign.pk})
    assert response.status_code == 404


def test_contract_link_switches_to_the_contracts_organization(client):
    """The renewal mails link to the contract with `?org=`: a member of several organizations lands in
    the contract's one; an organization they do not belong to changes nothing."""
    from contracts.reminders import contract_portal_url

    first, _c1 = enterprise_org(name="First Co")
    second, contract = enterprise_org(name="Second Co")
    stranger, _c3 = enterprise_org(name="Stranger Co")
    user = member(first, Role.TECHNICAL)
    MembershipFactory(organization=second, user=user, role=Role.TECHNICAL)
    client.force_login(user)
    client.post(reverse("portal:choose_organization"), {"organization": first.pk})

    response = client.get(contract_portal_url(contract).removeprefix(settings.SITE_URL))

    assert response.status_code == 200
    assert contract.number in response.content.decode()
    assert client.session["portal_organization"] == second.pk
    assert client.get(f"/contracts/{contract.number}/?org={stranger.pk}").status_code == 200
    assert client.session["portal_organization"] == second.pk
