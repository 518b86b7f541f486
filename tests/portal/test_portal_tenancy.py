# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Tenancy: every page of the portal and support namespaces, walked from the URL resolver, with the
ids of organization A. A member of organization B gets 404 for each of A's objects and never sees A's
data on the pages without ids; an anonymous visitor is sent to the login page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from customers.invitations import invitation_create
from customers.models import Membership, Role
from licenses.services import activation_code_create
from tests.factories import UserFactory
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    activated_deployment,
    client,
    enterprise_org,
    fast_keys,
    issued_invoice,
    member,
)

pytestmark = pytest.mark.django_db

NAMESPACES = ("portal", "support")
# Reachable without logging in, on purpose: the invitation link (its token is the credential) and the
# language switch.
PUBLIC = {"portal:invitation", "portal:set_language"}
# Shared by all customers, not organization data: the knowledge base.
SHARED = {"support:kb_article"}


def portal_urls() -> list[tuple[str, list[str]]]:
    """(namespaced name, kwarg names) of every pattern under the portal and support namespaces."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace in NAMESPACES and pattern.name:
                found.append((f"{namespace}:{pattern.name}", list(pattern.pattern.converters)))

    walk(get_resolver().url_patterns, None)
    return found


@pytest.fixture
def org_a(django_capture_on_commit_callbacks):
    from support.models import KbArticle, KbCategory, TicketAttachment
    from support.services.tickets import ticket_create

    organization, contract = enterprise_org(name="Alpha Secret Industries")
    owner = member(organization, Role.OWNER, email="owner@alpha.example")
    activation_code_create(actor=None, contract=contract)
    answer = activated_deployment(contract, machine_id="alpha-machine", hostname="alpha-host")
    invoice = issued_invoice(organization, "777.00", contract=contract)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(actor=owner, organization=organization, email="new@alpha.example")
    ticket = ticket_create(
        actor=owner,
        organization=organization,
        requester=owner,
        subject="Alpha outage",
        body="Everything is down",
        attachments=[SimpleUploadedFile("alpha.txt", b"log", content_type="text/plain")],
    )
    category, _created = KbCategory.objects.get_or_create(
        slug="tenancy", defaults={"name_zh": "测试", "name_en": "Test"}
    )
    article = KbArticle.objects.create(
        category=category,
        slug="shared-article",
        title_en="Shared",
        body_en="For everyone",
        status="published",
    )
    return {
        "organization": organization,
        "values": {
            "portal": {
                "number": contract.number,
                "deployment_id": answer.deployment.pk,
                "invoice_id": invoice.pk,
                "membership_id": Membership.objects.get(user=owner).pk,
                "invitation_id": invitation.pk,
                "token": "not-needed-see-PUBLIC",
            },
            "support": {
                "number": ticket.number,
                "pk": TicketAttachment.objects.get(message__ticket=ticket).pk,
                "slug": article.slug,
            },
        },
        "secrets": [
            "Alpha Secret Industries",
            contract.number,
            "alpha-machine",
            "alpha-host",
            invoice.number,
            ticket.number,
            "owner@alpha.example",
            "new@alpha.example",
        ],
    }


def build(name: str, kwarg_names: list[str], values: dict) -> str:
    namespace = name.split(":")[0]
    missing = [k for k in kwarg_names if k not in values[namespace]]
    assert not missing, f"{name}: teach this test how to build {missing} from organization A's objects"
    return reverse(name, kwargs={k: values[namespace][k] for k in kwarg_names})


def test_the_walk_covers_the_pages():
    names = {name for name, _kwargs in portal_urls()}
    assert {
        "portal:deployment_detail",
        "portal:invoice_pdf",
        "portal:contract_detail",
        "support:ticket_detail",
    } <= names


def test_member_of_another_organization_gets_404_and_sees_nothing(client, org_a):
    other, _contract = enterprise_org(name="Beta Co")
    client.force_login(member(other, Role.OWNER))
    checked = 0
    for name, kwarg_names in portal_urls():
        if name in PUBLIC:
            continue
        url = build(name, kwarg_names, org_a["values"])
        statuses = []
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            statuses.append(response.status_code)
            body = (
                response.content.decode(errors="replace")
                if response.get("Content-Type", "").startswith("text")
                else ""
            )
            for secret in org_a["secrets"]:
                assert secret not in body, f"{method.upper()} {url} ({name}) shows {secret!r}"
            checked += 1
        if kwarg_names and name not in SHARED:
            # 404 for the method the page serves; the other may be 405 (the same for any id)
            assert set(statuses) <= {404, 405} and 404 in statuses, f"{url} ({name}) -> {statuses}"
        else:
            assert set(statuses) <= {200, 302, 400, 404, 405}, f"{url} ({name}) -> {statuses}"
    assert checked >= 2 * 25


def test_anonymous_visitor_is_sent_to_login(client, org_a):
    for name, kwarg_names in portal_urls():
        if name in PUBLIC:
            continue
        url = build(name, kwarg_names, org_a["values"])
        response = client.get(url)
        assert response.status_code == 302, f"{url} ({name}) -> {response.status_code}"
        assert response.url.startswith(reverse("account_login")), f"{url} -> {response.url}"


def test_user_without_organization_sees_nothing_of_a(client, org_a):
    client.force_login(UserFactory())
    for name, kwarg_names in portal_urls():
        if name in PUBLIC:
            continue
        url = build(name, kwarg_names, org_a["values"])
        response = client.get(url)
        assert response.status_code in (200, 302, 404, 405), f"{url} -> {response.status_code}"
        body = (
            response.content.decode(errors="replace")
            if response.get("Content-Type", "").startswith("text")
            else ""
        )
        for secret in org_a["secrets"]:
            assert secret not in body, f"{url} shows {secret!r}"
