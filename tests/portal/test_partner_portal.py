# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""The partner area (issue 16): the pages, and tenancy (item 6). Every partner URL, walked from the URL
resolver with partner A's ids, is a 404 for a user of partner B and for customer users (A's own end
customer included) and never shows A's data; anonymous visitors are sent to the login page; each
partner role gets exactly the pages PARTNER_PERMISSION_ROLES gives it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from billing import services as billing_services
from customers.models import DealRegistration, DealStatus, Inquiry, PartnerMembership, PartnerRole, Role
from customers.partner_services import deal_approve, deal_mark_won, deal_register, partner_invitation_create
from portal.pages.permissions import PARTNER_PERMISSION_ROLES, PartnerPerm, partner_role_can
from tests.factories import OrganizationFactory, PartnerFactory, UserFactory, edition
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    activated_deployment,
    client,
    enterprise_org,
    fast_keys,
    issued_invoice,
    member,
)

pytestmark = pytest.mark.django_db
D = Decimal
PUBLIC = {"partner:invitation", "partner:brand_logo"}


def partner_urls() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace == "partner" and pattern.name:
                found.append((f"partner:{pattern.name}", list(pattern.pattern.converters)))

    walk(get_resolver().url_patterns, None)
    return found


def partner_user(partner, role=PartnerRole.ADMIN, **fields):
    user = UserFactory(**fields)
    PartnerMembership.objects.create(partner=partner, user=user, role=role)
    return user


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def partner_a(django_capture_on_commit_callbacks):
    """Partner A with a won deal (customer + contract), a deployment, a paid invoice (commission), a
    payout, a pending invitation and a colleague."""
    partner = PartnerFactory(name="Alpha Channel Partner", kind="oem", brand_name="Alpha Brand")
    admin_user = partner_user(partner, email="admin@alpha-partner.example")
    colleague = partner_user(partner, PartnerRole.SALES, email="sales@alpha-partner.example")
    organization, contract = enterprise_org(name="Alpha End Customer Ltd")
    organization.partner = partner
    organization.save()
    contract.partner = partner
    contract.save()
    activated_deployment(contract, machine_id="alpha-machine", hostname="alpha-host")
    invoice = issued_invoice(organization, "10000.00", contract=contract)
    billing_services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=invoice.gross_total,
        currency="CNY",
        allocations=[(invoice, invoice.gross_total)],
    )
    deal = deal_register(
        actor=admin_user,
        partner=partner,
        edition=edition("enterprise"),
        company_name="Alpha Prospect Secret Co",
        contact_email="buyer@prospect.example",
        industry="retail",
        expected_value=D("50000"),
        expected_close_date=timezone.localdate() + dt.timedelta(days=30),
    )
    with django_capture_on_commit_callbacks(execute=True):
        invitation = partner_invitation_create(
            actor=admin_user, partner=partner, email="invitee@alpha-partner.example"
        )
    today = timezone.localdate()
    return {
        "partner": partner,
        "admin": admin_user,
        "organization": organization,
        "contract": contract,
        "values": {
            "organization_id": organization.pk,
            "number": contract.number,
            "deal_id": deal.pk,
            "year": today.year,
            "month": today.month,
            "fmt": "csv",
            "invitation_id": invitation.pk,
            "membership_id": PartnerMembership.objects.get(user=colleague).pk,
            "token": "not-a-token",
            "partner_id": partner.pk,
        },
        "secrets": [
            "Alpha End Customer Ltd",
            contract.number,
            "Alpha Prospect Secret Co",
            invoice.number,
            "invitee@alpha-partner.example",
            "sales@alpha-partner.example",
        ],
    }


def build(name, kwarg_names, values):
    missing = [k for k in kwarg_names if k not in values]
    assert not missing, f"{name}: teach this test how to build {missing}"
    return reverse(name, kwargs={k: values[k] for k in kwarg_names})


def assert_no_leak(client, partner_a, *, is_partner_user: bool, own: tuple[str, ...] = ()):
    """A's objects are 404 and A's data never shows; a customer user gets 404 on every page, a user
    of another partner sees its own pages without ids."""
    checked = 0
    for name, kwarg_names in partner_urls():
        url = build(name, kwarg_names, partner_a["values"])
        statuses = []
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            statuses.append(response.status_code)
            content_type = response.get("Content-Type", "")
            body = response.content.decode(errors="replace") if content_type.startswith("text") else ""
            if not is_partner_user or content_type.startswith("application/"):
                assert not (
                    response.status_code == 200 and "attachment" in response.get("Content-Disposition", "")
                ), f"{method.upper()} {url} served a file"
            for secret in set(partner_a["secrets"]) - set(own):
                assert secret not in body, f"{method.upper()} {url} ({name}) shows {secret!r}"
            checked += 1
        if name in PUBLIC:
            assert set(statuses) <= {404, 405, 302, 200}, f"{url} -> {statuses}"
        elif is_partner_user and (not kwarg_names or name == "partner:statement"):  # its own (a period)
            assert set(statuses) <= {200, 302, 400, 405}, f"{url} ({name}) -> {statuses}"
        else:
            assert set(statuses) <= {404, 405} and 404 in statuses, f"{url} ({name}) -> {statuses}"
    assert checked == 2 * len(partner_urls()) >= 2 * 12


def test_every_partner_page_declares_its_permission():
    for name, kwarg_names in partner_urls():
        if name in PUBLIC:
            continue
        kwargs = {k: "csv" if k == "fmt" else "1" for k in kwarg_names}
        view = resolve(reverse(name, kwargs=kwargs)).func
        assert isinstance(getattr(view, "partner_perm", None), PartnerPerm), f"{name} is not a partner_view"


def test_own_partner_sees_its_pages(client, partner_a):
    client.force_login(partner_a["admin"])
    for name, kwarg_names in partner_urls():
        if name in PUBLIC or name in {
            "partner:renewal_request",
            "partner:invitation_revoke",
            "partner:member_remove",
        }:
            continue
        url = build(name, kwarg_names, partner_a["values"])
        response = client.get(url)
        assert response.status_code == 200, f"{url} -> {response.status_code}"


def test_another_partner_gets_404_everywhere_and_sees_nothing(client, partner_a):
    other = PartnerFactory(name="Beta Partner")
    client.force_login(partner_user(other))
    assert_no_leak(client, partner_a, is_partner_user=True)


@pytest.mark.parametrize("role", [Role.OWNER, Role.BILLING, Role.TECHNICAL])
def test_customer_users_never_reach_the_partner_area(client, partner_a, role):
    """A's own end customer included: its users are customers, not partner users."""
    client.force_login(member(partner_a["organization"], role))
    own = (partner_a["organization"].name, partner_a["contract"].number, partner_a["secrets"][3])
    assert_no_leak(client, partner_a, is_partner_user=False, own=own)
    client.force_login(member(OrganizationFactory(), role))
    assert_no_leak(client, partner_a, is_partner_user=False)


def test_anonymous_visitor_is_sent_to_login(client, partner_a):
    for name, kwarg_names in partner_urls():
        if name in PUBLIC:
            continue
        url = build(name, kwarg_names, partner_a["values"])
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("account_login")), url


@pytest.mark.parametrize("role", list(PartnerRole))
def test_each_partner_role_gets_exactly_its_pages(client, partner_a, role):
    client.force_login(partner_user(partner_a["partner"], role))
    for name, kwarg_names in partner_urls():
        if name in PUBLIC:
            continue
        view = resolve(build(name, kwarg_names, partner_a["values"])).func
        allowed = partner_role_can(role, view.partner_perm)
        response = client.get(build(name, kwarg_names, partner_a["values"]))
        if allowed:
            assert response.status_code in {200, 405}, f"{role} {name} -> {response.status_code}"
        else:
            assert response.status_code == 404, f"{role} {name} -> {response.status_code}"
    assert set(PARTNER_PERMISSION_ROLES) == set(PartnerPerm)


def test_book_shows_contracts_deployments_and_no_invoices(client, partner_a):
    client.force_login(partner_a["admin"])
    page = client.get(
        reverse("partner:customer_detail", args=[partner_a["organization"].pk])
    ).content.decode()
    assert partner_a["contract"].number in page
    assert "licensed" in page
    invoice_number = partner_a["secrets"][3]
    assert invoice_number not in page
    assert invoice_number not in client.get(reverse("partner:customers")).content.decode()
    # the end customer's invoice pages are not the partner's either
    assert client.get(reverse("portal:invoices")).status_code == 302  # no customer seat: to the overview


def test_commissions_page_and_statement_exports(client, partner_a):
    client.force_login(partner_a["admin"])
    page = client.get(reverse("partner:commissions")).content.decode()
    assert "3000.00" in page  # 30 % of the 10,000 net
    assert "not paid yet" in page
    v = partner_a["values"]
    for fmt, content_type in (("csv", "text/csv"), ("xlsx", "application/vnd"), ("pdf", "application/pdf")):
        response = client.get(
            reverse("partner:statement", kwargs={"year": v["year"], "month": v["month"], "fmt": fmt})
        )
        assert response.status_code == 200 and response["Content-Type"].startswith(content_type), fmt
    assert "3000.00" in client.get(
        reverse("partner:statement", kwargs={"year": v["year"], "month": v["month"], "fmt": "csv"})
    ).content.decode("utf-8-sig")
    assert (
        client.get(
            reverse("partner:statement", kwargs={"year": v["year"], "month": 13, "fmt": "csv"})
        ).status_code
        == 404
    )


def test_register_a_deal_in_the_portal(client, partner_a):
    client.force_login(partner_a["admin"])
    url = reverse("partner:deal_new")
    assert client.get(url).status_code == 200
    data = {
        "company_name": "Gamma Factory",
        "contact_email": "it@gamma.example",
        "taxpayer_id": "",
        "industry": "manufacturing",
        "country": "CN",
        "edition": edition("enterprise").pk,
        "expected_devices": "200",
        "expected_value": "80000",
        "currency": "CNY",
        "expected_close_date": (timezone.localdate() + dt.timedelta(days=20)).isoformat(),
    }
    response = client.post(url, data)
    deal = DealRegistration.objects.get(company_name="Gamma Factory")
    assert response.status_code == 302 and response.url == reverse("partner:deal_detail", args=[deal.pk])
    assert deal.partner == partner_a["partner"] and deal.registered_by == partner_a["admin"]
    bad = client.post(url, {**data, "expected_close_date": "2000-01-01", "taxpayer_id": "91310115000000000X"})
    assert bad.status_code == 400
    assert DealRegistration.objects.filter(company_name="Gamma Factory").count() == 1


def test_renewal_request_from_the_book(client, partner_a):
    client.force_login(partner_a["admin"])
    number = partner_a["contract"].number
    response = client.post(reverse("partner:renewal_request", args=[number]), {"note": "double the devices"})
    assert response.status_code == 302
    inquiry = Inquiry.objects.get(partner=partner_a["partner"], organization=partner_a["organization"])
    assert number in inquiry.message and "double the devices" in inquiry.message
    from billing.models import Quote, QuoteKind

    quote = Quote.objects.get(contract=partner_a["contract"], kind=QuoteKind.RENEWAL)
    assert quote.sent_at is None  # drafted for sales to review and send
    assert quote.number in inquiry.notes.last().body
    client.post(reverse("partner:renewal_request", args=[number]))
    assert Quote.objects.filter(contract=partner_a["contract"], kind=QuoteKind.RENEWAL).count() == 1


def test_invite_a_colleague_and_accept(client, partner_a, django_capture_on_commit_callbacks, mailoutbox):
    client.force_login(partner_a["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("partner:team"), {"email": "new@alpha-partner.example", "role": "partner_sales"}
        )
    assert response.status_code == 302
    body = mailoutbox[-1].body
    url = body[body.index("http") :].split()[0]
    path = url.split("testserver")[-1] if "testserver" in url else "/" + url.split("/", 3)[3]
    newcomer = UserFactory(email="new@alpha-partner.example")
    client.force_login(newcomer)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    assert PartnerMembership.objects.get(user=newcomer).role == PartnerRole.SALES
    assert client.get(reverse("home")).url == reverse("partner:overview")


def test_partner_users_must_set_up_two_factor(client, partner_a, settings):
    settings.PARTNER_MFA_REQUIRED = True
    client.force_login(partner_a["admin"])
    response = client.get(reverse("partner:overview"))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    from tests.portal.portal_helpers import give_totp

    give_totp(partner_a["admin"])
    assert client.get(reverse("partner:overview")).status_code == 200


def test_oem_customers_see_the_partner_brand(client, partner_a):
    partner = partner_a["partner"]
    partner.support_email = "help@alpha-brand.example"
    partner.brand_logo = SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\nfake", content_type="image/png")
    partner.save()
    client.force_login(member(partner_a["organization"], Role.OWNER, totp=True))
    page = client.get(reverse("home")).content.decode()
    assert "Alpha Brand" in page and "help@alpha-brand.example" in page
    assert reverse("partner:brand_logo", args=[partner.pk]) in page
    assert client.get(reverse("partner:brand_logo", args=[partner.pk])).status_code == 200
    client.force_login(member(OrganizationFactory(), Role.OWNER, totp=False))
    assert "Alpha Brand" not in client.get(reverse("home")).content.decode()


def test_won_deal_appears_in_the_book(client, partner_a, staff_user):
    partner = partner_a["partner"]
    deal = DealRegistration.objects.get(partner=partner)
    deal = deal_mark_won(actor=staff_user, deal=deal_approve(actor=staff_user, deal=deal))
    assert deal.status == DealStatus.WON
    client.force_login(partner_a["admin"])
    page = client.get(reverse("partner:customers")).content.decode()
    assert "Alpha Prospect Secret Co" in page
    detail = client.get(reverse("partner:customer_detail", args=[deal.organization_id])).content.decode()
    assert deal.contract.number in detail


def test_book_pages_run_a_constant_number_of_queries(client, partner_a, django_assert_max_num_queries):
    from tests.factories import ContractFactory

    partner = partner_a["partner"]
    client.force_login(partner_a["admin"])
    counts = []
    for extra in (0, 8):
        for _ in range(extra):
            ContractFactory(organization=OrganizationFactory(partner=partner), partner=partner)
        for url in (reverse("partner:customers"), reverse("partner:overview")):
            client.get(url)  # warm caches
            with django_assert_max_num_queries(15) as ctx:
                assert client.get(url).status_code == 200
            counts.append(len(ctx.captured_queries))
    assert counts[:2] == counts[2:], counts
