"""Deal registration (issue 16 item 2), partner invitations (item 1), renewal requests (item 3), payouts
and the commission months (item 4), white label (item 5): the services, on the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billing import services as billing_services
from billing.selectors import partner_commission_months
from billing.services.commissions import payout_record
from contracts.entitlements import entitlement_of
from customers.models import (
    DealRegistration,
    DealStatus,
    Inquiry,
    InquiryChannel,
    InquiryStage,
    PartnerInvitation,
    PartnerMembership,
    PartnerRole,
)
from customers.partner_services import (
    contract_renewal_request,
    deal_approve,
    deal_mark_won,
    deal_register,
    deal_reject,
    partner_invitation_accept,
    partner_invitation_create,
    partner_invitation_mail_compose,
    partner_membership_remove,
)
from customers.selectors import brand_for_organization
from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from tests.billing.factories import line, uscc
from tests.factories import ContractFactory, OrganizationFactory, PartnerFactory, UserFactory, edition

pytestmark = pytest.mark.django_db
D = Decimal


def register(partner, **overrides):
    fields = {
        "company_name": "深圳市海潮物联科技有限公司",
        "taxpayer_id": uscc("91440300MA5F1A2B3"),
        "industry": "manufacturing",
        "contact_name": "王经理",
        "contact_email": "wang@haichao.example.cn",
        "expected_devices": 500,
        "expected_value": D("120000.00"),
        "currency": "CNY",
        "expected_close_date": timezone.localdate() + dt.timedelta(days=60),
    }
    fields.update(overrides)
    return deal_register(actor=None, partner=partner, edition=edition("enterprise"), **fields)


def test_register_records_conflicts_with_customers_and_other_partners():
    mine, other = PartnerFactory(), PartnerFactory()
    OrganizationFactory(name="Existing Co", taxpayer_id=uscc("91310000MA1K00001"))
    theirs = register(other, company_name="Contested Ltd", taxpayer_id="")
    deal = register(mine, company_name="contested ltd", taxpayer_id="")
    assert [c["kind"] for c in deal.conflicts] == ["deal"]
    assert deal.conflicts[0]["deal"] == theirs.pk and deal.conflicts[0]["partner"] == other.name
    by_tax_id = register(mine, company_name="Renamed", taxpayer_id=uscc("91310000MA1K00001"))
    assert [c["kind"] for c in by_tax_id.conflicts] == ["customer"]
    clean = register(mine, company_name="Nobody Else", taxpayer_id="")
    assert clean.conflicts == [] and clean.status == DealStatus.SUBMITTED
    assert AuditEvent.objects.filter(action="deal.register").count() == 4


def test_register_refuses_bad_input():
    partner = PartnerFactory()
    with pytest.raises(Exception) as excinfo:
        register(partner, taxpayer_id="913101150000000000")  # wrong check character
    assert "check character" in str(excinfo.value) or "social credit" in str(excinfo.value)
    with pytest.raises(Exception):
        register(partner, company_name="  ")
    assert DealRegistration.objects.count() == 0


def test_approve_protects_and_blocks_a_second_partner(settings):
    settings.PARTNER_DEAL_PROTECTION_DAYS = 30
    first, second = PartnerFactory(), PartnerFactory()
    deal = deal_approve(actor=None, deal=register(first))
    assert deal.status == DealStatus.APPROVED
    assert deal.protected_until == timezone.localdate() + dt.timedelta(days=30)
    assert deal.is_protected
    rival = register(second)
    assert rival.conflicts and rival.conflicts[0]["partner"] == first.name
    with pytest.raises(ApplicationError) as excinfo:
        deal_approve(actor=None, deal=rival)
    assert excinfo.value.code == "deal_protected_elsewhere" and excinfo.value.status == 409
    rejected = deal_reject(actor=None, deal=rival, reason="Partner 1 holds the claim")
    assert rejected.status == DealStatus.REJECTED and rejected.decision_reason
    with pytest.raises(ApplicationError) as excinfo:
        deal_approve(actor=None, deal=rejected)
    assert excinfo.value.code == "invalid_transition"


def test_reject_needs_a_reason():
    deal = register(PartnerFactory())
    with pytest.raises(ApplicationError) as excinfo:
        deal_reject(actor=None, deal=deal, reason=" ")
    assert excinfo.value.code == "reason_required"
    deal.refresh_from_db()
    assert deal.status == DealStatus.SUBMITTED


def test_won_deal_becomes_organization_and_contract_with_the_partner(staff_user):
    partner = PartnerFactory(kind="oem")
    deal = deal_approve(actor=staff_user, deal=register(partner))
    with pytest.raises(ApplicationError):
        deal_mark_won(actor=staff_user, deal=register(partner, company_name="Not approved", taxpayer_id=""))
    deal = deal_mark_won(actor=staff_user, deal=deal)
    assert deal.status == DealStatus.WON
    organization, contract = deal.organization, deal.contract
    assert organization.partner == partner and organization.taxpayer_id == deal.taxpayer_id
    assert contract.partner == partner and contract.organization == organization
    assert contract.edition.code == "enterprise" and contract.price == D("120000.00")
    inquiry = deal.inquiry
    assert inquiry.channel == InquiryChannel.PARTNER and inquiry.stage == InquiryStage.WON
    assert inquiry.contract == contract
    with pytest.raises(ApplicationError):
        deal_mark_won(actor=staff_user, deal=deal)  # once


def test_won_deal_for_another_partners_customer_is_refused():
    other = PartnerFactory()
    OrganizationFactory(name="Taken", taxpayer_id=uscc("91310000MA1K00002"), partner=other)
    deal = deal_approve(actor=None, deal=register(PartnerFactory(), taxpayer_id=uscc("91310000MA1K00002")))
    with pytest.raises(ApplicationError) as excinfo:
        deal_mark_won(actor=None, deal=deal)
    assert excinfo.value.code == "customer_of_other_partner"
    deal.refresh_from_db()
    assert deal.status == DealStatus.APPROVED and deal.contract is None


def test_partner_invitation_round_trip(settings):
    settings.SITE_URL = "https://portal.example"
    partner = PartnerFactory()
    invitation = partner_invitation_create(
        actor=None, partner=partner, email="Li@Partner.Example", role=PartnerRole.ADMIN
    )
    message = partner_invitation_mail_compose(invitation.pk)
    token = message.body.split("/partner/invitations/")[1].split("/")[0]
    user = UserFactory(email="Li@partner.example")
    stranger = UserFactory(email="someone@else.example")
    with pytest.raises(ApplicationError) as excinfo:
        partner_invitation_accept(user=stranger, token=token)
    assert excinfo.value.code == "invitation_email_mismatch"
    membership = partner_invitation_accept(user=user, token=token)
    assert membership.partner == partner and membership.role == PartnerRole.ADMIN
    with pytest.raises(ApplicationError) as excinfo:
        partner_invitation_accept(user=user, token=token)
    assert excinfo.value.code == "invitation_used"
    with pytest.raises(ApplicationError) as excinfo:
        partner_invitation_create(actor=None, partner=partner, email="li@partner.example")
    assert excinfo.value.code == "already_member"
    invitation.refresh_from_db()
    assert PartnerInvitation.objects.get(pk=invitation.pk).accepted_by == user


def test_the_last_partner_admin_stays():
    partner = PartnerFactory()
    admin_seat = PartnerMembership.objects.create(partner=partner, user=UserFactory(), role=PartnerRole.ADMIN)
    sales = PartnerMembership.objects.create(partner=partner, user=UserFactory(), role=PartnerRole.SALES)
    with pytest.raises(ApplicationError) as excinfo:
        partner_membership_remove(actor=None, membership=admin_seat)
    assert excinfo.value.code == "last_admin"
    partner_membership_remove(actor=None, membership=sales)
    assert list(PartnerMembership.objects.filter(partner=partner)) == [admin_seat]


def test_renewal_request_records_an_inquiry_for_sales_only_for_own_contracts(settings):
    partner, other = PartnerFactory(), PartnerFactory()
    contract = ContractFactory(organization=OrganizationFactory(partner=partner))
    user = UserFactory()
    inquiry = contract_renewal_request(
        actor=user, partner=partner, contract=contract, note="300 more devices"
    )
    assert inquiry.channel == InquiryChannel.PARTNER and inquiry.partner == partner
    assert inquiry.organization == contract.organization
    assert contract.number in inquiry.message and "300 more devices" in inquiry.message
    with pytest.raises(ApplicationError) as excinfo:
        contract_renewal_request(actor=user, partner=other, contract=contract)
    assert excinfo.value.status == 404
    assert Inquiry.objects.count() == 1


def test_commission_months_and_payout_status(staff_user):
    partner = PartnerFactory(kind="oem")
    from tests.billing.factories import chinese_organization, issued_invoice

    org = chinese_organization(partner=partner)
    invoice = issued_invoice(org, lines=[line("license", "1", "10000", "0.13")])
    billing_services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=D("11300"),
        currency="CNY",
        allocations=[(invoice, D("11300"))],
    )
    [month] = partner_commission_months(partner)
    assert (month.commission, month.paid, month.payout_status) == (D("3000.00"), D("0"), "open")
    first_day = timezone.localdate().replace(day=1)
    payout_record(
        actor=staff_user,
        partner=partner,
        month=first_day,
        amount=D("1000"),
        currency="CNY",
        paid_on=first_day,
    )
    assert partner_commission_months(partner)[0].payout_status == "partly_paid"
    payout_record(
        actor=staff_user,
        partner=partner,
        month=first_day,
        amount=D("2000"),
        currency="CNY",
        paid_on=first_day,
    )
    assert partner_commission_months(partner)[0].payout_status == "paid"
    assert partner_commission_months(PartnerFactory()) == []
    assert AuditEvent.objects.filter(action="partner.payout").count() == 2


def test_white_label_brand_and_license_name():
    oem = PartnerFactory(kind="oem", brand_name="Acme Cloud", support_email="help@acme.example")
    source = PartnerFactory(kind="source", brand_name="Not Shown")
    customer = OrganizationFactory(partner=oem, license_name="Acme Cloud / 海潮")
    assert brand_for_organization(customer).name == "Acme Cloud"
    assert brand_for_organization(customer).support_email == "help@acme.example"
    assert brand_for_organization(OrganizationFactory(partner=source)) is None
    assert brand_for_organization(OrganizationFactory()) is None
    assert entitlement_of(ContractFactory(organization=customer)).customer == "Acme Cloud / 海潮"
    plain = OrganizationFactory(name="Plain Co")
    assert entitlement_of(ContractFactory(organization=plain)).customer == "Plain Co"


def test_invoice_mail_of_an_oem_customer_carries_the_brand(settings):
    from billing.services.mail import send_invoice_email
    from tests.billing.factories import chinese_organization, issued_invoice

    oem = PartnerFactory(kind="oem", brand_name="Acme Cloud", support_email="help@acme.example")
    invoice = issued_invoice(chinese_organization(partner=oem))
    send_invoice_email(invoice, ["ap@customer.example"])
    [message] = mail.outbox
    assert message.subject.startswith("[Acme Cloud] ")
    assert message.reply_to == ["help@acme.example"]
    assert "Acme Cloud" in message.body and "help@acme.example" in message.body


def test_sales_hear_of_a_registration_and_its_conflicts(settings, django_capture_on_commit_callbacks):
    settings.SALES_NOTIFICATION_EMAILS = ["sales@vendor.example"]
    OrganizationFactory(name="Existing Co")
    with django_capture_on_commit_callbacks(execute=True):
        deal = register(PartnerFactory(name="Channel One"), company_name="Existing Co", taxpayer_id="")
    [message] = [m for m in mail.outbox if "sales@vendor.example" in m.to]
    assert "Channel One" in message.subject and "Existing Co" in message.body
    assert f"/admin/customers/dealregistration/{deal.pk}/change/" in message.body


def test_an_oem_customers_invitation_mail_carries_the_brand(settings):
    from customers.invitations import invitation_create, invitation_mail_compose

    oem = PartnerFactory(kind="oem", brand_name="Acme Cloud", support_email="help@acme.example")
    invitation = invitation_create(
        actor=None, organization=OrganizationFactory(partner=oem), email="a@b.example"
    )
    message = invitation_mail_compose(invitation.pk)
    assert message.subject.startswith("[Acme Cloud] ") and "Acme Cloud" in message.body
    assert "help@acme.example" in message.body and "IoT Platform" not in message.body
    plain = invitation_create(actor=None, organization=OrganizationFactory(country="US"), email="c@d.example")
    assert "IoT Platform" in invitation_mail_compose(plain.pk).body  # an English-speaking customer
    chinese = invitation_create(
        actor=None, organization=OrganizationFactory(country="CN"), email="e@f.example", role="technical"
    )
    body = invitation_mail_compose(chinese.pk).body
    assert "物联网平台" in body and "技术" in body and "technical" not in body  # the role by its label
