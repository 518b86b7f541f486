"""数电票: the batch-issuance workbook opened back with openpyxl, the result and PDFs imported back and
shown to the customer in the portal (and to nobody else)."""

import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from billing import services
from billing.fapiao import BASIC_HEADERS, BASIC_SHEET, DETAIL_HEADERS, DETAIL_SHEET
from billing.models import FapiaoDocument, Invoice, TaxCategory
from billing.services.fapiao import fapiao_export, fapiao_import
from customers.models import Role
from tests.billing.factories import chinese_organization, issued_invoice, line
from tests.portal.portal_helpers import member

pytestmark = pytest.mark.django_db
D = Decimal
FAPIAO = "26312000000012345678"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def paid(invoice):
    services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=invoice.gross_total,
        currency=invoice.currency,
        allocations=[(invoice, invoice.gross_total)],
    )
    invoice.refresh_from_db()
    return invoice


def result_workbook(rows):
    book = Workbook()
    sheet = book.active
    sheet.append(["批量开具结果"])
    sheet.append(["发票流水号", "开具状态", "发票号码", "开票日期"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_batch_workbook_has_buyer_lines_codes_rates_and_tax(settings):
    settings.BILLING_TAX_CLASSIFICATION_CODES = {"saas": "3040205000000000000"}
    org = chinese_organization()
    invoice = paid(
        issued_invoice(
            org,
            lines=[
                line(
                    "企业版年度许可",
                    "1",
                    "150000",
                    "0.13",
                    tax_category=TaxCategory.SOFTWARE_LICENSE,
                    unit="套",
                ),
                line("SaaS 设备费 2026-03", "120", "50", "0.06", tax_category=TaxCategory.SAAS, unit="台·月"),
                line(
                    "定制开发", "12", "1500", "0.06", tax_category=TaxCategory.CUSTOM_DEVELOPMENT, unit="小时"
                ),
            ],
        )
    )
    unpaid = issued_invoice(org)
    usd = paid(issued_invoice(chinese_organization(name="外币客户"), currency="USD"))
    export = fapiao_export(
        actor=None, invoices=Invoice.objects.filter(pk__in=[invoice.pk, unpaid.pk, usd.pk])
    )
    assert export.included == [invoice.number]
    assert export.skipped == {unpaid.number: "not paid", usd.number: "not in CNY"}

    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == [BASIC_SHEET, DETAIL_SHEET]
    basic = list(book[BASIC_SHEET].iter_rows(values_only=True))
    assert list(basic[0]) == BASIC_HEADERS and len(basic) == 2
    head = dict(zip(BASIC_HEADERS, basic[1], strict=True))
    assert head["发票流水号"] == invoice.number and head["发票类型"] == "增值税专用发票"
    assert (
        head["购买方名称"] == "上海智联物联网科技有限公司" and head["购买方纳税人识别号"] == org.taxpayer_id
    )
    assert head["购买方银行账号"] == "1001234567890123" and head["是否含税"] == "否"
    details = [
        dict(zip(DETAIL_HEADERS, r, strict=True))
        for r in list(book[DETAIL_SHEET].iter_rows(values_only=True))[1:]
    ]
    assert [d["商品和服务税收分类编码"] for d in details] == [
        "1060301020000000000",
        "3040205000000000000",  # finance's override
        "3040201010000000000",
    ]
    assert [d["项目名称"] for d in details] == ["企业版年度许可", "SaaS 设备费 2026-03", "定制开发"]
    assert [d["单位"] for d in details] == ["套", "台·月", "小时"]
    assert [(d["数量"], d["单价"], d["金额"], d["税率"], d["税额"]) for d in details] == [
        (1, 150000, 150000, 0.13, 19500),
        (120, 50, 6000, 0.06, 360),
        (12, 1500, 18000, 0.06, 1080),
    ]
    assert sum(D(str(d["金额"])) + D(str(d["税额"])) for d in details) == invoice.gross_total
    assert all(d["发票流水号"] == invoice.number for d in details)


def test_result_and_pdfs_imported_back_and_shown_in_the_portal(client):
    invoice = paid(issued_invoice())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"dzfp_{FAPIAO}_上海智联物联网科技有限公司_20260305101500.pdf", PDF)
    outcome = fapiao_import(
        actor=None,
        result=("result.xlsx", result_workbook([[invoice.number, "开具成功", FAPIAO, "2026-03-05"]])),
        files=[("fapiao.zip", archive.getvalue())],
    )
    assert outcome.recorded == [FAPIAO] and outcome.pdfs == 1 and not outcome.problems
    invoice.refresh_from_db()
    assert invoice.fapiao_number == FAPIAO and str(invoice.fapiao_issued_on) == "2026-03-05"
    document = FapiaoDocument.objects.get()
    again = fapiao_import(
        actor=None,
        result=("result.xlsx", result_workbook([[invoice.number, "开具成功", FAPIAO, "2026-03-05"]])),
    )
    assert again.already == [FAPIAO] and FapiaoDocument.objects.count() == 1

    client.force_login(member(invoice.organization, Role.BILLING))
    listing = client.get(reverse("portal:invoices")).content.decode()
    link = (
        reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk})
        + f"?document=fapiao&amp;fapiao={document.pk}"
    )
    assert link in listing
    download = client.get(link.replace("&amp;", "&"))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    pay_page = client.get(reverse("portal:invoice_pay", kwargs={"invoice_id": invoice.pk})).content.decode()
    assert FAPIAO in pay_page

    stranger = chinese_organization(name="别家公司")
    client.force_login(member(stranger, Role.OWNER))
    assert client.get(link.replace("&amp;", "&")).status_code == 404


def test_admin_export_action_and_import_page(admin_client):
    invoice = paid(issued_invoice())
    response = admin_client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "export_fapiao_batch", "_selected_action": [invoice.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book[BASIC_SHEET]["A2"].value == invoice.number
    upload = io.BytesIO(result_workbook([[invoice.number, "开具成功", FAPIAO, "2026-03-05"]]))
    upload.name = "result.xlsx"
    pdf = io.BytesIO(PDF)
    pdf.name = f"{FAPIAO}.pdf"
    done = admin_client.post(
        reverse("admin:billing_fapiaodocument_add"), {"result": upload, "files": [pdf]}, follow=True
    )
    assert done.status_code == 200
    assert "errorlist" not in done.content.decode(), done.content.decode()[-2500:]
    assert FapiaoDocument.objects.get().pdf
    invoice.refresh_from_db()
    assert invoice.fapiao_number == FAPIAO
