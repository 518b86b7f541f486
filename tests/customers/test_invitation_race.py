"""One link clicked twice at once (a double submit, two tabs) joins once: organization and partner
invitations share one acceptance (customers.invitations.invitation_accept_into), which locks the
invitation row before it checks it."""

from __future__ import annotations

from typing import Any

import pytest

from customers.invitations import invitation_accept, invitation_create, invitation_token_issue
from customers.models import Membership, PartnerMembership, PartnerRole, Role
from customers.partner_services import partner_invitation_accept, partner_invitation_create
from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from tests.conftest import race, requires_postgres
from tests.factories import OrganizationFactory, PartnerFactory, UserFactory

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _with_known_token(invitation: Any) -> str:
    token = invitation_token_issue(invitation)
    invitation.save(update_fields=["token_hash"])
    return token


def _one_joined(results: list[Any]) -> None:
    joined = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(joined) == 1, results
    assert len(refused) == 1 and isinstance(refused[0], ApplicationError), results
    assert refused[0].code == "invitation_used"


def test_an_organization_invitation_accepted_twice_at_once_joins_once():
    organization = OrganizationFactory()
    user = UserFactory(email="wang@customer.example")
    invitation = invitation_create(actor=None, organization=organization, email=user.email, role=Role.BILLING)
    token = _with_known_token(invitation)

    _one_joined(race([lambda: invitation_accept(user=user, token=token)] * 2))

    assert Membership.objects.get(organization=organization, user=user).role == Role.BILLING
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1


def test_a_partner_invitation_accepted_twice_at_once_joins_once():
    partner = PartnerFactory()
    user = UserFactory(email="li@partner.example")
    invitation = partner_invitation_create(
        actor=None, partner=partner, email=user.email, role=PartnerRole.ADMIN
    )
    token = _with_known_token(invitation)

    _one_joined(race([lambda: partner_invitation_accept(user=user, token=token)] * 2))

    assert PartnerMembership.objects.get(partner=partner, user=user).role == PartnerRole.ADMIN
    assert AuditEvent.objects.filter(action="partner_invitation.accept").count() == 1
