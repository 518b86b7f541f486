"""Writes of the partner area: partner users and their invitations, deal registrations, renewal-quote
requests. Each runs in one transaction and is audited.

Partner invitations follow customers.invitations (the same token scheme and helpers): only the
SHA-256 of the link's token is stored and each mail, composed by the worker, carries a fresh link."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contract
from customers.errors import CustomerError
from customers.invitations import (
    invitation_accept_into,
    invitation_create_into,
    invitation_find,
    invitation_relink,
    invitation_revoke_in,
)
from customers.models import (
    DEAL_TRANSITIONS,
    DealRegistration,
    DealStatus,
    Inquiry,
    InquiryChannel,
    InquiryStage,
    Organization,
    Partner,
    PartnerInvitation,
    PartnerMembership,
    PartnerRole,
    validate_taxpayer_id,
)
from customers.partner_models import OPEN_DEAL_STATUSES
from customers.services import inquiry_convert, inquiry_create, inquiry_move, organization_update
from editions.models import Edition
from portal.core.actors import actor_user
from portal.core.errors import ApplicationError
from portal.core.services import audit, enqueue_on_commit

PARTNER_INVITATION_MAIL_TASK = "customers.tasks.partner_invitation_mail"

# --- partner users and invitations -------------------------------------------------------------------


def partner_invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('partner:invitation', args=[token])}"


@transaction.atomic
def partner_invitation_create(
    *, actor: Any, partner: Partner, email: str, role: str = PartnerRole.SALES
) -> PartnerInvitation:
    """A new invitation to the partner, mailed after commit; an earlier pending one to the same
    address is revoked, so only the newest link works."""
    invitation = invitation_create_into(
        PartnerInvitation,
        PartnerMembership,
        scope="partner",
        target=partner,
        roles=PartnerRole.values,
        already_member=_("%(email)s is already a user of this partner."),
        audit_as="partner_invitation",
        actor=actor,
        email=email,
        role=role,
    )
    enqueue_on_commit(PARTNER_INVITATION_MAIL_TASK, invitation.pk)
    return invitation


def partner_invitation_revoke(*, actor: Any, invitation: PartnerInvitation) -> PartnerInvitation:
    return invitation_revoke_in(
        PartnerInvitation, scope="partner", audit_as="partner_invitation", actor=actor, invitation=invitation
    )


@transaction.atomic
def partner_invitation_mail_compose(invitation_id: int) -> EmailMessage | None:
    """The invitation mail with a fresh link, or None when accepted or revoked meanwhile."""
    relinked = invitation_relink(PartnerInvitation, invitation_id, "partner")
    if relinked is None:
        return None
    invitation, token = relinked
    context = {
        "partner": invitation.partner,
        "role": invitation.get_role_display(),
        "url": partner_invitation_url(token),
        "valid_days": PartnerInvitation.VALID_DAYS,
        "inviter": invitation.invited_by.email if invitation.invited_by else "",
    }
    subject = render_to_string("portal/email/partner_invitation_subject.txt", context).strip()
    body = render_to_string("portal/email/partner_invitation_body.txt", context)
    return EmailMessage(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [invitation.email])


def partner_invitation_by_token(token: str) -> PartnerInvitation | None:
    return invitation_find(PartnerInvitation, token, scope="partner")


def partner_invitation_accept(*, user: Any, token: str) -> PartnerMembership:
    """Join the partner with the invited role (a user already in it keeps the role they have)."""
    return invitation_accept_into(
        PartnerInvitation,
        PartnerMembership,
        scope="partner",
        audit_as="partner_invitation",
        user=user,
        token=token,
    )


@transaction.atomic
def partner_membership_remove(*, actor: Any, membership: PartnerMembership) -> None:
    """Remove a partner user; the partner keeps at least one partner administrator."""
    list(PartnerMembership.objects.select_for_update().filter(partner_id=membership.partner_id))
    membership = PartnerMembership.objects.select_related("user", "partner").get(pk=membership.pk)
    admins = PartnerMembership.objects.filter(partner_id=membership.partner_id, role=PartnerRole.ADMIN)
    if membership.role == PartnerRole.ADMIN and admins.count() <= 1:
        raise ApplicationError(
            CustomerError.LAST_ADMIN,
            _("The last partner administrator cannot be removed; make someone else administrator first."),
            status=409,
        )
    partner, email = membership.partner, membership.user.email
    membership.delete()
    audit(actor=actor, action="partner_membership.remove", target=partner, data={"user": email})


# --- deal registration ---------------------------------------------------------------------------------


def deal_conflicts(
    *, company_name: str, taxpayer_id: str, partner: Partner, exclude_id: int | None = None
) -> list[dict[str, Any]]:
    """What sales should know before deciding: existing customers of the same name or taxpayer ID,
    and other partners' open registrations for the same company."""
    name = company_name.strip()
    match = Q(name__iexact=name)
    if taxpayer_id:
        match |= Q(taxpayer_id__iexact=taxpayer_id)
    found: list[dict[str, Any]] = [
        {
            "kind": "customer",
            "organization": org.pk,
            "name": org.name,
            "partner": org.partner.name if org.partner else "",
        }
        for org in Organization.objects.filter(match).select_related("partner").order_by("pk")[:10]
    ]
    deal_match = Q(company_name__iexact=name)
    if taxpayer_id:
        deal_match |= Q(taxpayer_id__iexact=taxpayer_id)
    others = (
        DealRegistration.objects.filter(deal_match, status__in=OPEN_DEAL_STATUSES)
        .exclude(partner=partner)
        .exclude(pk=exclude_id or 0)  # 0: no row has it
        .select_related("partner")
        .order_by("pk")[:10]
    )
    found += [
        {
            "kind": "deal",
            "deal": deal.pk,
            "name": deal.company_name,
            "partner": deal.partner.name,
            "status": deal.status,
            "protected_until": deal.protected_until.isoformat() if deal.protected_until else "",
        }
        for deal in others
    ]
    return found


DEAL_FIELDS = (
    "company_name",
    "taxpayer_id",
    "industry",
    "country",
    "contact_name",
    "contact_email",
    "expected_devices",
    "expected_value",
    "currency",
    "expected_close_date",
    "notes",
)


@transaction.atomic
def deal_register(*, actor: Any, partner: Partner, edition: Edition, **fields: Any) -> DealRegistration:
    """A partner registers an opportunity; conflicts are recorded for sales, and sales hear of it."""
    unknown = set(fields) - set(DEAL_FIELDS)
    if unknown:
        raise TypeError(f"unknown deal fields: {sorted(unknown)}")
    if not partner.is_active:
        raise ApplicationError(
            CustomerError.PARTNER_INACTIVE, _("This partner account is not active."), status=403
        )
    deal = DealRegistration(
        partner=partner,
        edition=edition,
        registered_by=actor_user(actor),
        **fields,
    )
    deal.full_clean()
    if deal.taxpayer_id:
        validate_taxpayer_id(deal.taxpayer_id)
    deal.conflicts = deal_conflicts(
        company_name=deal.company_name, taxpayer_id=deal.taxpayer_id, partner=partner
    )
    deal.save()
    audit(
        actor=actor,
        action="deal.register",
        target=deal,
        data={"partner": partner.pk, "company": deal.company_name, "conflicts": len(deal.conflicts)},
        via="portal",
    )
    enqueue_on_commit("customers.tasks.deal_notify_sales", deal.pk)
    return deal


def _deal_locked(deal: DealRegistration, target: str) -> DealRegistration:
    deal = DealRegistration.objects.select_for_update().select_related("partner", "edition").get(pk=deal.pk)
    if target not in DEAL_TRANSITIONS[DealStatus(deal.status)]:
        raise ApplicationError(
            CustomerError.INVALID_TRANSITION,
            _("A registration cannot move from %(current)s to %(target)s.")
            % {"current": DealStatus(deal.status).label, "target": DealStatus(target).label},
            status=409,
        )
    return deal


def _decide(deal: DealRegistration, *, actor: Any, status: str, reason: str) -> None:
    deal.status = status
    deal.decision_reason = (reason or "").strip()[:500]
    deal.decided_by = actor_user(actor)
    deal.decided_at = timezone.now()


@transaction.atomic
def deal_approve(*, actor: Any, deal: DealRegistration, reason: str = "") -> DealRegistration:
    """Sales approve: the partner's claim is protected for PARTNER_DEAL_PROTECTION_DAYS. Refused while
    another partner's approved registration for the same company is still protected."""
    deal = _deal_locked(deal, DealStatus.APPROVED)
    deal.conflicts = deal_conflicts(
        company_name=deal.company_name, taxpayer_id=deal.taxpayer_id, partner=deal.partner, exclude_id=deal.pk
    )
    today = timezone.localdate()
    protected = [
        c
        for c in deal.conflicts
        if c["kind"] == "deal"
        and c["status"] == DealStatus.APPROVED
        and c["protected_until"]
        and c["protected_until"] >= today.isoformat()
    ]
    if protected:
        raise ApplicationError(
            CustomerError.DEAL_PROTECTED_ELSEWHERE,
            _("%(partner)s holds a protected registration for this company until %(date)s.")
            % {"partner": protected[0]["partner"], "date": protected[0]["protected_until"]},
            status=409,
        )
    _decide(deal, actor=actor, status=DealStatus.APPROVED, reason=reason)
    deal.protected_until = today + timedelta(days=settings.PARTNER_DEAL_PROTECTION_DAYS)
    deal.full_clean()
    deal.save()
    audit(
        actor=actor,
        action="deal.approve",
        target=deal,
        data={"protected_until": deal.protected_until.isoformat(), "conflicts": len(deal.conflicts)},
    )
    return deal


@transaction.atomic
def deal_protection_set(*, actor: Any, deal: DealRegistration, protected_until: Any) -> DealRegistration:
    """Sales extend or shorten the protection of an approved registration."""
    deal = DealRegistration.objects.select_for_update().get(pk=deal.pk)
    if deal.status != DealStatus.APPROVED or protected_until is None:
        raise ApplicationError(
            CustomerError.INVALID_TRANSITION,
            _("Only an approved registration has a protection period."),
            status=409,
        )
    before = deal.protected_until
    deal.protected_until = protected_until
    deal.save(update_fields=["protected_until", "updated_at"])
    audit(
        actor=actor,
        action="deal.protection",
        target=deal,
        data={"from": before.isoformat() if before else None, "to": protected_until.isoformat()},
    )
    return deal


@transaction.atomic
def deal_reject(*, actor: Any, deal: DealRegistration, reason: str) -> DealRegistration:
    if not (reason or "").strip():
        raise ApplicationError(
            CustomerError.REASON_REQUIRED, _("Say why the registration is rejected."), status=400
        )
    deal = _deal_locked(deal, DealStatus.REJECTED)
    _decide(deal, actor=actor, status=DealStatus.REJECTED, reason=reason)
    deal.protected_until = None
    deal.full_clean()
    deal.save()
    audit(actor=actor, action="deal.reject", target=deal, data={"reason": deal.decision_reason})
    return deal


@transaction.atomic
def deal_mark_lost(*, actor: Any, deal: DealRegistration, reason: str = "") -> DealRegistration:
    deal = _deal_locked(deal, DealStatus.LOST)
    deal.status = DealStatus.LOST
    deal.decision_reason = (reason or deal.decision_reason).strip()[:500]
    deal.protected_until = None
    deal.save()
    audit(actor=actor, action="deal.lost", target=deal, data={"reason": deal.decision_reason})
    return deal


@transaction.atomic
def deal_mark_won(*, actor: Any, deal: DealRegistration, price: Decimal | None = None) -> DealRegistration:
    """The deal is won: an inquiry (channel partner) records it in the pipeline and is converted as
    every won inquiry is, into the organization (an existing customer with the same taxpayer ID, or
    a new one) and a draft contract for the registered edition, both with the partner attached."""
    deal = _deal_locked(deal, DealStatus.WON)
    existing = (
        Organization.objects.filter(taxpayer_id__iexact=deal.taxpayer_id).order_by("pk").first()
        if deal.taxpayer_id
        else None
    )
    if existing is not None and existing.partner_id not in (None, deal.partner_id):
        raise ApplicationError(
            CustomerError.CUSTOMER_OF_OTHER_PARTNER,
            _("%(name)s is already a customer brought by another partner.") % {"name": existing.name},
            status=409,
        )
    inquiry = inquiry_create(
        actor=actor,
        channel=InquiryChannel.PARTNER,
        partner=deal.partner,
        organization=existing,
        company_name=deal.company_name,
        contact_name=deal.contact_name,
        contact_email=deal.contact_email,
        industry=deal.industry,
        country=deal.country,
        message=_("Deal registration #%(id)s.") % {"id": deal.pk},
        owner=actor if getattr(actor, "is_staff", False) else None,
    )
    inquiry = inquiry_move(actor=actor, inquiry=inquiry, stage=InquiryStage.QUALIFIED)
    inquiry = inquiry_move(actor=actor, inquiry=inquiry, stage=InquiryStage.WON)
    contract = inquiry_convert(
        actor=actor,
        inquiry=inquiry,
        edition=deal.edition,
        price=price if price is not None else deal.expected_value,
        currency=deal.currency,
    )
    organization = contract.organization
    changes: dict[str, Any] = {}
    if organization.partner_id is None:
        changes["partner_id"] = deal.partner_id
    if deal.taxpayer_id and not organization.taxpayer_id:
        changes["taxpayer_id"] = deal.taxpayer_id
    if changes:
        organization = organization_update(actor=actor, organization=organization, **changes)
    deal.status = DealStatus.WON
    deal.inquiry = Inquiry.objects.get(pk=inquiry.pk)
    deal.organization = organization
    deal.contract = contract
    deal.save()
    audit(
        actor=actor,
        action="deal.won",
        target=deal,
        data={"organization": organization.pk, "contract": contract.number},
    )
    return deal


# --- the partner's book ----------------------------------------------------------------------------------


@transaction.atomic
def contract_renewal_request(*, actor: Any, partner: Partner, contract: Contract, note: str = "") -> Inquiry:
    """A partner asks for a renewal quote for one of its customers' contracts: an inquiry for sales
    (channel partner, linked to the customer), who hear of it after commit."""
    if contract.partner_id != partner.pk and contract.organization.partner_id != partner.pk:
        raise ApplicationError(CustomerError.NOT_FOUND, _("No such contract."), status=404)
    organization = contract.organization
    message = _("Renewal quote requested by %(partner)s for contract %(contract)s (ends %(end)s).") % {
        "partner": partner.name,
        "contract": contract.number,
        "end": contract.end_date.isoformat(),
    }
    if note.strip():
        message += "\n\n" + note.strip()[:2000]
    user_email = getattr(actor, "email", "") or ""
    try:
        inquiry = inquiry_create(
            actor=actor,
            channel=InquiryChannel.PARTNER,
            notify=True,
            partner=partner,
            organization=organization,
            company_name=organization.name,
            contact_email=user_email,
            industry=organization.industry or "other",
            country=organization.country or "CN",
            message=message,
            owner=organization.account_owner,
        )
    except ValidationError as exc:
        raise ApplicationError(CustomerError.INVALID_INPUT, "; ".join(exc.messages)) from exc
    audit(actor=actor, action="contract.renewal_request", target=contract, data={"inquiry": inquiry.pk})
    return inquiry
