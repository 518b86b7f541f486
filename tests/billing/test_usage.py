"""SaaS monthly usage invoicing: peak devices × price, module fees, idempotent, catches up, holds."""

import datetime
from decimal import Decimal

import pytest

from billing import services
from billing.models import BillingPeriod, ContractBillingState, Invoice, InvoiceStatus, UsageHold
from billing.services import contract_billing
from editions.models import Module, Price
from tests.billing.factories import chinese_organization
from tests.factories import ContractFactory, edition

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = datetime.date(2026, 4, 10)  # January–March are closed months


@pytest.fixture(autouse=True)
def _no_mail_on_issue(settings):
    settings.BILLING_SEND_ON_ISSUE = False


class FakeUsage:
    """Stands in for billing.usage (the seam to the licenses app)."""

    def __init__(self, peaks=None, stale=None):
        self.peaks = peaks or {}
        self.stale = stale or {}
        self.calls = []

    def peak(self, contract_ids, start, end):
        self.calls.append((tuple(contract_ids), start, end))
        return {cid: self.peaks.get((cid, start.month), 0) for cid in contract_ids}

    def stale_usage(self, contract_ids, start, end):
        return {cid: {"deployment": "dep-1"} for cid in contract_ids if (cid, start.month) in self.stale}


@pytest.fixture
def fake_usage(monkeypatch):
    fake = FakeUsage()
    monkeypatch.setattr("billing.usage.peak_device_counts", fake.peak)
    monkeypatch.setattr("billing.usage.stale_usage", fake.stale_usage)
    return fake


def saas_contract(**kw):
    kw.setdefault("organization", chinese_organization())
    return ContractFactory(
        edition=edition("saas"),
        price=D("0"),
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 12, 31),
        **kw,
    )


def test_bills_each_closed_month_at_peak_devices_times_price(fake_usage):
    c = saas_contract()
    fake_usage.peaks = {(c.pk, 1): 120, (c.pk, 2): 80, (c.pk, 3): 95}
    result = services.usage_invoice_run(today=TODAY)
    assert len(result.invoices) == 3
    invoices = list(Invoice.objects.filter(contract=c).order_by("period_start"))
    assert [i.period_start.month for i in invoices] == [1, 2, 3]
    january = invoices[0].lines.get()
    assert january.quantity == 120 and january.device_count == 120 and january.unit_price == D("50")
    assert "120" in january.description and "2026-01" in january.description
    assert january.net == D("6000.00") and january.tax_rate == D("0.06") and january.tax == D("360.00")
    assert all(i.status == InvoiceStatus.ISSUED for i in invoices)
    assert ContractBillingState.objects.get(contract=c).usage_invoiced_through == datetime.date(2026, 3, 31)
    # the seam was asked once per month for all contracts, with whole local days
    assert fake_usage.calls[0][1:] == (datetime.date(2026, 1, 1), datetime.date(2026, 1, 31))


def test_running_again_bills_nothing_twice(fake_usage):
    c = saas_contract()
    fake_usage.peaks = {(c.pk, m): 10 for m in (1, 2, 3)}
    services.usage_invoice_run(today=TODAY)
    again = services.usage_invoice_run(today=TODAY)
    assert again.invoices == []
    assert Invoice.objects.filter(contract=c).count() == 3
    # and a later run picks up the next month only
    fake_usage.peaks[(c.pk, 4)] = 7
    later = services.usage_invoice_run(today=datetime.date(2026, 5, 2))
    assert len(later.invoices) == 1
    assert BillingPeriod.objects.filter(contract=c).count() == 4


def test_guard_is_a_database_constraint(fake_usage):
    from django.db import IntegrityError, transaction

    c = saas_contract()
    services.usage_invoice_run(today=datetime.date(2026, 2, 5))
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingPeriod.objects.create(
            contract=c,
            kind="usage",
            period_start=datetime.date(2026, 1, 1),
            period_end=datetime.date(2026, 1, 31),
        )


def test_zero_usage_claims_the_month_without_an_invoice(fake_usage):
    c = saas_contract()
    result = services.usage_invoice_run(today=datetime.date(2026, 2, 5))
    assert result.invoices == [] and result.zero_periods == 1
    assert BillingPeriod.objects.get(contract=c).invoice is None


def test_module_fees_from_the_price_list(fake_usage):
    saas = edition("saas")
    analytics = Module.objects.get(code="analytics")
    retail = Module.objects.get(code="retail")
    Price.objects.filter(edition=saas, kind="module_fee").delete()  # this test's own module fees only
    Price.objects.create(
        edition=saas,
        module=analytics,
        kind="module_fee",
        term="month",
        amount=D("2000"),
        valid_from=datetime.date(2026, 1, 1),
    )
    Price.objects.create(
        edition=saas,
        module=retail,
        kind="module_fee",
        term="device_month",
        amount=D("5"),
        valid_from=datetime.date(2026, 1, 1),
    )
    c = saas_contract(modules=[retail])
    fake_usage.peaks = {(c.pk, 1): 100}
    services.usage_invoice_run(today=datetime.date(2026, 2, 5))
    lines = list(Invoice.objects.get(contract=c).lines.order_by("position"))
    assert [ln.net for ln in lines] == [D("5000.00"), D("500.00"), D("2000.00")]
    assert lines[1].module == retail and lines[1].quantity == 100
    assert lines[2].module == analytics and lines[2].quantity == 1


def test_no_module_fee_rows_means_no_module_lines(fake_usage):
    c = saas_contract()
    fake_usage.peaks = {(c.pk, 1): 3}
    services.usage_invoice_run(today=datetime.date(2026, 2, 5))
    assert Invoice.objects.get(contract=c).lines.count() == 1


def test_stale_reports_hold_the_month_and_block_the_marker(fake_usage):
    c = saas_contract()
    fake_usage.peaks = {(c.pk, m): 10 for m in (1, 2, 3)}
    fake_usage.stale = {(c.pk, 2)}
    result = services.usage_invoice_run(today=TODAY)
    assert result.held == [(c.pk, datetime.date(2026, 2, 1))]
    assert sorted(i.period_start.month for i in Invoice.objects.filter(contract=c)) == [1, 3]
    assert ContractBillingState.objects.get(contract=c).usage_invoiced_through == datetime.date(2026, 1, 31)
    hold = UsageHold.objects.get(contract=c)
    services.usage_invoice_run(today=TODAY)  # still held, not re-created
    assert UsageHold.objects.filter(contract=c).count() == 1
    services.usage_hold_release(actor=None, hold=hold)
    services.usage_invoice_run(today=TODAY)
    assert sorted(i.period_start.month for i in Invoice.objects.filter(contract=c)) == [1, 2, 3]
    assert ContractBillingState.objects.get(contract=c).usage_invoiced_through == datetime.date(2026, 3, 31)


def test_staff_are_told_once_about_holds(fake_usage, settings, mailoutbox):
    settings.BILLING_FINANCE_EMAILS = ["finance@vendor.example"]
    from billing.tasks import usage_holds_notify

    c = saas_contract()
    fake_usage.stale = {(c.pk, 1)}
    services.usage_invoice_run(today=datetime.date(2026, 2, 5))
    assert usage_holds_notify() == 1
    assert usage_holds_notify() == 0
    assert len(mailoutbox) == 1 and c.number in mailoutbox[0].body


def test_a_crash_mid_run_neither_double_bills_nor_skips(fake_usage, monkeypatch):
    contracts = [saas_contract() for _ in range(3)]
    fake_usage.peaks = {(c.pk, 1): 10 for c in contracts}
    original = contract_billing._new_usage_invoice
    calls = {"n": 0}

    def crash_on_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed")
        return original(**kwargs)

    monkeypatch.setattr(contract_billing, "_new_usage_invoice", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        services.usage_invoice_run(today=datetime.date(2026, 2, 5), batch_size=1)
    assert Invoice.objects.count() == 1
    monkeypatch.setattr(contract_billing, "_new_usage_invoice", original)
    services.usage_invoice_run(today=datetime.date(2026, 2, 5), batch_size=1)
    assert sorted(Invoice.objects.values_list("contract_id", flat=True)) == sorted(c.pk for c in contracts)
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3]


def test_a_failing_batch_does_not_stop_the_others(fake_usage, monkeypatch):
    contracts = [saas_contract() for _ in range(2)]
    fake_usage.peaks = {(c.pk, 1): 10 for c in contracts}
    original = contract_billing._new_usage_invoice

    def fail_first(**kwargs):
        if kwargs["contract"].pk == contracts[0].pk:
            raise ValueError("bad data")
        return original(**kwargs)

    monkeypatch.setattr(contract_billing, "_new_usage_invoice", fail_first)
    result = services.usage_invoice_run(today=datetime.date(2026, 2, 5), batch_size=1)
    assert contracts[0].pk in result.errors and len(result.invoices) == 1


def test_seam_asks_licenses_with_local_day_bounds(monkeypatch):
    from billing import usage

    seen = {}

    def selector(contract_ids, start, end):
        seen.update(ids=contract_ids, start=start, end=end)
        return dict.fromkeys(contract_ids, 5)

    monkeypatch.setattr(usage.license_selectors, "contract_peak_device_counts", selector)
    assert usage.peak_device_counts([7], datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)) == {7: 5}
    assert seen["start"].isoformat() == "2026-03-01T00:00:00+08:00"
    assert seen["end"].isoformat() == "2026-04-01T00:00:00+08:00"


def test_seam_against_the_real_licenses_selector():
    from billing import usage

    c = saas_contract()
    january = (datetime.date(2026, 1, 1), datetime.date(2026, 1, 31))
    assert usage.peak_device_counts([c.pk], *january) == {c.pk: 0}


def test_customer_view_excludes_drafts():
    from billing.selectors import invoices_for_organization
    from tests.billing.factories import draft_invoice, issued_invoice

    org = chinese_organization()
    issued = issued_invoice(org)
    draft_invoice(org)
    assert list(invoices_for_organization(org.pk)) == [issued]
