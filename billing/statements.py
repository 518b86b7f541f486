"""Reading bank statement exports (对账单/交易明细): CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX, laid out as
one of the bank presets or a generic column mapping finance gives at upload; and matching incoming
transfers to open invoices (invoice number in the memo, payer name, amount).

Presets (the column headers of each bank's corporate online-banking export; a file may carry account
and period lines above the header, which are skipped):

- 招商银行 (CMB) 交易明细, CSV in GBK: 交易日 (YYYYMMDD), 交易时间, 借方金额, 贷方金额, 摘要, 流水号,
  收(付)方名称, 收(付)方帐号, 收(付)方开户行, 用途.
- 工商银行 (ICBC) 历史明细, XLSX or CSV in UTF-8 with BOM: 交易时间 (YYYY-MM-DD HH:MM:SS), 对方单位,
  对方账号, 对方开户行, 借方发生额, 贷方发生额, 摘要, 用途, 附言, 交易流水号 (amounts with thousands
  separators).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.errors import BillingError, billing_error
from billing.money import ZERO, round_money
from billing.selectors import invoice_numbers_in

# Fields a layout maps: booked date (and time, or one datetime column), money in/out (or one signed
# amount), counterparty, memo (several columns joined), the bank's serial number, currency.
FIELDS = (
    "date",
    "time",
    "credit",
    "debit",
    "amount",
    "payer_name",
    "payer_account",
    "payer_bank",
    "memo",
    "reference",
    "currency",
)


@dataclass(frozen=True)
class Layout:
    code: str
    label: Any
    columns: dict[str, tuple[str, ...]]  # field -> header(s); memo may name several columns

    def required(self) -> list[str]:
        need = [self.columns["date"][0]]
        if "amount" in self.columns:
            need.append(self.columns["amount"][0])
        else:
            need.append(self.columns["credit"][0])
        return need


PRESETS: dict[str, Layout] = {
    "cmb": Layout(
        code="cmb",
        label=gettext_lazy("China Merchants Bank (招商银行) transaction details, CSV"),
        columns={
            "date": ("交易日",),
            "time": ("交易时间",),
            "debit": ("借方金额",),
            "credit": ("贷方金额",),
            "memo": ("用途", "摘要"),
            "reference": ("流水号",),
            "payer_name": ("收(付)方名称",),
            "payer_account": ("收(付)方帐号",),
            "payer_bank": ("收(付)方开户行",),
        },
    ),
    "icbc": Layout(
        code="icbc",
        label=gettext_lazy("ICBC (工商银行) account history, XLSX or CSV"),
        columns={
            "date": ("交易时间",),
            "debit": ("借方发生额",),
            "credit": ("贷方发生额",),
            "memo": ("用途", "附言", "摘要"),
            "reference": ("交易流水号",),
            "payer_name": ("对方单位",),
            "payer_account": ("对方账号",),
            "payer_bank": ("对方开户行",),
        },
    ),
}
GENERIC = "generic"


def generic_layout(mapping: dict[str, Any]) -> Layout:
    """A layout from finance's column mapping ({field: header or [headers]}); needs a date and either
    a signed amount or a credit column."""
    columns: dict[str, tuple[str, ...]] = {}
    for name in FIELDS:
        value = mapping.get(name)
        headers = [value] if isinstance(value, str) else list(value or [])
        headers = [h.strip() for h in headers if h and h.strip()]
        if headers:
            columns[name] = tuple(headers)
    if "date" not in columns or not ({"amount", "credit"} & set(columns)):
        raise billing_error(
            BillingError.STATEMENT_UNREADABLE,
            _("A column mapping needs the date column and the amount (or money-in) column."),
            status=400,
        )
    return Layout(code=GENERIC, label=gettext_lazy("Generic column mapping"), columns=columns)


def layout_for(code: str, mapping: dict[str, Any] | None = None) -> Layout:
    if code == GENERIC:
        return generic_layout(mapping or {})
    try:
        return PRESETS[code]
    except KeyError:
        raise billing_error(
            BillingError.STATEMENT_UNREADABLE,
            _("Unknown statement layout %(code)s.") % {"code": code},
            status=400,
        ) from None


@dataclass
class StatementRow:
    row_number: int
    booked_at: datetime
    amount: Decimal
    currency: str
    payer_name: str = ""
    payer_account: str = ""
    payer_bank: str = ""
    memo: str = ""
    reference: str = ""
    fingerprint: str = ""


# Reading ------------------------------------------------------------------------------------------


def _cells(content: bytes, file_name: str) -> list[list[str]]:
    if content[:2] == b"PK" or file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a broken or non-XLSX zip
            raise billing_error(
                BillingError.STATEMENT_UNREADABLE, _("The file is not a readable XLSX workbook."), status=400
            ) from exc
        sheet = workbook.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        workbook.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 reads every GBK file
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise billing_error(
            BillingError.STATEMENT_UNREADABLE, _("The file is neither UTF-8 nor GBK text."), status=400
        )
    dialect = "excel-tab" if text.count("\t") > text.count(",") else "excel"
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect=dialect)]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{Decimal(str(value)):f}"
    return str(value).strip()


_DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d-%H.%M.%S.%f",  # ICBC's internal timestamp form
    "%Y%m%d%H%M%S",
)


def parse_when(day: str, clock: str = "") -> datetime | None:
    day, clock = day.strip(), clock.strip()
    parsed: datetime | None = None
    for fmt in _DATETIME_FORMATS:
        try:
            parsed = datetime.strptime(day, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.combine(datetime.strptime(day, fmt).date(), time())
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if clock:
        for fmt in ("%H:%M:%S", "%H:%M", "%H%M%S"):
            try:
                t = datetime.strptime(clock, fmt).time()
                parsed = datetime.combine(parsed.date(), t)
                break
            except ValueError:
                continue
    return timezone.make_aware(parsed, timezone.get_default_timezone())


def parse_amount(text: str) -> Decimal:
    cleaned = re.sub(r"[,\s¥￥元+]", "", text or "")
    if cleaned in ("", "-", "--"):
        return ZERO
    try:
        return round_money(Decimal(cleaned))
    except InvalidOperation:
        raise ValueError(text) from None


def _find_header(rows: list[list[str]], layout: Layout) -> tuple[int, dict[str, int]]:
    need = layout.required()
    for index, row in enumerate(rows[:40]):
        positions = {name: i for i, name in enumerate(row) if name}
        if all(n in positions for n in need):
            return index, positions
    raise billing_error(
        BillingError.STATEMENT_UNREADABLE,
        _("No header row with the columns %(columns)s was found; check the layout.")
        % {"columns": ", ".join(need)},
        status=400,
    )


def read_statement(
    content: bytes, file_name: str, layout: Layout, *, currency: str = "CNY"
) -> tuple[list[StatementRow], int]:
    """The statement's transactions (rows whose date does not parse, such as totals, are skipped) and
    how many rows were skipped. Each row gets its fingerprint."""
    rows = _cells(content, file_name)
    header_index, positions = _find_header(rows, layout)

    def get(row: list[str], name: str, joiner: str = " ") -> str:
        values = [
            row[positions[h]]
            for h in layout.columns.get(name, ())
            if h in positions and positions[h] < len(row)
        ]
        return joiner.join(v for v in values if v).strip()

    found: list[StatementRow] = []
    skipped = 0
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(row):
            continue
        when = parse_when(get(row, "date"), get(row, "time"))
        if when is None:
            skipped += 1
            continue
        try:
            if "amount" in layout.columns:
                amount = parse_amount(get(row, "amount"))
            else:
                amount = parse_amount(get(row, "credit")) - parse_amount(get(row, "debit"))
        except ValueError:
            skipped += 1
            continue
        found.append(
            StatementRow(
                row_number=offset,
                booked_at=when,
                amount=amount,
                currency=(get(row, "currency") or currency)
                .upper()[:3]
                .replace("RMB", "CNY")
                .replace("人民币", "CNY"),
                payer_name=get(row, "payer_name")[:200],
                payer_account=get(row, "payer_account").replace(" ", "")[:60],
                payer_bank=get(row, "payer_bank")[:200],
                memo=get(row, "memo", " / ")[:300],
                reference=get(row, "reference")[:100],
            )
        )
    _fingerprint(found)
    return found, skipped


def _fingerprint(rows: list[StatementRow]) -> None:
    """Identical rows in one file (two equal transfers in the same second) get their ordinal, so they
    stay two rows; the same row in a re-import or an overlapping statement gets the same fingerprint."""
    seen: Counter[str] = Counter()
    for row in rows:
        base = "|".join(
            [
                row.booked_at.isoformat(),
                f"{row.amount:.2f}",
                row.currency,
                row.payer_account,
                normalize_name(row.payer_name),
                row.reference,
                row.memo,
            ]
        )
        row.fingerprint = hashlib.sha256(f"{base}|{seen[base]}".encode()).hexdigest()
        seen[base] += 1


# Matching -----------------------------------------------------------------------------------------

_NAME_NOISE = re.compile(r"[\s()（）\[\]【】·.,，、-]")


def normalize_name(name: str) -> str:
    return _NAME_NOISE.sub("", (name or "").lower())


@dataclass
class OpenItem:
    invoice_id: int
    number: str
    organization_id: int
    currency: str
    open: Decimal
    due: date | None


@dataclass
class Match:
    status: str  # matched | proposed | unmatched
    allocations: list[tuple[OpenItem, Decimal]] = field(default_factory=list)
    reason: str = ""


class Matcher:
    """Open invoices indexed by number, payer name and amount, with balances kept in step as rows of the
    same statement are matched (so two transfers never both settle, or are proposed for, one invoice)."""

    def __init__(self, items: list[OpenItem], names: dict[str, set[int]]) -> None:
        self.by_number = {i.number: i for i in items}
        self.by_org: dict[int, list[OpenItem]] = defaultdict(list)
        for item in sorted(items, key=lambda i: (i.due or date.max, i.number)):
            self.by_org[item.organization_id].append(item)
        self.items = items
        self.names = names  # normalized payer name -> organization ids

    def _take(self, item: OpenItem, amount: Decimal) -> tuple[OpenItem, Decimal]:
        item.open -= amount
        return item, amount

    def _spread(self, items: list[OpenItem], amount: Decimal) -> list[tuple[OpenItem, Decimal]]:
        done, left = [], amount
        for item in items:
            if left <= 0:
                break
            part = min(left, item.open)
            if part > 0:
                done.append(self._take(item, part))
                left -= part
        return done

    def match(self, row: StatementRow) -> Match:
        named = [
            self.by_number[n]
            for n in invoice_numbers_in(f"{row.memo} {row.reference}")
            if n in self.by_number
            and self.by_number[n].currency == row.currency
            and self.by_number[n].open > 0
        ]
        if named:
            return Match("matched", self._spread(named, row.amount), _("invoice number in the memo"))
        orgs = self.names.get(normalize_name(row.payer_name), set()) if row.payer_name else set()
        candidates = [
            i for org in sorted(orgs) for i in self.by_org[org] if i.currency == row.currency and i.open > 0
        ]
        if candidates:
            exact = [i for i in candidates if i.open == row.amount]
            if exact:
                return Match("proposed", [self._take(exact[0], row.amount)], _("payer and amount"))
            total = sum((i.open for i in candidates), ZERO)
            if total == row.amount:
                return Match(
                    "proposed", self._spread(candidates, row.amount), _("payer; amount of all open invoices")
                )
            reason = _("payer; partial payment") if row.amount < total else _("payer; pays more than is open")
            return Match("proposed", self._spread(candidates, row.amount), reason)
        same_amount = [i for i in self.items if i.currency == row.currency and i.open == row.amount]
        if len(same_amount) == 1:
            return Match(
                "proposed", [self._take(same_amount[0], row.amount)], _("amount only (payer unknown)")
            )
        return Match("unmatched", [], _("no invoice number, known payer or unique amount"))
