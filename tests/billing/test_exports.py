"""Finance exports read back: CSV and XLSX parsed, ZIP of PDFs checked with pdftotext (incl. Chinese)."""

import csv
import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from billing import services
from billing.exports import csv_chunks, write_pdf_zip, write_xlsx
from billing.models import ExportJob, ExportStatus, Invoice
from billing.selectors import export_queryset
from tests.billing.factories import (
    chinese_organization,
    draft_invoice,
    foreign_organization,
    issued_invoice,
    line,
)
from tests.billing.pdfutil import needs_pdftotext, pdf_text
from tests.factories import ContractFactory, PartnerFactory, edition

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def documents(settings):
    settings.BILLING_DEFAULT_RATES_TO_CNY = {"USD": "7.10"}
    partner = PartnerFactory(kind="oem")
    cn = chinese_organization(partner=partner)
    contract = ContractFactory(organization=cn, edition=edition("standard"), partner=partner)
    first = issued_invoice(
        cn,
        contract=contract,
        lines=[line("标准版年度订阅", "1", "30000", "0.13"), line("支持服务", "2", "500", "0.06")],
    )
    second = issued_invoice(
        foreign_organization(), currency="USD", lines=[line("Support", "1", "1000", "0.06")]
    )
    credit = services.invoice_credit(actor=None, invoice=first, reason="折扣")
    draft_invoice(cn)  # drafts are not exported
    return {"first": first, "second": second, "credit": credit, "partner": partner}


def read_csv(qs):
    text = "".join(csv_chunks(qs))
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_one_row_per_document_with_chinese_names(documents):
    rows = read_csv(export_queryset(filters={}))
    assert [r["Number"] for r in rows] == [
        documents["first"].number,
        documents["second"].number,
        documents["credit"].number,
    ]
    first = rows[0]
    assert first["Customer"] == "上海智联物联网科技有限公司"
    assert first["Net"] == "31000.00" and first["Tax"] == "3960.00" and first["Total"] == "34960.00"
    assert first["Edition"] == "Standard" and first["Partner"] == documents["partner"].name
    assert first["Credited"] == "-34960.00" and first["Open balance"] == "0.00"
    assert rows[1]["Currency"] == "USD" and rows[1]["Total in CNY"] == "7526.00"
    assert (
        rows[2]["Document type"] == "credit note" and rows[2]["Credits invoice"] == documents["first"].number
    )


def test_filters_status_currency_edition_partner_and_dates(documents):
    def numbers(**filters):
        return [r["Number"] for r in read_csv(export_queryset(filters=filters))]

    assert numbers(currency="USD") == [documents["second"].number]
    assert numbers(edition="standard") == [documents["first"].number, documents["credit"].number]
    assert numbers(partner=documents["partner"].pk, kind="invoice") == [documents["first"].number]
    assert numbers(status="void") == []
    today = datetime.date.today()
    assert numbers(date_from=today + datetime.timedelta(days=1)) == []
    assert (
        len(numbers(date_from=today - datetime.timedelta(days=1), date_to=today + datetime.timedelta(days=1)))
        == 3
    )


def test_xlsx_has_a_document_sheet_and_a_line_sheet(documents):
    buffer = io.BytesIO()
    write_xlsx(export_queryset(filters={}), buffer)
    workbook = load_workbook(io.BytesIO(buffer.getvalue()), read_only=True)
    assert workbook.sheetnames == ["Invoices", "Lines"]
    invoices = list(workbook["Invoices"].values)
    assert invoices[0][0] == "Number" and len(invoices) == 4
    assert invoices[1][6] == "上海智联物联网科技有限公司" and D(str(invoices[1][14])) == D("34960")
    lines = list(workbook["Lines"].values)
    assert len(lines) == 1 + 2 + 1 + 2
    assert ("标准版年度订阅" in [row[2] for row in lines]) and lines[0][2] == "Description"


@needs_pdftotext
def test_zip_of_pdfs_via_an_export_job(documents, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_job_create(actor=None, format="zip", filters={"currency": "CNY"})
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.total == 2 and job.progress_percent == 100
    with job.file.open("rb") as fh, zipfile.ZipFile(fh) as archive:
        names = sorted(archive.namelist())
        assert names == sorted([f"{documents['first'].number}.pdf", f"{documents['credit'].number}.pdf"])
        text = pdf_text(archive.read(f"{documents['first'].number}.pdf"))
    assert (
        "上海智联物联网科技有限公司" in text
        and "标准版年度订阅" in text
        and documents["first"].number in text
    )


def test_pdf_zip_writer_reports_progress(documents):
    seen = []
    buffer = io.BytesIO()
    write_pdf_zip(Invoice.objects.filter(pk=documents["second"].pk), buffer, progress=seen.append)
    assert seen[-1] == 1


def test_csv_job_and_failure_is_recorded(documents, django_capture_on_commit_callbacks, monkeypatch):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.export_job_create(actor=None, format="csv", filters={"kind": "invoice"})
    job.refresh_from_db()
    with job.file.open("rb") as fh:
        rows = list(csv.DictReader(io.StringIO(fh.read().decode("utf-8-sig"))))
    assert [r["Number"] for r in rows] == [documents["first"].number, documents["second"].number]
    monkeypatch.setitem(__import__("billing.exports", fromlist=["WRITERS"]).WRITERS, "xlsx", lambda *a: 1 / 0)
    monkeypatch.setattr("billing.services.exports.WRITERS", {"xlsx": lambda *a: 1 / 0})
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.export_job_create(actor=None, format="xlsx", filters={})
    failed.refresh_from_db()
    assert failed.status == ExportStatus.FAILED and "ZeroDivisionError" in failed.error
    assert ExportJob.objects.count() == 2
