"""Accounts in the portal: mandatory two-factor authentication for staff and for owners of
organizations with an enterprise or source contract, the user's language, and what happens around
sign-up and login (pending invitations, community organizations)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.db.models import Exists
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from contracts.models import ContractStatus
from customers.invitations import invitation_accept, invitation_by_token, invitation_check
from customers.models import Membership, PartnerMembership, Role
from customers.services import organization_create_community
from portal.core.errors import ApplicationError
from portal.core.i18n import recipient_language
from portal.core.mail import mail_enqueue
from portal.core.mfa import staff_mfa_missing, staff_mfa_required
from portal.core.models import UserPreference
from portal.pages.errors import PageError

INVITATION_SESSION_KEY = "portal_invitation_token"
LANGUAGE_SESSION_KEY = "portal_language"


# --- two-factor authentication ------------------------------------------------------------------------


def _owner_seats_needing_mfa(user: Any) -> Any:
    return Membership.objects.filter(
        user=user,
        role=Role.OWNER,
        organization__contracts__status=ContractStatus.ACTIVE,
        organization__contracts__edition__code__in=settings.PORTAL_MFA_REQUIRED_EDITIONS,
    )


def partner_mfa_required(user: Any) -> bool:
    """Partner users (they see their customers' contracts and their commissions) use TOTP as staff do,
    when PARTNER_MFA_REQUIRED is on (by default outside DEBUG)."""
    return bool(
        settings.PARTNER_MFA_REQUIRED
        and getattr(user, "is_authenticated", False)
        and PartnerMembership.objects.filter(user=user, partner__is_active=True).exists()
    )


def mfa_required(user: Any) -> bool:
    """Staff (see staff_mfa_required), partner users, and owners of an organization with an active
    enterprise or source contract, must use TOTP."""
    if not getattr(user, "is_authenticated", False):
        return False
    return staff_mfa_required(user) or partner_mfa_required(user) or _owner_seats_needing_mfa(user).exists()


def mfa_missing(user: Any) -> bool:
    """Required but not set up: one query (the owner seats and, when required, the partner seats,
    checked together)."""
    if staff_mfa_required(user):
        return staff_mfa_missing(user)
    has_totp = Exists(Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP))
    needs: Any = Exists(_owner_seats_needing_mfa(user))  # | another Exists makes a Q
    if settings.PARTNER_MFA_REQUIRED:
        needs = needs | Exists(PartnerMembership.objects.filter(user=user, partner__is_active=True))
    return bool(get_user_model().objects.filter(pk=user.pk).filter(needs).filter(~has_totp).exists())


class AccountAdapter(DefaultAccountAdapter):
    """allauth's mails (address confirmation, password reset, security notices) go through the outbox:
    composed in the request, sent by a worker, so a mail server outage never fails the request."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request), **context}
        with translation.override(mail_language(email, context.get("user"))):
            message = self.render_mail(template_prefix, email, ctx)
        mail_enqueue(message)


def mail_language(email: str, user: Any = None) -> str:
    """The one rule (portal.core.i18n.recipient_language): the account's stored preference, else its
    organization's language, else the language of the page that caused the mail."""
    user_model = get_user_model()
    if not isinstance(user, user_model):
        user = (
            user_model.objects.filter(email__iexact=email, is_active=True)
            .select_related("portal_preference")
            .first()
        )
    membership = (
        Membership.objects.filter(user=user).select_related("organization").order_by("pk").first()
        if user is not None
        else None
    )
    return recipient_language(
        user=user,
        organization=membership.organization if membership else None,
        fallback=translation.get_language() or "",
    )


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type == Authenticator.Type.TOTP and mfa_required(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)


# --- language -------------------------------------------------------------------------------------------


def _supported(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


@transaction.atomic
def user_language_set(*, user: Any, language: str) -> UserPreference:
    if not _supported(language):
        raise ApplicationError(PageError.INVALID_INPUT, _("Unsupported language."))
    preference, _created = UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    return preference


def remember_language(request: HttpRequest, language: str) -> None:
    """Use `language` for the rest of this request and the session (the middleware sets the cookie)."""
    request.session[LANGUAGE_SESSION_KEY] = language
    translation.activate(language)
    request.LANGUAGE_CODE = language


# --- sign-up and login ----------------------------------------------------------------------------------


def pending_invitation_token(request: HttpRequest) -> str:
    return request.session.get(INVITATION_SESSION_KEY, "") if hasattr(request, "session") else ""


def pending_invitation(request: HttpRequest) -> Any:
    """The still-valid invitation whose link this browser followed before signing up or in."""
    token = pending_invitation_token(request)
    invitation = invitation_by_token(token) if token else None
    try:
        invitation_check(invitation)
    except ApplicationError:
        return None
    return invitation


def _accept_pending(request: HttpRequest, user: Any) -> bool:
    token = pending_invitation_token(request)
    if not token:
        return False
    try:
        membership = invitation_accept(user=user, token=token)
    except ApplicationError as exc:
        if exc.code != "invitation_email_mismatch":
            request.session.pop(INVITATION_SESSION_KEY, None)
        return False
    request.session.pop(INVITATION_SESSION_KEY, None)
    request.session["portal_organization"] = membership.organization_id
    messages.success(
        request, _("You joined %(organization)s.") % {"organization": membership.organization.name}
    )
    return True


def on_signup(request: HttpRequest, user: Any, *, organization_name: str = "") -> None:
    """After the sign-up form saved the user: join the invited organization when the browser came
    through an invitation for this address, otherwise open a free community organization."""
    if _accept_pending(request, user):
        return
    organization = organization_create_community(user=user, name=organization_name)
    request.session["portal_organization"] = organization.pk


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="portal.pages.accounts.staff_email")
def trust_staff_email(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Staff are made by an operator (`createsuperuser`, the admin), who vouches for their address: it
    is recorded as verified so they can log in at once, with no confirmation mail on a fresh install
    without mail set up. Two-factor setup is still enforced at their first login when required."""
    if not (instance.is_staff and instance.email):
        return
    from allauth.account.models import EmailAddress

    if not EmailAddress.objects.filter(user=instance, email__iexact=instance.email).exists():
        EmailAddress.objects.create(
            user=instance,
            email=instance.email,
            verified=True,
            primary=not EmailAddress.objects.filter(user=instance, primary=True).exists(),
        )


@receiver(user_logged_in, dispatch_uid="portal.pages.accounts.on_login")
def on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    language = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    if language and _supported(language):
        remember_language(request, language)
    _accept_pending(request, user)
