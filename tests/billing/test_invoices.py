"""Invoice lifecycle: drafts, issue (numbers, snapshots), immutability, void, credit notes, deletion."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from billing import services
from billing.models import ExchangeRate, Invoice, InvoiceLine, InvoiceStatus, PaymentStatus
from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from tests.billing.factories import chinese_organization, draft_invoice, issued_invoice, line

pytestmark = pytest.mark.django_db
D = Decimal


def test_issue_assigns_gapless_numbers_per_series_and_year():
    year = timezone.localdate().year
    first = issued_invoice()
    second = issued_invoice()
    assert first.number == f"INV-{year}-000001"
    assert second.number == f"INV-{year}-000002"
    credit = services.invoice_credit(actor=None, invoice=first, reason="wrong edition")
    assert credit.number == f"CN-{year}-000001"
    assert issued_invoice().number == f"INV-{year}-000003"


def test_draft_has_no_number_and_a_failed_issue_leaves_no_gap(settings):
    year = timezone.localdate().year
    draft = draft_invoice()
    assert draft.number is None and draft.status == InvoiceStatus.DRAFT
    with pytest.raises(RuntimeError), transaction.atomic():
        services.invoice_issue(actor=None, invoice=draft)
        raise RuntimeError("crash after numbering")
    draft.refresh_from_db()
    assert draft.number is None
    assert services.invoice_issue(actor=None, invoice=draft).number == f"INV-{year}-000001"


def test_issue_snapshots_buyer_seller_rate_and_due_date(settings):
    settings.BILLING_PAYMENT_TERMS_DAYS = 15
    org = chinese_organization()
    ExchangeRate.objects.create(
        currency="USD", rate_to_cny=D("7.123400"), valid_from=datetime.date(2020, 1, 1)
    )
    invoice = issued_invoice(org, currency="USD")
    assert invoice.rate_to_cny == D("7.123400")
    assert invoice.due_date == invoice.issue_date + datetime.timedelta(days=15)
    assert invoice.seller["name"] == settings.SELLER_NAME
    assert invoice.seller["taxpayer_id"] == settings.SELLER_TAXPAYER_ID
    assert invoice.buyer["taxpayer_id"] == org.taxpayer_id
    assert invoice.buyer["bank"] == "中国工商银行上海漕河泾支行"
    assert invoice.language == "zh-hans"
    org.name = "Renamed"
    org.taxpayer_id = ""
    org.save()
    invoice.refresh_from_db()
    assert invoice.buyer["legal_name"] == "上海智联物联网科技有限公司"
    assert AuditEvent.objects.filter(action="invoice.issue", target_id=str(invoice.pk)).exists()


def test_cny_rate_is_one_and_issue_needs_seller(settings):
    assert issued_invoice().rate_to_cny == D("1")
    settings.SELLER_TAXPAYER_ID = ""
    with pytest.raises(ApplicationError) as exc:
        services.invoice_issue(actor=None, invoice=draft_invoice())
    assert exc.value.code == "seller_not_configured"


def test_usd_without_rate_is_refused(settings):
    settings.BILLING_DEFAULT_RATES_TO_CNY = {}
    with pytest.raises(ApplicationError) as exc:
        services.invoice_issue(actor=None, invoice=draft_invoice(currency="USD"))
    assert exc.value.code == "exchange_rate_missing"


def test_empty_or_zero_invoice_cannot_be_issued():
    with pytest.raises(ApplicationError) as exc:
        services.invoice_issue(actor=None, invoice=draft_invoice(lines=[line(unit_price="0")]))
    assert exc.value.code == "invoice_total_not_positive"


def test_issued_invoice_is_immutable_in_the_model_layer():
    invoice = issued_invoice()
    invoice.currency = "USD"
    with pytest.raises(ApplicationError) as exc:
        invoice.save()
    assert exc.value.code == "invoice_immutable"
    invoice = Invoice.objects.get(pk=invoice.pk)
    invoice.buyer = {"name": "someone else"}
    with pytest.raises(ApplicationError):
        invoice.save()
    line_row = InvoiceLine.objects.get(invoice=invoice)
    line_row.unit_price = D("1")
    with pytest.raises(ApplicationError):
        line_row.save()
    with pytest.raises(ApplicationError):
        line_row.delete()
    with pytest.raises(ApplicationError):
        InvoiceLine.objects.filter(invoice=invoice).update(unit_price=D("1"))
    with pytest.raises(ApplicationError):
        services.invoice_add_line(actor=None, invoice=invoice, line=line())
    # what may change after issue: the fapiao number, payment bookkeeping
    services.invoice_set_fapiao(actor=None, invoice=invoice, fapiao_number="12345678")
    invoice.refresh_from_db()
    assert invoice.fapiao_number == "12345678"


def test_only_drafts_can_be_deleted():
    draft = draft_invoice()
    services.invoice_delete(actor=None, invoice=draft)
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    invoice = issued_invoice()
    with pytest.raises(ApplicationError):
        services.invoice_delete(actor=None, invoice=invoice)
    with pytest.raises(ApplicationError):
        Invoice.objects.get(pk=invoice.pk).delete()
    with pytest.raises(ApplicationError):
        Invoice.objects.filter(pk=invoice.pk).delete()
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_transitions_follow_the_map():
    invoice = issued_invoice()
    with pytest.raises(ApplicationError) as exc:
        services.invoice_issue(actor=None, invoice=invoice)
    assert exc.value.code == "invoice_invalid_transition"
    voided = services.invoice_void(actor=None, invoice=invoice, reason="sent to the wrong customer")
    assert voided.status == InvoiceStatus.VOID and voided.number == invoice.number
    with pytest.raises(ApplicationError):
        services.invoice_void(actor=None, invoice=voided)
    with pytest.raises(ApplicationError):
        services.invoice_credit(actor=None, invoice=voided)
    with pytest.raises(ApplicationError):
        services.invoice_void(actor=None, invoice=draft_invoice())


def test_void_refused_once_paid():
    invoice = issued_invoice()
    services.payment_record(
        actor=None, method="bank_transfer", amount=D("100"), currency="CNY", allocations=[(invoice, D("100"))]
    )
    with pytest.raises(ApplicationError) as exc:
        services.invoice_void(actor=None, invoice=invoice)
    assert exc.value.code == "invoice_has_payments"


def test_full_credit_note_is_linked_and_negative():
    invoice = issued_invoice(
        lines=[line("license", "1", "1000", "0.13"), line("support", "2", "250", "0.06")]
    )
    credit = services.invoice_credit(actor=None, invoice=invoice, reason="contract cancelled")
    assert credit.credit_for_id == invoice.pk and credit.is_credit_note
    assert credit.gross_total == -invoice.gross_total
    assert [ln.credited_line_id for ln in credit.lines.all()] == [ln.pk for ln in invoice.lines.all()]
    assert credit.due_date is None and credit.reason == "contract cancelled"
    invoice.refresh_from_db()
    assert invoice.amount_credited == -invoice.gross_total
    assert invoice.open_balance == 0
    assert invoice.payment_status == PaymentStatus.CREDITED  # settled: no longer "unpaid"
    assert invoice not in Invoice.objects.open()
    with pytest.raises(ApplicationError) as exc:
        services.invoice_credit(actor=None, invoice=invoice)
    assert exc.value.code == "nothing_to_credit"


def test_partial_credit_by_quantity_and_limits():
    invoice = issued_invoice(lines=[line("devices", "10", "50", "0.06")])  # 500 + 30
    line_id = invoice.lines.get().pk
    credit = services.invoice_credit(actor=None, invoice=invoice, lines={line_id: D("4")})
    assert credit.gross_total == D("-212.00")
    with pytest.raises(ApplicationError) as exc:
        services.invoice_credit(actor=None, invoice=invoice, lines={line_id: D("7")})
    assert exc.value.code == "credit_exceeds_invoice"
    rest = services.invoice_credit(actor=None, invoice=invoice)
    assert rest.gross_total == D("-318.00")
    invoice.refresh_from_db()
    assert invoice.amount_credited == D("-530.00") and invoice.open_balance == 0
    assert invoice.payment_status == PaymentStatus.CREDITED


def test_credits_of_a_line_never_exceed_it_by_rounding():
    invoice = issued_invoice(lines=[line("tiny", "3", "0.005", "0.06")])  # net 0.02 (0.015 rounded up)
    line_id = invoice.lines.get().pk
    parts = [services.invoice_credit(actor=None, invoice=invoice, lines={line_id: D("1")}) for _ in range(2)]
    assert sum(p.net_total for p in parts) == -invoice.net_total  # -0.01 twice: the whole 0.02
    with pytest.raises(ApplicationError) as exc:
        services.invoice_credit(actor=None, invoice=invoice, lines={line_id: D("1")})
    assert exc.value.code == "nothing_to_credit"


def test_voiding_a_credit_note_restores_the_balance():
    invoice = issued_invoice()
    credit = services.invoice_credit(actor=None, invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.CREDITED
    services.invoice_void(actor=None, invoice=credit, reason="issued by mistake")
    invoice.refresh_from_db()
    assert invoice.amount_credited == 0 and invoice.open_balance == invoice.gross_total
    assert invoice.payment_status == PaymentStatus.UNPAID


def test_draft_lines_can_be_added_and_totals_follow():
    draft = draft_invoice()
    services.invoice_add_line(actor=None, invoice=draft, line=line("extra", "2", "10", "0.06"))
    draft.refresh_from_db()
    assert draft.gross_total == D("1130.00") + D("21.20")


def test_contract_must_belong_to_the_organization():
    from tests.factories import ContractFactory

    contract = ContractFactory()
    with pytest.raises(ApplicationError):
        draft_invoice(chinese_organization(), contract=contract)
