"""What gets billed from contracts: annual fees, source license + maintenance, renewals, overage."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services
from billing.models import BillingKind, BillingPeriod, Invoice, InvoiceStatus
from billing.services.contract_billing import contracts_due_for_invoicing, term_periods
from contracts.models import ContractStatus
from portal.core.errors import ApplicationError
from tests.billing.factories import chinese_organization, foreign_organization
from tests.factories import ContractFactory, PartnerFactory, edition

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime.date(2026, 2, 1)


def contract(code: str, price: str, *, start=START, years: int = 1, **kw):
    end = datetime.date(start.year + years, start.month, start.day) - datetime.timedelta(days=1)
    kw.setdefault("organization", chinese_organization())
    return ContractFactory(edition=edition(code), price=D(price), start_date=start, end_date=end, **kw)


def test_standard_annual_fee_and_idempotency():
    c = contract("standard", "30000")
    invoice = services.invoice_for_contract(actor=None, contract=c)
    lines = list(invoice.lines.all())
    assert len(lines) == 1
    assert lines[0].net == D("30000.00") and lines[0].tax_rate == D("0.13")
    assert "标准版" in lines[0].description and c.number in lines[0].description  # organization's language
    assert invoice.status == InvoiceStatus.DRAFT and invoice.contract == c
    assert invoice.edition.code == "standard"
    assert (invoice.period_start, invoice.period_end) == (START, c.end_date)
    again = services.invoice_for_contract(actor=None, contract=c)
    assert again.pk == invoice.pk
    assert BillingPeriod.objects.filter(contract=c, kind=BillingKind.TERM).count() == 1


def test_enterprise_negotiated_price_and_english_texts(settings):
    c = contract("enterprise", "200000", organization=foreign_organization())
    invoice = services.invoice_for_contract(actor=None, contract=c)
    (line,) = invoice.lines.all()
    assert line.net == D("200000.00")
    assert line.description.startswith("Enterprise edition, annual subscription")


def test_source_license_fee_plus_yearly_maintenance_with_their_tax_rates():
    c = contract("source", "600000", nda_signed_on=START)
    invoice = services.invoice_for_contract(actor=None, contract=c)
    lines = {ln.tax_category: ln for ln in invoice.lines.all()}
    assert lines["software_license"].net == D("500000.00") and lines["software_license"].tax_rate == D("0.13")
    assert lines["maintenance"].net == D("100000.00") and lines["maintenance"].tax_rate == D("0.06")
    assert invoice.net_total == D("600000.00")
    assert invoice.tax_total == D("65000.00") + D("6000.00")


def test_negotiated_source_price_is_split_like_the_price_list_to_the_cent():
    c = contract("source", "550000")
    invoice = services.invoice_for_contract(actor=None, contract=c)
    nets = sorted(ln.net for ln in invoice.lines.all())
    assert nets == [D("91666.67"), D("458333.33")]
    assert sum(nets) == D("550000.00")


def test_renewal_of_source_carries_maintenance_only():
    original = contract("source", "600000")
    renewal = contract(
        "source",
        "100000",
        start=datetime.date(2027, 2, 1),
        organization=original.organization,
        renewal_of=original,
        status=ContractStatus.DRAFT,
    )
    invoice = services.invoice_for_contract(actor=None, contract=renewal)
    (line,) = invoice.lines.all()
    assert line.tax_category == "maintenance" and line.net == D("100000.00")


def test_multi_year_contract_is_invoiced_per_year_and_adds_up():
    c = contract("enterprise", "450000.01", years=3)
    assert len(term_periods(c)) == 3
    invoices = [
        services.invoice_for_contract(
            actor=None, contract=c, on=START + datetime.timedelta(days=365 * k + 10)
        )
        for k in range(3)
    ]
    assert len({i.pk for i in invoices}) == 3
    assert sum(i.net_total for i in invoices) == D("450000.01")
    assert invoices[1].period_start == datetime.date(2027, 2, 1)


def test_partner_and_auto_issue(settings):
    settings.BILLING_CONTRACT_AUTO_ISSUE = True
    settings.BILLING_SEND_ON_ISSUE = False
    partner = PartnerFactory(kind="oem")
    c = contract("standard", "30000", partner=partner)
    invoice = services.invoice_for_contract(actor=None, contract=c)
    assert invoice.status == InvoiceStatus.ISSUED and invoice.number.startswith("INV-")
    assert invoice.partner == partner


def test_metered_and_cancelled_contracts_are_not_term_billed():
    with pytest.raises(ApplicationError):
        services.invoice_for_contract(actor=None, contract=contract("saas", "0"))
    with pytest.raises(ApplicationError):
        services.invoice_for_contract(
            actor=None, contract=contract("standard", "30000", status=ContractStatus.CANCELLED)
        )
    assert services.invoice_for_contract(actor=None, contract=contract("community", "0")) is None


def test_contracts_due_for_invoicing_and_the_daily_task(settings):
    from billing.tasks import contract_invoices_due

    today = timezone.localdate()
    soon = contract("standard", "30000", start=today + datetime.timedelta(days=10))
    later = contract("standard", "30000", start=today + datetime.timedelta(days=200))
    auto = contract("enterprise", "150000", start=today - datetime.timedelta(days=300), auto_renew=True)
    renewal = contract(
        "enterprise",
        "150000",
        start=today + datetime.timedelta(days=20),
        organization=auto.organization,
        renewal_of=auto,
        status=ContractStatus.DRAFT,
    )
    due = {cid for cid, _start in contracts_due_for_invoicing(today=today)}
    assert soon.pk in due and renewal.pk in due and later.pk not in due
    assert contract_invoices_due() >= 2
    assert Invoice.objects.filter(contract=soon).count() == 1
    assert contract_invoices_due() == 0
    assert Invoice.objects.filter(contract=soon).count() == 1


def test_custom_development_overage_is_idempotent_per_period(settings):
    settings.BILLING_CUSTOM_DEV_HOURLY_RATE = {"CNY": "1500.00", "USD": "220.00"}
    c = contract("enterprise", "150000", custom_dev_hours=50)
    period = (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    invoice = services.invoice_custom_development_overage(
        actor=None, contract=c, hours=D("12.5"), period=period
    )
    (line,) = invoice.lines.all()
    assert line.quantity == D("12.5") and line.unit_price == D("1500")
    assert line.tax_category == "custom_development" and line.tax_rate == D("0.06")
    assert line.net == D("18750.00") and "50" in line.description
    again = services.invoice_custom_development_overage(
        actor=None, contract=c, hours=D("12.5"), period=period
    )
    assert again.pk == invoice.pk
    assert (
        services.invoice_custom_development_overage(
            actor=None,
            contract=c,
            hours=D("0"),
            period=(datetime.date(2026, 4, 1), datetime.date(2026, 4, 30)),
        )
        is None
    )
