"""Partner revenue share: immutable rows per paid line, net of tax; negative on credit notes."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from billing import services
from billing.models import PartnerCommission
from portal.core.errors import ApplicationError
from tests.billing.factories import chinese_organization, issued_invoice, line
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db
D = Decimal


def total(invoice):
    return PartnerCommission.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"] or D("0")


def pay(invoice, amount):
    services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=D(amount),
        currency=invoice.currency,
        allocations=[(invoice, D(amount))],
    )
    invoice.refresh_from_db()


@pytest.fixture
def oem_invoice():
    partner = PartnerFactory(kind="oem")  # 30 %
    org = chinese_organization(partner=partner)
    return issued_invoice(
        org, lines=[line("license", "1", "10000", "0.13"), line("support", "1", "1000", "0.06")]
    )


def test_rows_per_line_on_full_payment_net_of_tax(oem_invoice):
    assert PartnerCommission.objects.count() == 0  # nothing until paid
    pay(oem_invoice, "12360")  # 11,300 + 1,060
    rows = list(PartnerCommission.objects.order_by("line__position"))
    assert [(r.base_amount, r.amount, r.rate_percent) for r in rows] == [
        (D("10000.00"), D("3000.00"), D("30.00")),
        (D("1000.00"), D("300.00"), D("30.00")),
    ]
    assert all(r.allocation_id for r in rows)
    with pytest.raises(ApplicationError):
        rows[0].delete()


def test_partial_payments_add_up_exactly(oem_invoice):
    pay(oem_invoice, "1000")
    pay(oem_invoice, "3333.33")
    pay(oem_invoice, "8026.67")
    assert total(oem_invoice) == D("3300.00")
    bases = (
        PartnerCommission.objects.values("line").annotate(b=Sum("base_amount")).values_list("b", flat=True)
    )
    assert sorted(bases) == [D("1000.00"), D("10000.00")]


def test_credit_note_after_payment_writes_negative_rows(oem_invoice):
    pay(oem_invoice, "12360")
    credit = services.invoice_credit(
        actor=None, invoice=oem_invoice, lines={oem_invoice.lines.order_by("position").last().pk: D("1")}
    )
    negatives = PartnerCommission.objects.filter(credit_note=credit)
    assert [(r.base_amount, r.amount) for r in negatives] == [(D("-1000.00"), D("-300.00"))]
    assert total(oem_invoice) == D("3000.00")


def test_credit_note_on_unpaid_invoice_owes_nothing(oem_invoice):
    services.invoice_credit(actor=None, invoice=oem_invoice)
    assert PartnerCommission.objects.count() == 0


def test_no_partner_or_zero_share_writes_nothing():
    invoice = issued_invoice(chinese_organization(partner=PartnerFactory(kind="joint")))
    pay(invoice, "1130")
    assert PartnerCommission.objects.count() == 0


def test_statement_totals_per_currency(oem_invoice):
    pay(oem_invoice, "12360")
    assert services.commission_totals(partner=oem_invoice.partner) == {"CNY": D("3300.00")}


def test_the_share_agreed_for_the_contract_applies():
    from customers.services import contract_revenue_share_set
    from tests.factories import ContractFactory

    partner = PartnerFactory(kind="oem")  # 30 % by default
    org = chinese_organization(partner=partner)
    agreed = ContractFactory(organization=org, partner=partner)
    contract_revenue_share_set(actor=None, contract=agreed, percent=D("12.50"), reason="framework deal")
    invoice = issued_invoice(org, contract=agreed, lines=[line("license", "1", "10000", "0.13")])
    pay(invoice, "11300")
    (row,) = PartnerCommission.objects.filter(invoice=invoice)
    assert (row.base_amount, row.rate_percent, row.amount) == (D("10000.00"), D("12.50"), D("1250.00"))

    zero = ContractFactory(organization=org, partner=partner)
    contract_revenue_share_set(actor=None, contract=zero, percent=D("0"), reason="joint development")
    unpaid_share = issued_invoice(org, contract=zero, lines=[line("license", "1", "10000", "0.13")])
    pay(unpaid_share, "11300")
    assert not PartnerCommission.objects.filter(invoice=unpaid_share).exists()

    default = issued_invoice(org, contract=ContractFactory(organization=org, partner=partner))
    pay(default, str(default.amount_due))
    assert {r.rate_percent for r in PartnerCommission.objects.filter(invoice=default)} == {D("30.00")}
