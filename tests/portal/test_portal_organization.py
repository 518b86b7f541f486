# ruff: noqa: F811  (pytest fixtures imported from portal_helpers)
"""The organization page: members and roles, invitations, invoicing data; the permission map."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from customers.models import Invitation, Membership, Role
from portal.core.models import AuditEvent
from portal.pages.permissions import PERMISSION_ROLES, Perm, role_can
from tests.portal.portal_helpers import (  # noqa: F401  (fixtures)
    client,
    enterprise_org,
    fast_keys,
    member,
)

pytestmark = pytest.mark.django_db


def test_the_permission_map():
    assert role_can(Role.BILLING, Perm.VIEW_INVOICES) and role_can(Role.OWNER, Perm.VIEW_INVOICES)
    assert not role_can(Role.TECHNICAL, Perm.VIEW_INVOICES) and not role_can(Role.ADMIN, Perm.VIEW_INVOICES)
    assert PERMISSION_ROLES[Perm.MANAGE_MEMBERS] == {Role.OWNER, Role.ADMIN}
    assert PERMISSION_ROLES[Perm.EDIT_INVOICING_DATA] == {Role.OWNER, Role.BILLING}
    assert PERMISSION_ROLES[Perm.DOWNLOAD_KEYS] == {Role.OWNER, Role.ADMIN, Role.TECHNICAL}
    assert PERMISSION_ROLES[Perm.REGISTER_DEPLOYMENTS] == {Role.OWNER, Role.ADMIN, Role.TECHNICAL}
    assert set(PERMISSION_ROLES) == set(Perm)  # every permission is mapped


def test_members_are_listed_with_roles(client):
    organization, _contract = enterprise_org(name="Acme")
    owner = member(organization, Role.OWNER, email="boss@acme.example")
    member(organization, Role.TECHNICAL, email="tech@acme.example")
    client.force_login(owner)
    page = client.get(reverse("portal:organization")).content.decode()
    assert "boss@acme.example" in page and "tech@acme.example" in page
    assert "Send invitation" in page


def test_owner_invites_and_the_mail_carries_the_link(client, django_capture_on_commit_callbacks, settings):
    settings.SITE_URL = "https://portal.example.com"
    organization, _contract = enterprise_org(name="Acme")
    client.force_login(member(organization, Role.OWNER))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:invite"), {"email": "new@acme.example", "role": Role.BILLING})
    assert response.status_code == 302
    invitation = Invitation.objects.get(organization=organization, email="new@acme.example")
    assert invitation.role == Role.BILLING and invitation.is_pending
    assert (invitation.expires_at - invitation.created_at).days == 7
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "https://portal.example.com/invitations/" in body
    token = body.split("/invitations/")[1].split("/")[0]
    assert token not in invitation.token_hash  # only the hash is stored
    assert AuditEvent.objects.filter(action="invitation.create").exists()


def test_invite_form_errors_show_next_to_the_field(client):
    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER, email="boss@acme.example")
    client.force_login(owner)
    response = client.post(reverse("portal:invite"), {"email": "not-an-email", "role": Role.TECHNICAL})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    response = client.post(reverse("portal:invite"), {"email": "boss@acme.example", "role": Role.TECHNICAL})
    assert "already a member" in response.content.decode()


def test_admin_cannot_invite_an_owner(client):
    organization, _contract = enterprise_org()
    client.force_login(member(organization, Role.ADMIN))
    response = client.post(reverse("portal:invite"), {"email": "x@acme.example", "role": Role.OWNER})
    assert response.status_code == 400
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", [Role.TECHNICAL, Role.BILLING])
def test_non_managers_cannot_invite_or_change_roles(client, role):
    organization, _contract = enterprise_org()
    other = member(organization, Role.TECHNICAL)
    client.force_login(member(organization, role))
    assert (
        client.post(reverse("portal:invite"), {"email": "x@acme.example", "role": Role.TECHNICAL}).status_code
        == 404
    )
    target = Membership.objects.get(user=other)
    url = reverse("portal:member_role", kwargs={"membership_id": target.pk})
    assert client.post(url, {"role": Role.ADMIN}).status_code == 404
    target.refresh_from_db()
    assert target.role == Role.TECHNICAL


def test_change_role_and_remove(client):
    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER)
    tech = member(organization, Role.TECHNICAL)
    membership = Membership.objects.get(user=tech)
    client.force_login(owner)

    client.post(reverse("portal:member_role", kwargs={"membership_id": membership.pk}), {"role": Role.ADMIN})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN

    client.post(reverse("portal:member_remove", kwargs={"membership_id": membership.pk}))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEvent.objects.filter(action="membership.remove").exists()


def test_the_last_owner_cannot_be_demoted_or_removed(client):
    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER)
    second = member(organization, Role.OWNER)
    mine = Membership.objects.get(user=owner)
    theirs = Membership.objects.get(user=second)
    client.force_login(owner)
    # two owners: one may demote the other
    client.post(reverse("portal:member_role", kwargs={"membership_id": theirs.pk}), {"role": Role.TECHNICAL})
    theirs.refresh_from_db()
    assert theirs.role == Role.TECHNICAL
    # now the last owner cannot leave
    response = client.post(reverse("portal:member_remove", kwargs={"membership_id": mine.pk}), follow=True)
    assert "last owner" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk, role=Role.OWNER).exists()


def test_last_owner_rule_in_the_service():
    from customers.services import membership_change_role, membership_remove
    from portal.core.errors import ApplicationError

    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER)
    membership = Membership.objects.get(user=owner)
    with pytest.raises(ApplicationError) as exc:
        membership_change_role(actor=owner, membership=membership, role=Role.ADMIN)
    assert exc.value.code == "last_owner"
    with pytest.raises(ApplicationError):
        membership_remove(actor=owner, membership=membership)


def test_admin_cannot_touch_an_owner(client):
    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER)
    client.force_login(member(organization, Role.ADMIN))
    target = Membership.objects.get(user=owner)
    client.post(reverse("portal:member_role", kwargs={"membership_id": target.pk}), {"role": Role.TECHNICAL})
    target.refresh_from_db()
    assert target.role == Role.OWNER
    assert (
        client.post(reverse("portal:member_remove", kwargs={"membership_id": target.pk})).status_code == 404
    )


def test_withdraw_and_resend_invitations(client, django_capture_on_commit_callbacks):
    from customers.invitations import invitation_create

    organization, _contract = enterprise_org()
    owner = member(organization, Role.OWNER)
    invitation = invitation_create(
        actor=owner, organization=organization, email="x@acme.example", role=Role.TECHNICAL
    )
    old_hash = invitation.token_hash
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:invitation_resend", kwargs={"invitation_id": invitation.pk}))
    invitation.refresh_from_db()
    assert invitation.token_hash != old_hash and len(mail.outbox) == 1
    client.post(reverse("portal:invitation_revoke", kwargs={"invitation_id": invitation.pk}))
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


VALID_USCC = "91310115MA1K4LXX3E"


def test_invoicing_data_is_validated_and_saved(client):
    organization, _contract = enterprise_org()
    client.force_login(member(organization, Role.BILLING))
    url = reverse("portal:invoicing")
    assert client.get(url).status_code == 200

    bad = {"taxpayer_id": "91310115MA1K4LXX3Q", "fapiao_type": "special", "billing_email": "nope"}
    response = client.post(url, bad)
    page = response.content.decode()
    assert response.status_code == 400
    assert "check character" in page
    assert "Enter a valid email address." in page

    good = {
        "invoice_title": "Acme Robotics Ltd.",
        "taxpayer_id": VALID_USCC.lower(),
        "registered_address": "1 Road",
        "fapiao_type": "special",
        "billing_email": "ap@acme.example",
    }
    response = client.post(url, good)
    assert response.status_code == 302, response.context["form"].errors
    organization.refresh_from_db()
    assert organization.taxpayer_id == VALID_USCC
    assert organization.fapiao_type == "special"
    assert AuditEvent.objects.filter(action="organization.update").exists()


@pytest.mark.parametrize("role", [Role.TECHNICAL, Role.ADMIN])
def test_invoicing_data_is_for_owners_and_billing_only(client, role):
    organization, _contract = enterprise_org()
    client.force_login(member(organization, role))
    assert client.get(reverse("portal:invoicing")).status_code == 404
    assert "Invoicing data" not in client.get(reverse("portal:organization")).content.decode()
