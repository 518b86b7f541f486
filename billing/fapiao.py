"""数电票 (fully digitalized e-invoice) batch issuance: the import workbook for the tax bureau's e-invoice
service (电子发票服务平台 → 批量开具), and reading back its result (issued fapiao numbers) and PDFs.

The workbook has the two sheets of the batch template: 1-发票基本信息 (one row per fapiao: serial, type,
buyer) and 2-发票明细信息 (one row per line: item name, 税收分类编码, specification, unit, quantity, unit
price, amount, rate, tax). The serial (发票流水号) is our invoice number, which links the result back.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, cast

from django.conf import settings

from billing.models import Invoice, TaxCategory

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

# Default 税收分类编码 per tax category (商品和服务税收分类编码表; 19 digits). The classification of each
# product is finance's decision: override with BILLING_TAX_CLASSIFICATION_CODES.
DEFAULT_TAX_CLASSIFICATION_CODES: dict[str, str] = {
    TaxCategory.SOFTWARE_LICENSE: "1060301020000000000",  # 软件 › 应用软件
    TaxCategory.SERVICES: "3040201990000000000",  # 信息技术服务 › 其他软件服务
    TaxCategory.MAINTENANCE: "3040201030000000000",  # 信息技术服务 › 软件维护服务
    TaxCategory.SAAS: "3040205990000000000",  # 信息技术服务 › 其他信息系统增值服务
    TaxCategory.SUPPORT: "3040201030000000000",  # 信息技术服务 › 软件维护服务
    TaxCategory.CUSTOM_DEVELOPMENT: "3040201010000000000",  # 信息技术服务 › 软件开发服务
    TaxCategory.SMALL_SCALE: "3040201990000000000",
    TaxCategory.OTHER: "3040201990000000000",
}

BASIC_SHEET = "1-发票基本信息"
DETAIL_SHEET = "2-发票明细信息"
BASIC_HEADERS = [
    "发票流水号",
    "发票类型",
    "特定业务类型",
    "是否含税",
    "购买方名称",
    "购买方纳税人识别号",
    "购买方地址",
    "购买方电话",
    "购买方开户银行",
    "购买方银行账号",
    "备注",
    "购买方邮箱",
]
DETAIL_HEADERS = [
    "发票流水号",
    "项目名称",
    "商品和服务税收分类编码",
    "规格型号",
    "单位",
    "数量",
    "单价",
    "金额",
    "税率",
    "税额",
]
FAPIAO_TYPES = {"special": "增值税专用发票", "general": "普通发票"}


def tax_classification_code(category: str) -> str:
    overrides = getattr(settings, "BILLING_TAX_CLASSIFICATION_CODES", {}) or {}
    return str(overrides.get(category) or DEFAULT_TAX_CLASSIFICATION_CODES[TaxCategory(category)])


def write_batch(invoices: Iterable[Invoice], target: IO[bytes]) -> int:
    """The batch-issuance workbook for these invoices (lines prefetched); returns the number of fapiao."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    basic = cast("Worksheet", book.active)  # a new workbook has its sheet
    basic.title = BASIC_SHEET
    detail = book.create_sheet(DETAIL_SHEET)
    basic.append(BASIC_HEADERS)
    detail.append(DETAIL_HEADERS)
    for sheet in (basic, detail):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    count = 0
    for invoice in invoices:
        buyer = invoice.buyer or {}
        note = f"{invoice.number}" + (
            f" 合同 {invoice.contract.number}" if invoice.contract is not None else ""
        )
        basic.append(
            [
                invoice.number,
                FAPIAO_TYPES.get(buyer.get("fapiao_type") or "general", "普通发票"),
                "",
                "否",  # unit prices and amounts are net of tax
                buyer.get("name") or invoice.organization.name,
                buyer.get("taxpayer_id", ""),
                buyer.get("address", ""),
                buyer.get("phone", ""),
                buyer.get("bank", ""),
                (buyer.get("account") or "").replace(" ", ""),
                note,
                buyer.get("email", ""),
            ]
        )
        for line in invoice.lines.all():
            detail.append(
                [
                    invoice.number,
                    line.description[:90],
                    tax_classification_code(line.tax_category),
                    (
                        line.module.code
                        if line.module is not None
                        else (invoice.edition.code if invoice.edition is not None else "")
                    ),
                    line.unit or "项",
                    float(line.quantity),
                    float(line.unit_price),
                    float(line.net),
                    float(line.tax_rate),
                    float(line.tax),
                ]
            )
            row = detail.max_row
            detail.cell(row, 3).number_format = "@"
            detail.cell(row, 7).number_format = "0.00######"
            for col in (8, 10):
                detail.cell(row, col).number_format = "0.00"
            detail.cell(row, 9).number_format = "0%"
        count += 1
    for sheet, widths in (
        (basic, [20, 16, 12, 10, 36, 22, 36, 16, 28, 24, 30, 28]),
        (detail, [20, 40, 22, 14, 8, 10, 14, 14, 8, 12]),
    ):
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
    book.save(target)
    return count


# Reading the result back --------------------------------------------------------------------------

NUMBER_HEADERS = ("数电发票号码", "数电票号码", "发票号码", "全电发票号码")
DATE_HEADERS = ("开票日期", "开票时间")
_FAPIAO_NUMBER = re.compile(r"(?<!\d)(\d{20})(?!\d)")


@dataclass(frozen=True)
class IssuedFapiao:
    invoice_number: str
    fapiao_number: str
    issued_on: date | None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)[:10]
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def read_result(content: bytes, file_name: str) -> list[IssuedFapiao]:
    """The (serial, fapiao number, date) rows of the platform's batch result (XLSX or CSV)."""
    if content[:2] == b"PK" or file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        rows: list[list[Any]] = []
        for sheet in book.worksheets:
            rows.extend(list(r) for r in sheet.iter_rows(values_only=True))
        book.close()
    else:
        import csv

        text = content.decode("utf-8-sig") if content[:3] == b"\xef\xbb\xbf" else _decode(content)
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    found: list[IssuedFapiao] = []
    columns: dict[str, int] | None = None
    for row in rows:
        cells = [_text(c) for c in row]
        if "发票流水号" in cells and any(h in cells for h in NUMBER_HEADERS):
            columns = {"serial": cells.index("发票流水号")}
            columns["number"] = next(cells.index(h) for h in NUMBER_HEADERS if h in cells)
            dates = [cells.index(h) for h in DATE_HEADERS if h in cells]
            if dates:
                columns["date"] = dates[0]
            continue
        if columns is None or len(cells) <= max(columns.values()):
            continue
        serial, number = cells[columns["serial"]], re.sub(r"\s", "", cells[columns["number"]])
        if serial and number:
            found.append(
                IssuedFapiao(
                    serial.upper(), number, _date(row[columns["date"]]) if "date" in columns else None
                )
            )
    return found


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("gb18030")


def pdfs_in(files: Iterable[tuple[str, bytes]]) -> dict[str, tuple[str, bytes]]:
    """PDFs by the 20-digit fapiao number in their file name (the platform names them so), from plain
    uploads or ZIP archives of them."""
    found: dict[str, tuple[str, bytes]] = {}
    for name, data in files:
        if data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                inner = [
                    (info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()
                ]
            found.update(pdfs_in(inner))
            continue
        match = _FAPIAO_NUMBER.search(name.rsplit("/", 1)[-1])
        if match and data[:5] == b"%PDF-":
            found[match.group(1)] = (name.rsplit("/", 1)[-1], data)
    return found


def amount_text(value: Decimal) -> str:
    return f"{value:.2f}"
