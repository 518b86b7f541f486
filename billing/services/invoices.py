"""Invoice writes: draft, lines, issue (numbering), void, credit notes, delete. One transaction each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.models import (
    INVOICE_TRANSITIONS,
    SERIES,
    DocumentKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    TaxCategory,
    category_for_rate,
    default_tax_rate,
)
from billing.money import ZERO
from billing.selectors import buyer_details, exchange_rate_to_cny, seller_details
from billing.services import commissions
from billing.services.payments import invoice_refresh_payment_state
from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.i18n import organization_language
from portal.core.services import audit, enqueue_on_commit, sequence_next


@dataclass
class LineSpec:
    """One line to put on an invoice; the amounts are computed from these, never passed in."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal | None = None
    tax_category: str | None = None
    unit: str = ""
    period_start: date | None = None
    period_end: date | None = None
    price: Any = None
    module: Any = None
    device_count: int | None = None
    credited_line: InvoiceLine | None = None
    # Only for the last credit of a line: the exact remainder, so credits never exceed the original.
    amounts: tuple[Decimal, Decimal, Decimal] | None = field(default=None, repr=False)


def _check_transition(invoice: Invoice, target: str) -> None:
    if target not in INVOICE_TRANSITIONS[InvoiceStatus(invoice.status)]:
        raise billing_error(
            BillingError.INVALID_TRANSITION,
            _("A %(status)s %(kind)s cannot become %(target)s.")
            % {
                "status": invoice.get_status_display(),
                "kind": invoice.get_kind_display(),
                "target": InvoiceStatus(target).label,
            },
        )


def _lock(invoice: Invoice | int) -> Invoice:
    pk = invoice.pk if isinstance(invoice, Invoice) else invoice
    locked: Invoice = (
        Invoice.objects.select_for_update(of=("self",)).select_related("organization").get(pk=pk)
    )
    return locked


def _lock_draft(invoice: Invoice | int) -> Invoice:
    locked = _lock(invoice)
    if locked.status != InvoiceStatus.DRAFT:
        raise billing_error(BillingError.NOT_DRAFT, _("%(invoice)s is not a draft.") % {"invoice": locked})
    return locked


def build_line(invoice: Invoice, spec: LineSpec, position: int) -> InvoiceLine:
    category: str
    if spec.tax_category:
        category = TaxCategory(spec.tax_category)
    elif spec.tax_rate is not None:
        category = category_for_rate(spec.tax_rate)
    else:
        category = TaxCategory.SERVICES
    rate = Decimal(spec.tax_rate) if spec.tax_rate is not None else default_tax_rate(category)
    line = InvoiceLine(
        invoice=invoice,
        position=position,
        description=spec.description[:500],
        quantity=Decimal(spec.quantity),
        unit=spec.unit,
        unit_price=Decimal(spec.unit_price),
        tax_category=category,
        tax_rate=rate,
        period_start=spec.period_start,
        period_end=spec.period_end,
        price=spec.price,
        module=spec.module,
        device_count=spec.device_count,
        credited_line=spec.credited_line,
    )
    line.full_clean(exclude=["invoice", "price", "module", "credited_line"], validate_constraints=False)
    if spec.amounts is not None:
        line.net, line.tax, line.gross = spec.amounts
    else:
        line.compute()
    return line


def _set_totals(invoice: Invoice, lines: Iterable[InvoiceLine]) -> None:
    lines = list(lines)
    invoice.net_total = sum((line.net for line in lines), ZERO)
    invoice.tax_total = sum((line.tax for line in lines), ZERO)
    invoice.gross_total = sum((line.gross for line in lines), ZERO)


def new_invoice(
    *,
    actor: Actor,
    organization: Any,
    currency: str,
    contract: Any = None,
    kind: str = DocumentKind.INVOICE,
    credit_for: Invoice | None = None,
    notes: str = "",
    reason: str = "",
    rate_to_cny: Decimal | None = None,
    due_date: date | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
) -> Invoice:
    """An unsaved invoice with its denormalised filters (edition, partner) filled in."""
    if contract is not None and contract.organization_id != organization.pk:
        raise billing_error(
            BillingError.NOT_BILLABLE, _("The contract belongs to another organization."), status=400
        )
    partner_id = (contract.partner_id if contract is not None else None) or organization.partner_id
    invoice = Invoice(
        kind=kind,
        series=SERIES[DocumentKind(kind)],
        organization=organization,
        contract=contract,
        edition_id=contract.edition_id if contract is not None else None,
        partner_id=partner_id,
        credit_for=credit_for,
        currency=str(currency).upper(),
        rate_to_cny=rate_to_cny,
        notes=notes,
        reason=reason[:300],
        due_date=due_date,
        period_start=period_start,
        period_end=period_end,
        language=organization_language(organization),
        created_by=actor_user(actor),
    )
    invoice.full_clean(
        exclude=["organization", "contract", "edition", "partner", "credit_for", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    return invoice


@transaction.atomic
def invoice_create(
    *,
    actor: Actor,
    organization: Any,
    currency: str,
    lines: Sequence[LineSpec] = (),
    contract: Any = None,
    notes: str = "",
    rate_to_cny: Decimal | None = None,
    due_date: date | None = None,
    period_start: date | None = None,
    period_end: date | None = None,
) -> Invoice:
    """A draft invoice with its lines."""
    invoice = new_invoice(
        actor=actor,
        organization=organization,
        currency=currency,
        contract=contract,
        notes=notes,
        rate_to_cny=rate_to_cny,
        due_date=due_date,
        period_start=period_start,
        period_end=period_end,
    )
    invoice.save()
    built = [build_line(invoice, spec, position) for position, spec in enumerate(lines, start=1)]
    InvoiceLine.objects.bulk_create(built)
    _set_totals(invoice, built)
    invoice.save(update_fields=["net_total", "tax_total", "gross_total", "updated_at"])
    audit(
        actor=actor,
        action="invoice.create",
        target=invoice,
        data={"currency": invoice.currency, "lines": len(built), "gross": str(invoice.gross_total)},
    )
    return invoice


@transaction.atomic
def invoice_add_line(*, actor: Actor, invoice: Invoice, line: LineSpec) -> InvoiceLine:
    invoice = _lock_draft(invoice)
    position = (invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    built = build_line(invoice, line, position)
    built.save()
    invoice_recalculate(invoice=invoice)
    audit(actor=actor, action="invoice.add_line", target=invoice, data={"description": built.description})
    return built


def invoice_recalculate(*, invoice: Invoice) -> Invoice:
    """Totals of a draft from its lines (after lines were edited, e.g. in admin)."""
    if invoice.status != InvoiceStatus.DRAFT:
        return invoice
    _set_totals(invoice, invoice.lines.all())
    invoice.save(update_fields=["net_total", "tax_total", "gross_total", "updated_at"])
    return invoice


@transaction.atomic
def invoice_delete(*, actor: Actor, invoice: Invoice) -> None:
    """Only drafts can be deleted; issued documents stay (void them or credit them)."""
    invoice = _lock_draft(invoice)
    audit(actor=actor, action="invoice.delete", target=invoice, data={"gross": str(invoice.gross_total)})
    invoice.delete()


def prepare_issue(
    invoice: Invoice,
    lines: Sequence[InvoiceLine],
    *,
    issue_date: date | None = None,
    sequence: int | None = None,
) -> None:
    """Fill in everything issuing fixes for good: totals, number, dates, rate, seller and buyer.
    Must run inside the issuing transaction (the number comes from a locked counter row); `sequence`
    is given when the caller took a block of numbers in this transaction (sequence_next with a count)."""
    if not lines:
        raise billing_error(BillingError.EMPTY, _("An invoice needs at least one line."))
    _set_totals(invoice, lines)
    if invoice.kind == DocumentKind.INVOICE and invoice.gross_total <= 0:
        raise billing_error(
            BillingError.NEGATIVE_TOTAL,
            _("An invoice total must be positive; use a credit note to reduce one."),
        )
    if invoice.kind == DocumentKind.CREDIT_NOTE and invoice.gross_total >= 0:
        raise billing_error(BillingError.NEGATIVE_TOTAL, _("A credit note total must be negative."))
    if not settings.SELLER_NAME or not settings.SELLER_TAXPAYER_ID:
        raise billing_error(
            BillingError.SELLER_NOT_CONFIGURED,
            _("Set SELLER_NAME and SELLER_TAXPAYER_ID before issuing invoices."),
            status=503,
        )
    today = issue_date or timezone.localdate()
    if invoice.rate_to_cny is None:
        invoice.rate_to_cny = exchange_rate_to_cny(invoice.currency, today)
    invoice.seller = seller_details()
    invoice.buyer = buyer_details(invoice.organization)
    invoice.language = invoice.language or organization_language(invoice.organization)
    invoice.issue_date = today
    if invoice.kind == DocumentKind.INVOICE and invoice.due_date is None:
        invoice.due_date = today + timedelta(days=settings.BILLING_PAYMENT_TERMS_DAYS)
    series = SERIES[DocumentKind(invoice.kind)]
    if sequence is None:
        sequence = sequence_next(series=series, year=today.year)
    invoice.series, invoice.fiscal_year, invoice.sequence = series, today.year, sequence
    invoice.number = f"{series}-{today.year}-{sequence:06d}"
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at = timezone.now()


def _after_issue(*, actor: Actor, invoice: Invoice, send: bool) -> None:
    audit(
        actor=actor,
        action="invoice.issue",
        target=invoice,
        data={"number": invoice.number, "gross": str(invoice.gross_total), "currency": invoice.currency},
    )
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        _apply_credit_note(invoice)
    if send:
        invoice_email_queue(invoice=invoice)


@transaction.atomic
def invoice_issue(
    *, actor: Actor, invoice: Invoice, issue_date: date | None = None, send: bool = False
) -> Invoice:
    """Number the draft (gapless per series and year), snapshot seller, buyer and rate, freeze it."""
    invoice = _lock(invoice)
    _check_transition(invoice, InvoiceStatus.ISSUED)
    prepare_issue(invoice, list(invoice.lines.all()), issue_date=issue_date)
    invoice.save()
    _after_issue(actor=actor, invoice=invoice, send=send)
    return invoice


@transaction.atomic
def invoice_void(*, actor: Actor, invoice: Invoice, reason: str = "") -> Invoice:
    """Cancel an issued document that nobody has paid; its number stays used (no gap)."""
    invoice = _lock(invoice)
    _check_transition(invoice, InvoiceStatus.VOID)
    if invoice.allocations.exists():
        raise billing_error(
            BillingError.HAS_PAYMENTS,
            _("%(invoice)s has payments; issue a credit note and refund instead.") % {"invoice": invoice},
        )
    if invoice.credit_notes.filter(status=InvoiceStatus.ISSUED).exists():
        raise billing_error(
            BillingError.HAS_CREDIT_NOTES,
            _("%(invoice)s has credit notes; void those first or credit the rest.") % {"invoice": invoice},
        )
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason[:300]
    invoice.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
    audit(actor=actor, action="invoice.void", target=invoice, data={"reason": reason})
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        _apply_credit_note(invoice)
    return invoice


def credited_quantities(original: Invoice) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """Per original line: (quantity, net, tax) already credited by issued credit notes (positive)."""
    rows = (
        InvoiceLine.objects.filter(credited_line__invoice=original, invoice__status=InvoiceStatus.ISSUED)
        .values("credited_line_id")
        .annotate(q=Sum("quantity"), net=Sum("net"), tax=Sum("tax"))
    )
    return {r["credited_line_id"]: (-r["q"], -r["net"], -r["tax"]) for r in rows}


@transaction.atomic
def invoice_credit(
    *,
    actor: Actor,
    invoice: Invoice,
    reason: str = "",
    lines: Mapping[int, Decimal] | None = None,
    issue_date: date | None = None,
    send: bool = False,
) -> Invoice:
    """Issue a credit note (CN-YYYY-NNNNNN) for an issued invoice: all that is still creditable, or
    the given quantities per line id. Amounts are negative; the original's balance drops with it."""
    original = _lock(invoice)
    if original.kind != DocumentKind.INVOICE or original.status != InvoiceStatus.ISSUED:
        raise billing_error(BillingError.INVALID_TRANSITION, _("Only issued invoices can be credited."))
    originals = list(original.lines.all())
    if lines is not None:
        unknown = set(lines) - {line.pk for line in originals}
        if unknown:
            raise billing_error(
                BillingError.NOTHING_TO_CREDIT,
                _("Lines %(ids)s are not on %(invoice)s.")
                % {"ids": ", ".join(map(str, sorted(unknown))), "invoice": original},
                status=400,
            )
    done = credited_quantities(original)
    specs: list[LineSpec] = []
    for line in originals:
        done_q, done_net, done_tax = done.get(line.pk, (ZERO, ZERO, ZERO))
        remaining = line.quantity - done_q
        wanted = remaining if lines is None else Decimal(str(lines.get(line.pk, 0)))
        if wanted < 0 or wanted > remaining:
            raise billing_error(
                BillingError.CREDIT_EXCEEDS,
                _("Line %(line)s: at most %(remaining)s can still be credited.")
                % {"line": line.position, "remaining": remaining.normalize()},
                status=400,
            )
        if wanted == 0:
            continue
        amounts = None
        if wanted == remaining:
            net, tax = -(line.net - done_net), -(line.tax - done_tax)
            if net == 0 and tax == 0:
                continue  # earlier partial credits, rounded up, already took the whole amount
            amounts = (net, tax, net + tax)
        specs.append(
            LineSpec(
                description=line.description,
                quantity=-wanted,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                tax_category=line.tax_category,
                unit=line.unit,
                period_start=line.period_start,
                period_end=line.period_end,
                price=line.price_id and line.price,
                module=line.module_id and line.module,
                device_count=line.device_count,
                credited_line=line,
                amounts=amounts,
            )
        )
    if not specs:
        raise billing_error(BillingError.NOTHING_TO_CREDIT, _("Nothing is left to credit on this invoice."))
    credit = new_invoice(
        actor=actor,
        organization=original.organization,
        currency=original.currency,
        contract=original.contract,
        kind=DocumentKind.CREDIT_NOTE,
        credit_for=original,
        reason=reason,
        rate_to_cny=original.rate_to_cny,
        period_start=original.period_start,
        period_end=original.period_end,
    )
    credit.language = original.language or credit.language
    credit.edition_id, credit.partner_id = original.edition_id, original.partner_id
    credit.save()
    built = [build_line(credit, spec, position) for position, spec in enumerate(specs, start=1)]
    InvoiceLine.objects.bulk_create(built)
    prepare_issue(credit, built, issue_date=issue_date)
    credit.save()
    audit(
        actor=actor,
        action="invoice.credit",
        target=original,
        data={"credit_note": credit.number, "gross": str(credit.gross_total), "reason": reason},
    )
    _after_issue(actor=actor, invoice=credit, send=send)
    return credit


def invoice_email_queue(*, invoice: Invoice, recipients: list[str] | None = None) -> None:
    """Mail the issued invoice (to `recipients`, else the organization's billing contacts) once the
    current transaction commits."""
    extra = [] if recipients is None else [recipients]
    enqueue_on_commit("billing.tasks.invoice_send", invoice.pk, *extra)


def _apply_credit_note(credit: Invoice) -> None:
    """Bring the credited invoice's credited amount, payment status and partner commissions in step."""
    original = _lock(cast(int, credit.credit_for_id))  # a credit note always credits an invoice
    credited = Invoice.objects.filter(credit_for=original, status=InvoiceStatus.ISSUED).aggregate(
        total=Sum("gross_total")
    )["total"]
    original.amount_credited = credited or ZERO
    original.save(update_fields=["amount_credited", "updated_at"])
    invoice_refresh_payment_state(original)
    commissions.commission_sync(invoice=original, credit_note=credit)


@transaction.atomic
def invoice_set_fapiao(
    *, actor: Actor, invoice: Invoice, fapiao_number: str, issued_on: date | None = None
) -> Invoice:
    """Record the fapiao the tax system issued for this invoice (8 or 20 digits)."""
    number = "".join(fapiao_number.split())
    if number and (not number.isdigit() or len(number) not in (8, 20)):
        raise ApplicationError(
            BillingError.INVALID_INPUT, _("A fapiao number has 8 or 20 digits."), status=400
        )
    invoice = _lock(invoice)
    if invoice.status != InvoiceStatus.ISSUED:
        raise billing_error(BillingError.INVALID_TRANSITION, _("Only issued invoices carry a fapiao."))
    invoice.fapiao_number = number
    invoice.fapiao_issued_on = issued_on or (timezone.localdate() if number else None)
    invoice.save(update_fields=["fapiao_number", "fapiao_issued_on", "updated_at"])
    audit(actor=actor, action="invoice.fapiao", target=invoice, data={"fapiao_number": number})
    return invoice
