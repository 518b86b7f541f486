"""Partner revenue share (spec "Partner revenue share"): immutable rows per invoice line.

The rows for an invoice always add up to  share% × (line net after credit notes) × (paid / owed),
so each payment, refund or credit note writes the difference: positive when money comes in, negative
when a credit note or refund takes it back. Once fully paid, the sums are exact to the cent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PartnerCommission,
    PartnerPayout,
    PaymentAllocation,
)
from billing.money import ZERO, round_money
from customers.selectors import revenue_share_percent_for
from portal.core.actors import actor_user
from portal.core.services import audit


def commission_sync(
    *, invoice: Invoice, allocation: PaymentAllocation | None = None, credit_note: Invoice | None = None
) -> list[PartnerCommission]:
    """Write the commission rows that bring the invoice's totals to their target. Call inside the
    transaction that changed the invoice's payments or credits, with the invoice row locked."""
    if not invoice.partner_id:
        return []
    partner = invoice.partner
    # The share agreed for the invoice's contract when sales set one, else the partner's own.
    percent: Decimal = revenue_share_percent_for(
        contract=invoice.contract if invoice.contract_id else None, partner=partner
    )
    if percent <= 0:
        return []
    due = invoice.amount_due
    fraction = ZERO if due <= 0 else min(Decimal(1), max(ZERO, invoice.amount_paid / due))
    credited_net = dict(
        InvoiceLine.objects.filter(credited_line__invoice=invoice, invoice__status=InvoiceStatus.ISSUED)
        .values("credited_line_id")
        .annotate(net=Sum("net"))
        .values_list("credited_line_id", "net")
    )
    existing: dict[int, tuple[Decimal, Decimal]] = {
        row["line_id"]: (row["base"], row["amount"])
        for row in PartnerCommission.objects.filter(invoice=invoice)
        .values("line_id")
        .annotate(base=Sum("base_amount"), amount=Sum("amount"))
    }
    rows: list[PartnerCommission] = []
    for line in invoice.lines.all():
        effective_net = line.net + credited_net.get(line.pk, ZERO)
        target_base = effective_net if fraction == 1 else round_money(effective_net * fraction)
        target_amount = round_money(target_base * percent / 100)
        have_base, have_amount = existing.get(line.pk, (ZERO, ZERO))
        if target_base == have_base and target_amount == have_amount:
            continue
        rows.append(
            PartnerCommission(
                partner=partner,
                invoice=invoice,
                line=line,
                allocation=allocation,
                credit_note=credit_note,
                base_amount=target_base - have_base,
                rate_percent=percent,
                amount=target_amount - have_amount,
                currency=invoice.currency,
            )
        )
    return PartnerCommission.objects.bulk_create(rows)


def commission_totals(*, partner: Any, date_from: Any = None, date_to: Any = None) -> dict[str, Decimal]:
    """Commission owed to a partner per currency over a period (a statement is this sum)."""
    qs = PartnerCommission.objects.filter(partner=partner)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return {
        row["currency"]: row["total"]
        for row in qs.values("currency").annotate(total=Sum("amount")).order_by()
    }


@transaction.atomic
def payout_record(
    *,
    actor: Any,
    partner: Any,
    month: date,
    amount: Decimal,
    currency: str,
    paid_on: date,
    reference: str = "",
) -> PartnerPayout:
    """Finance records money paid to a partner for one month's commission statement."""
    payout = PartnerPayout(
        partner=partner,
        month=month.replace(day=1),
        amount=round_money(Decimal(amount)),
        currency=currency,
        paid_on=paid_on,
        reference=reference.strip()[:100],
        recorded_by=actor_user(actor),
    )
    payout.full_clean()
    payout.save()
    audit(
        actor=actor,
        action="partner.payout",
        target=partner,
        data={"month": f"{payout.month:%Y-%m}", "amount": str(payout.amount), "currency": currency},
    )
    return payout
