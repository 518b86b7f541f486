"""Invitations to join an organization: sent by sales (admin) or an owner/admin (portal), valid for
seven days, accepted by the person at the invited address.

The link carries a random token; only its SHA-256 is stored, so a copy of the database cannot be used
to join an organization. The token is made when the mail is composed, by the worker that sends it
(`customers.tasks.invitation_mail`, an outbox job written with the invitation): it is never stored in
the clear, not even in the job queue. Each mail makes the previous link stop working.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.errors import CustomerError
from customers.models import (
    Invitation,
    InvitationBase,
    Membership,
    Organization,
    Role,
)
from customers.selectors import brand_for_organization
from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.i18n import recipient_language
from portal.core.services import audit, enqueue_on_commit

_I = TypeVar("_I", bound=InvitationBase)
_M = TypeVar("_M", bound=models.Model)

TOKEN_BYTES = 32
INVITATION_MAIL_TASK = "customers.tasks.invitation_mail"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('portal:invitation', args=[token])}"


def email_normalize(email: str) -> str:
    email = (email or "").strip()
    local, _at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if local else email


@transaction.atomic
def invitation_mail_compose(invitation_id: int) -> EmailMessage | None:
    """The invitation mail with a fresh link (the previous one stops working), or None when the
    invitation was accepted or revoked meanwhile. Called by the worker that sends it."""
    relinked = invitation_relink(Invitation, invitation_id, "organization__partner")
    if relinked is None:
        return None
    invitation, token = relinked
    invitee = get_user_model().objects.filter(email__iexact=invitation.email, is_active=True).first()
    with translation.override(recipient_language(user=invitee, organization=invitation.organization)):
        context = {
            "invitation": invitation,
            "organization": invitation.organization,
            "role": invitation.get_role_display(),
            "url": invitation_url(token),
            "valid_days": Invitation.VALID_DAYS,
            "inviter": invitation.invited_by.email if invitation.invited_by else "",
            "brand": (brand := brand_for_organization(invitation.organization)),
        }
        subject = render_to_string("portal/email/invitation_subject.txt", context).strip()
        body = render_to_string("portal/email/invitation_body.txt", context)
    prefix = f"[{brand.name}] " if brand else settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
    return EmailMessage(prefix + subject, body, None, [invitation.email])


def invitation_token_issue(invitation: InvitationBase) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation.token_hash = token_hash(token)
    return token


def invitation_relink(model: type[_I], invitation_id: int, *related: str) -> tuple[_I, str] | None:
    """For the worker that mails an invitation of `model`: the invitation (locked, with `related`
    and the inviter) and a fresh link whose hash is now stored, so the previous link stops working;
    None when it was accepted or revoked meanwhile. Call inside a transaction."""
    invitation = (
        model._default_manager.select_for_update(of=("self",))
        .select_related(*related, "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None:
        return None
    token = invitation_token_issue(invitation)
    invitation.save(update_fields=["token_hash"])
    return invitation, token


@transaction.atomic
def invitation_create_into(
    model: type[_I],
    membership_model: type[models.Model],
    *,
    scope: str,
    target: models.Model,
    roles: list[str],
    already_member: str,
    audit_as: str,
    actor: Actor,
    email: str,
    role: str,
) -> _I:
    """A new invitation of `model` to join `target` (its `scope`: the organization or the partner)
    with `role`; the caller enqueues its mail in the same transaction (by the task's name, which
    tests/test_architecture.py checks). An earlier pending invitation of the same address to the
    same target is revoked, so only the newest link works. `already_member` is the refusal for an
    address that is a member already (with %(email)s); the audit rows are `<audit_as>.create`."""
    email = email_normalize(email)
    if role not in roles:
        raise ApplicationError(CustomerError.INVALID_INPUT, _("Unknown role."))
    if membership_model._default_manager.filter(**{scope: target}, user__email__iexact=email).exists():
        raise ApplicationError(CustomerError.ALREADY_MEMBER, already_member % {"email": email})
    now = timezone.now()
    model._default_manager.filter(
        **{scope: target}, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    invitation = model(
        **{scope: target},
        email=email,
        role=role,
        invited_by=actor_user(actor),
        created_at=now,
        expires_at=now + timedelta(days=model.VALID_DAYS),
    )
    invitation_token_issue(invitation)  # a placeholder nobody gets: the mail carries a fresh one
    invitation.full_clean()
    invitation.save()
    audit(actor=actor, action=f"{audit_as}.create", target=target, data={"email": email, "role": role})
    return invitation


@transaction.atomic
def invitation_create(
    *, actor: Actor, organization: Organization, email: str, role: str = Role.TECHNICAL
) -> Invitation:
    """A new invitation, mailed after commit. An earlier pending invitation of the same address to
    the same organization is revoked, so only the newest link works."""
    invitation = invitation_create_into(
        Invitation,
        Membership,
        scope="organization",
        target=organization,
        roles=Role.values,
        already_member=_("%(email)s is already a member of this organization."),
        audit_as="invitation",
        actor=actor,
        email=email,
        role=role,
    )
    enqueue_on_commit(INVITATION_MAIL_TASK, invitation.pk)
    return invitation


@transaction.atomic
def invitation_resend(*, actor: Actor, invitation: Invitation) -> Invitation:
    """A fresh link (the old one stops working when the mail is composed) and seven more days."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise ApplicationError(
            CustomerError.INVITATION_CLOSED, _("This invitation was already accepted or revoked.")
        )
    invitation.expires_at = timezone.now() + timedelta(days=Invitation.VALID_DAYS)
    invitation.save(update_fields=["expires_at"])
    audit(
        actor=actor,
        action="invitation.resend",
        target=invitation.organization,
        data={"email": invitation.email},
    )
    enqueue_on_commit(INVITATION_MAIL_TASK, invitation.pk)
    return invitation


@transaction.atomic
def invitation_revoke_in(model: type[_I], *, scope: str, audit_as: str, actor: Actor, invitation: _I) -> _I:
    """Revoke an invitation of `model` unless it was accepted or revoked already (then nothing
    changes); audited as `<audit_as>.revoke` on its `scope`."""
    invitation = model._default_manager.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit(
            actor=actor,
            action=f"{audit_as}.revoke",
            target=getattr(invitation, scope),
            data={"email": invitation.email},
        )
    return invitation


def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    return invitation_revoke_in(
        Invitation, scope="organization", audit_as="invitation", actor=actor, invitation=invitation
    )


def invitation_find(model: type[_I], token: str, *, scope: str) -> _I | None:
    """The invitation of `model` a link names (pending or not) with its `scope` (the organization or
    the partner it invites to), or None for an unknown token."""
    if not token or len(token) > 100:
        return None
    return model._default_manager.select_related(scope).filter(token_hash=token_hash(token)).first()


def invitation_by_token(token: str) -> Invitation | None:
    """The organization invitation a link names (pending or not), or None for an unknown token."""
    return invitation_find(Invitation, token, scope="organization")


def invitation_check(invitation: InvitationBase | None, *, user: Any = None) -> None:
    """Raise ApplicationError unless the invitation (an organization's or a partner's) can be accepted
    (by `user`, when given)."""
    if invitation is None:
        raise ApplicationError(
            CustomerError.INVITATION_INVALID, _("This invitation link is not valid."), status=404
        )
    if invitation.revoked_at is not None:
        raise ApplicationError(
            CustomerError.INVITATION_REVOKED, _("This invitation has been withdrawn."), status=410
        )
    if invitation.accepted_at is not None:
        raise ApplicationError(
            CustomerError.INVITATION_USED, _("This invitation has already been accepted."), status=410
        )
    if invitation.expires_at <= timezone.now():
        raise ApplicationError(
            CustomerError.INVITATION_EXPIRED,
            _("This invitation has expired; ask for a new one."),
            status=410,
        )
    if user is not None and (user.email or "").lower() != invitation.email.lower():
        raise ApplicationError(
            CustomerError.INVITATION_EMAIL_MISMATCH,
            _("This invitation was sent to %(email)s; sign in with that address to accept it.")
            % {"email": invitation.email},
            status=403,
        )


@transaction.atomic
def invitation_accept_into(
    model: type[_I], membership_model: type[_M], *, scope: str, audit_as: str, user: Any, token: str
) -> _M:
    """Accept an invitation of `model`: the user joins its `scope` (the organization or the partner)
    as a `membership_model` with the invited role. A user who is already a member keeps the role they
    have (an invitation never demotes anyone). The invitation row is locked, so a link used twice at
    once is accepted once."""
    invitation = invitation_find(model, token, scope=scope)
    if invitation is not None:
        invitation = model._default_manager.select_for_update().select_related(scope).get(pk=invitation.pk)
    invitation_check(invitation, user=user)
    assert invitation is not None
    joined = getattr(invitation, scope)
    membership, created = membership_model._default_manager.get_or_create(
        **{scope: joined}, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit(
        actor=user,
        action=f"{audit_as}.accept",
        target=joined,
        data={"email": invitation.email, "role": cast(Any, membership).role, "new_member": created},
        via="portal",
    )
    return membership


def invitation_accept(*, user: Any, token: str) -> Membership:
    """Join the organization with the invited role (a member keeps the role they have)."""
    return invitation_accept_into(
        Invitation, Membership, scope="organization", audit_as="invitation", user=user, token=token
    )


def invitations_pending(organization: Organization) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            organization=organization,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )
