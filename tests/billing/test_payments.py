"""Bank transfers: partial payments, one transfer for several invoices, memo matching, append-only."""

from decimal import Decimal

import pytest

from billing import selectors, services
from billing.models import Payment, PaymentAllocation, PaymentStatus
from portal.core.errors import ApplicationError
from tests.billing.factories import chinese_organization, issued_invoice, line

pytestmark = pytest.mark.django_db
D = Decimal


def transfer(amount, memo="", currency="CNY", allocations=()):
    return services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=D(amount),
        currency=currency,
        payer_name="上海智联物联网科技有限公司",
        reference="CMB20260301-0001",
        memo=memo,
        allocations=allocations,
    )


def test_partial_payments_until_paid():
    invoice = issued_invoice(lines=[line("license", "1", "10000", "0.13")])  # 11,300.00
    transfer("5000", allocations=[(invoice, D("5000"))])
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PARTIAL
    assert invoice.amount_paid == D("5000.00") and invoice.open_balance == D("6300.00")
    with pytest.raises(ApplicationError) as exc:
        transfer("7000", allocations=[(invoice, D("7000"))])
    assert exc.value.code == "allocation_exceeds_balance"
    transfer("6300", allocations=[(invoice, D("6300"))])
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID and invoice.open_balance == 0


def test_one_transfer_pays_several_invoices_by_memo():
    org = chinese_organization()
    first = issued_invoice(org)  # 1,130.00
    second = issued_invoice(org)  # 1,130.00
    payment = transfer("2000", memo=f"货款 {first.number} {second.number.replace('-', '')}")
    done = services.payment_allocate_by_memo(actor=None, payment=payment)
    assert [(a.invoice_id, a.amount) for a in done] == [(first.pk, D("1130.00")), (second.pk, D("870.00"))]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.payment_status == PaymentStatus.PAID and second.payment_status == PaymentStatus.PARTIAL
    assert second.open_balance == D("260.00")
    assert not selectors.payments_to_reconcile().filter(pk=payment.pk).exists()


def test_reconciliation_lists_unallocated_money_with_suggestions():
    invoice = issued_invoice()
    payment = transfer("1130", memo=f"pay {invoice.number}")
    other = transfer("99", memo="no number here")
    rows = list(selectors.payments_to_reconcile())
    assert {p.pk: p.unallocated for p in rows} == {payment.pk: D("1130.00"), other.pk: D("99.00")}
    candidates = selectors.reconciliation_candidates(rows)
    assert candidates[payment.pk] == [invoice] and candidates[other.pk] == []
    services.payment_allocate(actor=None, payment=other, invoice=invoice, amount=D("99"))
    assert not selectors.payments_to_reconcile().filter(pk=other.pk).exists()


def test_allocation_rules():
    invoice = issued_invoice()
    usd = transfer("100", currency="USD")
    with pytest.raises(ApplicationError) as exc:
        services.payment_allocate(actor=None, payment=usd, invoice=invoice, amount=D("100"))
    assert exc.value.code == "currency_mismatch"
    small = transfer("50")
    with pytest.raises(ApplicationError) as exc:
        services.payment_allocate(actor=None, payment=small, invoice=invoice, amount=D("60"))
    assert exc.value.code == "payment_fully_allocated"


def test_payments_are_append_only():
    invoice = issued_invoice()
    payment = transfer("100", allocations=[(invoice, D("100"))])
    payment.amount = D("1")
    with pytest.raises(ApplicationError):
        payment.save()
    with pytest.raises(ApplicationError):
        payment.delete()
    with pytest.raises(ApplicationError):
        Payment.objects.filter(pk=payment.pk).update(amount=D("1"))
    with pytest.raises(ApplicationError):
        PaymentAllocation.objects.filter(payment=payment).delete()


def test_reversal_and_refund():
    invoice = issued_invoice()
    payment = transfer("1130", allocations=[(invoice, D("1130"))])
    services.payment_reverse(actor=None, payment=payment, note="booked on the wrong customer")
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.UNPAID and invoice.amount_paid == 0
    transfer("1130", allocations=[(invoice, D("1130"))])
    services.invoice_credit(actor=None, invoice=invoice, reason="cancelled")
    services.payment_refund(actor=None, invoice=invoice, amount=D("1130"), reference="refund-1")
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.REFUNDED and invoice.amount_paid == 0
    with pytest.raises(ApplicationError):
        services.payment_refund(actor=None, invoice=invoice, amount=D("1"))


def test_credit_note_reduces_what_is_owed():
    invoice = issued_invoice(lines=[line("devices", "10", "100", "0.06")])  # 1,060.00
    services.invoice_credit(actor=None, invoice=invoice, lines={invoice.lines.get().pk: D("5")})
    transfer("530", allocations=[(invoice, D("530"))])
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID and invoice.open_balance == 0
