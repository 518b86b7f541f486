"""The back office organized for its users: the index grouped by job, the organization page as a
customer-360 and the contract page with its codes, licenses, invoices and buttons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from contracts.models import Contract, ContractStatus
from customers.models import Inquiry, Role
from portal.backoffice import SECTIONS, section_of
from support.services.tickets import ticket_create
from tests.billing.factories import chinese_organization, issued_invoice
from tests.factories import ContractFactory, MembershipFactory, UserFactory, edition
from tests.portal.portal_helpers import activated_deployment, fast_keys  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return user


@pytest.fixture
def customer():
    organization = chinese_organization(name="Customer 360 Co")
    today = timezone.localdate()
    contract = ContractFactory(
        organization=organization,
        edition=edition("enterprise"),
        start_date=today - dt.timedelta(days=30),
        end_date=today + dt.timedelta(days=335),
    )
    owner = UserFactory(email="owner@c360.example")
    MembershipFactory(organization=organization, user=owner, role=Role.OWNER)
    answer = activated_deployment(contract, machine_id="m-360", hostname="plant-gateway-01")
    invoice = issued_invoice(organization, contract=contract)
    ticket = ticket_create(
        actor=owner, organization=organization, requester=owner, subject="Dashboard slow", body="Since Monday"
    )
    Inquiry.objects.create(
        organization=organization,
        company_name=organization.name,
        contact_name="Li",
        contact_email="li@c360.example",
    )
    return {
        "organization": organization,
        "contract": contract,
        "deployment": answer.deployment,
        "invoice": invoice,
        "ticket": ticket,
    }


def test_the_index_is_grouped_by_job_with_system_tables_last(client, staff):
    page = client.get(reverse("admin:index")).content.decode()
    titles = [str(title) for _key, title, _models in SECTIONS]
    positions = [page.index(f">{title}<") for title in titles]
    assert positions == sorted(positions), "sections appear in the order sales → system"
    sales = page[page.index('id="sales"') : page.index('id="finance"')]
    assert "/admin/customers/organization/" in sales and "/admin/contracts/contract/" in sales
    system = page[page.index('id="system"') :]
    assert "/admin/portal/auditevent/" in system and "/admin/django_celery_beat/periodictask/" in system
    assert section_of("billing", "StripeEvent") == "system"
    assert section_of("billing", "SomethingNew") == "finance"  # a new model lands with its app's job


def test_the_organization_page_is_a_customer_360(client, staff, customer):
    url = reverse("admin:customers_organization_change", args=[customer["organization"].pk])
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    for shown in (
        customer["invoice"].number,
        "plant-gateway-01",
        customer["ticket"].number,
        "Dashboard slow",
        "1 open ticket",
        "1 active of 1",
    ):
        assert shown in page, shown
    assert f"contract__id__exact={customer['contract'].pk}" not in page  # organization filters, not contract
    assert f"organization__id__exact={customer['organization'].pk}" in page
    assert len(queries) < 80


def test_the_contract_page_shows_what_hangs_off_it_and_its_buttons(client, staff, customer):
    contract = customer["contract"]
    page = client.get(reverse("admin:contracts_contract_change", args=[contract.pk])).content.decode()
    assert "plant-gateway-01" in page and customer["invoice"].number in page
    assert reverse("admin:contracts_contract_do", args=[contract.pk, "renew"]) in page
    assert (
        reverse("admin:contracts_contract_do", args=[contract.pk, "activate"]) not in page
    )  # already active
    assert reverse("admin:billing_invoice_for_contract", args=[contract.pk]) in page


def test_renew_from_the_contract_page_asks_for_the_uplift_then_creates_the_draft(client, staff, customer):
    contract = customer["contract"]
    url = reverse("admin:contracts_contract_do", args=[contract.pk, "renew"])
    assert "uplift" in client.get(url).content.decode()

    response = client.post(url, {"uplift_percent": "5"})

    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:contracts_contract_change", args=[contract.pk]
    )
    renewal = Contract.objects.get(renewal_of=contract)
    assert renewal.status == ContractStatus.DRAFT and renewal.price == (contract.price * 105 / 100).quantize(
        contract.price
    )


def test_activate_a_draft_and_invoice_its_term_from_its_page(client, staff):
    organization = chinese_organization(name="Draft Co")
    draft = ContractFactory(
        organization=organization, edition=edition("enterprise"), status=ContractStatus.DRAFT
    )
    page = client.get(reverse("admin:contracts_contract_change", args=[draft.pk])).content.decode()
    assert reverse("admin:contracts_contract_do", args=[draft.pk, "renew"]) not in page

    done = client.post(reverse("admin:contracts_contract_do", args=[draft.pk, "activate"]), follow=True)
    assert [str(m) for m in done.context["messages"]] == ["1 contract(s) activated."]
    draft.refresh_from_db()
    assert draft.status == ContractStatus.ACTIVE

    first = client.post(reverse("admin:billing_invoice_for_contract", args=[draft.pk]))
    second = client.post(reverse("admin:billing_invoice_for_contract", args=[draft.pk]))
    invoice = Invoice.objects.get(contract=draft)  # pressing twice opens the same invoice
    assert (
        first["Location"] == second["Location"] == reverse("admin:billing_invoice_change", args=[invoice.pk])
    )
    assert client.get(reverse("admin:billing_invoice_for_contract", args=[draft.pk])).status_code == 405


def test_an_operation_the_state_does_not_allow_is_not_found(client, staff, customer):
    contract = customer["contract"]
    assert (
        client.get(reverse("admin:contracts_contract_do", args=[contract.pk, "activate"])).status_code == 404
    )
    assert (
        client.get(reverse("admin:contracts_contract_do", args=[contract.pk, "explode"])).status_code == 404
    )


def test_staff_without_change_permission_cannot_use_the_buttons(client, customer):
    viewer = UserFactory(is_staff=True)
    client.force_login(viewer)
    url = reverse("admin:contracts_contract_do", args=[customer["contract"].pk, "renew"])
    assert client.post(url, {"uplift_percent": "0"}).status_code in (302, 403, 404)
    assert not Contract.objects.filter(renewal_of=customer["contract"]).exists()
