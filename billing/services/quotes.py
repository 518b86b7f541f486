"""Quote writes (报价单): create from the price list, revise (a new version), send, approve a discount,
accept (→ the contract draft and the issued invoice), withdraw, expire; the renewal quote of a contract
with uplift and true-up; and the one rule that activates the contract when the accepted quote's invoice
is paid, for editions sold without negotiation (`quote_contract_activate_on_payment`).

Amounts: each line's list amount (quantity × unit price) is rounded once, the quote's discount is taken
off it and rounded once, tax is computed on the discounted net as on invoices, so the invoice that
acceptance issues carries exactly the quote's amounts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import usage
from billing.errors import BillingError, billing_error
from billing.models import (
    OPEN_QUOTE_STATUSES,
    QUOTE_SERIES,
    QUOTE_TRANSITIONS,
    BillingKind,
    BillingPeriod,
    Invoice,
    Quote,
    QuoteKind,
    QuoteLine,
    QuoteLineKind,
    QuoteOrigin,
    QuoteStatus,
    TaxCategory,
    default_tax_rate,
)
from billing.money import ZERO, round_money
from billing.proration import prorate
from billing.services.contract_billing import PRICE_KIND_TAX, TERM_LABELS, term_periods
from billing.services.invoices import LineSpec, invoice_create, invoice_issue
from contracts.models import Contract, ContractStatus, Trial
from contracts.services import (
    contract_activate,
    contract_create,
    contract_renew,
    contract_update,
    renewal_price,
    renewal_term,
)
from editions.models import Edition, Module, ModuleKind, PriceKind, PriceTerm
from editions.selectors import current_prices
from portal.core.actors import actor_user
from portal.core.errors import ApplicationError
from portal.core.i18n import organization_language
from portal.core.services import audit, enqueue_on_commit, sequence_next

logger = logging.getLogger(__name__)

UNIT_PRICE_PLACES = Decimal("0.000001")
DAYS_PER_YEAR = Decimal(365)
MAX_TOTAL = Decimal(10) ** 16  # the totals' columns hold 18 digits, 2 of them cents


@dataclass
class QuoteLineSpec:
    """One line to put on a quote; its amounts are computed, never passed in."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    kind: str = QuoteLineKind.OTHER
    tax_category: str | None = None
    tax_rate: Decimal | None = None
    unit: str = ""
    discountable: bool = True
    recurring: bool = True
    price: Any = None
    module: Module | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def _lock(quote: Quote | int) -> Quote:
    pk = quote.pk if isinstance(quote, Quote) else quote
    locked: Quote = (
        Quote.objects.select_for_update(of=("self",))
        .select_related("organization", "edition", "contract")
        .get(pk=pk)
    )
    return locked


def _transition(quote: Quote, target: str) -> None:
    if target not in QUOTE_TRANSITIONS[QuoteStatus(quote.status)]:
        raise billing_error(
            BillingError.QUOTE_INVALID_TRANSITION,
            _("A %(status)s quote cannot become %(target)s.")
            % {"status": quote.get_status_display(), "target": QuoteStatus(target).label},
        )
    quote.status = target


# --- price list -----------------------------------------------------------------------------------------


def _years(start: date, end: date) -> int:
    return max(1, round(((end - start).days + 1) / 365.25))


def _tax_category(kind: str) -> str:
    return PRICE_KIND_TAX.get(PriceKind(kind), TaxCategory.SERVICES)


def edition_price_lines(
    *,
    edition: Edition,
    currency: str,
    start: date,
    end: date,
    modules: Sequence[Module] = (),
    include_one_time: bool = True,
) -> list[QuoteLineSpec]:
    """The price list's lines for an edition's term: one-time fees once, yearly fees per year of the term,
    and the yearly fees of chosen modules that have one."""
    years = _years(start, end)
    latest: dict[tuple[str, str], Any] = {}
    for price in current_prices(edition=edition, currency=currency, on=start):
        latest.setdefault((price.kind, price.term), price)
    lines = []
    for (kind, term), price in sorted(latest.items(), key=lambda kv: kv[0][1] != PriceTerm.ONCE):
        if price.amount <= 0 or term not in (PriceTerm.ONCE, PriceTerm.YEAR):
            continue
        if term == PriceTerm.ONCE and (kind != PriceKind.LICENSE or not include_one_time):
            continue
        label = str(TERM_LABELS.get((kind, term), _("contract fee")))
        once = term == PriceTerm.ONCE
        lines.append(
            QuoteLineSpec(
                kind=QuoteLineKind.EDITION,
                description=_("%(edition)s edition, %(fee)s") % {"edition": edition.name, "fee": label}
                if once
                else _("%(edition)s edition, %(fee)s, %(start)s to %(end)s")
                % {"edition": edition.name, "fee": label, "start": start, "end": end},
                quantity=Decimal(1 if once else years),
                unit=_("item") if once else _("year"),
                unit_price=price.amount,
                tax_category=_tax_category(kind),
                recurring=not once,
                price=price,
            )
        )
    module_ids = [m.pk for m in modules if m.pk not in _verticals_included(edition, modules)]
    if module_ids:
        fees = (
            edition.prices.filter(
                module_id__in=module_ids,
                currency=currency,
                term=PriceTerm.YEAR,
                valid_from__lte=start,
                amount__gt=0,
            )
            .select_related("module")
            .order_by("module_id", "-valid_from")
        )
        seen: set[int] = set()
        for fee in fees:
            if fee.module_id is None or fee.module is None or fee.module_id in seen:
                continue
            seen.add(fee.module_id)
            lines.append(
                QuoteLineSpec(
                    kind=QuoteLineKind.MODULE,
                    description=_("Module %(module)s, %(start)s to %(end)s")
                    % {"module": fee.module.name, "start": start, "end": end},
                    quantity=Decimal(years),
                    unit=_("year"),
                    unit_price=fee.amount,
                    tax_category=_tax_category(fee.kind),
                    price=fee,
                    module=fee.module,
                )
            )
    return lines


def _verticals_included(edition: Edition, modules: Sequence[Module]) -> set[int]:
    """The industry verticals the edition's own price includes (Standard: one of choice, seed 000
    "社区版 + 1个行业模块"): the first `verticals_of_choice` chosen, in catalog order. Further ones pay their
    module fee."""
    if not edition.verticals_of_choice:
        return set()
    verticals = sorted(
        (m for m in modules if m.kind == ModuleKind.VERTICAL), key=lambda m: (m.sort_order, m.code)
    )
    return {m.pk for m in verticals[: edition.verticals_of_choice]}


def _main_tax_category(contract: Contract) -> str:
    for price in current_prices(edition=contract.edition, currency=contract.currency, on=contract.start_date):
        if price.term == PriceTerm.YEAR and price.amount > 0:
            return _tax_category(price.kind)
    return TaxCategory.SOFTWARE_LICENSE


def _annual_list_price(contract: Contract) -> Decimal:
    """The edition's yearly fees on the price list when the term started (the contract's own price per
    year when the list has none)."""
    total = ZERO
    seen: set[tuple[str, str]] = set()
    for price in current_prices(edition=contract.edition, currency=contract.currency, on=contract.start_date):
        if price.term == PriceTerm.YEAR and (price.kind, price.term) not in seen:
            seen.add((price.kind, price.term))
            total += price.amount
    if total > 0:
        return total
    return contract.price / _years(contract.start_date, contract.end_date)


def true_up_line(contract: Contract, *, today: date | None = None) -> QuoteLineSpec | None:
    """The devices above the limit at the term's peak (from the check-in reports), priced from the price
    list per device and year (the yearly list price ÷ the device limit) pro rata from the day of the peak
    to the end of the term. None when the term stayed within its limit or has no limit."""
    limit = contract.effective_device_limit
    if not limit:
        return None
    today = today or timezone.localdate()
    last = min(contract.end_date, today)
    if last < contract.start_date:
        return None
    evidence = usage.peak_evidence(contract.pk, contract.start_date, last)
    if evidence is None or evidence["peak"] <= limit:
        return None
    excess = evidence["peak"] - limit
    peak_day = date.fromisoformat(evidence["day"])
    days = (contract.end_date - peak_day).days + 1
    per_device_year = _annual_list_price(contract) / Decimal(limit)
    unit_price = (per_device_year * Decimal(days) / DAYS_PER_YEAR).quantize(
        UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP
    )
    evidence = {
        **evidence,
        "limit": limit,
        "excess": excess,
        "contract": contract.number,
        "per_device_year": str(round_money(per_device_year)),
        "days": days,
    }
    return QuoteLineSpec(
        kind=QuoteLineKind.TRUE_UP,
        description=_(
            "True-up %(contract)s: peak of %(peak)s devices on %(day)s over the limit of %(limit)s; "
            "%(excess)s devices × %(per_year)s %(currency)s per device-year, pro rata %(days)s days"
        )
        % {
            "contract": contract.number,
            "peak": f"{evidence['peak']:,}",
            "day": evidence["day"],
            "limit": f"{limit:,}",
            "excess": f"{excess:,}",
            "per_year": evidence["per_device_year"],
            "currency": contract.currency,
            "days": days,
        },
        quantity=Decimal(excess),
        unit=_("device"),
        unit_price=unit_price,
        tax_category=_main_tax_category(contract),
        recurring=False,
        evidence=evidence,
    )


def renewal_lines(
    contract: Contract, *, uplift_percent: Decimal | None = None, today: date | None = None
) -> list[QuoteLineSpec]:
    """The next term at the current price (maintenance only after a one-time fee), the uplift as its own
    line, and the true-up of the ending term."""
    start, end = renewal_term(contract)
    base = round_money(renewal_price(contract))
    category = _main_tax_category(contract)
    lines = [
        QuoteLineSpec(
            kind=QuoteLineKind.EDITION,
            description=_("%(edition)s edition, renewal of %(contract)s, %(start)s to %(end)s")
            % {"edition": contract.edition.name, "contract": contract.number, "start": start, "end": end},
            quantity=Decimal(1),
            unit=_("term"),
            unit_price=base,
            tax_category=category,
        )
    ]
    if uplift_percent:
        lines.append(
            QuoteLineSpec(
                kind=QuoteLineKind.UPLIFT,
                description=_("Renewal uplift of %(percent)s %%") % {"percent": f"{uplift_percent:g}"},
                quantity=Decimal(1),
                unit=_("term"),
                unit_price=round_money(base * Decimal(uplift_percent) / Decimal(100)),
                tax_category=category,
            )
        )
    true_up = true_up_line(contract, today=today)
    if true_up is not None:
        lines.append(true_up)
    return lines


def upgrade_lines(
    *, contract: Contract, edition: Edition, start: date, modules: Sequence[Module]
) -> list[QuoteLineSpec]:
    """The new edition from `start` to the end of the current term, pro rata of its yearly list price,
    less the unused part of the current contract's price."""
    end = contract.end_date
    days = Decimal((end - start).days + 1)
    lines = []
    for spec in edition_price_lines(
        edition=edition, currency=contract.currency, start=start, end=end, modules=modules
    ):
        if spec.recurring:
            spec.unit_price = prorate(
                spec.unit_price, days=days, of_days=DAYS_PER_YEAR, places=UNIT_PRICE_PLACES
            )
            spec.quantity = Decimal(1)
            spec.unit = _("term")
        lines.append(spec)
    term_days = Decimal((contract.end_date - contract.start_date).days + 1)
    unused = prorate(contract.price, days=days, of_days=term_days) if term_days > 0 else ZERO
    if unused > 0:
        lines.append(
            QuoteLineSpec(
                kind=QuoteLineKind.CREDIT,
                description=_("Credit for the unused term of %(contract)s, %(start)s to %(end)s")
                % {"contract": contract.number, "start": start, "end": end},
                quantity=Decimal(1),
                unit=_("term"),
                unit_price=-unused,
                tax_category=_main_tax_category(contract),
                discountable=False,
            )
        )
    return lines


# --- building a quote -----------------------------------------------------------------------------------


def _build_lines(quote: Quote, specs: Sequence[QuoteLineSpec]) -> list[QuoteLine]:
    discount_rate = Decimal(quote.discount_percent) / Decimal(100)
    built = []
    for position, spec in enumerate(specs, start=1):
        category = spec.tax_category or TaxCategory.SOFTWARE_LICENSE
        rate = Decimal(spec.tax_rate) if spec.tax_rate is not None else default_tax_rate(category)
        list_amount = round_money(Decimal(spec.quantity) * Decimal(spec.unit_price))
        discount = round_money(list_amount * discount_rate) if spec.discountable else ZERO
        net = list_amount - discount
        tax = round_money(net * rate)
        line = QuoteLine(
            quote=quote,
            position=position,
            kind=spec.kind,
            description=spec.description[:500],
            quantity=Decimal(spec.quantity),
            unit=spec.unit,
            unit_price=Decimal(spec.unit_price),
            tax_category=category,
            tax_rate=rate,
            discountable=spec.discountable,
            recurring=spec.recurring,
            list_amount=list_amount,
            discount=discount,
            net=net,
            tax=tax,
            gross=net + tax,
            price=spec.price,
            module=spec.module,
            evidence=spec.evidence,
        )
        line.full_clean(exclude=["quote", "price", "module"], validate_constraints=False)
        built.append(line)
    return built


def _set_totals(quote: Quote, lines: Sequence[QuoteLine]) -> None:
    quote.list_total = sum((line.list_amount for line in lines), ZERO)
    quote.discount_total = sum((line.discount for line in lines), ZERO)
    quote.net_total = sum((line.net for line in lines), ZERO)
    quote.tax_total = sum((line.tax for line in lines), ZERO)
    quote.gross_total = sum((line.gross for line in lines), ZERO)
    if quote.gross_total <= 0:
        raise billing_error(BillingError.QUOTE_EMPTY, _("A quote's total must be positive."), status=400)
    if max(abs(quote.list_total), abs(quote.gross_total)) >= MAX_TOTAL:
        raise ApplicationError(BillingError.INVALID_INPUT, _("The quote's total is too large."), status=400)


def _save_quote(quote: Quote, specs: Sequence[QuoteLineSpec], modules: Sequence[Module]) -> Quote:
    if not specs:
        raise billing_error(
            BillingError.QUOTE_EMPTY,
            _("The quote has no lines: the price list has no price for this edition and currency."),
            status=400,
        )
    quote.full_clean(exclude=["organization", "contract", "edition", "number"], validate_constraints=False)
    quote.save()
    lines = _build_lines(quote, specs)
    _set_totals(quote, lines)
    QuoteLine.objects.bulk_create(lines)
    quote.save(update_fields=["list_total", "discount_total", "net_total", "tax_total", "gross_total"])
    quote.modules.set(modules)
    return quote


def _check_contract(organization: Any, contract: Contract | None, kind: str) -> None:
    if kind != QuoteKind.NEW and contract is None:
        raise ApplicationError(
            BillingError.INVALID_INPUT,
            _("A renewal or upgrade quote needs the contract it renews or upgrades."),
            status=400,
        )
    if contract is not None and contract.organization_id != organization.pk:
        raise ApplicationError(
            BillingError.INVALID_INPUT, _("The contract belongs to another organization."), status=400
        )


@transaction.atomic
def quote_create(
    *,
    actor: Any,
    organization: Any,
    kind: str,
    edition: Edition | None = None,
    contract: Contract | None = None,
    currency: str | None = None,
    lines: Sequence[QuoteLineSpec] | None = None,
    modules: Sequence[Module] | None = None,
    device_limit: int | None = None,
    term_start: date | None = None,
    term_end: date | None = None,
    discount_percent: Decimal | None = None,
    valid_until: date | None = None,
    uplift_percent: Decimal | None = None,
    origin: str = QuoteOrigin.SALES,
    notes: str = "",
) -> Quote:
    """A draft quote. Without `lines` they come from the price list: the edition's term (new), the next
    term with uplift and true-up (renewal), or the new edition for the rest of the term less the unused
    part (upgrade)."""
    kind = QuoteKind(kind)
    _check_contract(organization, contract, kind)
    today = timezone.localdate()
    if kind == QuoteKind.RENEWAL:
        assert contract is not None
        if contract.status not in (ContractStatus.ACTIVE, ContractStatus.EXPIRED):
            raise billing_error(
                BillingError.QUOTE_CONTRACT_CONFLICT, _("Only active or expired contracts can be renewed.")
            )
        edition = contract.edition
        currency = contract.currency
        term_start, term_end = renewal_term(contract)
        modules = list(contract.modules.all()) if modules is None else modules
        device_limit = contract.device_limit if device_limit is None else device_limit
    elif kind == QuoteKind.UPGRADE:
        assert contract is not None
        if contract.status != ContractStatus.ACTIVE:
            raise billing_error(
                BillingError.QUOTE_CONTRACT_CONFLICT, _("Only active contracts can be upgraded.")
            )
        if edition is None or edition.pk == contract.edition_id:
            raise ApplicationError(
                BillingError.INVALID_INPUT, _("An upgrade quote needs a different edition."), status=400
            )
        currency = contract.currency
        term_start = max(term_start or today, contract.start_date)
        term_end = contract.end_date
    else:
        if edition is None:
            raise ApplicationError(
                BillingError.INVALID_INPUT, _("A quote for a new contract needs an edition."), status=400
            )
        currency = currency or "CNY"
        term_start = term_start or today
        term_end = term_end or (renewal_term_for(term_start) if term_start else None)
    assert edition is not None and term_start is not None and term_end is not None and currency
    if term_end <= term_start:
        raise ApplicationError(
            BillingError.INVALID_INPUT, _("The term must end after it starts."), status=400
        )
    modules = list(modules or [])
    if lines is None:
        if kind == QuoteKind.RENEWAL:
            assert contract is not None
            if uplift_percent is None:
                uplift_percent = Decimal(str(settings.QUOTE_RENEWAL_UPLIFT_PERCENT or 0))
            with translation.override(organization_language(organization)):
                lines = renewal_lines(contract, uplift_percent=uplift_percent, today=today)
        elif kind == QuoteKind.UPGRADE:
            assert contract is not None
            with translation.override(organization_language(organization)):
                lines = upgrade_lines(contract=contract, edition=edition, start=term_start, modules=modules)
        else:
            with translation.override(organization_language(organization)):
                lines = edition_price_lines(
                    edition=edition, currency=currency, start=term_start, end=term_end, modules=modules
                )
    year = today.year
    quote = Quote(
        number=f"{QUOTE_SERIES}-{year}-{sequence_next(series=QUOTE_SERIES, year=year):06d}",
        version=1,
        organization=organization,
        kind=kind,
        origin=origin,
        contract=contract,
        edition=edition,
        device_limit=device_limit,
        term_start=term_start,
        term_end=term_end,
        currency=str(currency).upper(),
        valid_until=valid_until or today + timedelta(days=settings.QUOTE_VALID_DAYS),
        discount_percent=Decimal(discount_percent or 0),
        language=organization_language(organization),
        notes=notes,
        created_by=actor_user(actor),
    )
    if quote.valid_until < today:
        raise ApplicationError(
            BillingError.INVALID_INPUT, _("The quote cannot be valid until a past day."), status=400
        )
    _save_quote(quote, lines, modules)
    audit(
        actor=actor,
        action="quote.create",
        target=quote,
        data={
            "number": quote.number,
            "kind": kind.value,
            "origin": origin,
            "gross": str(quote.gross_total),
            "currency": quote.currency,
            "discount_percent": str(quote.discount_percent),
        },
    )
    return quote


def renewal_term_for(start: date) -> date:
    """A one-year term starting on `start`: its last day."""
    try:
        return start.replace(year=start.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, day=28)


@transaction.atomic
def quote_revise(
    *,
    actor: Any,
    quote: Quote,
    lines: Sequence[QuoteLineSpec] | None = None,
    discount_percent: Decimal | None = None,
    valid_until: date | None = None,
    notes: str | None = None,
) -> Quote:
    """The next version of an open quote (same number, version + 1, a draft); the previous one is
    withdrawn. Lines not given are copied; a changed discount needs approval again."""
    previous = _lock(quote)
    if previous.status not in OPEN_QUOTE_STATUSES:
        raise billing_error(
            BillingError.QUOTE_INVALID_TRANSITION,
            _("Only draft or sent quotes can be revised; this one is %(status)s.")
            % {"status": previous.get_status_display()},
        )
    _transition(previous, QuoteStatus.WITHDRAWN)
    previous.withdraw_reason = str(_("revised"))
    previous.save(update_fields=["status", "withdraw_reason", "updated_at"])
    if lines is None:
        lines = [
            QuoteLineSpec(
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_category=line.tax_category,
                tax_rate=line.tax_rate,
                unit=line.unit,
                discountable=line.discountable,
                recurring=line.recurring,
                price=line.price,
                module=line.module,
                evidence=line.evidence,
            )
            for line in previous.lines.select_related("price", "module")
        ]
    discount = previous.discount_percent if discount_percent is None else Decimal(discount_percent)
    today = timezone.localdate()
    revised = Quote(
        number=previous.number,
        version=previous.version + 1,
        previous_version=previous,
        organization=previous.organization,
        kind=previous.kind,
        origin=previous.origin,
        contract=previous.contract,
        edition=previous.edition,
        device_limit=previous.device_limit,
        term_start=previous.term_start,
        term_end=previous.term_end,
        currency=previous.currency,
        valid_until=valid_until
        or max(previous.valid_until, today + timedelta(days=settings.QUOTE_VALID_DAYS)),
        discount_percent=discount,
        discount_approved_by=previous.discount_approved_by if discount == previous.discount_percent else None,
        discount_approved_at=previous.discount_approved_at if discount == previous.discount_percent else None,
        language=previous.language,
        notes=previous.notes if notes is None else notes,
        created_by=actor_user(actor),
    )
    _save_quote(revised, lines, list(previous.modules.all()))
    audit(
        actor=actor,
        action="quote.revise",
        target=revised,
        data={"number": revised.number, "version": revised.version, "gross": str(revised.gross_total)},
    )
    return revised


def _require_approved(quote: Quote) -> None:
    if quote.needs_discount_approval:
        raise billing_error(
            BillingError.QUOTE_DISCOUNT_NOT_APPROVED,
            _("A discount above %(limit)s %% needs a sales manager's approval first.")
            % {"limit": settings.QUOTE_DISCOUNT_APPROVAL_PERCENT},
        )


@transaction.atomic
def quote_approve_discount(*, actor: Any, quote: Quote) -> Quote:
    """A sales manager (permission billing.approve_quote_discount) approves the quote's discount."""
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm("billing.approve_quote_discount")):
        raise ApplicationError(
            BillingError.PERMISSION_DENIED,
            _("Only a sales manager can approve a quote discount."),
            status=403,
        )
    quote = _lock(quote)
    if quote.status not in OPEN_QUOTE_STATUSES:
        raise billing_error(BillingError.QUOTE_INVALID_TRANSITION, _("Only open quotes can be approved."))
    quote.discount_approved_by = actor
    quote.discount_approved_at = timezone.now()
    quote.save(update_fields=["discount_approved_by", "discount_approved_at", "updated_at"])
    audit(
        actor=actor,
        action="quote.approve_discount",
        target=quote,
        data={"discount_percent": str(quote.discount_percent)},
    )
    return quote


@transaction.atomic
def quote_send(*, actor: Any, quote: Quote, recipients: list[str] | None = None) -> Quote:
    """Mark the quote sent and mail its PDF once the transaction commits (again if already sent)."""
    quote = _lock(quote)
    _require_approved(quote)
    if quote.is_past_validity():
        raise billing_error(BillingError.QUOTE_EXPIRED, _("The quote is past its validity; revise it."))
    if quote.status != QuoteStatus.SENT:
        _transition(quote, QuoteStatus.SENT)
    quote.sent_at = timezone.now()
    quote.save(update_fields=["status", "sent_at", "updated_at"])
    audit(actor=actor, action="quote.send", target=quote, data={"to": recipients or []})
    extra = [] if recipients is None else [recipients]
    enqueue_on_commit("billing.tasks.quote_send", quote.pk, *extra)
    return quote


@transaction.atomic
def quote_withdraw(*, actor: Any, quote: Quote, reason: str = "") -> Quote:
    quote = _lock(quote)
    _transition(quote, QuoteStatus.WITHDRAWN)
    quote.withdraw_reason = reason[:300]
    quote.save(update_fields=["status", "withdraw_reason", "updated_at"])
    audit(actor=actor, action="quote.withdraw", target=quote, data={"reason": reason})
    return quote


def quotes_expire_due(*, today: date | None = None) -> int:
    """Open quotes past their validity become expired (daily); returns how many."""
    today = today or timezone.localdate()
    count = 0
    for pk in Quote.objects.open().filter(valid_until__lt=today).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            quote = _lock(pk)
            if quote.status not in OPEN_QUOTE_STATUSES:
                continue
            _transition(quote, QuoteStatus.EXPIRED)
            quote.save(update_fields=["status", "updated_at"])
            audit(actor=None, action="quote.expire", target=quote)
            count += 1
    return count


# --- acceptance -----------------------------------------------------------------------------------------


def _contract_price(lines: Sequence[QuoteLine]) -> Decimal:
    return sum((line.net for line in lines if line.recurring), ZERO)


def _contract_for(*, actor: Any, quote: Quote, lines: Sequence[QuoteLine]) -> Contract:
    """The contract draft the accepted quote becomes: the renewal linked to the renewed contract, or a
    new contract (new business, upgrade)."""
    modules = list(quote.modules.all())
    price = _contract_price(lines)
    if quote.kind == QuoteKind.RENEWAL:
        assert quote.contract is not None
        renewal = contract_renew(actor=actor, contract=quote.contract)
        if renewal.status != ContractStatus.DRAFT:
            raise billing_error(
                BillingError.QUOTE_CONTRACT_CONFLICT,
                _("%(contract)s is already renewed by %(renewal)s (%(status)s).")
                % {
                    "contract": quote.contract.number,
                    "renewal": renewal.number,
                    "status": renewal.get_status_display(),
                },
            )
        return contract_update(
            actor=actor,
            contract=renewal,
            modules=modules,
            start_date=quote.term_start,
            end_date=quote.term_end,
            price=price,
            device_limit=quote.device_limit,
            currency=quote.currency,
        )
    notes = ""
    if quote.kind == QuoteKind.UPGRADE and quote.contract is not None:
        notes = _("Upgrade of %(contract)s (quote %(quote)s).") % {
            "contract": quote.contract.number,
            "quote": quote,
        }
    return contract_create(
        actor=actor,
        organization=quote.organization,
        edition=quote.edition,
        start_date=quote.term_start,
        end_date=quote.term_end,
        modules=modules,
        device_limit=quote.device_limit,
        price=price,
        currency=quote.currency,
        notes=notes,
        origin=quote.origin,
        renewal_of=_continued_contract(quote),
    )


def _continued_contract(quote: Quote) -> Contract | None:
    """The contract the new one continues, so that deployments move onto it at their next check-in
    without a new activation (the renewal chain, contracts.entitlements): the upgraded contract, or the
    trial a purchase converts. None when that contract already has a renewal."""
    continued = quote.contract
    if continued is None or quote.kind == QuoteKind.RENEWAL:
        return None
    if quote.kind == QuoteKind.NEW and not Trial.objects.filter(contract=continued).exists():
        return None
    if Contract.objects.filter(renewal_of=continued).exclude(status=ContractStatus.CANCELLED).exists():
        return None
    return continued


def _invoice_for(*, actor: Any, quote: Quote, contract: Contract, lines: Sequence[QuoteLine]) -> Invoice:
    """The quote's amounts on an issued invoice for the contract's whole term; its billing periods are
    claimed so the term-fee run never bills them again."""
    periods = term_periods(contract)
    taken = BillingPeriod.objects.filter(
        contract=contract, kind=BillingKind.TERM, period_start__in=[start for start, _end in periods]
    )
    if taken.exists():
        raise billing_error(
            BillingError.QUOTE_CONTRACT_CONFLICT,
            _("%(contract)s is already invoiced for this term.") % {"contract": contract.number},
        )
    specs = []
    for line in lines:
        suffix = (
            " " + _("(less %(percent)s %% discount)") % {"percent": f"{quote.discount_percent:g}"}
            if line.discount
            else ""
        )
        specs.append(
            LineSpec(
                description=(line.description + suffix)[:500],
                quantity=line.quantity,
                unit_price=(line.net / line.quantity).quantize(UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP)
                if line.quantity
                else line.net,
                tax_rate=line.tax_rate,
                tax_category=line.tax_category,
                unit=line.unit,
                period_start=quote.term_start if line.recurring else None,
                period_end=quote.term_end if line.recurring else None,
                price=line.price,
                module=line.module,
                device_count=line.evidence.get("peak") if line.kind == QuoteLineKind.TRUE_UP else None,
                amounts=(line.net, line.tax, line.gross),
            )
        )
    invoice = invoice_create(
        actor=actor,
        organization=quote.organization,
        currency=quote.currency,
        contract=contract,
        lines=specs,
        period_start=quote.term_start,
        period_end=quote.term_end,
        notes=_("Quote %(quote)s, accepted.") % {"quote": quote},
    )
    BillingPeriod.objects.bulk_create(
        [
            BillingPeriod(
                contract=contract, kind=BillingKind.TERM, period_start=s, period_end=e, invoice=invoice
            )
            for s, e in periods
        ]
    )
    return invoice_issue(actor=actor, invoice=invoice, send=True)


@transaction.atomic
def quote_accept(*, actor: Any, quote: Quote, on_behalf: bool = False) -> Quote:
    """The customer (an owner or billing member in the portal) or sales on the customer's behalf
    (recorded) accepts the quote: the contract draft is created (the renewal linked to the contract it
    renews) and the invoice issued and mailed. For editions sold without negotiation the contract
    activates itself once that invoice is paid (quote_contract_activate_on_payment)."""
    quote = _lock(quote)
    if quote.status == QuoteStatus.SENT or quote.status == QuoteStatus.DRAFT:
        if quote.is_past_validity():
            raise billing_error(
                BillingError.QUOTE_EXPIRED, _("The quote is past its validity; ask for a new one.")
            )
        _require_approved(quote)
    _transition(quote, QuoteStatus.ACCEPTED)
    lines = list(quote.lines.select_related("price", "module"))
    with translation.override(quote.language or organization_language(quote.organization)):
        contract = _contract_for(actor=actor, quote=quote, lines=lines)
        invoice = _invoice_for(actor=actor, quote=quote, contract=contract, lines=lines)
    quote.accepted_by = actor_user(actor)
    quote.accepted_at = timezone.now()
    quote.accepted_on_behalf = on_behalf
    quote.resulting_contract = contract
    quote.invoice = invoice
    quote.save(
        update_fields=[
            "status",
            "accepted_by",
            "accepted_at",
            "accepted_on_behalf",
            "resulting_contract",
            "invoice",
            "updated_at",
        ]
    )
    audit(
        actor=actor,
        action="quote.accept",
        target=quote,
        data={
            "on_behalf": on_behalf,
            "contract": contract.number,
            "invoice": invoice.number,
            "gross": str(quote.gross_total),
        },
    )
    return quote


def quote_contract_activate_on_payment(*, invoice: Invoice) -> Contract | None:
    """THE rule "invoice paid → the contract activates by itself": when the invoice of an accepted quote
    is paid in full and the quote's edition is sold without negotiation (Edition.sold_without_negotiation,
    the standard edition), its contract draft is activated. Called inside the payment's transaction
    (billing.services.payments.invoice_refresh_payment_state); a contract that cannot be activated (e.g.
    its term has passed) is left to sales and recorded, and the payment still stands."""
    quote = (
        Quote.objects.filter(invoice_id=invoice.pk, status=QuoteStatus.ACCEPTED)
        .select_related("resulting_contract__edition")
        .first()
    )
    if quote is None:
        return None
    contract = quote.resulting_contract
    if contract is None or contract.status != ContractStatus.DRAFT:
        return None
    if not contract.edition.sold_without_negotiation:
        return None
    try:
        with transaction.atomic():
            contract = contract_activate(actor=None, contract=contract)
    except (ValidationError, ApplicationError) as exc:
        logger.warning("paid quote %s: contract %s not activated: %s", quote, contract.number, exc)
        audit(
            actor=None,
            action="quote.activation_failed",
            target=quote,
            data={"contract": contract.number, "error": str(exc)},
        )
        return None
    audit(
        actor=None,
        action="quote.contract_activated",
        target=quote,
        data={"contract": contract.number, "invoice": invoice.number},
    )
    return contract


# --- renewal quotes -------------------------------------------------------------------------------------


@transaction.atomic
def quote_renewal_for_contract(
    *,
    actor: Any,
    contract: Contract,
    uplift_percent: Decimal | None = None,
    discount_percent: Decimal | None = None,
    valid_until: date | None = None,
    send: bool = False,
) -> Quote:
    """The renewal quote of a contract (uplift and true-up computed). An open renewal quote of the
    contract is returned as it is rather than duplicated."""
    contract = Contract.objects.select_related("organization", "edition").get(pk=contract.pk)
    existing = (
        Quote.objects.open()
        .filter(contract=contract, kind=QuoteKind.RENEWAL)
        .order_by("-version", "-id")
        .first()
    )
    if existing is not None:
        found: Quote = existing
        return found
    renewed = Quote.objects.filter(
        contract=contract, kind=QuoteKind.RENEWAL, status=QuoteStatus.ACCEPTED
    ).first()
    if (
        renewed is not None
        or Contract.objects.filter(renewal_of=contract, status=ContractStatus.ACTIVE).exists()
    ):
        raise billing_error(
            BillingError.QUOTE_CONTRACT_CONFLICT,
            _("%(contract)s is already renewed.") % {"contract": contract.number},
        )
    quote = quote_create(
        actor=actor,
        organization=contract.organization,
        kind=QuoteKind.RENEWAL,
        contract=contract,
        uplift_percent=uplift_percent,
        discount_percent=discount_percent,
        valid_until=valid_until
        or min(contract.end_date, timezone.localdate() + timedelta(days=settings.QUOTE_RENEWAL_WINDOW_DAYS))
        if contract.end_date >= timezone.localdate()
        else None,
    )
    if send:
        quote = quote_send(actor=actor, quote=quote)
    return quote


def renewal_quotes_offer(*, today: date | None = None) -> int:
    """Daily: every active contract of an edition sold without negotiation that ends within
    QUOTE_RENEWAL_WINDOW_DAYS, not yet renewed and without a renewal quote, gets its renewal quote
    (uplift and true-up computed) sent to the customer, who accepts it in the portal. Each contract in
    its own transaction; a failure is logged and the run goes on. Returns how many quotes were sent."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.QUOTE_RENEWAL_WINDOW_DAYS)
    candidates = (
        Contract.objects.filter(
            status=ContractStatus.ACTIVE,
            edition__sold_without_negotiation=True,
            end_date__gte=today,
            end_date__lte=horizon,
        )
        .exclude(renewal__status__in=[ContractStatus.ACTIVE, ContractStatus.DRAFT])
        .exclude(trial__isnull=False)  # a trial is converted from its page (/pricing/), never renewed
        .exclude(
            quotes__kind=QuoteKind.RENEWAL, quotes__status__in=[*OPEN_QUOTE_STATUSES, QuoteStatus.ACCEPTED]
        )
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    sent = 0
    for pk in list(candidates):
        try:
            with transaction.atomic(durable=True):
                contract = Contract.objects.select_for_update(of=("self",)).get(pk=pk)
                quote = quote_renewal_for_contract(actor=None, contract=contract)
                if quote.status == QuoteStatus.DRAFT:
                    quote_send(actor=None, quote=quote)
                    sent += 1
        except Exception:
            logger.exception("renewal quote for contract %s could not be offered", pk)
    return sent
