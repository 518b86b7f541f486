"""PDF invoices: seller and buyer with Chinese tax data, lines, tax summary, totals, bank, pay link."""

from decimal import Decimal

import pytest

from billing import services
from billing.pdf import render_invoice_html, render_invoice_pdf
from tests.billing.factories import (
    chinese_organization,
    draft_invoice,
    foreign_organization,
    issued_invoice,
    line,
)
from tests.billing.pdfutil import needs_pdftotext, pdf_text

pytestmark = [pytest.mark.django_db, needs_pdftotext]
D = Decimal


def test_chinese_invoice_pdf_has_tax_data_lines_and_totals(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    org = chinese_organization()
    invoice = issued_invoice(
        org,
        lines=[line("企业版年度订阅", "1", "150000", "0.13"), line("定制开发 12 小时", "12", "1500", "0.06")],
    )
    pdf = render_invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in [
        "账单",  # title in the organization's language: a bill, since it is not a VAT fapiao
        invoice.number,
        "上海智联物联网科技有限公司",
        org.taxpayer_id,
        "中国工商银行上海漕河泾支行",
        "增值税专用发票",  # fapiao type special
        settings.SELLER_NAME,
        settings.SELLER_TAXPAYER_ID,
        "企业版年度订阅",
        "定制开发 12 小时",
        "13%",
        "6%",
        "150,000.00",
        "19,500.00",  # tax at 13 %
        "1,080.00",  # tax at 6 %
        "188,580.00",  # gross total: 169,500.00 + 19,080.00
        "税率",
        settings.SELLER_ACCOUNT,
        f"/api/v1/billing/pay/{invoice.payment_token}",
    ]:
        assert expected in text, expected


def test_english_pdf_for_foreign_customer_in_usd(settings):
    settings.BILLING_DEFAULT_RATES_TO_CNY = {"USD": "7.10"}
    settings.STRIPE_SECRET_KEY = ""
    invoice = issued_invoice(
        foreign_organization(), currency="USD", lines=[line("Enterprise subscription", "1", "20000", "0")]
    )
    text = pdf_text(render_invoice_pdf(invoice))
    assert "Invoice" in text and "Acme Devices GmbH" in text and "Due date" in text
    assert "1 USD = 7.1 CNY" in text and "142,000.00" in text
    assert "/api/v1/billing/pay/" not in text  # no online payment without Stripe


def test_credit_note_and_draft_rendering():
    invoice = issued_invoice(chinese_organization())
    credit = services.invoice_credit(actor=None, invoice=invoice, reason="合同取消")
    text = pdf_text(render_invoice_pdf(credit))
    assert "贷项通知单" in text and invoice.number in text and "-1,130.00" in text and "合同取消" in text
    draft_text = pdf_text(render_invoice_pdf(draft_invoice()))
    assert "草稿" in draft_text


def test_no_remote_resources_and_cjk_font_stack():
    html = render_invoice_html(issued_invoice())
    assert "http://" not in html.split("<body>")[0] and "https://" not in html.split("<body>")[0]
    assert '"Noto Sans CJK SC"' in html
