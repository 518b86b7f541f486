"""Everything the dashboard's figures read, loaded once in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from billing.dates import add_months, month_start
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.reports.figures import ZERO, cents
from billing.reports.price_list import PriceList
from billing.reports.rates import RateTable, invoice_cny
from contracts.models import Contract, ContractStatus, Trial

TREND_MONTHS = 12


class ReportData:
    """Everything the figures read, loaded in a fixed number of queries."""

    def __init__(self, *, as_of: date, date_from: date, date_to: date, rates: RateTable) -> None:
        self.rates = rates
        self.prices = PriceList()
        self.contracts = list(
            Contract.objects.exclude(status=ContractStatus.DRAFT)
            .select_related("organization", "edition", "partner", "renewal")
            .order_by("start_date", "id")
        )
        # SaaS: net billed per contract and month of service, in CNY at each invoice's rate.
        first_month = add_months(month_start(as_of), -(TREND_MONTHS + 1))
        self.saas_billed: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        lines = InvoiceLine.objects.filter(
            invoice__contract__edition__is_metered=True,
            invoice__status=InvoiceStatus.ISSUED,
            period_start__gte=first_month,
            period_start__lte=as_of,
        ).values_list(
            "invoice__contract_id",
            "period_start",
            "net",
            "invoice__currency",
            "invoice__rate_to_cny",
            "invoice__issue_date",
        )
        for contract_id, period_start, net, currency, rate, issued in lines:
            cny = invoice_cny(net, currency, rate, issued, rates)
            if cny is not None and period_start is not None:
                self.saas_billed[contract_id][month_start(period_start)] += cny
        self.trials = list(Trial.objects.select_related("edition", "contract__renewal"))
        self.documents = list(
            Invoice.objects.filter(
                status=InvoiceStatus.ISSUED, issue_date__gte=date_from, issue_date__lte=date_to
            )
            .select_related("organization", "edition", "partner")
            .order_by("issue_date", "id")
        )

    def saas_mrr(self, contract: Contract, on: date) -> Decimal:
        """Net billed (CNY) for the calendar month before the month of `on`."""
        month = add_months(month_start(on), -1)
        return self.saas_billed.get(contract.pk, {}).get(month, ZERO)


def recurring_value(contract: Contract, data: ReportData) -> Decimal:
    return cents(contract.price) - data.prices.one_time_part(contract)
