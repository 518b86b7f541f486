"""Commission statements per channel partner and period, with CSV, XLSX and PDF exports.

The statement sums billing's immutable commission rows (billing.PartnerCommission: written per paid
invoice line on payment at the share agreed for the invoice's contract, else the partner's; negative
for credit notes and refunds) created in the period. Invoices that carry the partner but have no
commission rows at all (paid before billing wrote them) are computed here instead: the net amount
of each fully paid invoice × the contract's revenue share, dated on the payment that settled it, and
the net of each credit note on such an invoice, negative, dated on the later of its issue and that
payment. Amounts convert to CNY at the invoice's own rate.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import DocumentKind, Invoice, InvoiceStatus, PartnerCommission, PaymentStatus
from customers.models import Partner
from customers.selectors import partner_contracts, revenue_share_percent_for
from portal.core.exports import csv_bytes, safe_cell

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

SOURCE_LEDGER = "ledger"
SOURCE_COMPUTED = "computed"


def _cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class StatementLine:
    day: date
    source: str  # SOURCE_LEDGER or SOURCE_COMPUTED
    kind: str  # payment, refund, reversal, credit_note, paid_invoice
    invoice: str
    credit_note: str
    organization: str
    contract: str
    description: str
    base: Decimal
    rate_percent: Decimal
    amount: Decimal
    currency: str
    rate_to_cny: Decimal | None
    agreed_percent: Decimal | None = None

    @property
    def amount_cny(self) -> Decimal | None:
        return None if self.rate_to_cny is None else _cents(self.amount * self.rate_to_cny)

    @property
    def rate_differs(self) -> bool:
        """A billing row at another rate than the contract's agreed share (see the report to the lead)."""
        return self.agreed_percent is not None and self.agreed_percent != self.rate_percent

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def source_label(self) -> str:
        return _("commission row") if self.source == SOURCE_LEDGER else _("computed")


KIND_LABELS = {
    "payment": gettext_lazy("payment"),
    "refund": gettext_lazy("refund"),
    "reversal": gettext_lazy("payment corrected"),
    "credit_note": gettext_lazy("credit note"),
    "paid_invoice": gettext_lazy("invoice paid"),
    "adjustment": gettext_lazy("adjustment"),
}


@dataclass
class PartnerStatement:
    partner: Partner
    date_from: date
    date_to: date
    lines: list[StatementLine]
    contracts: list[Any] = field(default_factory=list)
    generated_at: Any = None

    @property
    def totals(self) -> list[tuple[str, Decimal, Decimal]]:
        """(currency, net base, commission) per currency."""
        sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for line in self.lines:
            sums[line.currency][0] += line.base
            sums[line.currency][1] += line.amount
        return [(currency, base, amount) for currency, (base, amount) in sorted(sums.items())]

    @property
    def total_cny(self) -> Decimal:
        return sum((line.amount_cny or ZERO for line in self.lines), ZERO)

    @property
    def has_unconverted(self) -> bool:
        return any(line.rate_to_cny is None for line in self.lines)

    @property
    def has_rate_differences(self) -> bool:
        return any(line.rate_differs for line in self.lines)


def _ledger_lines(partner: Partner, date_from: date, date_to: date) -> list[StatementLine]:
    rows = (
        PartnerCommission.objects.filter(
            partner=partner, created_at__date__gte=date_from, created_at__date__lte=date_to
        )
        .select_related(
            "invoice__organization",
            "invoice__contract__revenue_share",
            "line",
            "credit_note",
            "allocation__payment",
        )
        .order_by("created_at", "id")
    )
    lines = []
    for row in rows:
        invoice = row.invoice
        if row.credit_note_id:
            kind = "credit_note"
        elif row.allocation is not None:
            kind = row.allocation.payment.kind
        else:
            kind = "adjustment"
        agreed = (
            revenue_share_percent_for(contract=invoice.contract, partner=partner)
            if invoice.contract_id
            else None
        )
        lines.append(
            StatementLine(
                day=timezone.localdate(row.created_at),
                source=SOURCE_LEDGER,
                kind=kind,
                invoice=invoice.number or "",
                credit_note=(row.credit_note.number or "") if row.credit_note is not None else "",
                organization=invoice.organization.name,
                contract=invoice.contract.number if invoice.contract is not None else "",
                description=row.line.description,
                base=row.base_amount,
                rate_percent=row.rate_percent,
                amount=row.amount,
                currency=row.currency,
                rate_to_cny=invoice.rate_to_cny,
                agreed_percent=agreed,
            )
        )
    return lines


def _computed_lines(partner: Partner, date_from: date, date_to: date) -> list[StatementLine]:
    """Paid invoices of the partner without any commission rows, and their credit notes."""
    invoices = list(
        Invoice.objects.filter(
            partner=partner,
            kind=DocumentKind.INVOICE,
            status=InvoiceStatus.ISSUED,
            payment_status=PaymentStatus.PAID,
            commissions__isnull=True,
        )
        .annotate(paid_at=Max("allocations__created_at"))
        .select_related("organization", "contract__revenue_share")
        .order_by("id")
    )
    by_id = {invoice.pk: invoice for invoice in invoices}
    lines: list[StatementLine] = []

    def line_for(document: Invoice, original: Invoice, day: date, kind: str) -> StatementLine | None:
        if not (date_from <= day <= date_to):
            return None
        percent = (
            revenue_share_percent_for(contract=original.contract, partner=partner)
            if original.contract_id
            else (revenue_share_percent_for(partner=partner))
        )
        if percent <= 0:
            return None
        return StatementLine(
            day=day,
            source=SOURCE_COMPUTED,
            kind=kind,
            invoice=original.number or "",
            credit_note=(document.number or "") if document.pk != original.pk else "",
            organization=original.organization.name,
            contract=original.contract.number if original.contract is not None else "",
            description=_("net amount of %(document)s") % {"document": document.number},
            base=document.net_total,
            rate_percent=percent,
            amount=_cents(document.net_total * percent / 100),
            currency=document.currency,
            rate_to_cny=document.rate_to_cny if document.rate_to_cny is not None else original.rate_to_cny,
        )

    paid_on: dict[int, date] = {}
    for invoice in invoices:
        if invoice.paid_at is None:
            continue
        paid_on[invoice.pk] = timezone.localdate(invoice.paid_at)
        line = line_for(invoice, invoice, paid_on[invoice.pk], "paid_invoice")
        if line is not None:
            lines.append(line)
    credit_notes = Invoice.objects.filter(
        kind=DocumentKind.CREDIT_NOTE, status=InvoiceStatus.ISSUED, credit_for_id__in=list(paid_on)
    ).order_by("issue_date", "id")
    for credit in credit_notes:
        original = by_id[cast(int, credit.credit_for_id)]  # filtered on credit_for_id__in
        day = max(credit.issue_date or paid_on[original.pk], paid_on[original.pk])
        line = line_for(credit, original, day, "credit_note")
        if line is not None:
            lines.append(line)
    return lines


def partner_statement(*, partner: Partner, date_from: date, date_to: date) -> PartnerStatement:
    """The commission owed to a partner for [date_from, date_to] (local dates, inclusive)."""
    lines = _ledger_lines(partner, date_from, date_to) + _computed_lines(partner, date_from, date_to)
    lines.sort(key=lambda line: (line.day, line.invoice, line.credit_note))
    return PartnerStatement(
        partner=partner,
        date_from=date_from,
        date_to=date_to,
        lines=lines,
        contracts=partner_contracts(partner),
        generated_at=timezone.now(),
    )


# Exports ------------------------------------------------------------------------------------------------


def statement_columns() -> list[str]:
    return [
        _("date"),
        _("type"),
        _("invoice"),
        _("credit note"),
        _("organization"),
        _("contract"),
        _("description"),
        _("net amount"),
        _("share %"),
        _("commission"),
        _("currency"),
        _("rate to CNY"),
        _("commission (CNY)"),
        _("source"),
    ]


def statement_rows(statement: PartnerStatement) -> list[list[Any]]:
    return [
        [
            line.day.isoformat(),
            line.kind_label,
            line.invoice,
            line.credit_note,
            line.organization,
            line.contract,
            line.description,
            line.base,
            line.rate_percent,
            line.amount,
            line.currency,
            line.rate_to_cny if line.rate_to_cny is not None else "",
            line.amount_cny if line.amount_cny is not None else "",
            line.source_label,
        ]
        for line in statement.lines
    ]


def statement_filename(statement: PartnerStatement, extension: str) -> str:
    return f"commission-P{statement.partner.pk}-{statement.date_from:%Y%m%d}-{statement.date_to:%Y%m%d}.{extension}"


def statement_csv(statement: PartnerStatement) -> bytes:
    """UTF-8 with BOM, so Excel opens Chinese names correctly."""
    rows: list[list[Any]] = statement_rows(statement)
    for currency, base, amount in statement.totals:
        rows.append([_("total"), "", "", "", "", "", "", base, "", amount, currency, "", "", ""])
    rows.append([_("total (CNY)"), "", "", "", "", "", "", "", "", "", "CNY", "", statement.total_cny, ""])
    preamble = [[_("Commission statement"), statement.partner.name, statement.date_from, statement.date_to]]
    return csv_bytes(statement_columns(), rows, preamble)


def statement_xlsx(statement: PartnerStatement) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = cast("Worksheet", workbook.active)  # a new workbook has its sheet
    sheet.title = _("Statement")[:31]
    sheet.append([_("Commission statement"), safe_cell(statement.partner.name)])
    sheet.append([_("Period"), statement.date_from, statement.date_to])
    sheet.append([])
    sheet.append(statement_columns())
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in statement_rows(statement):
        sheet.append([float(v) if isinstance(v, Decimal) else safe_cell(v) for v in row])
    for currency, base, amount in statement.totals:
        sheet.append([_("total"), "", "", "", "", "", "", float(base), "", float(amount), currency])
    sheet.append(
        [_("total (CNY)"), "", "", "", "", "", "", "", "", "", "CNY", "", float(statement.total_cny)]
    )
    for column, width in zip(
        "ABCDEFGHIJKLMN", (11, 14, 17, 17, 28, 17, 40, 13, 8, 13, 8, 10, 15, 14), strict=True
    ):
        sheet.column_dimensions[column].width = width
    contracts = workbook.create_sheet(_("Contracts")[:31])
    contracts.append(
        [_("contract"), _("organization"), _("edition"), _("status"), _("price"), _("currency"), _("share %")]
    )
    for contract in statement.contracts:
        contracts.append(
            [
                contract.number,
                safe_cell(contract.organization.name),
                contract.edition.code,
                contract.get_status_display(),
                float(contract.price),
                contract.currency,
                float(contract.share_percent),
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def statement_pdf(statement: PartnerStatement) -> bytes:
    """A4 PDF rendered by WeasyPrint in the active language; Chinese in Noto Sans CJK SC; no remote fetches."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string("customers/partner_statement_pdf.html", {"statement": statement})
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
