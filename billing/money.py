"""Money arithmetic: Decimal everywhere, half-up to the cent once per line, minor units only for Stripe."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Decimal places of each currency's minor unit at the Stripe boundary (both of ours have cents).
MINOR_UNIT_EXPONENT = {"CNY": 2, "USD": 2}


def round_money(amount: Decimal) -> Decimal:
    """Half-up to the cent; symmetric for negatives (credit notes are exact negations)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def line_amounts(
    quantity: Decimal, unit_price: Decimal, tax_rate: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """(net, tax, gross) of one line: the net is rounded once, the tax is computed on that net and
    rounded once, and gross is their sum, so gross = net + tax holds on every line and every total."""
    net = round_money(Decimal(quantity) * Decimal(unit_price))
    tax = round_money(net * Decimal(tax_rate))
    return net, tax, net + tax


def to_minor_units(amount: Decimal, currency: str) -> int:
    exponent = MINOR_UNIT_EXPONENT[currency.upper()]
    return int((Decimal(amount) * (10**exponent)).to_integral_value(rounding=ROUND_HALF_UP))


def from_minor_units(value: int, currency: str) -> Decimal:
    exponent = MINOR_UNIT_EXPONENT[currency.upper()]
    return round_money(Decimal(int(value)) / (10**exponent))
