"""Bank statement import: presets (招商银行 GBK CSV, 工商银行 XLSX) and a generic mapping, matching a
200-row statement, proposals confirmed in admin, idempotent re-import and overlapping statements."""

import io
from collections import Counter
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook

from billing.models import (
    BankStatementImport,
    BankStatementLine,
    Invoice,
    Payment,
    PaymentStatus,
    StatementLineStatus,
)
from billing.services import statements
from billing.statements import generic_layout, read_statement
from portal.core.errors import ApplicationError
from tests.billing.factories import chinese_organization, issued_invoice, line
from tests.billing.statement_fixture import build, cmb_csv

pytestmark = pytest.mark.django_db
D = Decimal


def test_two_hundred_rows_matched_proposed_unmatched():
    rows, _extra = build()
    assert len(rows) == 200
    statement, created = statements.bank_statement_import(
        actor=None, file_name="cmb-202603.csv", content=cmb_csv(rows), layout="cmb"
    )
    assert created
    lines = {line.row_number: line for line in statement.lines.all()}
    assert len(lines) == 200
    got = Counter(line.status for line in lines.values())
    figures = {"matched": 90, "proposed": 60, "unmatched": 30, "outgoing": 20}
    assert got == figures, got
    assert (statement.matched, statement.proposed, statement.unmatched, statement.credits) == (
        90,
        60,
        30,
        180,
    )
    for offset, row in enumerate(rows):
        line = lines[offset + 6]  # five preamble/header rows above the first transaction
        assert line.status == row.expect, (row, line.reason)
        assert line.amount == row.amount and line.payer_name == row.payer.strip()
        if row.expect == "matched":
            for invoice in row.invoices:
                invoice.refresh_from_db()
                assert invoice.payment_status in (PaymentStatus.PAID, PaymentStatus.PARTIAL)
        if row.expect == "proposed" and row.memo != "预付款":
            assert [p["invoice"] for p in line.proposal] == [i.pk for i in row.invoices]
    assert Payment.objects.count() == 90  # proposals and unmatched rows record nothing yet
    paid = Invoice.objects.filter(payment_status=PaymentStatus.PAID).count()
    partial = Invoice.objects.filter(payment_status=PaymentStatus.PARTIAL).count()
    assert (paid, partial) == (60 + 30, 15)


def test_same_file_twice_and_an_overlapping_statement_add_nothing_twice():
    rows, _extra = build(count_customers=10)
    first_half = rows[:120]
    first, _ = statements.bank_statement_import(
        actor=None, file_name="a.csv", content=cmb_csv(first_half), layout="cmb"
    )
    payments_before = Payment.objects.count()
    again, created = statements.bank_statement_import(
        actor=None, file_name="a.csv", content=cmb_csv(first_half), layout="cmb"
    )
    assert not created and again.pk == first.pk
    assert Payment.objects.count() == payments_before and BankStatementLine.objects.count() == 120
    # The month's full statement, saved as UTF-8 with BOM this time: only the 80 new rows are added.
    full, created = statements.bank_statement_import(
        actor=None, file_name="b.csv", content=cmb_csv(rows, encoding="utf-8-sig"), layout="cmb"
    )
    assert created and full.known_rows == 120 and full.new_rows == 80
    assert BankStatementLine.objects.count() == 200
    assert Counter(BankStatementLine.objects.values_list("status", flat=True)) == Counter(
        r.expect for r in rows
    )


def test_proposals_confirmed_in_admin_allocate_and_unmatched_rows_can_be_recorded(admin_client):
    org = chinese_organization()
    invoice = issued_invoice(org, lines=[line("订阅", "1", "10000", "0.06")])  # 10,600.00
    other = issued_invoice(org, lines=[line("订阅", "1", "2000", "0.06")])  # 2,120.00
    from tests.billing.statement_fixture import Row

    when = __import__("datetime").datetime(2026, 3, 5, 10, 0)
    rows = [
        Row(when, D("10600.00"), org.name, "62258800", "货款", "S1", "proposed"),
        Row(when, D("1000.00"), org.name, "62258800", "", "S2", "proposed"),
        Row(when, D("88.00"), "不认识的公司", "1", "", "S3", "unmatched"),
        Row(when, D("99.00"), "利息", "", "结息", "S4", "unmatched"),
    ]
    statement, _ = statements.bank_statement_import(
        actor=None, file_name="m.csv", content=cmb_csv(rows), layout="cmb"
    )
    proposed = list(statement.lines.filter(status=StatementLineStatus.PROPOSED).order_by("row_number"))
    assert proposed[1].proposal == [{"invoice": other.pk, "number": other.number, "amount": "1000.00"}]
    url = reverse("admin:billing_bankstatementline_changelist")
    page = admin_client.get(url + "?status__exact=proposed")
    assert page.status_code == 200 and invoice.number in page.content.decode()
    admin_client.post(url, {"action": "confirm", "_selected_action": [p.pk for p in proposed]})
    invoice.refresh_from_db()
    other.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID
    assert other.payment_status == PaymentStatus.PARTIAL and other.open_balance == D("1120.00")
    unknown, interest = statement.lines.filter(status=StatementLineStatus.UNMATCHED).order_by("row_number")
    admin_client.post(url, {"action": "record", "_selected_action": [unknown.pk]})
    admin_client.post(url, {"action": "ignore", "_selected_action": [interest.pk]})
    unknown.refresh_from_db()
    interest.refresh_from_db()
    assert unknown.status == StatementLineStatus.RECORDED and unknown.payment.amount == D("88.00")
    assert interest.status == StatementLineStatus.IGNORED and interest.payment is None
    assert Payment.objects.count() == 3
    with pytest.raises(ApplicationError):
        statements.statement_line_confirm(actor=None, line=proposed[0])  # already confirmed


def test_upload_in_admin_with_the_icbc_xlsx_preset(admin_client):
    org = chinese_organization()
    invoice = issued_invoice(org, lines=[line("订阅", "1", "3000", "0.06")])  # 3,180.00
    book = Workbook()
    sheet = book.active
    sheet.append(["中国工商银行 账户历史明细"])
    sheet.append(["账号", "1001 2345"])
    sheet.append(
        [
            "交易时间",
            "凭证号",
            "对方单位",
            "对方账号",
            "对方开户行",
            "借方发生额",
            "贷方发生额",
            "余额",
            "摘要",
            "用途",
            "附言",
            "交易流水号",
        ]
    )
    sheet.append(
        [
            "2026-03-06 14:02:11",
            "0001",
            org.name,
            "1001",
            "工行",
            "",
            "3,180.00",
            "9,999.00",
            "汇入",
            "",
            f"付{invoice.number}",
            "ICBC0001",
        ]
    )
    sheet.append(
        [
            "2026-03-06 15:00:00",
            "0002",
            "供应商",
            "2002",
            "工行",
            "1,000.00",
            "",
            "8,999.00",
            "汇出",
            "",
            "",
            "ICBC0002",
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.name = "icbc.xlsx"
    buffer.seek(0)
    response = admin_client.post(
        reverse("admin:billing_bankstatementimport_add"),
        {"layout": "icbc", "currency": "CNY", "file": buffer},
        follow=True,
    )
    assert response.status_code == 200
    assert "errorlist" not in response.content.decode(), response.content.decode()[-3000:]
    statement = BankStatementImport.objects.get()
    assert (statement.matched, statement.unmatched, statement.rows) == (1, 0, 2)
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID
    assert Payment.objects.get().reference == "ICBC0001"


def test_generic_mapping_reads_any_columns():
    csv_text = 'Date,Amount,From,Note,Ref\n2026/03/07 09:15,"1,234.50",Acme Ltd,INV-2026-000001,R1\n2026/03/07,-20,Bank,fee,R2\n'
    layout = generic_layout(
        {"date": "Date", "amount": "Amount", "payer_name": "From", "memo": "Note", "reference": "Ref"}
    )
    rows, skipped = read_statement(("\ufeff" + csv_text).encode("utf-8"), "x.csv", layout)
    assert skipped == 0 and [r.amount for r in rows] == [D("1234.50"), D("-20.00")]
    assert rows[0].booked_at.hour == 9 and rows[0].memo == "INV-2026-000001"
    with pytest.raises(ApplicationError):
        generic_layout({"payer_name": "From"})
    with pytest.raises(ApplicationError) as exc:
        statements.bank_statement_import(actor=None, file_name="x.csv", content=b"a,b\n1,2\n", layout="cmb")
    assert exc.value.code == "statement_unreadable"
