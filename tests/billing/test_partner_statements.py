"""Commission statements: billing's commission rows with a credit note deducted, the computed fallback
for invoices without rows (per-contract share), currency conversion, and the CSV/XLSX/PDF exports."""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
from decimal import Decimal

import pytest

from billing.models import ExchangeRate, PartnerCommission
from billing.reports.partner_statements import (
    SOURCE_COMPUTED,
    SOURCE_LEDGER,
    partner_statement,
    statement_csv,
    statement_pdf,
    statement_xlsx,
)
from customers.selectors import revenue_share_percent_for
from customers.services import contract_revenue_share_set
from tests.billing.pdfutil import needs_pdftotext, pdf_text
from tests.customers.factories import credit, issued_invoice, pay
from tests.factories import ContractFactory, OrganizationFactory, PartnerFactory, UserFactory, edition

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def beta(db):
    """Source-license partner (15 %): an invoice of 100,000 net paid in March, 10 % credited later."""
    partner = PartnerFactory(name="贝塔软件 Beta Software", kind="source")
    organization = OrganizationFactory(name="华北能源集团", industry="energy", partner=partner)
    contract = ContractFactory(
        number="CT-2026-000101",
        organization=organization,
        partner=partner,
        edition=edition("enterprise"),
        price=Decimal("100000"),
    )
    invoice = issued_invoice(
        organization=organization, contract=contract, net="100000", issue_date=D(2026, 3, 1)
    )
    pay(invoice, "106000", D(2026, 3, 10))
    credit(invoice, "0.1", D(2026, 3, 20))
    return partner, contract, invoice


def test_partner_default_and_contract_share():
    oem = PartnerFactory(kind="oem")
    source = PartnerFactory(kind="source")
    joint = PartnerFactory(kind="joint")
    assert [p.revenue_share_percent for p in (oem, source, joint)] == [
        Decimal("30.00"),
        Decimal("15.00"),
        Decimal("0.00"),
    ]
    contract = ContractFactory(partner=oem)
    assert revenue_share_percent_for(contract=contract) == Decimal("30.00")
    actor = UserFactory(is_staff=True)
    contract_revenue_share_set(actor=actor, contract=contract, percent=Decimal("25"), reason="large project")
    contract.refresh_from_db()
    assert revenue_share_percent_for(contract=contract) == Decimal("25.00")
    contract_revenue_share_set(actor=actor, contract=contract, percent=None)
    contract = type(contract).objects.get(pk=contract.pk)
    assert revenue_share_percent_for(contract=contract) == Decimal("30.00")
    assert revenue_share_percent_for(contract=ContractFactory()) == Decimal("0")


def test_statement_sums_commission_rows_with_the_credit_note_deducted(beta):
    partner, _contract, _invoice = beta
    assert PartnerCommission.objects.filter(partner=partner).count() == 2  # billing wrote them

    statement = partner_statement(partner=partner, date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    assert [(line.kind, line.source, line.base, line.amount) for line in statement.lines] == [
        ("payment", SOURCE_LEDGER, Decimal("100000.00"), Decimal("15000.00")),
        ("credit_note", SOURCE_LEDGER, Decimal("-10000.00"), Decimal("-1500.00")),
    ]
    assert statement.totals == [("CNY", Decimal("90000.00"), Decimal("13500.00"))]
    assert statement.total_cny == Decimal("13500.00")
    assert statement.lines[1].credit_note.startswith("CN-2026-")
    assert statement.lines[0].contract == "CT-2026-000101"
    assert not statement.has_rate_differences

    # Periods: by the date each row was written.
    assert partner_statement(partner=partner, date_from=D(2026, 2, 1), date_to=D(2026, 2, 28)).lines == []
    march_10 = partner_statement(partner=partner, date_from=D(2026, 3, 1), date_to=D(2026, 3, 15))
    assert march_10.total_cny == Decimal("15000.00")


def test_a_contract_share_that_billing_did_not_use_is_flagged(beta):
    partner, contract, _invoice = beta
    contract_revenue_share_set(actor=None, contract=contract, percent=Decimal("20"))
    statement = partner_statement(partner=partner, date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    assert statement.has_rate_differences
    assert all(line.rate_differs and line.agreed_percent == Decimal("20.00") for line in statement.lines)


def test_invoices_without_commission_rows_are_computed_from_paid_invoices(db, monkeypatch):
    """Invoices paid before billing wrote commission rows (here a joint-development partner, 0 % by
    default, with 10 % agreed on one contract): the statement computes paid net × 10 % and deducts
    the credit note."""
    from billing.services import commissions

    monkeypatch.setattr(commissions, "commission_sync", lambda **kwargs: [])  # as before the ledger
    ExchangeRate.objects.create(currency="USD", rate_to_cny=Decimal("7.10"), valid_from=D(2026, 1, 1))
    partner = PartnerFactory(name="Gamma Joint Labs", kind="joint")
    organization = OrganizationFactory(partner=partner)
    contract = ContractFactory(organization=organization, partner=partner, currency="USD")
    contract_revenue_share_set(actor=None, contract=contract, percent=Decimal("10"))
    invoice = issued_invoice(
        organization=organization, contract=contract, currency="USD", net="20000", issue_date=D(2026, 4, 1)
    )
    pay(invoice, "10000", D(2026, 4, 10))  # partly paid: not yet in the statement
    april = partner_statement(partner=partner, date_from=D(2026, 4, 1), date_to=D(2026, 4, 30))
    assert april.lines == []
    pay(invoice, "11200", D(2026, 5, 5))  # 21,200 gross: now paid
    credit(invoice, "0.25", D(2026, 5, 20))
    assert not PartnerCommission.objects.filter(partner=partner).exists()

    may = partner_statement(partner=partner, date_from=D(2026, 5, 1), date_to=D(2026, 5, 31))
    assert [(line.kind, line.source, line.base, line.rate_percent, line.amount) for line in may.lines] == [
        ("paid_invoice", SOURCE_COMPUTED, Decimal("20000.00"), Decimal("10.00"), Decimal("2000.00")),
        ("credit_note", SOURCE_COMPUTED, Decimal("-5000.00"), Decimal("10.00"), Decimal("-500.00")),
    ]
    assert may.totals == [("USD", Decimal("15000.00"), Decimal("1500.00"))]
    # CNY at the invoice's own rate (7.10, recorded at issue).
    assert may.total_cny == Decimal("10650.00")


def test_exports(beta, tmp_path):
    partner, _contract, _invoice = beta
    statement = partner_statement(partner=partner, date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))

    text = statement_csv(statement).decode("utf-8-sig")
    assert "贝塔软件 Beta Software" in text and "13500.00" in text and "-1500.00" in text

    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(statement_xlsx(statement)))
    sheet = workbook.worksheets[0]
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert 15000 in values and -1500 in values and 13500 in values
    assert workbook.worksheets[1]["A2"].value == "CT-2026-000101"

    pdf = statement_pdf(statement)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdffonts") and shutil.which("pdftotext"):
        path = tmp_path / "statement.pdf"
        path.write_bytes(pdf)
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()
        assert "NotoSansCJKSC" in fonts.replace(" ", "").replace("-", "")
        words = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
        assert "贝塔软件" in words and "华北能源集团" in words and "13,500.00" in words


def test_exports_do_not_turn_names_into_formulas(db):
    from portal.core.exports import csv_bytes, safe_cell

    assert safe_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert safe_cell(Decimal("-1500.00")) == Decimal("-1500.00")
    assert "'=1+1" in csv_bytes(["name"], [["=1+1"]]).decode("utf-8-sig")


@needs_pdftotext
def test_the_page_footer_shows_the_partner_name_as_written(beta):
    """The footer is a CSS string inside <style>: quotes, backslashes and "<" in a name are escaped
    for CSS (escapejs wrote \\u0022, which CSS reads as the letter u and four digits)."""
    partner, _contract, _invoice = beta
    partner.name = 'Q&A "北方" 科技\\Lab </style>'
    partner.save(update_fields=["name"])
    statement = partner_statement(partner=partner, date_from=D(2026, 3, 1), date_to=D(2026, 3, 31))
    text = pdf_text(statement_pdf(statement))
    assert 'Q&A "北方" 科技\\Lab </style> · 1 / 1' in text
