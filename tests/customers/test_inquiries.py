"""Inquiries: the pipeline map, lost reasons, append-only notes, conversion into a customer and a draft
contract, community sign-ups."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from contracts.models import Contract, ContractStatus
from customers import services
from customers.models import (
    INQUIRY_TRANSITIONS,
    Contact,
    Inquiry,
    InquiryChannel,
    InquiryNote,
    InquiryNoteKind,
    InquiryStage,
    Offer,
    Organization,
)
from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from tests.customers.factories import InquiryFactory
from tests.factories import OrganizationFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(db):
    return UserFactory(username="sales-li", is_staff=True, email="li@vendor.example")


def test_the_pipeline_is_a_map_every_stage_appears_in():
    assert set(INQUIRY_TRANSITIONS) == set(InquiryStage.values)
    for targets in INQUIRY_TRANSITIONS.values():
        assert targets <= set(InquiryStage.values)
    assert INQUIRY_TRANSITIONS[InquiryStage.WON] == set()


def test_moves_follow_the_map_and_leave_notes_and_audit(sales):
    inquiry = InquiryFactory()
    inquiry = services.inquiry_move(
        actor=sales, inquiry=inquiry, stage=InquiryStage.QUALIFIED, note="budget ok"
    )
    assert inquiry.stage == InquiryStage.QUALIFIED
    note = inquiry.notes.get()
    assert note.kind == InquiryNoteKind.STAGE and note.author == sales and "budget ok" in note.body
    assert AuditEvent.objects.filter(action="inquiry.stage", target_id=str(inquiry.pk)).count() == 1

    with pytest.raises(ApplicationError) as exc:
        services.inquiry_move(actor=sales, inquiry=inquiry, stage=InquiryStage.NEW)
    assert exc.value.code == "invalid_transition" and exc.value.status == 409


def test_lost_requires_a_reason(sales):
    inquiry = InquiryFactory()
    with pytest.raises(ValidationError) as exc:
        services.inquiry_move(actor=sales, inquiry=inquiry, stage=InquiryStage.LOST)
    assert "lost_reason" in exc.value.message_dict
    inquiry.refresh_from_db()
    assert inquiry.stage == InquiryStage.NEW

    lost = services.inquiry_move(actor=sales, inquiry=inquiry, stage=InquiryStage.LOST, lost_reason="price")
    assert lost.stage == InquiryStage.LOST and lost.closed_at is not None and lost.lost_reason == "price"

    reopened = services.inquiry_move(actor=sales, inquiry=lost, stage=InquiryStage.NEW)
    assert reopened.lost_reason == "" and reopened.closed_at is None


def test_the_database_refuses_a_lost_inquiry_without_reason():
    from django.db import IntegrityError, transaction

    inquiry = InquiryFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Inquiry.objects.filter(pk=inquiry.pk).update(stage="lost", lost_reason="")


def test_notes_are_append_only(sales):
    inquiry = InquiryFactory()
    note = services.inquiry_add_note(actor=sales, inquiry=inquiry, body="Called back, wants a demo")
    assert note.author == sales and note.created_at is not None
    note.body = "changed"
    with pytest.raises(ValidationError):
        note.save()
    with pytest.raises(ValidationError):
        note.delete()
    with pytest.raises(ValidationError):
        InquiryNote.objects.filter(pk=note.pk).update(body="x")
    with pytest.raises(ValidationError):
        services.inquiry_add_note(actor=sales, inquiry=inquiry, body="   ")


def test_inquiry_needs_a_company_and_a_way_to_reach_them():
    with pytest.raises(ValidationError) as exc:
        services.inquiry_create(actor=None, channel=InquiryChannel.PHONE, industry="retail")
    assert {"company_name", "contact_email"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        services.inquiry_create(
            actor=None,
            channel=InquiryChannel.PARTNER,
            industry="retail",
            company_name="X",
            contact_phone="123",
        )
    assert "partner" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.inquiry_create(
            actor=None,
            channel=InquiryChannel.PHONE,
            industry="retail",
            company_name="X",
            contact_phone="123",
            interests=["source_code", "free_lunch"],
        )
    assert "interests" in exc.value.message_dict


def _won(sales, **fields):
    inquiry = InquiryFactory(**fields)
    for stage in (InquiryStage.QUALIFIED, InquiryStage.PROPOSAL, InquiryStage.WON):
        inquiry = services.inquiry_move(actor=sales, inquiry=inquiry, stage=stage)
    return inquiry


def test_converting_a_won_prospect_creates_the_organization_and_a_draft_contract(
    sales, django_capture_on_commit_callbacks
):
    partner = PartnerFactory(name="OEM Alpha", kind="oem")
    inquiry = _won(
        sales,
        company_name="华东零售集团有限公司",
        contact_name="王芳",
        contact_email="wang@retail.example",
        contact_phone="+86 21 5555 0000",
        industry="retail",
        company_size="large",
        recommended_offer=Offer.ENTERPRISE,
        owner=sales,
        partner=partner,
        channel=InquiryChannel.PARTNER,
    )
    contract = services.inquiry_convert(actor=sales, inquiry=inquiry, start_date=datetime.date(2026, 7, 1))

    assert contract.status == ContractStatus.DRAFT
    assert contract.edition.code == "enterprise"
    assert (contract.start_date, contract.end_date) == (datetime.date(2026, 7, 1), datetime.date(2027, 6, 30))
    assert contract.price > 0  # from the price list
    assert contract.partner == partner
    organization = contract.organization
    assert organization.name == "华东零售集团有限公司"
    assert (organization.industry, organization.size, organization.account_owner, organization.partner) == (
        "retail",
        "large",
        sales,
        partner,
    )
    contact = Contact.objects.get(organization=organization)
    assert (contact.name, contact.email, contact.is_primary) == ("王芳", "wang@retail.example", True)

    inquiry.refresh_from_db()
    assert inquiry.organization == organization and inquiry.contract == contract and inquiry.converted_at
    assert inquiry.notes.filter(kind=InquiryNoteKind.SYSTEM, body__contains=contract.number).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"inquiry.convert", "organization.create", "contract.create"} <= actions

    # Idempotent: converting again returns the same contract and creates nothing.
    again = services.inquiry_convert(actor=sales, inquiry=inquiry)
    assert again == contract
    assert Contract.objects.count() == 1 and Organization.objects.count() == 1


def test_converting_uses_the_existing_organization(sales):
    organization = OrganizationFactory(name="Existing Co.")
    inquiry = _won(sales, organization=organization, company_name="", recommended_offer=Offer.STANDARD)
    contract = services.inquiry_convert(actor=sales, inquiry=inquiry)
    assert contract.organization == organization and contract.edition.code == "standard"
    assert Organization.objects.count() == 1
    assert not Contact.objects.exists()


def test_only_won_inquiries_with_a_commercial_offer_convert(sales):
    inquiry = InquiryFactory(recommended_offer=Offer.STANDARD)
    with pytest.raises(ApplicationError) as exc:
        services.inquiry_convert(actor=sales, inquiry=inquiry)
    assert exc.value.code == "inquiry_not_won"

    community = _won(sales, recommended_offer=Offer.COMMUNITY)
    with pytest.raises(ApplicationError) as exc:
        services.inquiry_convert(actor=sales, inquiry=community)
    assert exc.value.code == "inquiry_no_edition"
    assert not Contract.objects.exists() and not Organization.objects.exists()


def test_conversion_is_all_or_nothing(sales, monkeypatch):
    inquiry = _won(sales, recommended_offer=Offer.STANDARD)

    def broken(**kwargs):
        raise ApplicationError("boom", "contract service failed")

    monkeypatch.setattr("contracts.services.contract_create", broken)
    with pytest.raises(ApplicationError):
        services.inquiry_convert(actor=sales, inquiry=inquiry)
    assert not Organization.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.organization is None and inquiry.contract is None


def test_community_signup_appears_as_an_inquiry_once():
    user = UserFactory(username="maker", email="maker@fab.example", first_name="Mei", last_name="Chen")
    organization = OrganizationFactory(name="Fab Lab", industry="manufacturing", is_community=True)
    inquiry = services.inquiry_record_community_signup(organization=organization, user=user)
    assert inquiry.channel == InquiryChannel.COMMUNITY_SIGNUP
    assert inquiry.organization == organization and inquiry.signup_user == user
    assert (inquiry.contact_email, inquiry.contact_name, inquiry.recommended_offer) == (
        "maker@fab.example",
        "Mei Chen",
        Offer.COMMUNITY,
    )
    assert inquiry.stage == InquiryStage.NEW
    assert services.inquiry_record_community_signup(organization=organization, user=user) == inquiry
    assert Inquiry.objects.count() == 1


def test_portal_self_signup_records_the_inquiry():
    """The portal's organization_create_community calls the service above (integration of the two)."""
    if not hasattr(services, "organization_create_community"):
        pytest.skip("portal self sign-up not present")
    user = UserFactory(username="newbie", email="newbie@startup.example")
    organization = services.organization_create_community(user=user, name="Startup")
    assert Inquiry.objects.get(organization=organization).channel == InquiryChannel.COMMUNITY_SIGNUP
