"""Writes of organizations, contacts and memberships. Each runs in one transaction and is audited."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contracts import services as contract_services
from contracts.models import Contract, TrialConversion
from customers.errors import CustomerError
from customers.models import (
    CLOSED_STAGES,
    INQUIRY_TRANSITIONS,
    OFFER_EDITION,
    Contact,
    ContractRevenueShare,
    Industry,
    Inquiry,
    InquiryChannel,
    InquiryInterest,
    InquiryNote,
    InquiryNoteKind,
    InquiryStage,
    Membership,
    Offer,
    Organization,
    Role,
)
from customers.selectors import organizations_with_email
from editions.models import Edition
from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.i18n import recipient_language
from portal.core.services import audit, enqueue_on_commit

ORGANIZATION_FIELDS = (
    "name",
    "short_name",
    "industry",
    "size",
    "region",
    "country",
    "account_owner_id",
    "partner_id",
    "taxpayer_id",
    "invoice_title",
    "registered_address",
    "registered_phone",
    "bank_name",
    "bank_account",
    "fapiao_type",
    "billing_email",
)


@transaction.atomic
def organization_create(
    *, actor: Actor, name: str, industry: str, country: str, **fields: Any
) -> Organization:
    unknown = set(fields) - set(ORGANIZATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organization fields: {sorted(unknown)}")
    organization = Organization(name=name, industry=industry, country=country, **fields)
    organization.full_clean()
    organization.save()
    audit(actor=actor, action="organization.create", target=organization, data={"name": name})
    return organization


@transaction.atomic
def organization_update(*, actor: Actor, organization: Organization, **changes: Any) -> Organization:
    unknown = set(changes) - set(ORGANIZATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organization fields: {sorted(unknown)}")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = {field: getattr(organization, field) for field in changes}
    for field, value in changes.items():
        setattr(organization, field, value)
    organization.full_clean()
    organization.save()
    diff = {
        f: [_plain(before[f]), _plain(getattr(organization, f))]
        for f in changes
        if before[f] != getattr(organization, f)
    }
    if diff:
        audit(actor=actor, action="organization.update", target=organization, data={"changes": diff})
    return organization


@transaction.atomic
def membership_add(
    *, actor: Actor, organization: Organization, user: Any, role: str = Role.TECHNICAL
) -> Membership:
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    audit(actor=actor, action="membership.add", target=organization, data={"user": user.email, "role": role})
    return membership


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


# --- portal self-service: memberships and community sign-up ---------------------------------------------


def _owner_count(organization_id: int) -> int:
    return Membership.objects.filter(organization_id=organization_id, role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    """Give a member another role; the organization always keeps at least one owner."""
    if role not in Role.values:
        raise ApplicationError(CustomerError.INVALID_INPUT, _("Unknown role."))
    # Lock the organization's memberships so two owners demoting each other cannot both succeed.
    list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
    membership = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
    before = membership.role
    if before == role:
        return membership
    if before == Role.OWNER and _owner_count(membership.organization_id) <= 1:
        raise ApplicationError(
            CustomerError.LAST_OWNER,
            _("An organization needs at least one owner; make someone else owner first."),
            status=409,
        )
    membership.role = role
    membership.save(update_fields=["role"])
    audit(
        actor=actor,
        action="membership.change_role",
        target=membership.organization,
        data={"user": membership.user.email, "role": [before, role]},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    """Remove a member from the organization (never the last owner)."""
    list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
    membership = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
    if membership.role == Role.OWNER and _owner_count(membership.organization_id) <= 1:
        raise ApplicationError(
            CustomerError.LAST_OWNER,
            _("The last owner cannot be removed; make someone else owner first."),
            status=409,
        )
    organization = membership.organization
    email = membership.user.email
    membership.delete()
    audit(actor=actor, action="membership.remove", target=organization, data={"user": email})


def community_signup_message(organization_id: int, email: str) -> EmailMessage | None:
    """The mail that tells sales about a new community organization (None: nobody to tell)."""
    recipients = list(settings.SALES_NOTIFICATION_EMAILS)
    if not recipients:
        return None
    organization = Organization.objects.get(pk=organization_id)
    context = {
        "organization": organization,
        "email": email,
        "admin_url": settings.SITE_URL
        + reverse("admin:customers_organization_change", args=[organization_id]),
    }
    with translation.override(recipient_language()):  # sales staff: the site's language
        subject = render_to_string("portal/email/community_signup_subject.txt", context).strip()
        body = render_to_string("portal/email/community_signup_body.txt", context)
    return EmailMessage(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, recipients)


@transaction.atomic
def organization_create_community(*, user: Any, name: str = "") -> Organization:
    """Self sign-up without an invitation: a free community organization owned by the new user.
    Sales hears about it (mail to SALES_NOTIFICATION_EMAILS) after commit."""
    name = (name or "").strip()[:200] or user.email
    organization = Organization(name=name, industry="other", country="CN", is_community=True)
    organization.full_clean()
    organization.save()
    Membership.objects.create(organization=organization, user=user, role=Role.OWNER)
    audit(
        actor=user,
        action="organization.community_signup",
        target=organization,
        data={"email": user.email},
        via="portal",
    )
    inquiry_record_community_signup(organization=organization, user=user)
    enqueue_on_commit("customers.tasks.community_signup_notify", organization.pk, user.email)
    return organization


# Inquiries (CRM) -------------------------------------------------------------------------------------

INQUIRY_FIELDS = (
    "organization",
    "company_name",
    "contact_name",
    "contact_email",
    "contact_phone",
    "partner",
    "industry",
    "company_size",
    "country",
    "interests",
    "motives",
    "recommended_offer",
    "message",
    "owner",
    "signup_user",
    "source_ip",
)


@transaction.atomic
def inquiry_create(*, actor: Actor, channel: str, notify: bool = False, **fields: Any) -> Inquiry:
    """Record an inquiry at stage "new". With `notify`, sales hear of it once the transaction commits."""
    unknown = set(fields) - set(INQUIRY_FIELDS)
    if unknown:
        raise TypeError(f"unknown inquiry fields: {sorted(unknown)}")
    inquiry = Inquiry(channel=channel, stage=InquiryStage.NEW, **fields)
    inquiry.full_clean()
    inquiry.save()
    audit(
        actor=actor,
        action="inquiry.create",
        target=inquiry,
        data={"channel": channel, "interests": inquiry.interests},
        via="" if getattr(actor, "is_authenticated", False) else "web",
    )
    if notify:
        enqueue_on_commit("customers.tasks.inquiry_notify_sales", inquiry.pk)
    return inquiry


def inquiry_submit_web_form(*, source_ip: str | None, **fields: Any) -> Inquiry:
    """The public inquiry form: links the inquiry to the customer when exactly one organization knows the
    email address, and tells sales after commit."""
    email = (fields.get("contact_email") or "").strip()
    if email and "organization" not in fields:
        matches = organizations_with_email(email)
        if len(matches) == 1:
            fields["organization"] = matches[0]
            if matches[0].account_owner_id and "owner" not in fields:
                fields["owner"] = matches[0].account_owner
    return inquiry_create(
        actor=None, channel=InquiryChannel.WEB_FORM, notify=True, source_ip=source_ip, **fields
    )


@transaction.atomic
def inquiry_record_community_signup(*, organization: Organization, user: Any) -> Inquiry:
    """Called by the portal's self sign-up: the community organization appears in the sales pipeline.
    Idempotent per organization."""
    existing = Inquiry.objects.filter(
        organization=organization, channel=InquiryChannel.COMMUNITY_SIGNUP
    ).first()
    if existing is not None:
        return existing
    full_name = (user.get_full_name() if hasattr(user, "get_full_name") else "") or ""
    return inquiry_create(
        actor=user,
        channel=InquiryChannel.COMMUNITY_SIGNUP,
        organization=organization,
        company_name=organization.name,
        contact_name=full_name.strip()[:100],
        contact_email=getattr(user, "email", "") or "",
        industry=organization.industry or Industry.OTHER,
        company_size=organization.size,
        country=organization.country or "CN",
        recommended_offer=Offer.COMMUNITY,
        signup_user=user,
    )


@transaction.atomic
def inquiry_add_note(
    *, actor: Actor, inquiry: Inquiry, body: str, kind: str = InquiryNoteKind.NOTE
) -> InquiryNote:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the note first.")})
    note = InquiryNote(
        inquiry=inquiry,
        kind=kind,
        author=actor_user(actor),
        body=body[:4000],
    )
    note.full_clean()
    note.save()
    if kind == InquiryNoteKind.NOTE:
        audit(actor=actor, action="inquiry.note", target=inquiry, data={"note": note.pk})
    return note


def inquiry_check_transition(current: str, target: str) -> None:
    """Raise unless the pipeline map allows current → target."""
    if target not in INQUIRY_TRANSITIONS[InquiryStage(current)]:
        raise ApplicationError(
            CustomerError.INVALID_TRANSITION,
            _("An inquiry cannot move from %(current)s to %(target)s.")
            % {"current": InquiryStage(current).label, "target": InquiryStage(target).label},
            status=409,
        )


@transaction.atomic
def inquiry_move(
    *, actor: Actor, inquiry: Inquiry, stage: str, lost_reason: str = "", note: str = ""
) -> Inquiry:
    """Move an inquiry along the pipeline (INQUIRY_TRANSITIONS); losing one needs a reason."""
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    previous = inquiry.stage
    if stage == previous:
        return inquiry
    inquiry_check_transition(previous, stage)
    now = timezone.now()
    inquiry.stage = stage
    inquiry.lost_reason = lost_reason if stage == InquiryStage.LOST else ""
    inquiry.stage_changed_at = now
    inquiry.closed_at = now if stage in CLOSED_STAGES else None
    inquiry.full_clean()
    inquiry.save()
    body = f"{InquiryStage(previous).label} → {InquiryStage(stage).label}"
    if inquiry.lost_reason:
        body += f" ({inquiry.get_lost_reason_display()})"
    if note.strip():
        body += f": {note.strip()}"
    inquiry_add_note(actor=actor, inquiry=inquiry, body=body, kind=InquiryNoteKind.STAGE)
    audit(
        actor=actor,
        action="inquiry.stage",
        target=inquiry,
        data={"from": previous, "to": stage, "lost_reason": inquiry.lost_reason},
    )
    return inquiry


@transaction.atomic
def inquiry_convert(
    *,
    actor: Actor,
    inquiry: Inquiry,
    edition: Any = None,
    start_date: date | None = None,
    end_date: date | None = None,
    price: Decimal | None = None,
    currency: str = "CNY",
) -> Contract:
    """Turn a won inquiry into a customer: the organization (created from the prospect's details, or the
    existing one) and a draft contract for the recommended offer's edition, in one transaction.
    Idempotent: a converted inquiry returns its contract."""
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    if inquiry.contract is not None:
        return inquiry.contract
    if inquiry.stage != InquiryStage.WON:
        raise ApplicationError(
            CustomerError.INQUIRY_NOT_WON,
            _("Only won inquiries can be converted into a customer and contract."),
            status=409,
        )
    if edition is None:
        code = OFFER_EDITION.get(inquiry.recommended_offer)
        if code is None:
            raise ApplicationError(
                CustomerError.INQUIRY_NO_EDITION,
                _("Recommend Standard, Enterprise, Source license or SaaS before converting the inquiry."),
                status=409,
            )
        edition = Edition.objects.get(code=code)
    organization = inquiry.organization
    created = organization is None
    if organization is None:
        organization = organization_create(
            actor=actor,
            name=inquiry.company_name.strip(),
            industry=inquiry.industry,
            country=inquiry.country or "CN",
            size=inquiry.company_size,
            account_owner_id=inquiry.owner_id,
            partner_id=inquiry.partner_id,
        )
        if inquiry.contact_name or inquiry.contact_email or inquiry.contact_phone:
            contact = Contact(
                organization=organization,
                name=(inquiry.contact_name or inquiry.contact_email or inquiry.contact_phone)[:100],
                email=inquiry.contact_email,
                phone=inquiry.contact_phone,
                is_primary=True,
            )
            contact.full_clean()
            contact.save()
    start = start_date or timezone.localdate()
    end = end_date or _one_year_later(start)
    contract = contract_services.contract_create(
        actor=actor,
        organization=organization,
        edition=edition,
        start_date=start,
        end_date=end,
        price=price,
        currency=currency,
        partner=inquiry.partner,
        notes=_("From inquiry #%(id)s.") % {"id": inquiry.pk},
    )
    inquiry.organization = organization
    inquiry.contract = contract
    inquiry.converted_at = timezone.now()
    inquiry.save(update_fields=["organization", "contract", "converted_at", "updated_at"])
    inquiry_add_note(
        actor=actor,
        inquiry=inquiry,
        kind=InquiryNoteKind.SYSTEM,
        body=_("Converted: %(organization)s, draft contract %(contract)s.")
        % {"organization": organization.name, "contract": contract.number},
    )
    audit(
        actor=actor,
        action="inquiry.convert",
        target=inquiry,
        data={
            "organization": organization.pk,
            "organization_created": created,
            "contract": contract.number,
            "edition": edition.code,
        },
    )
    return contract


def _one_year_later(start: date) -> date:
    """The last day of a one-year term starting on `start` (2026-03-01 → 2027-02-28)."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = start.replace(year=start.year + 1, day=28) + timedelta(days=1)
    return anniversary - timedelta(days=1)


# Partner revenue share per contract -------------------------------------------------------------------


@transaction.atomic
def contract_revenue_share_set(
    *, actor: Actor, contract: Contract, percent: Decimal | None, reason: str = ""
) -> ContractRevenueShare | None:
    """Agree a revenue share for one contract (None: back to the partner's default)."""
    existing = ContractRevenueShare.objects.select_for_update().filter(contract=contract).first()
    before = str(existing.percent) if existing else None
    if percent is None:
        if existing is not None:
            existing.delete()
            audit(
                actor=actor,
                action="contract.revenue_share",
                target=contract,
                data={"from": before, "to": None},
            )
        return None
    share = existing or ContractRevenueShare(contract=contract)
    share.percent = Decimal(percent)
    share.reason = reason[:300]
    share.set_by = actor_user(actor)
    share.full_clean()
    share.save()
    audit(
        actor=actor,
        action="contract.revenue_share",
        target=contract,
        data={"from": before, "to": str(share.percent), "reason": share.reason},
    )
    return share


@transaction.atomic
def inquiry_from_portal(*, actor: Any, organization: Organization, offer: str, message: str) -> Inquiry:
    """A signed-in customer asks sales for an offer from the portal (a quote after a trial, an upgrade):
    an inquiry for the organization, owned by its account owner; sales hear of it after commit."""
    inquiry = inquiry_create(
        actor=actor,
        channel=InquiryChannel.WEB_FORM,
        notify=True,
        organization=organization,
        company_name=organization.name,
        contact_name=((actor.get_full_name() if hasattr(actor, "get_full_name") else "") or "").strip()[:100],
        contact_email=getattr(actor, "email", "") or "",
        industry=organization.industry or Industry.OTHER,
        company_size=organization.size,
        country=organization.country or "CN",
        interests=[InquiryInterest.PRIVATE_DEPLOYMENT, InquiryInterest.PRICE],
        recommended_offer=offer if offer in Offer.values else "",
        message=message[:4000],
        owner=organization.account_owner,
    )
    return inquiry


@transaction.atomic
def trial_request_quote(*, actor: Any, trial: Any, message: str = "") -> Inquiry:
    """One click from a trial of a sales-led edition (enterprise) to sales: an inquiry for that edition
    naming the trial; the trial counts as converted into a quote request."""
    inquiry = inquiry_from_portal(
        actor=actor,
        organization=trial.organization,
        offer=trial.edition.code,
        message=message or f"Trial {trial.contract.number}: quote requested",
    )
    contract_services.trial_mark_converted(actor=actor, trial=trial, conversion=TrialConversion.QUOTE_REQUEST)
    return inquiry
