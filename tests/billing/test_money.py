"""Rounding: half-up to the cent once per line, then summed; gross = net + tax everywhere."""

from decimal import Decimal

import pytest

from billing.models import DEFAULT_TAX_RATES, TaxCategory, category_for_rate, default_tax_rate
from billing.money import from_minor_units, line_amounts, round_money, to_minor_units
from tests.billing.factories import draft_invoice, line

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.005", "0.01"), ("0.004999", "0.00"), ("2.675", "2.68"), ("-0.005", "-0.01"), ("-2.675", "-2.68")],
)
def test_round_half_up_symmetric(value, expected):
    assert round_money(D(value)) == D(expected)


def test_line_amounts_round_net_then_tax_once():
    # 3 × 33.335 = 100.005 → net 100.01; tax 6 % of 100.01 = 6.0006 → 6.00; gross 106.01
    assert line_amounts(D("3"), D("33.335"), D("0.06")) == (D("100.01"), D("6.00"), D("106.01"))
    # 13 % of 0.50 = 0.065 → half-up 0.07
    assert line_amounts(D("1"), D("0.5"), D("0.13")) == (D("0.50"), D("0.07"), D("0.57"))


def test_unit_price_keeps_six_places():
    net, tax, gross = line_amounts(D("1000"), D("0.123456"), D("0.06"))
    assert net == D("123.46") and tax == D("7.41") and gross == D("130.87")


def test_credit_amounts_are_exact_negations():
    assert line_amounts(D("-3"), D("33.335"), D("0.06")) == (D("-100.01"), D("-6.00"), D("-106.01"))


def test_minor_units_at_the_stripe_boundary():
    assert to_minor_units(D("1234.56"), "CNY") == 123456
    assert from_minor_units(123456, "cny") == D("1234.56")


def test_default_tax_rates_per_category():
    assert default_tax_rate(TaxCategory.SOFTWARE_LICENSE) == D("0.13")
    for category in ("services", "maintenance", "saas", "support", "custom_development"):
        assert DEFAULT_TAX_RATES[category] == D("0.06")
    assert category_for_rate(D("0.13")) == TaxCategory.SOFTWARE_LICENSE
    assert category_for_rate(D("0.06")) == TaxCategory.SERVICES


def test_default_tax_rates_can_be_overridden(settings):
    settings.BILLING_TAX_RATES = {"software_license": "0.09"}
    assert default_tax_rate("software_license") == D("0.09")


@pytest.mark.django_db
def test_invoice_totals_are_sums_of_rounded_lines():
    invoice = draft_invoice(
        lines=[
            line("license", "3", "33.335", "0.13"),  # net 100.01, tax 13.00
            line("support", "1", "0.005", "0.06"),  # net 0.01, tax 0.00
            line("hours", "2.5", "1500", None, tax_category="custom_development"),  # 3750.00 + 225.00
        ]
    )
    lines = list(invoice.lines.all())
    assert [ln.net for ln in lines] == [D("100.01"), D("0.01"), D("3750.00")]
    assert lines[2].tax_rate == D("0.06")
    assert invoice.net_total == sum(ln.net for ln in lines) == D("3850.02")
    assert invoice.tax_total == sum(ln.tax for ln in lines) == D("238.00")
    assert invoice.gross_total == invoice.net_total + invoice.tax_total
