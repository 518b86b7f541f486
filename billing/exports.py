"""Finance exports of invoices and credit notes: CSV (streamed), XLSX (write-only), ZIP of PDFs.

Rows are read with values_list() and a server-side cursor in chunks, so memory stays flat whatever
the number of documents.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import pgettext

from billing.models import DocumentKind, Invoice, InvoiceLine, InvoiceStatus, PaymentStatus
from billing.money import ZERO, round_money
from billing.pdf import invoice_pdf_filename, render_invoice_pdf
from portal.core.display import code_label

CHUNK = 2000
Progress = Callable[[int], None] | None

_INVOICE_FIELDS = (
    "id",
    "number",
    "kind",
    "status",
    "payment_status",
    "issue_date",
    "due_date",
    "organization__name",
    "buyer",
    "organization__taxpayer_id",
    "contract__number",
    "edition__name_zh",
    "edition__name_en",
    "partner__name",
    "currency",
    "net_total",
    "tax_total",
    "gross_total",
    "rate_to_cny",
    "amount_paid",
    "amount_credited",
    "credit_for__number",
    "fapiao_number",
    "period_start",
    "period_end",
)


def invoice_headers() -> list[str]:
    return [
        pgettext("billing", "Number"),
        pgettext("billing", "Document type"),
        pgettext("billing", "Status"),
        pgettext("billing", "Payment status"),
        pgettext("billing", "Issue date"),
        pgettext("billing", "Due date"),
        pgettext("billing", "Customer"),
        pgettext("billing", "Taxpayer ID"),
        pgettext("billing", "Contract"),
        pgettext("billing", "Edition"),
        pgettext("billing", "Partner"),
        pgettext("billing", "Currency"),
        pgettext("billing", "Net"),
        pgettext("billing", "Tax"),
        pgettext("billing", "Total"),
        pgettext("billing", "Rate to CNY"),
        pgettext("billing", "Total in CNY"),
        pgettext("billing", "Paid"),
        pgettext("billing", "Credited"),
        pgettext("billing", "Open balance"),
        pgettext("billing", "Credits invoice"),
        pgettext("billing", "Fapiao number"),
        pgettext("billing", "Service period from"),
        pgettext("billing", "Service period to"),
    ]


def line_headers() -> list[str]:
    return [
        pgettext("billing", "Number"),
        pgettext("billing", "Position"),
        pgettext("billing", "Description"),
        pgettext("billing", "Quantity"),
        pgettext("billing", "Unit"),
        pgettext("billing", "Unit price"),
        pgettext("billing", "Tax category"),
        pgettext("billing", "Tax rate"),
        pgettext("billing", "Net"),
        pgettext("billing", "Tax"),
        pgettext("billing", "Amount"),
        pgettext("billing", "Period from"),
        pgettext("billing", "Period to"),
    ]


def _localized(name_zh: str | None, name_en: str | None) -> str:
    """A catalog name in the export's language (the other one when it is empty)."""
    chinese = (translation.get_language() or "zh-hans").startswith("zh")
    return (name_zh if chinese else name_en) or name_zh or name_en or ""


def iter_invoice_rows(qs: QuerySet[Invoice], progress: Progress = None) -> Iterator[list[Any]]:
    done = 0
    rows = qs.values_list(*_INVOICE_FIELDS).iterator(chunk_size=CHUNK)
    for (
        _pk,
        number,
        kind,
        status,
        payment_status,
        issue_date,
        due_date,
        org_name,
        buyer,
        org_taxpayer_id,
        contract,
        edition_zh,
        edition_en,
        partner,
        currency,
        net,
        tax,
        gross,
        rate,
        paid,
        credited,
        credit_for,
        fapiao,
        period_start,
        period_end,
    ) in rows:
        is_open = kind == DocumentKind.INVOICE and status == InvoiceStatus.ISSUED
        open_balance = max(ZERO, gross + credited - paid) if is_open else ZERO
        buyer = buyer or {}
        yield [
            number or "",
            code_label(kind, DocumentKind),
            code_label(status, InvoiceStatus),
            code_label(payment_status, PaymentStatus),
            issue_date,
            due_date,
            buyer.get("name") or org_name,
            buyer.get("taxpayer_id", org_taxpayer_id) or "",
            contract or "",
            _localized(edition_zh, edition_en),
            partner or "",
            currency,
            net,
            tax,
            gross,
            rate,
            round_money(gross * rate) if rate is not None else None,
            paid,
            credited,
            open_balance,
            credit_for or "",
            fapiao,
            period_start,
            period_end,
        ]
        done += 1
        if progress and done % CHUNK == 0:
            progress(done)
    if progress:
        progress(done)


def iter_line_rows(qs: QuerySet[Invoice]) -> Iterator[list[Any]]:
    lines = (
        InvoiceLine.objects.filter(invoice__in=qs.values("pk"))
        .order_by("invoice__issue_date", "invoice__issued_at", "invoice_id", "position", "id")
        .values_list(
            "invoice__number",
            "position",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "tax_category",
            "tax_rate",
            "net",
            "tax",
            "gross",
            "period_start",
            "period_end",
        )
        .iterator(chunk_size=CHUNK)
    )
    for row in lines:
        yield [row[0] or "", *row[1:]]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(qs: QuerySet[Invoice], progress: Progress = None, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV as text chunks (UTF-8 BOM first, so Excel shows Chinese names), for streaming."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(invoice_headers())
    buffer: list[str] = []
    for row in iter_invoice_rows(qs, progress):
        buffer.append(writer.writerow([_csv_value(v) for v in row]))
        if len(buffer) >= rows_per_chunk:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def write_csv(qs: QuerySet[Invoice], fileobj: IO[bytes], progress: Progress = None) -> None:
    for chunk in csv_chunks(qs, progress):
        fileobj.write(chunk.encode("utf-8"))


def write_xlsx(qs: QuerySet[Invoice], fileobj: IO[bytes], progress: Progress = None) -> None:
    """Two sheets: one row per document, and their lines. Write-only mode keeps memory flat."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    documents = workbook.create_sheet(pgettext("billing", "Invoices"))
    documents.append(invoice_headers())
    for row in iter_invoice_rows(qs, progress):
        documents.append(row)
    lines = workbook.create_sheet(pgettext("billing", "Lines"))
    lines.append(line_headers())
    for row in iter_line_rows(qs):
        lines.append(row)
    workbook.save(fileobj)


def write_pdf_zip(qs: QuerySet[Invoice], fileobj: IO[bytes], progress: Progress = None) -> None:
    done = 0
    documents = qs.select_related("organization", "contract", "credit_for").prefetch_related("lines")
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for invoice in documents.iterator(chunk_size=100):
            archive.writestr(invoice_pdf_filename(invoice), render_invoice_pdf(invoice))
            done += 1
            if progress and done % 20 == 0:
                progress(done)
    if progress:
        progress(done)


WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "zip": write_pdf_zip}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
