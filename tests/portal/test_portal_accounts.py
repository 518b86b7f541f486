# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""Accounts: email login with mandatory verification, login rate limiting, TOTP two-factor (mandatory
for owners of organizations with enterprise or source contracts), staff admin login through allauth,
sign-up (community organization, sales notified), invitations, the remembered language, sessions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from customers.invitations import invitation_create
from customers.models import Invitation, Membership, Organization, Role
from portal.core.models import UserPreference
from tests.factories import OrganizationFactory, UserFactory
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    client,
    enterprise_org,
    fast_keys,
    give_totp,
    has_totp,
    member,
    totp_code,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def verified_user(**fields):
    user = UserFactory(**fields)
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def login(client, email, password=PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": password, **extra})


# --- login, verification, rate limit ------------------------------------------------------------------


def test_login_by_email(client):
    user = verified_user()
    response = login(client, user.email)
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user == user


def test_unverified_email_cannot_log_in(client, django_capture_on_commit_callbacks):
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    with django_capture_on_commit_callbacks(execute=True):  # the mail is an outbox job
        response = login(client, user.email)
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert "confirm" in mail.outbox[-1].body.lower()


def test_login_is_rate_limited(client, settings):
    """The lockout policy in full is tested in tests/security/test_login_lockout.py."""
    from portal import settings as project

    settings.ACCOUNT_RATE_LIMITS = project.ACCOUNT_RATE_LIMITS
    user = verified_user()
    for _ in range(5):
        response = login(client, user.email, "wrong-password")
        assert response.status_code == 200
    response = login(client, user.email, "wrong-password")
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    # even the right password is refused from this address while the limit holds
    response = login(client, user.email)
    assert response.status_code == 429
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_password_reset_mail(client, django_capture_on_commit_callbacks):
    user = verified_user()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302 and len(callbacks) == 1  # answered first, mailed after commit
    assert "/accounts/password/reset/key/" in mail.outbox[-1].body


# --- two-factor authentication --------------------------------------------------------------------------


def test_login_with_totp(client):
    user = verified_user()
    secret = give_totp(user)
    response = login(client, user.email)
    assert response.url == reverse("mfa_authenticate")
    assert not client.get("/").wsgi_request.user.is_authenticated
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user == user


def test_owner_of_enterprise_organization_must_set_up_totp(client):
    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER, totp=False)
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    login(client, owner.email)  # a real login: setting up 2FA needs a recent authentication
    for url in [
        "/",
        reverse("portal:deployments"),
        reverse("portal:organization"),
        reverse("portal:invoices"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == reverse("mfa_activate_totp")
    # the set-up page itself, logout and the rest of the account pages stay reachable; allauth
    # asks for the password once more before an authenticator is added
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    client.post(response.url, {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert has_totp(owner)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("edition_code", "role", "required"),
    [
        ("enterprise", Role.OWNER, True),
        ("source", Role.OWNER, True),
        ("standard", Role.OWNER, False),
        ("enterprise", Role.TECHNICAL, False),
        ("enterprise", Role.BILLING, False),
    ],
)
def test_who_must_use_totp(client, edition_code, role, required):
    from portal.pages.accounts import mfa_required

    organization, _contract = enterprise_org(edition_code=edition_code, nda_signed_on=timezone.localdate())
    user = member(organization, role, totp=False)
    assert mfa_required(user) is required
    client.force_login(user)
    assert (client.get("/").status_code == 302) is required


def test_required_totp_cannot_be_removed(client):
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER)
    authenticator = Authenticator.objects.get(user=owner, type=Authenticator.Type.TOTP)
    assert get_adapter().can_delete_authenticator(authenticator) is False
    technical = member(organization, Role.TECHNICAL, totp=True)
    assert (
        get_adapter().can_delete_authenticator(Authenticator.objects.get(user=technical, type="totp")) is True
    )


# --- staff -----------------------------------------------------------------------------------------------


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response.url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert "next=%2Fadmin%2F" in response.url

    staff = verified_user(is_staff=True, is_superuser=True)
    secret = give_totp(staff)
    response = client.post(response.url, {"login": staff.email, "password": PASSWORD, "next": "/admin/"})
    assert response.url == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_must_set_up_totp_before_the_admin_when_required(client, settings):
    settings.PORTAL_STAFF_MFA_REQUIRED = True
    staff = verified_user(is_staff=True, is_superuser=True)
    login(client, staff.email)
    for url in ("/admin/", "/admin/licenses/license/", "/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("mfa_activate_totp"), url
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("Staff accounts require two-factor authentication" in m for m in messages)
    client.post(client.get(reverse("mfa_activate_totp")).url, {"password": PASSWORD})  # re-authenticate
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert has_totp(staff)
    assert client.get("/admin/").status_code == 200

    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    from portal.pages.accounts import mfa_required

    assert mfa_required(staff) is True
    totp = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert get_adapter().can_delete_authenticator(totp) is False
    customer = verified_user()
    assert mfa_required(customer) is False  # customers follow their organization's contract


def test_staff_totp_is_optional_when_switched_off(client, settings):
    settings.PORTAL_STAFF_MFA_REQUIRED = False
    client.force_login(verified_user(is_staff=True, is_superuser=True))
    assert client.get("/admin/").status_code == 200


def test_customer_cannot_enter_the_admin(client):
    client.force_login(verified_user())
    assert client.get("/admin/login/?next=/admin/").status_code == 403
    response = client.get("/admin/")
    assert response.status_code == 302 and reverse("admin:login") in response.url


# --- sign-up ---------------------------------------------------------------------------------------------


def test_self_signup_creates_a_community_organization_and_tells_sales(
    client, settings, django_capture_on_commit_callbacks
):
    settings.SALES_NOTIFICATION_EMAILS = ["sales@vendor.example"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "founder@startup.example",
                "password1": "A-long-Passw0rd!",
                "password2": "A-long-Passw0rd!",
                "organization_name": "Startup Ltd.",
            },
        )
    assert response.status_code == 302
    organization = Organization.objects.get(name="Startup Ltd.")
    assert organization.is_community
    assert Membership.objects.get(organization=organization).role == Role.OWNER
    sales = [m for m in mail.outbox if m.to == ["sales@vendor.example"]]
    assert len(sales) == 1 and "founder@startup.example" in sales[0].body
    # verification is mandatory before the first login
    assert any("founder@startup.example" in m.to for m in mail.outbox)
    assert not client.get("/").wsgi_request.user.is_authenticated


def _verification_link(email: str) -> str:
    message = next(m for m in reversed(mail.outbox) if email in m.to)
    return re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+", message.body).group(0)


# --- invitations -----------------------------------------------------------------------------------------


def _invite(organization, email, role=Role.TECHNICAL):
    return invitation_create(actor=None, organization=organization, email=email, role=role)


def _token_from_mail(email: str) -> str:
    message = next(m for m in reversed(mail.outbox) if email in m.to)
    return re.search(r"/invitations/([^/\s]+)/", message.body).group(1)


def test_invitation_leads_a_new_user_through_signup_without_a_second_confirmation(
    client, django_capture_on_commit_callbacks
):
    """The invitation link came to the invited address: signing up with it logs the user in at once
    (issue 22: they had to confirm the same address again)."""
    organization, _contract = enterprise_org(name="Acme")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organization, "new@acme.example", Role.TECHNICAL)
    token = _token_from_mail("new@acme.example")

    page = client.get(reverse("portal:invitation", args=[token]))
    assert page.status_code == 200 and "Acme" in page.content.decode()
    signup = client.get(page.context["signup_url"])
    assert signup.context["form"]["email"].value() == "new@acme.example"
    assert "organization_name" not in signup.context["form"].fields

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            page.context["signup_url"],
            {"email": "new@acme.example", "password1": "A-long-Passw0rd!", "password2": "A-long-Passw0rd!"},
        )
    assert response.status_code == 302
    user = Membership.objects.get(organization=organization, user__email="new@acme.example").user
    assert (
        not Membership.objects.filter(user=user).exclude(organization=organization).exists()
    )  # no community org
    assert Invitation.objects.get(email="new@acme.example").accepted_by == user
    assert EmailAddress.objects.get(user=user).verified
    assert not any("confirm" in m.subject.lower() for m in mail.outbox if "new@acme.example" in m.to)
    assert client.get("/").wsgi_request.user == user


def test_signup_through_an_invitation_must_use_the_invited_address(
    client, django_capture_on_commit_callbacks
):
    organization, _contract = enterprise_org()
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organization, "new@acme.example")
    token = _token_from_mail("new@acme.example")
    client.get(reverse("portal:invitation", args=[token]))
    response = client.post(
        reverse("account_signup"),
        {"email": "other@acme.example", "password1": "A-long-Passw0rd!", "password2": "A-long-Passw0rd!"},
    )
    assert response.status_code == 200
    assert "The invitation was sent to new@acme.example" in response.content.decode()


def test_existing_user_accepts_after_login(client, django_capture_on_commit_callbacks):
    organization, _contract = enterprise_org(name="Acme")
    user = verified_user(email="known@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organization, "known@acme.example", Role.BILLING)
    token = _token_from_mail("known@acme.example")
    page = client.get(reverse("portal:invitation", args=[token]))
    assert page.context["has_account"] is True
    response = login(client, "known@acme.example", next=reverse("portal:invitation", args=[token]))
    assert response.status_code == 302
    assert Membership.objects.get(organization=organization, user=user).role == Role.BILLING
    assert client.get(response.url).url == "/"


def test_logged_in_user_accepts_with_a_click(client, django_capture_on_commit_callbacks):
    organization, _contract = enterprise_org(name="Acme")
    user = verified_user(email="known@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organization, "KNOWN@acme.example", Role.TECHNICAL)
    token = _token_from_mail("KNOWN@acme.example")
    client.force_login(user)
    assert "Accept invitation" in client.get(reverse("portal:invitation", args=[token])).content.decode()
    response = client.post(reverse("portal:invitation", args=[token]))
    assert response.status_code == 302
    assert Membership.objects.filter(organization=organization, user=user, role=Role.TECHNICAL).exists()


def test_invitation_for_another_address_is_refused(client, django_capture_on_commit_callbacks):
    organization, _contract = enterprise_org()
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organization, "someone@acme.example")
    token = _token_from_mail("someone@acme.example")
    client.force_login(verified_user(email="intruder@evil.example"))
    response = client.post(reverse("portal:invitation", args=[token]))
    assert response.status_code == 403
    assert not Membership.objects.filter(organization=organization).exists()


def test_expired_revoked_and_unknown_invitations(client, django_capture_on_commit_callbacks):
    organization, _contract = enterprise_org()
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(organization, "late@acme.example")
    token = _token_from_mail("late@acme.example")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.get(reverse("portal:invitation", args=[token]))
    assert response.status_code == 410 and "expired" in response.content.decode()

    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + dt.timedelta(days=1), revoked_at=timezone.now()
    )
    assert client.get(reverse("portal:invitation", args=[token])).status_code == 410
    assert client.get(reverse("portal:invitation", args=["no-such-token"])).status_code == 404


def test_invitation_valid_seven_days():
    organization = OrganizationFactory()
    invitation = invitation_create(
        actor=None, organization=organization, email="a@b.example", role=Role.ADMIN
    )
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=7)
    # a second invitation to the same address replaces the first
    second = invitation_create(actor=None, organization=organization, email="a@b.example", role=Role.ADMIN)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and second.is_pending


def test_sales_invite_from_the_admin(client, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:customers_invitation_add"),
            {"organization": organization.pk, "email": "buyer@customer.example", "role": Role.OWNER},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    invitation = Invitation.objects.get(email="buyer@customer.example")
    assert invitation.invited_by == staff and invitation.role == Role.OWNER
    assert "/invitations/" in mail.outbox[-1].body
    # the organization page lists it; the list action leads to the form
    assert (
        client.get(reverse("admin:customers_organization_change", args=[organization.pk])).status_code == 200
    )
    response = client.post(
        reverse("admin:customers_organization_changelist"),
        {"action": "invite_users", "_selected_action": [organization.pk]},
    )
    assert response.url == f"{reverse('admin:customers_invitation_add')}?organization={organization.pk}"


# --- language, sessions ----------------------------------------------------------------------------------


def test_language_is_remembered_per_user_and_applied_at_login(client):
    user = verified_user()
    login(client, user.email)
    response = client.post(reverse("portal:set_language"), {"language": "zh-hans", "next": "/account/"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=user).language == "zh-hans"
    assert client.get("/account/").headers["Content-Language"] == "zh-hans"

    client.post(reverse("account_logout"))
    client.cookies["django_language"] = "en"  # another device, or the cookie was reset
    response = login(client, user.email)
    assert response.cookies["django_language"].value == "zh-hans"
    assert client.get("/account/").headers["Content-Language"] == "zh-hans"


def test_session_list_and_sign_out_elsewhere(client):
    from allauth.usersessions.models import UserSession
    from django.test import Client

    user = verified_user()
    other = Client()
    login(other, user.email)
    other.get("/")
    login(client, user.email)
    client.get("/")
    assert UserSession.objects.filter(user=user).count() == 2
    page = client.get(reverse("usersessions_list"))
    assert page.status_code == 200
    response = client.post(reverse("usersessions_list"))
    assert response.status_code == 302
    assert UserSession.objects.filter(user=user).count() == 1
    assert not other.get("/").wsgi_request.user.is_authenticated
    assert client.get("/").wsgi_request.user == user
