# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Tenancy and roles: every customer page (the portal, support, downloads and contact namespaces),
walked from the URL resolver, with the ids of organization A. Every page declares who may reach it
(`portal_view`); a member of organization B gets 404 for each of A's objects and never sees A's data
on the pages without ids; an anonymous visitor is sent to the login page; each role of A gets exactly
the pages the permission map (PERMISSION_ROLES) gives it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from billing.services.quotes import quote_create, quote_send
from customers.invitations import invitation_create
from customers.models import Membership, Role
from editions import services as download_services
from editions.selectors import artifact_access, entitlement_for
from licenses.services import activation_code_create
from portal.pages.permissions import role_can
from portal.pages.views.common import Access
from tests.editions.factories import file_artifact
from tests.factories import UserFactory, edition
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    activated_deployment,
    client,
    enterprise_org,
    fast_keys,
    issued_invoice,
    member,
)

pytestmark = pytest.mark.django_db

NAMESPACES = ("portal", "support", "downloads", "customers")
# Shared by all customers, not organization data: the knowledge base and the catalog's artifacts.
SHARED = {"support:kb_article", "downloads:artifact"}


def access_of(url: str) -> tuple[Access, str | None]:
    view = resolve(url).func
    return view.portal_access, view.portal_perm


def is_public(url: str) -> bool:
    return access_of(url)[0] is Access.PUBLIC


def portal_urls() -> list[tuple[str, list[str]]]:
    """(namespaced name, kwarg names) of every pattern under the portal and support namespaces."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace in NAMESPACES and pattern.name:
                found.append((f"{namespace}:{pattern.name}", list(pattern.pattern.converters)))

    found.append(("home", []))

    walk(get_resolver().url_patterns, None)
    return found


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DOWNLOADS_SERVE_MODE = ""


@pytest.fixture
def org_a(django_capture_on_commit_callbacks):
    from support.models import KbArticle, KbCategory, TicketAttachment
    from support.services.tickets import ticket_create

    organization, contract = enterprise_org(name="Alpha Secret Industries")
    owner = member(organization, Role.OWNER, email="owner@alpha.example")
    activation_code_create(actor=None, contract=contract)
    answer = activated_deployment(contract, machine_id="alpha-machine", hostname="alpha-host")
    invoice = issued_invoice(organization, "777.00", contract=contract)
    quote = quote_send(
        actor=None,
        quote=quote_create(actor=None, organization=organization, kind="new", edition=edition("standard")),
    )
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
    artifact = file_artifact(editions=["enterprise"], name="alpha-bundle.bin")
    download = download_services.download_issue(
        actor=owner,
        organization=organization,
        access=artifact_access(entitlement=entitlement_for(organization), artifact_id=artifact.pk),
    )
    credential, _secret = download_services.registry_credential_create(
        actor=owner, organization=organization, name="alpha-ci"
    )
    return {
        "organization": organization,
        "values": {
            "downloads": {"pk": artifact.pk, "token": download_services.download_link_token(download)},
            "downloads:registry_revoke": {"pk": credential.pk},
            "portal": {
                "number": contract.number,
                "deployment_id": answer.deployment.pk,
                "invoice_id": invoice.pk,
                "quote_id": quote.pk,
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
            quote.number,
            ticket.number,
            "owner@alpha.example",
            "new@alpha.example",
        ],
    }


def build(name: str, kwarg_names: list[str], values: dict) -> str:
    known = values.get(name) or values.get(name.split(":")[0], {})
    missing = [k for k in kwarg_names if k not in known]
    assert not missing, f"{name}: teach this test how to build {missing} from organization A's objects"
    return reverse(name, kwargs={k: known[k] for k in kwarg_names})


def test_the_walk_covers_the_pages_and_each_declares_who_may_use_it():
    names = {name for name, _kwargs in portal_urls()}
    assert {
        "portal:deployment_detail",
        "portal:invoice_pdf",
        "portal:contract_detail",
        "support:ticket_detail",
        "downloads:nda",
        "downloads:registry",
        "customers:inquiry",
    } <= names
    for name, kwarg_names in portal_urls():
        view = resolve(reverse(name, kwargs=dict.fromkeys(kwarg_names, "1"))).func
        assert isinstance(getattr(view, "portal_access", None), Access), f"{name} is not a portal_view"


def test_member_of_another_organization_gets_404_and_sees_nothing(client, org_a):
    other, _contract = enterprise_org(name="Beta Co")
    client.force_login(member(other, Role.OWNER))
    checked = 0
    for name, kwarg_names in portal_urls():
        url = build(name, kwarg_names, org_a["values"])
        if is_public(url) and name != "downloads:fetch":
            continue
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
        url = build(name, kwarg_names, org_a["values"])
        if is_public(url):
            continue
        response = client.get(url)
        assert response.status_code == 302, f"{url} ({name}) -> {response.status_code}"
        assert response.url.startswith(reverse("account_login")), f"{url} -> {response.url}"


def test_user_without_organization_sees_nothing_of_a(client, org_a):
    client.force_login(UserFactory())
    for name, kwarg_names in portal_urls():
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


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_exactly_the_pages_its_permissions_give(client, org_a, role):
    """A page a role may not use is a 404 for every method, on the page itself (not only in the menu);
    a page it may use is served (or redirects, or refuses the empty form), never a 404 for A's own ids."""
    user = member(org_a["organization"], role, totp=True)
    client.force_login(user)
    checked = 0
    for name, kwarg_names in portal_urls():
        url = build(name, kwarg_names, org_a["values"])
        access, perm = access_of(url)
        if access is not Access.MEMBER or name in {"portal:member_role", "portal:member_remove"}:
            continue  # member pages act on the owner's membership: covered in test_portal_organization
        statuses = {client.get(url).status_code, client.post(url).status_code}
        if perm is not None and not role_can(role, perm):
            assert statuses == {404}, f"{role} {url} ({name}) -> {statuses}"
        else:
            assert 404 not in statuses and not any(s >= 500 for s in statuses), f"{role} {url} -> {statuses}"
        checked += 1
    assert checked >= 20
