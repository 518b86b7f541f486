"""The revenue dashboard's figures against a hand-computed book of contracts and invoices.

As of 2026-06-15. USD rates: 7.10 from 2025-01-01, 7.00 from 2026-01-01, 7.20 from 2026-06-01.

Contracts (status, edition, term, price)                                   ARR on 2026-06-15 (CNY)
  C1  active    standard    2026-01-01..2026-12-31   30,000 CNY                           30,000
  C2  active    enterprise  2026-03-01..2028-02-29   20,000 USD (2 years) → 10,000 USD/yr × 7.20 = 72,000
  C3  active    source      2026-04-01..2027-03-31  600,000 CNY: 500,000 one-time + 100,000 → 100,000
  C4  active    saas        2026-01-01..2026-12-31  metered; May billed 5,000 net → 12 × 5,000 = 60,000
  C5  expired   enterprise  2025-06-01..2026-05-31  150,000 CNY (renewed by C6)                  —
  C6  active    enterprise  2026-06-01..2027-05-31  160,000 CNY, renews C5                   160,000
  C7  expired   standard    2025-01-01..2025-12-31   30,000 CNY, not renewed                      —
  C8  cancelled standard    2025-03-01..2026-02-28   cancelled 2025-09-01                         —
  C9  draft     standard    2026-06-01..2027-05-31                                               —
  C10 active    standard    2025-09-01..2026-08-31   36,000 CNY, no renewal                   36,000
  C11 active    enterprise  2025-07-01..2026-06-30   10,000 USD × 7.20                        72,000
  C12 draft     enterprise  2026-07-01..2027-06-30   11,000 USD, renews C11                       —
                                                                                    ARR  = 530,000
                                                                                    MRR  =  44,166.67
Bookings 2026-01-01..2026-06-15 (by activation): C1 30,000 + C2 20,000 USD × 7.00 + C3 600,000
  + C4 0 + C6 160,000 = 930,000 (5 contracts).
Renewals due by 2026-09-13: C10 36,000 (no renewal) + C11 via draft C12 11,000 USD × 7.20 = 79,200
  → 115,200 (2 contracts).
Renewal rate, window 2025-06-15..2026-06-14: ended C5 (renewed) and C7 (not); C8 cancelled → 1/2.
Revenue 2026-01-01..2026-06-15, net: I1 30,000 − CN1 3,000 (standard, retail, direct)
  + I2 10,000 USD × 7.00 = 70,000 (enterprise, finance, partner Alpha)
  + I3 4,000 + I4 5,000 (saas, manufacturing, direct) = 106,000.
Receivables on 2026-06-15 (gross): I1 33,900 − 3,390 credited − 30,510 paid = 0;
  I2 10,600 USD − 5,000 paid = 5,600 USD × 7.20 = 40,320 (due 03-31: 76 days overdue);
  I3 4,240 (due 05-31: 15 days); I4 5,300 (due 07-01: not due) → 49,860.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from billing.models import ExchangeRate
from billing.reports import dashboard as revenue
from billing.reports.price_list import PriceList
from billing.reports.terms import term_months
from contracts.models import ContractStatus
from tests.customers.factories import SHANGHAI, credit, issued_invoice, pay
from tests.factories import ContractFactory, OrganizationFactory, PartnerFactory, edition

pytestmark = pytest.mark.django_db

D = datetime.date


def _at(day: D) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI)


def contract(
    number, code, start, end, price, *, status=ContractStatus.ACTIVE, currency="CNY", activated=None, **kw
):
    return ContractFactory(
        number=number,
        edition=edition(code),
        start_date=start,
        end_date=end,
        price=Decimal(price),
        currency=currency,
        status=status,
        activated_at=_at(activated) if activated else None,
        **kw,
    )


@pytest.fixture
def book(db, settings):
    settings.BILLING_DEFAULT_RATES_TO_CNY = {}  # the table only
    ExchangeRate.objects.create(currency="USD", rate_to_cny=Decimal("7.10"), valid_from=D(2025, 1, 1))
    ExchangeRate.objects.create(currency="USD", rate_to_cny=Decimal("7.00"), valid_from=D(2026, 1, 1))
    ExchangeRate.objects.create(currency="USD", rate_to_cny=Decimal("7.20"), valid_from=D(2026, 6, 1))
    retail = OrganizationFactory(name="Retail Co.", industry="retail")
    finance = OrganizationFactory(name="Bank Co.", industry="finance")
    factory = OrganizationFactory(name="Factory Co.", industry="manufacturing")
    alpha = PartnerFactory(name="Alpha", kind="oem")
    c = {}
    c[1] = contract(
        "C1", "standard", D(2026, 1, 1), D(2026, 12, 31), 30000, activated=D(2026, 1, 5), organization=retail
    )
    c[2] = contract(
        "C2",
        "enterprise",
        D(2026, 3, 1),
        D(2028, 2, 29),
        20000,
        currency="USD",
        activated=D(2026, 2, 20),
        organization=finance,
        partner=alpha,
    )
    c[3] = contract("C3", "source", D(2026, 4, 1), D(2027, 3, 31), 600000, activated=D(2026, 4, 1))
    c[4] = contract(
        "C4", "saas", D(2026, 1, 1), D(2026, 12, 31), 0, activated=D(2026, 1, 1), organization=factory
    )
    c[5] = contract(
        "C5",
        "enterprise",
        D(2025, 6, 1),
        D(2026, 5, 31),
        150000,
        status=ContractStatus.EXPIRED,
        activated=D(2025, 5, 25),
    )
    c[6] = contract(
        "C6",
        "enterprise",
        D(2026, 6, 1),
        D(2027, 5, 31),
        160000,
        activated=D(2026, 5, 20),
        organization=c[5].organization,
        renewal_of=c[5],
    )
    c[7] = contract(
        "C7",
        "standard",
        D(2025, 1, 1),
        D(2025, 12, 31),
        30000,
        status=ContractStatus.EXPIRED,
        activated=D(2024, 12, 20),
    )
    c[8] = contract(
        "C8",
        "standard",
        D(2025, 3, 1),
        D(2026, 2, 28),
        30000,
        status=ContractStatus.CANCELLED,
        activated=D(2025, 2, 25),
        cancelled_at=_at(D(2025, 9, 1)),
    )
    c[9] = contract("C9", "standard", D(2026, 6, 1), D(2027, 5, 31), 30000, status=ContractStatus.DRAFT)
    c[10] = contract("C10", "standard", D(2025, 9, 1), D(2026, 8, 31), 36000, activated=D(2025, 8, 20))
    c[11] = contract(
        "C11", "enterprise", D(2025, 7, 1), D(2026, 6, 30), 10000, currency="USD", activated=D(2025, 6, 25)
    )
    c[12] = contract(
        "C12",
        "enterprise",
        D(2026, 7, 1),
        D(2027, 6, 30),
        11000,
        currency="USD",
        status=ContractStatus.DRAFT,
        organization=c[11].organization,
        renewal_of=c[11],
    )

    i1 = issued_invoice(
        organization=retail, contract=c[1], net="30000", tax_rate="0.13", issue_date=D(2026, 1, 10)
    )
    credit(i1, "0.1", D(2026, 2, 1))
    pay(i1, "30510", D(2026, 2, 15))
    i2 = issued_invoice(
        organization=finance, contract=c[2], currency="USD", net="10000", issue_date=D(2026, 3, 1)
    )
    pay(i2, "5000", D(2026, 4, 1))
    issued_invoice(
        organization=factory,
        contract=c[4],
        net="4000",
        issue_date=D(2026, 5, 1),
        period_start=D(2026, 4, 1),
        period_end=D(2026, 4, 30),
        description="usage April",
    )
    issued_invoice(
        organization=factory,
        contract=c[4],
        net="5000",
        issue_date=D(2026, 6, 1),
        period_start=D(2026, 5, 1),
        period_end=D(2026, 5, 31),
        description="usage May",
    )
    return c


def dashboard(**overrides):
    options = {
        "as_of": D(2026, 6, 15),
        "date_from": D(2026, 1, 1),
        "date_to": D(2026, 6, 15),
        "renewals_from": D(2025, 6, 15),
        "renewals_to": D(2026, 6, 14),
    }
    return revenue.revenue_dashboard(**{**options, **overrides})


def test_arr_and_mrr(book):
    figures = dashboard().figures
    assert figures["arr"].value == Decimal("530000.00")
    assert figures["mrr"].value == Decimal("44166.67")
    by_contract = {row[0]: row[11] for row in figures["arr"].rows}
    assert by_contract == {
        "C1": Decimal("30000.00"),
        "C2": Decimal("72000.00"),
        "C3": Decimal("100000.00"),
        "C4": Decimal("60000.00"),
        "C6": Decimal("160000.00"),
        "C10": Decimal("36000.00"),
        "C11": Decimal("72000.00"),
    }
    c3 = next(row for row in figures["arr"].rows if row[0] == "C3")
    assert (c3[6], c3[7], c3[8]) == (Decimal("500000.00"), Decimal("100000.00"), Decimal("12.00"))


def test_mrr_trend_uses_the_book_as_it_stood(book):
    trend = dict(dashboard().mrr_trend)
    assert trend[D(2026, 6, 15)] == Decimal("44166.67")
    # 2026-05-31: C5 instead of C6; USD at 7.00; SaaS billed for April (4,000); C3, C2 already running.
    may = (30000 + 10000 * 7 + 100000 + 150000 + 36000 + 10000 * 7) / Decimal(12) + 4000
    assert trend[D(2026, 5, 31)] == may.quantize(Decimal("0.01"))
    # 2025-07-31: C5, C7, C8 (cancelled only in September), C11 (USD at the 2025 rate, 7.10).
    july = (Decimal(150000) + 30000 + 30000 + 10000 * Decimal("7.10")) / 12
    assert trend[D(2025, 7, 31)] == july.quantize(Decimal("0.01"))
    assert len(trend) == 12


def test_bookings(book):
    bookings = dashboard().figures["bookings"]
    assert bookings.value == Decimal("930000.00")
    assert sorted(row[0] for row in bookings.rows) == ["C1", "C2", "C3", "C4", "C6"]
    c2 = next(row for row in bookings.rows if row[0] == "C2")
    assert (c2[7], c2[8]) == (Decimal("7.00"), Decimal("140000.00"))
    assert dict(bookings.series)["2026-04"] == Decimal("600000.00")


def test_renewals_due_in_the_next_90_days(book):
    due = dashboard().figures["renewals_due"]
    assert due.count == 2
    assert due.value == Decimal("115200.00")
    rows = {row[0]: row for row in due.rows}
    assert rows["C11"][5] == "C12" and rows["C11"][8] == Decimal("79200.00")
    assert rows["C10"][5] == "" and rows["C10"][8] == Decimal("36000.00")


def test_renewal_rate(book):
    rate = dashboard().figures["renewal_rate"]
    assert rate.value == Decimal("0.5000")
    assert rate.count == 2
    assert {row[0]: row[4] for row in rate.rows} == {"C5": "yes", "C7": "no"}
    # A window without due contracts has no rate rather than 0 %.
    assert (
        dashboard(renewals_from=D(2024, 1, 1), renewals_to=D(2024, 6, 30)).figures["renewal_rate"].value
        is None
    )


def test_revenue_by_edition_industry_and_partner(book):
    figures = dashboard().figures
    assert figures["revenue"].value == Decimal("106000.00")
    by = {
        key: {row[0]: row[3] for row in figures[key].rows}
        for key in ("revenue_by_edition", "revenue_by_industry", "revenue_by_partner")
    }
    assert by["revenue_by_edition"] == {
        "Enterprise": Decimal("70000.00"),
        "Standard": Decimal("27000.00"),
        "SaaS": Decimal("9000.00"),
    }
    assert by["revenue_by_industry"] == {
        "finance": Decimal("70000.00"),
        "retail": Decimal("27000.00"),
        "manufacturing": Decimal("9000.00"),
    }
    assert by["revenue_by_partner"] == {"Alpha": Decimal("70000.00"), "direct": Decimal("36000.00")}
    standard = next(row for row in figures["revenue_by_edition"].rows if row[0] == "Standard")
    assert (standard[1], standard[2]) == (Decimal("30000.00"), Decimal("-3000.00"))


def test_open_receivables(book):
    receivables = dashboard().figures["receivables"]
    assert receivables.value == Decimal("49860.00")
    assert receivables.count == 3
    ageing = dict(receivables.series)
    assert ageing == {
        "not yet due": Decimal("5300.00"),
        "1–30 days overdue": Decimal("4240.00"),
        "31–60 days overdue": Decimal("0"),
        "61–90 days overdue": Decimal("40320.00"),
        "more than 90 days overdue": Decimal("0"),
    }
    # Before the payments of February and April were booked, more was open.
    earlier = dashboard(as_of=D(2026, 3, 15)).figures["receivables"]
    # I1 33,900 − 3,390 − 30,510 = 0 (paid 02-15); I2 10,600 USD × 7.00 (unpaid then).
    assert earlier.value == Decimal("74200.00")


def test_usd_converts_at_the_rate_table(book):
    ExchangeRate.objects.create(currency="USD", rate_to_cny=Decimal("7.50"), valid_from=D(2026, 6, 10))
    figures = dashboard().figures
    # C2 and C11: 10,000 USD a year each at 7.50 instead of 7.20.
    assert figures["arr"].value == Decimal("530000.00") + 2 * 10000 * Decimal("0.30")
    # Receivables revalue at the as-of rate; revenue keeps the rate recorded on the invoice.
    assert figures["receivables"].value == Decimal("49860.00") + 5600 * Decimal("0.30")
    assert figures["revenue"].value == Decimal("106000.00")


def test_a_missing_rate_is_reported_not_guessed(book):
    ExchangeRate.objects.all().delete()
    result = dashboard()
    assert ("USD", D(2026, 6, 15)) in result.missing_rates
    # The USD contracts are left out of ARR (their invoices still carry the rate recorded at issue).
    assert result.figures["arr"].value == Decimal("530000.00") - 72000 - 72000


def test_price_list_split_of_a_source_contract_follows_invoicing(db):
    # 700,000 for a 600,000 list (500,000 once + 100,000 a year): the one-time part scales to 583,333.33.
    c = ContractFactory(
        edition=edition("source"), start_date=D(2026, 1, 1), end_date=D(2026, 12, 31), price=Decimal("700000")
    )
    assert PriceList().one_time_part(c) == Decimal("583333.33")
    renewal = ContractFactory(
        edition=edition("source"),
        start_date=D(2027, 1, 1),
        end_date=D(2027, 12, 31),
        price=Decimal("100000"),
        renewal_of=c,
        organization=c.organization,
    )
    assert PriceList().one_time_part(renewal) == Decimal("0")


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (D(2026, 1, 1), D(2026, 12, 31), Decimal(12)),
        (D(2026, 3, 1), D(2028, 2, 29), Decimal(24)),
        (D(2026, 1, 31), D(2026, 2, 27), Decimal(1)),
        (D(2026, 1, 1), D(2026, 6, 30), Decimal(6)),
    ],
)
def test_term_months(start, end, months):
    assert term_months(start, end) == months


def test_term_months_of_an_odd_term_is_by_days():
    assert term_months(D(2026, 1, 1), D(2026, 1, 15)).quantize(Decimal("0.01")) == Decimal("0.49")
