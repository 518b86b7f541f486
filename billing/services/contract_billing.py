"""What gets billed: contract term fees, SaaS usage per month, custom-development overage.

Every billable period is claimed by a BillingPeriod row (unique per contract, kind and period start)
in the same transaction as its invoice, under a lock on the contract's ContractBillingState row, so
re-running a job, retrying a task or clicking twice never bills a period twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import usage
from billing.dates import add_months, last_closed_month_end, month_end, month_start, months_between
from billing.errors import BillingError, billing_error
from billing.models import (
    SERIES,
    BillingKind,
    BillingPeriod,
    ContractBillingState,
    DocumentKind,
    Invoice,
    TaxCategory,
    UsageHold,
)
from billing.models.invoices import InvoiceLine
from billing.money import ZERO, round_money
from billing.services.invoices import (
    LineSpec,
    build_line,
    invoice_create,
    invoice_issue,
    new_invoice,
    prepare_issue,
)
from contracts.models import Contract, ContractStatus
from editions.models import Module, Price, PriceKind, PriceTerm
from editions.selectors import current_prices
from portal.core.actors import Actor, actor_user
from portal.core.i18n import organization_language
from portal.core.models import AuditEvent
from portal.core.services import audit, enqueue_on_commit, sequence_next

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

# Which VAT category each kind of price falls in by default (finance may change the line's rate).
PRICE_KIND_TAX = {
    PriceKind.LICENSE: TaxCategory.SOFTWARE_LICENSE,
    PriceKind.SUBSCRIPTION: TaxCategory.SOFTWARE_LICENSE,
    PriceKind.MAINTENANCE: TaxCategory.MAINTENANCE,
    PriceKind.USAGE: TaxCategory.SAAS,
    PriceKind.MODULE_FEE: TaxCategory.SAAS,
    PriceKind.SERVICE: TaxCategory.SERVICES,
}

TERM_LABELS: dict[tuple[str, str], StrOrPromise] = {
    (PriceKind.LICENSE, PriceTerm.ONCE): gettext_lazy("one-time license fee"),
    (PriceKind.LICENSE, PriceTerm.YEAR): gettext_lazy("annual license fee"),
    (PriceKind.SUBSCRIPTION, PriceTerm.YEAR): gettext_lazy("annual subscription"),
    (PriceKind.MAINTENANCE, PriceTerm.YEAR): gettext_lazy("annual maintenance"),
    (PriceKind.SERVICE, PriceTerm.YEAR): gettext_lazy("annual service fee"),
}


def _label(kind: str, term: str) -> str:
    return str(TERM_LABELS.get((kind, term), gettext_lazy("contract fee")))


def lock_contract_billing(contract_id: int) -> ContractBillingState:
    ContractBillingState.objects.get_or_create(contract_id=contract_id)
    return ContractBillingState.objects.select_for_update().get(contract_id=contract_id)


# Contract term fees ------------------------------------------------------------------------------


def term_periods(contract: Contract) -> list[tuple[date, date]]:
    """Yearly billing periods of a contract term (one for a term of about a year or less)."""
    years = max(1, round((contract.end_date - contract.start_date).days / 365.25))
    periods = []
    for k in range(years):
        start = add_months(contract.start_date, 12 * k)
        end = (
            contract.end_date
            if k == years - 1
            else add_months(contract.start_date, 12 * (k + 1)) - timedelta(days=1)
        )
        periods.append((start, end))
    return periods


@dataclass
class _Component:
    kind: str
    term: str
    price: Price | None
    amount: Decimal  # for the whole term, rounded to the cent

    @property
    def recurring(self) -> bool:
        return self.term != PriceTerm.ONCE


def _term_components(contract: Contract, years: int) -> list[_Component]:
    """The contract price split like the price list splits it (one-time license vs yearly fees), scaled to
    the negotiated price. A renewal carries no one-time fee. Rounding remainders go to the largest part."""
    total = round_money(contract.price)
    if total <= 0:
        return []
    latest: dict[tuple[str, str], Price] = {}
    for price in current_prices(edition=contract.edition, currency=contract.currency, on=contract.start_date):
        latest.setdefault((price.kind, price.term), price)
    parts: list[tuple[str, str, Price | None, Decimal]] = []
    for (kind, term), price in latest.items():
        if price.amount <= 0:
            continue
        if term == PriceTerm.ONCE and kind == PriceKind.LICENSE and contract.renewal_of_id is None:
            parts.append((kind, term, price, price.amount))
        elif term == PriceTerm.YEAR:
            parts.append((kind, term, price, price.amount * years))
    list_total = sum((p[3] for p in parts), Decimal(0))
    if list_total <= 0:
        return [_Component(PriceKind.SUBSCRIPTION, PriceTerm.YEAR, None, total)]
    components = [
        _Component(kind, term, price, round_money(value * total / list_total))
        for kind, term, price, value in parts
    ]
    components.sort(key=lambda c: (c.recurring, c.kind))
    largest = max(components, key=lambda c: c.amount)
    largest.amount += total - sum((c.amount for c in components), ZERO)
    return components


def term_schedule(contract: Contract) -> list[tuple[tuple[date, date], list[LineSpec]]]:
    """Per billing period, the lines to invoice; the periods add up to the contract price exactly.
    Line texts are in the organization's language."""
    periods = term_periods(contract)
    years = len(periods)
    components = _term_components(contract, years)
    schedule = []
    with translation.override(organization_language(contract.organization)):
        edition = contract.edition.name
        for index, (start, end) in enumerate(periods):
            specs = []
            for component in components:
                if not component.recurring:
                    if index > 0:
                        continue
                    amount, what = (
                        component.amount,
                        _("%(edition)s edition, %(fee)s")
                        % {
                            "edition": edition,
                            "fee": _label(component.kind, component.term),
                        },
                    )
                else:
                    per_year = round_money(component.amount / years)
                    amount = per_year if index < years - 1 else component.amount - per_year * (years - 1)
                    what = _("%(edition)s edition, %(fee)s, %(start)s to %(end)s") % {
                        "edition": edition,
                        "fee": _label(component.kind, component.term),
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                    }
                specs.append(
                    LineSpec(
                        description=f"{what} ({contract.number})",
                        quantity=Decimal(1),
                        unit=_("item") if not component.recurring else _("year"),
                        unit_price=amount,
                        tax_category=PRICE_KIND_TAX.get(PriceKind(component.kind), TaxCategory.SERVICES),
                        period_start=start if component.recurring else None,
                        period_end=end if component.recurring else None,
                        price=component.price,
                    )
                )
            schedule.append(((start, end), specs))
    return schedule


@transaction.atomic
def invoice_for_contract(
    *, actor: Actor, contract: Contract, on: date | None = None, issue: bool | None = None
) -> Invoice | None:
    """The invoice for the contract's billing period that contains `on` (today by default; before the
    start: the first period). Idempotent per period: a second call returns the same invoice. Covers the
    yearly fee of standard/enterprise, the source edition's one-time fee (first period) plus yearly
    maintenance, and renewals (a renewal is its own contract). None when there is nothing to charge."""
    contract = Contract.objects.select_related("organization", "edition", "partner").get(pk=contract.pk)
    lock_contract_billing(contract.pk)
    if contract.edition.is_metered:
        raise billing_error(BillingError.NOT_BILLABLE, _("SaaS contracts are invoiced monthly by usage."))
    if contract.status == ContractStatus.CANCELLED:
        raise billing_error(BillingError.NOT_BILLABLE, _("Cancelled contracts are not invoiced."))
    schedule = term_schedule(contract)
    if not schedule or not any(specs for _period, specs in schedule):
        return None
    on = on or timezone.localdate()
    (start, end), specs = next(
        ((period, specs) for period, specs in schedule if period[0] <= on <= period[1]),
        schedule[0] if on < schedule[0][0][0] else schedule[-1],
    )
    claimed = BillingPeriod.objects.filter(
        contract=contract, kind=BillingKind.TERM, period_start=start
    ).first()
    if claimed is not None:
        return claimed.invoice
    invoice = invoice_create(
        actor=actor,
        organization=contract.organization,
        currency=contract.currency,
        contract=contract,
        lines=specs,
        period_start=start,
        period_end=end,
    )
    BillingPeriod.objects.create(
        contract=contract, kind=BillingKind.TERM, period_start=start, period_end=end, invoice=invoice
    )
    if issue if issue is not None else settings.BILLING_CONTRACT_AUTO_ISSUE:
        invoice = invoice_issue(actor=actor, invoice=invoice, send=settings.BILLING_SEND_ON_ISSUE)
    return invoice


def contracts_due_for_invoicing(*, today: date | None = None) -> list[tuple[int, date]]:
    """(contract id, period start) of term periods starting within the next BILLING_INVOICE_ADVANCE_DAYS
    (or in the last 30 days, if a run was missed) that have no invoice yet: active contracts, and draft
    renewals of contracts that renew automatically."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.BILLING_INVOICE_ADVANCE_DAYS)
    earliest = today - timedelta(days=30)
    contracts = (
        Contract.objects.filter(
            edition__is_metered=False, price__gt=0, start_date__lte=horizon, end_date__gte=earliest
        )
        .filter(
            Q(status=ContractStatus.ACTIVE)
            | Q(
                status=ContractStatus.DRAFT,
                renewal_of__auto_renew=True,
                renewal_of__status__in=[ContractStatus.ACTIVE, ContractStatus.EXPIRED],
            )
        )
        .only("id", "start_date", "end_date")
    )
    contract_list = list(contracts)
    claimed = set(
        BillingPeriod.objects.filter(
            contract__in=[c.pk for c in contract_list], kind=BillingKind.TERM
        ).values_list("contract_id", "period_start")
    )
    due = []
    for contract in contract_list:
        for start, _end in term_periods(contract):
            if earliest <= start <= horizon and (contract.pk, start) not in claimed:
                due.append((contract.pk, start))
    return due


# SaaS usage ----------------------------------------------------------------------------------------


@dataclass
class UsageRunResult:
    contracts: int = 0
    invoices: list[int] = field(default_factory=list)
    zero_periods: int = 0
    held: list[tuple[int, date]] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


class _PriceBook:
    """The usage and module-fee prices of metered editions, loaded once per run."""

    def __init__(self, edition_ids: Iterable[int]) -> None:
        self._rows: dict[tuple[int, int | None, str], list[Price]] = defaultdict(list)
        prices = Price.objects.filter(
            edition_id__in=list(edition_ids), kind__in=[PriceKind.USAGE, PriceKind.MODULE_FEE]
        ).order_by("-valid_from")
        for price in prices:
            if price.kind == PriceKind.USAGE and (price.module_id or price.term != PriceTerm.DEVICE_MONTH):
                continue
            self._rows[(price.edition_id, price.module_id, price.currency)].append(price)

    def get(self, edition_id: int, module_id: int | None, currency: str, on: date) -> Price | None:
        for price in self._rows.get((edition_id, module_id, currency), []):
            if price.valid_from <= on:
                return price
        return None


def _contract_usage_end(contract: Contract) -> date:
    end = contract.end_date
    if contract.status == ContractStatus.CANCELLED and contract.cancelled_at:
        end = min(end, timezone.localtime(contract.cancelled_at).date())
    return end


def _months_due(contract: Contract, marker: date | None, through: date) -> list[tuple[date, date]]:
    first = contract.start_date if marker is None else max(contract.start_date, marker + timedelta(days=1))
    last = min(through, _contract_usage_end(contract))
    if first > last:
        return []
    return list(months_between(first, last))


def _usage_lines(
    contract: Contract, month: tuple[date, date], peak: int, prices: _PriceBook
) -> list[LineSpec] | None:
    """The month's lines: peak devices × the per-device price, plus module fees. None if unpriced."""
    start, end = month
    usage_price = prices.get(contract.edition_id, None, contract.currency, start)
    if usage_price is None:
        return None
    lines: list[LineSpec] = []
    label = f"{start:%Y-%m}"
    if peak > 0:
        lines.append(
            LineSpec(
                description=_(
                    "SaaS usage %(month)s: peak of %(devices)s devices × %(price)s %(currency)s per device-month"
                )
                % {
                    "month": label,
                    "devices": peak,
                    "price": f"{usage_price.amount:.2f}",
                    "currency": contract.currency,
                },
                quantity=Decimal(peak),
                unit=_("device-month"),
                unit_price=usage_price.amount,
                tax_category=TaxCategory.SAAS,
                period_start=start,
                period_end=end,
                price=usage_price,
                device_count=peak,
            )
        )
    modules: dict[int, Module] = {m.pk: m for m in contract.edition.included_modules.all()}
    modules.update({m.pk: m for m in contract.modules.all()})
    for module in sorted(modules.values(), key=lambda m: (m.sort_order, m.code)):
        fee = prices.get(contract.edition_id, module.pk, contract.currency, start)
        if fee is None or fee.amount <= 0:
            continue
        if fee.term == PriceTerm.DEVICE_MONTH:
            quantity, unit = Decimal(peak), _("device-month")
        elif fee.term == PriceTerm.MONTH:
            quantity, unit = Decimal(1), _("month")
        else:
            continue
        if quantity <= 0:
            continue
        lines.append(
            LineSpec(
                description=_("Module %(module)s, %(month)s") % {"module": module.name, "month": label},
                quantity=quantity,
                unit=unit,
                unit_price=fee.amount,
                tax_category=TaxCategory.SAAS,
                period_start=start,
                period_end=end,
                price=fee,
                module=module,
                device_count=peak if fee.term == PriceTerm.DEVICE_MONTH else None,
            )
        )
    return lines


def _new_usage_invoice(
    *, actor: Actor, contract: Contract, month: tuple[date, date], specs: list[LineSpec]
) -> tuple[Invoice, list[InvoiceLine]]:
    """An unsaved invoice and its unsaved lines for one contract month."""
    start, end = month
    invoice = new_invoice(
        actor=actor,
        organization=contract.organization,
        currency=contract.currency,
        contract=contract,
        period_start=start,
        period_end=end,
    )
    lines = [build_line(invoice, spec, position) for position, spec in enumerate(specs, start=1)]
    invoice.net_total = sum((line.net for line in lines), ZERO)
    invoice.tax_total = sum((line.tax for line in lines), ZERO)
    invoice.gross_total = sum((line.gross for line in lines), ZERO)
    return invoice, lines


def _save_usage_invoices(
    *, actor: Actor, pending: list[tuple[Invoice, list[InvoiceLine]]], auto_issue: bool
) -> None:
    """Write a batch of usage invoices with a handful of statements: one block of numbers, one INSERT
    for the invoices, one for their lines, one for their audit rows."""
    if not pending:
        return
    if auto_issue:
        today = timezone.localdate()
        first = sequence_next(series=SERIES[DocumentKind.INVOICE], year=today.year, count=len(pending))
        for offset, (invoice, lines) in enumerate(pending):
            prepare_issue(invoice, lines, issue_date=today, sequence=first + offset)
    invoices = Invoice.objects.bulk_create([invoice for invoice, _lines in pending])
    for invoice, lines in pending:
        for line in lines:
            line.invoice = invoice
    InvoiceLine.objects.bulk_create([line for _invoice, lines in pending for line in lines])
    action = "invoice.issue" if auto_issue else "invoice.create"
    user = actor_user(actor)
    content_type = ContentType.objects.get_for_model(Invoice)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=user,
                via=getattr(actor, "_audit_via", "") or ("admin" if user else "system"),
                action=action,
                target_type=content_type,
                target_id=str(invoice.pk),
                target_repr=str(invoice)[:200],
                data={"source": "usage", "number": invoice.number, "gross": str(invoice.gross_total)},
            )
            for invoice in invoices
        ]
    )
    if auto_issue and settings.BILLING_SEND_ON_ISSUE:
        for invoice in invoices:
            enqueue_on_commit("billing.tasks.invoice_send", invoice.pk)


def usage_invoice_run(
    *,
    actor: Actor = None,
    today: date | None = None,
    contract_ids: Iterable[int] | None = None,
    batch_size: int = 100,
) -> UsageRunResult:
    """Invoice every SaaS contract for each closed calendar month not yet invoiced: the month's peak
    daily device count × the per-device price (from the price list), plus module fees. Safe to run
    any number of times; a crash rolls back the current batch only. Months whose usage reports are
    stale are held for review (staff told once) and block the invoiced-through marker."""
    today = today or timezone.localdate()
    through = last_closed_month_end(today)
    result = UsageRunResult()
    qs = Contract.objects.filter(
        edition__is_metered=True,
        activated_at__isnull=False,
        status__in=[ContractStatus.ACTIVE, ContractStatus.EXPIRED, ContractStatus.CANCELLED],
        start_date__lte=through,
    )
    if contract_ids is not None:
        qs = qs.filter(pk__in=list(contract_ids))
    modules = Module.objects.order_by("sort_order", "code")
    contracts = list(
        qs.select_related("organization", "edition")
        .prefetch_related(
            Prefetch("modules", queryset=modules), Prefetch("edition__included_modules", queryset=modules)
        )
        .order_by("pk")
    )
    if not contracts:
        return result
    result.contracts = len(contracts)
    markers = dict(
        ContractBillingState.objects.filter(contract_id__in=[c.pk for c in contracts]).values_list(
            "contract_id", "usage_invoiced_through"
        )
    )
    wanted: dict[tuple[date, date], list[int]] = defaultdict(list)
    for contract in contracts:
        for month in _months_due(contract, markers.get(contract.pk), through):
            wanted[month].append(contract.pk)
    peaks: dict[tuple[date, date], dict[int, int]] = {}
    stale: dict[tuple[date, date], dict[int, Any]] = {}
    for month, ids in wanted.items():
        peaks[month] = usage.peak_device_counts(ids, month[0], month[1])
        stale[month] = usage.stale_usage(ids, month[0], month[1])
    prices = _PriceBook({c.edition_id for c in contracts})
    auto_issue = settings.BILLING_USAGE_AUTO_ISSUE
    ContractBillingState.objects.bulk_create(
        [ContractBillingState(contract_id=c.pk) for c in contracts if c.pk not in markers],
        ignore_conflicts=True,
    )
    for offset in range(0, len(contracts), batch_size):
        batch = contracts[offset : offset + batch_size]
        invoices_before = len(result.invoices)
        try:
            with transaction.atomic():
                _usage_batch(actor, batch, through, peaks, stale, prices, auto_issue, result)
        except Exception as exc:  # the batch rolled back as a whole; the others still get billed
            logger.exception("SaaS usage batch starting at contract %s failed", batch[0].pk)
            del result.invoices[invoices_before:]
            for contract in batch:
                result.errors.setdefault(contract.pk, repr(exc)[:300])
    return result


def _usage_batch(
    actor: Actor,
    batch: list[Contract],
    through: date,
    peaks: dict[tuple[date, date], dict[int, int]],
    stale: dict[tuple[date, date], dict[int, Any]],
    prices: _PriceBook,
    auto_issue: bool,
    result: UsageRunResult,
) -> None:
    ids = [c.pk for c in batch]
    states = {
        s.contract_id: s
        for s in ContractBillingState.objects.select_for_update().filter(contract_id__in=ids).order_by("pk")
    }
    claimed = set(
        BillingPeriod.objects.filter(contract_id__in=ids, kind=BillingKind.USAGE).values_list(
            "contract_id", "period_start"
        )
    )
    holds = {(h.contract_id, h.period_start): h for h in UsageHold.objects.filter(contract_id__in=ids)}
    new_periods: list[BillingPeriod] = []
    new_holds: list[UsageHold] = []
    pending: list[tuple[Invoice, list[InvoiceLine]]] = []
    changed_states: list[ContractBillingState] = []
    for contract in batch:
        state = states[contract.pk]
        marker, blocked = state.usage_invoiced_through, False
        language = organization_language(contract.organization)
        for month in _months_due(contract, marker, through):
            start, end = month
            if (contract.pk, start) in claimed:
                marker = end if not blocked else marker
                continue
            if month not in peaks:  # another run moved the marker back? fetch what is missing
                peaks[month] = usage.peak_device_counts([contract.pk], start, end)
                stale[month] = usage.stale_usage([contract.pk], start, end)
            hold = holds.get((contract.pk, start))
            if contract.pk in stale.get(month, {}) and (hold is None or hold.released_at is None):
                if hold is None:
                    new_holds.append(
                        UsageHold(
                            contract=contract,
                            period_start=start,
                            period_end=end,
                            details={"stale": stale[month][contract.pk]},
                        )
                    )
                result.held.append((contract.pk, start))
                blocked = True
                continue
            peak = int(peaks[month].get(contract.pk, 0) or 0)
            with translation.override(language):
                lines = _usage_lines(contract, month, peak, prices)
            if lines is None:
                result.errors[contract.pk] = f"no {contract.currency} usage price for {start:%Y-%m}"
                blocked = True
                break
            invoice = None
            if lines:
                invoice, built = _new_usage_invoice(actor=actor, contract=contract, month=month, specs=lines)
                pending.append((invoice, built))
            else:
                result.zero_periods += 1
            new_periods.append(
                BillingPeriod(
                    contract=contract,
                    kind=BillingKind.USAGE,
                    period_start=start,
                    period_end=end,
                    invoice=invoice,
                    quantity=Decimal(peak),
                )
            )
            if not blocked:
                marker = end
        if marker != state.usage_invoiced_through:
            state.usage_invoiced_through = marker
            changed_states.append(state)
    _save_usage_invoices(actor=actor, pending=pending, auto_issue=auto_issue)
    result.invoices.extend(invoice.pk for invoice, _lines in pending)
    BillingPeriod.objects.bulk_create(new_periods)
    UsageHold.objects.bulk_create(new_holds, ignore_conflicts=True)
    by_marker: dict[date | None, list[int]] = defaultdict(list)
    for state in changed_states:
        by_marker[state.usage_invoiced_through].append(state.contract_id)
    for (
        marker,
        contract_ids,
    ) in by_marker.items():  # usually one UPDATE: the whole batch is through the same month
        ContractBillingState.objects.filter(contract_id__in=contract_ids).update(
            usage_invoiced_through=marker, updated_at=timezone.now()
        )


@transaction.atomic
def usage_hold_release(*, actor: Actor, hold: UsageHold) -> UsageHold:
    """Staff checked a held month; the next run bills it with the reports as they are."""
    hold = UsageHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is None:
        hold.released_at = timezone.now()
        hold.released_by = actor_user(actor)
        hold.save(update_fields=["released_at", "released_by"])
        audit(
            actor=actor,
            action="usage_hold.release",
            target=hold,
            data={"month": f"{hold.period_start:%Y-%m}"},
        )
    return hold


def usage_holds_to_notify() -> list[UsageHold]:
    return list(
        UsageHold.objects.filter(notified_at__isnull=True, released_at__isnull=True).select_related(
            "contract"
        )
    )


# Custom development -------------------------------------------------------------------------------


@transaction.atomic
def invoice_custom_development_overage(
    *, actor: Actor, contract: Contract, hours: Decimal, period: tuple[date, date], issue: bool | None = None
) -> Invoice | None:
    """Invoice custom-development hours beyond those the contract includes, for one period, at
    BILLING_CUSTOM_DEV_HOURLY_RATE in the contract's currency. `hours` is the overage the support app
    computed (hours logged beyond `contract.custom_dev_hours`). Idempotent per (contract, period start);
    None when there is nothing to bill."""
    hours = Decimal(str(hours))
    start, end = period
    if end < start:
        raise billing_error(BillingError.NOT_BILLABLE, _("The period ends before it starts."), status=400)
    contract = Contract.objects.select_related("organization", "edition", "partner").get(pk=contract.pk)
    lock_contract_billing(contract.pk)
    claimed = BillingPeriod.objects.filter(
        contract=contract, kind=BillingKind.CUSTOM_DEV, period_start=start
    ).first()
    if claimed is not None:
        return claimed.invoice
    if hours <= 0:
        return None
    rate = Decimal(str(settings.BILLING_CUSTOM_DEV_HOURLY_RATE[contract.currency]))
    with translation.override(organization_language(contract.organization)):
        line = LineSpec(
            description=_(
                "Custom development beyond the %(included)s hours included, %(start)s to %(end)s (%(contract)s)"
            )
            % {
                "included": contract.custom_dev_hours,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "contract": contract.number,
            },
            quantity=hours,
            unit=_("hour"),
            unit_price=rate,
            tax_category=TaxCategory.CUSTOM_DEVELOPMENT,
            period_start=start,
            period_end=end,
        )
    invoice = invoice_create(
        actor=actor,
        organization=contract.organization,
        currency=contract.currency,
        contract=contract,
        lines=[line],
        period_start=start,
        period_end=end,
    )
    BillingPeriod.objects.create(
        contract=contract,
        kind=BillingKind.CUSTOM_DEV,
        period_start=start,
        period_end=end,
        invoice=invoice,
        quantity=hours,
    )
    if issue:
        invoice = invoice_issue(actor=actor, invoice=invoice, send=settings.BILLING_SEND_ON_ISSUE)
    return invoice


def month_period(day: date) -> tuple[date, date]:
    """The calendar month containing `day`, as a (start, end) period."""
    return month_start(day), month_end(day)


@dataclass(frozen=True)
class UsageToDate:
    """A SaaS contract's current month so far: the peak device count and what the month's invoice would
    be if the month ended today (the same lines as the monthly usage run)."""

    month_start: date
    through: date
    peak: int
    currency: str
    lines: list[LineSpec]
    net: Decimal

    @property
    def priced(self) -> bool:
        return bool(self.lines) or self.peak == 0


def usage_month_to_date(contract: Contract, *, today: date | None = None) -> UsageToDate:
    """Read-only: the month-to-date peak and the estimated bill (net) of a metered contract."""
    today = today or timezone.localdate()
    start = max(month_start(today), contract.start_date)
    peak = usage.peak_device_counts([contract.pk], start, today).get(contract.pk, 0)
    lines = _usage_lines(
        contract, (month_start(today), month_end(today)), peak, _PriceBook([contract.edition_id])
    )
    specs = lines or []
    net = round_money(sum((spec.quantity * spec.unit_price for spec in specs), ZERO))
    return UsageToDate(
        month_start=start, through=today, peak=peak, currency=contract.currency, lines=specs, net=net
    )
