"""Factories and builders for the customers tests (inquiries, billing documents for the reports)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import factory
import time_machine

from customers.models import Inquiry, InquiryChannel

SHANGHAI = ZoneInfo("Asia/Shanghai")


class InquiryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inquiry

    company_name = factory.Sequence(lambda n: f"Prospect {n} Ltd.")
    contact_name = "Li Lei"
    contact_email = factory.Sequence(lambda n: f"buyer{n}@prospect.example")
    channel = InquiryChannel.PHONE
    industry = "retail"
    interests = factory.LazyFunction(lambda: ["source_code"])
    motives = factory.LazyFunction(list)


def at(day: datetime.date, hour: int = 10) -> Any:
    """time_machine travel to a local (Shanghai) time on that day."""
    return time_machine.travel(
        datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False
    )


def issued_invoice(
    *,
    organization: Any,
    contract: Any = None,
    currency: str = "CNY",
    net: Decimal | str,
    tax_rate: str = "0.06",
    issue_date: datetime.date,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    description: str = "licence fee",
) -> Any:
    """A one-line invoice drafted and issued through billing's services on `issue_date`."""
    from billing.services.invoices import LineSpec, invoice_create, invoice_issue

    with at(issue_date):
        draft = invoice_create(
            actor=None,
            organization=organization,
            currency=currency,
            contract=contract,
            lines=[
                LineSpec(
                    description=description,
                    quantity=Decimal(1),
                    unit_price=Decimal(net),
                    tax_rate=Decimal(tax_rate),
                    period_start=period_start,
                    period_end=period_end,
                )
            ],
        )
        return invoice_issue(actor=None, invoice=draft, issue_date=issue_date)


def pay(invoice: Any, amount: Decimal | str, on: datetime.date) -> Any:
    """A bank transfer received and allocated to the invoice on that day."""
    from billing.services.payments import payment_record

    with at(on, hour=11):
        return payment_record(
            actor=None,
            method="bank_transfer",
            amount=Decimal(amount),
            currency=invoice.currency,
            allocations=[(invoice, Decimal(amount))],
        )


def credit(invoice: Any, fraction: Decimal | str, on: datetime.date) -> Any:
    """A credit note for a fraction of the invoice's (single) line, issued on that day."""
    from billing.services.invoices import invoice_credit

    line = invoice.lines.get()
    with at(on, hour=12):
        return invoice_credit(
            actor=None, invoice=invoice, lines={line.pk: Decimal(fraction)}, issue_date=on, reason="discount"
        )
