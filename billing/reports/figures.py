"""The vocabulary of the revenue dashboard: each figure's definition and label, and the Figure a report
module returns (one number with the rows it is the sum of)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext_lazy

ZERO = Decimal("0")
CENT = Decimal("0.01")

DEFINITIONS: dict[str, Any] = {
    "arr": gettext_lazy(
        "Annual recurring revenue on the as-of date. Sum over the contracts in force that day (not draft; "
        "start ≤ date ≤ end; a cancelled contract until its cancellation): for term editions the recurring "
        "part of the price (the price less the one-time license fee, split by the price list as invoicing "
        "splits it) × 12 ÷ the term in months; for metered SaaS contracts 12 × the net amount billed for "
        "the calendar month before the as-of month. Contract currencies convert at the rate valid on the "
        "as-of date, SaaS invoices at their own rate."
    ),
    "mrr": gettext_lazy(
        "Monthly recurring revenue: ARR ÷ 12, i.e. annual fees spread evenly over the months and SaaS by "
        "the net amount billed for the month before the as-of month. The trend is MRR at each month end."
    ),
    "bookings": gettext_lazy(
        "Contract value signed in the period: the full price (one-time license fees included) of the "
        "contracts activated in the period, by activation date, whether new or renewals; a contract "
        "cancelled later still counts. Converted at the rate valid on the activation date. Metered SaaS "
        "contracts count with their fixed price only."
    ),
    "renewals_due": gettext_lazy(
        "Contracts in force on the as-of date that end within the next 90 days and have no activated "
        "renewal yet. Value: the draft renewal's price when there is one, else the recurring value of the "
        "current term (price less one-time fees; SaaS: last billed month × months of the term), at the "
        "rate valid on the as-of date."
    ),
    "renewal_rate": gettext_lazy(
        "Renewed ÷ due: of the contracts whose term ended inside the renewal window (active or expired; "
        "cancelled contracts are excluded), the share that has an activated renewal (a contract that "
        "renews it and is active or expired)."
    ),
    "revenue": gettext_lazy(
        "Invoiced revenue in the period, VAT excluded: the net totals of issued invoices dated in the "
        "period less the net of issued credit notes dated in the period (void documents excluded), each "
        "converted at the rate recorded on the document."
    ),
    "revenue_by_edition": gettext_lazy(
        "Revenue as defined above, by the edition of the invoiced contract (invoices without a contract "
        "under “no edition”)."
    ),
    "revenue_by_industry": gettext_lazy("Revenue as defined above, by the customer's industry."),
    "revenue_by_partner": gettext_lazy(
        "Revenue as defined above, by the channel partner the invoice is attributed to (“direct” when none)."
    ),
    "receivables": gettext_lazy(
        "What customers owed on the as-of date, VAT included: for each invoice issued by then, its total "
        "less the credit notes issued and the payments allocated by then, where positive. Converted at "
        "the rate valid on the as-of date; grouped by days past the due date."
    ),
    "bookings_self_service": gettext_lazy(
        "Bookings as defined above, of the contracts ordered online (/pricing/: a self-service quote, a "
        "converted trial, a SaaS sign-up)."
    ),
    "bookings_sales_led": gettext_lazy("Bookings as defined above, of the contracts sales created."),
    "trial_conversion": gettext_lazy(
        "Trials started in the period that became paid: the trial contract is continued by an active or "
        "expired paid contract (its renewal). Per edition and channel (self-service trial from /pricing/ "
        "or a proof of concept granted by sales); the value is converted ÷ started over all of them."
    ),
}

LABELS: dict[str, Any] = {
    "arr": gettext_lazy("ARR"),
    "mrr": gettext_lazy("MRR"),
    "bookings": gettext_lazy("Bookings"),
    "renewals_due": gettext_lazy("Renewals due in 90 days"),
    "renewal_rate": gettext_lazy("Renewal rate"),
    "revenue": gettext_lazy("Revenue"),
    "revenue_by_edition": gettext_lazy("Revenue by edition"),
    "revenue_by_industry": gettext_lazy("Revenue by industry"),
    "revenue_by_partner": gettext_lazy("Revenue by partner"),
    "receivables": gettext_lazy("Open receivables"),
    "bookings_self_service": gettext_lazy("Bookings, self-service"),
    "bookings_sales_led": gettext_lazy("Bookings, sales-led"),
    "trial_conversion": gettext_lazy("Trial-to-paid conversion"),
}


def cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Figure:
    """One number of the dashboard with the rows it is the sum of (the CSV)."""

    key: str
    value: Decimal | None
    columns: list[str]
    rows: list[list[Any]]
    unit: str = "cny"  # "cny" or "ratio"
    count: int | None = None
    series: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(LABELS[self.key])

    @property
    def definition(self) -> str:
        return str(DEFINITIONS[self.key])
