"""A 200-row bank statement (招商银行 layout, GBK CSV) against 40 customers' open invoices, each row built
with the outcome it should get: 90 matched by the invoice number in the memo (full, partial, several
invoices), 60 proposed (payer and amount, payer with a partial amount, amount only), 30 unmatched, 20
outgoing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tests.billing.factories import chinese_organization, issued_invoice, line, uscc

D = Decimal
CMB_HEADER = [
    "交易日",
    "交易时间",
    "起息日",
    "交易类型",
    "借方金额",
    "贷方金额",
    "余额",
    "摘要",
    "流水号",
    "收(付)方名称",
    "收(付)方帐号",
    "收(付)方开户行",
    "用途",
]


@dataclass
class Row:
    when: datetime
    amount: Decimal  # positive in, negative out
    payer: str
    account: str
    memo: str
    serial: str
    expect: str  # matched | proposed | unmatched | outgoing
    invoices: tuple = ()  # invoices the row should settle (matched) or propose (proposed)


def cmb_csv(rows: list[Row], *, encoding: str = "gbk") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["账号:", "1219 0000 0000 0000"])
    writer.writerow(["币种:", "人民币"])
    writer.writerow(["起始日期:", "20260301", "终止日期:", "20260331"])
    writer.writerow([])
    writer.writerow(CMB_HEADER)
    balance = D("500000.00")
    for row in rows:
        balance += row.amount
        writer.writerow(
            [
                row.when.strftime("%Y%m%d"),
                row.when.strftime("%H:%M:%S"),
                row.when.strftime("%Y%m%d"),
                "汇入汇款" if row.amount > 0 else "转账汇款",
                f"{-row.amount:.2f}" if row.amount < 0 else "",
                f"{row.amount:.2f}" if row.amount > 0 else "",
                f"{balance:.2f}",
                "货款" if row.amount > 0 else "付款",
                row.serial,
                row.payer,
                row.account,
                "招商银行上海分行",
                row.memo,
            ]
        )
    writer.writerow(["合计", "", "", "", "", "", "", "", "", "", "", "", ""])
    return out.getvalue().encode(encoding)


def build(count_customers: int = 40) -> tuple[list[Row], dict]:
    """Customers with open invoices (distinct amounts) and the 200 rows paying them."""
    orgs = [
        chinese_organization(
            name=f"上海测试{n:02d}物联网科技有限公司",
            invoice_title=f"上海测试{n:02d}物联网科技有限公司",
            taxpayer_id=uscc(f"9131011500000{n:04d}"),
        )
        for n in range(count_customers)
    ]
    serial = iter(range(100000, 200000))
    start = datetime(2026, 3, 2, 9, 0, 0)
    price = iter(D(1000) + D(13) * k for k in range(1, 1000))

    def invoice(org):
        return issued_invoice(org, lines=[line("物联网平台年度订阅", "1", str(next(price)), "0.06")])

    rows: list[Row] = []

    def add(amount, payer, memo, expect, invoices=(), account="6225880000000000"):
        rows.append(
            Row(
                when=start + timedelta(minutes=37 * len(rows)),
                amount=D(amount),
                payer=payer,
                account=account,
                memo=memo,
                serial=f"F{next(serial)}",
                expect=expect,
                invoices=tuple(invoices),
            )
        )

    # 60 matched in full by the number in the memo (half of them written without dashes)
    for k in range(60):
        org = orgs[k % count_customers]
        inv = invoice(org)
        number = inv.number if k % 2 else inv.number.replace("-", "")
        add(inv.gross_total, org.name, f"支付{number}货款", "matched", [inv])
    # 15 matched partially (half of the invoice)
    partial = []
    for k in range(15):
        org = orgs[k % count_customers]
        inv = invoice(org)
        partial.append(inv)
        add((inv.gross_total / 2).quantize(D("0.01")), org.name, f"{inv.number} 首付款", "matched", [inv])
    # 15 matched over two invoices each
    for k in range(15):
        org = orgs[(k + 7) % count_customers]
        first, second = invoice(org), invoice(org)
        add(
            first.gross_total + second.gross_total,
            org.name,
            f"{first.number},{second.number}",
            "matched",
            [first, second],
        )
    # 30 proposed: the payer is a customer and the amount is one of its open invoices
    for k in range(30):
        org = orgs[(k + 3) % count_customers]
        inv = invoice(org)
        payer = org.name if k % 3 else f" 上海测试{(k + 3) % count_customers:02d}物联网科技(有限公司) "
        add(inv.gross_total, payer, "货款", "proposed", [inv])
    # 15 proposed: a customer pays part of its invoice without naming it
    for k in range(15):
        org = orgs[(k + 11) % count_customers]
        inv = invoice(org)
        add(D("500.00") + k, org.name, "预付款", "proposed", [inv])
    # 15 proposed: unknown payer (paid on the customer's behalf), amount of exactly one open invoice
    for k in range(15):
        org = orgs[(k + 19) % count_customers]
        inv = invoice(org)
        add(inv.gross_total, f"代付商户{k}有限公司", "代付", "proposed", [inv], account="1100000000000")
    # 30 unmatched: unknown payers, amounts no invoice has
    for k in range(30):
        add(D("77.77") + k, f"个人客户{k}", "转账", "unmatched", account="6217000000000000")
    # 20 outgoing: fees and supplier payments
    for k in range(20):
        add(-(D("25.00") + k), "招商银行", "手续费", "outgoing", account="")
    return rows, {"orgs": orgs, "partial": partial}
