"""The back office: changelists stay at a constant query count, forms validate, actions use services."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.models import Contract, ContractStatus
from editions.models import Module
from tests.factories import ContractFactory, OrganizationFactory, PartnerFactory, UserFactory, edition

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


@pytest.fixture
def admin_client(client):
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _populate(n: int) -> None:
    owner = UserFactory(is_staff=True)
    partner = PartnerFactory()
    for i in range(n):
        organization = OrganizationFactory(account_owner=owner, partner=partner if i % 2 else None)
        ContractFactory(organization=organization, partner=organization.partner)


@pytest.mark.parametrize(
    "url_name", ["admin:customers_organization_changelist", "admin:contracts_contract_changelist"]
)
def test_changelists_have_a_constant_number_of_queries(admin_client, url_name):
    url = reverse(url_name)
    _populate(5)
    admin_client.get(url)  # the first request also records the user's session row
    few = _queries(admin_client, url)
    _populate(60)
    many = _queries(admin_client, url)
    assert many == few


@pytest.mark.parametrize(
    "query",
    [
        "edition=enterprise",
        "contract_status=active",
        "contract_status=none",
        "industry=manufacturing",
        "q=Organization",
    ],
)
def test_organization_filters_and_search(admin_client, query):
    _populate(3)
    response = admin_client.get(reverse("admin:customers_organization_changelist") + "?" + query)
    assert response.status_code == 200


def test_contract_changelist_filters(admin_client):
    _populate(3)
    for query in ("status=active", "ends_within=90", "edition__id__exact=1", "q=CT-TEST"):
        assert (
            admin_client.get(reverse("admin:contracts_contract_changelist") + "?" + query).status_code == 200
        )


def _contract_form(organization, **overrides):
    data = {
        "organization": organization.pk,
        "edition": edition("standard").pk,
        "modules": [Module.objects.get(code="retail").pk],
        "start_date": str(TODAY),
        "end_date": str(TODAY + datetime.timedelta(days=364)),
        "price": "",
        "currency": "CNY",
        "custom_dev_hours": "0",
        "notes": "",
    }
    data.update(overrides)
    return data


def _inline_management(client, url) -> dict[str, str]:
    """The management-form fields of every inline on an admin add page, with no inline rows."""
    data = {}
    for inline in client.get(url).context["inline_admin_formsets"]:
        data[f"{inline.formset.prefix}-TOTAL_FORMS"] = "0"
        data[f"{inline.formset.prefix}-INITIAL_FORMS"] = "0"
    return data


def test_admin_creates_a_contract_with_number_price_and_audit(admin_client):
    organization = OrganizationFactory()
    add_url = reverse("admin:contracts_contract_add")
    data = {**_contract_form(organization), **_inline_management(admin_client, add_url)}
    response = admin_client.post(add_url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    contract = Contract.objects.get()
    assert contract.number.startswith(f"CT-{TODAY.year}-")
    assert str(contract.price) == "30000.00"
    from portal.core.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="contract.create", target_id=str(contract.pk), actor__username="boss"
    ).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"end_date": str(TODAY)}, "end_date", "after the start"),
        ({"modules": []}, None, None),
        ("two_verticals", "modules", "vertical"),
        ("community_sso", "modules", "does not offer"),
    ],
)
def test_admin_contract_form_validation(admin_client, overrides, field, message):
    organization = OrganizationFactory()
    add_url = reverse("admin:contracts_contract_add")
    if overrides == "two_verticals":
        overrides = {
            "modules": list(
                Module.objects.filter(code__in=["retail", "vehicle"]).values_list("pk", flat=True)
            )
        }
    elif overrides == "community_sso":
        overrides = {"edition": edition("community").pk, "modules": [Module.objects.get(code="sso").pk]}
    data = {**_contract_form(organization, **overrides), **_inline_management(admin_client, add_url)}
    response = admin_client.post(add_url, data)
    if field is None:
        assert response.status_code == 302  # a standard draft without its vertical yet is allowed
        return
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and message in str(errors[field])
    assert not Contract.objects.exists()


def test_activate_action_reports_nda_error_and_activates_valid_ones(admin_client):
    good = ContractFactory(status=ContractStatus.DRAFT, edition=edition("enterprise"), start_date=TODAY)
    source = ContractFactory(status=ContractStatus.DRAFT, edition=edition("source"), start_date=TODAY)
    response = admin_client.post(
        reverse("admin:contracts_contract_changelist"),
        {"action": "activate", "_selected_action": [good.pk, source.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "NDA" in text
    good.refresh_from_db()
    source.refresh_from_db()
    assert good.status == ContractStatus.ACTIVE
    assert source.status == ContractStatus.DRAFT


def test_renew_action_asks_for_uplift_then_creates_a_linked_draft(admin_client):
    contract = ContractFactory()
    url = reverse("admin:contracts_contract_changelist")
    form_page = admin_client.post(url, {"action": "renew", "_selected_action": [contract.pk]})
    assert form_page.status_code == 200 and not Contract.objects.filter(renewal_of=contract).exists()
    admin_client.post(
        url, {"action": "renew", "_selected_action": [contract.pk], "apply": "1", "uplift_percent": "8"}
    )
    renewal = Contract.objects.get(renewal_of=contract)
    assert str(renewal.price) == "162000.00"
    assert renewal.status == ContractStatus.DRAFT
    assert renewal.start_date == contract.end_date + datetime.timedelta(days=1)


def test_organization_change_page_with_inlines(admin_client):
    contract = ContractFactory()
    url = reverse("admin:customers_organization_change", args=[contract.organization.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert contract.number in response.content.decode()


def test_a_new_contracts_price_starts_empty_and_saving_it_unchanged_takes_the_price_list(admin_client):
    """Issue 22: the form showed the model's default 0, and saving it unchanged made a ¥0.00 contract."""
    add_url = reverse("admin:contracts_contract_add")
    form = admin_client.get(add_url).context["adminform"].form
    assert form.initial.get("price") is None
    assert 'name="price" value="0' not in admin_client.get(add_url).content.decode()
