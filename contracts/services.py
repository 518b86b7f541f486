"""Contract writes: create, update while draft, activate, cancel, renew. One transaction each, audited."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.errors import ContractError
from contracts.models import (
    CONTRACT_TRANSITIONS,
    Contract,
    ContractOrigin,
    ContractStatus,
    Trial,
    TrialKind,
)
from contracts.signals import contract_activated
from editions.models import Edition, Module, ModuleKind
from editions.selectors import default_contract_price, has_one_time_fee
from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.services import audit, sequence_next

CONTRACT_SERIES = "CT"


def _transition(contract: Contract, target: str) -> None:
    if target not in CONTRACT_TRANSITIONS[ContractStatus(contract.status)]:
        raise ApplicationError(
            ContractError.INVALID_TRANSITION,
            _("A %(status)s contract cannot become %(target)s.")
            % {"status": contract.get_status_display(), "target": ContractStatus(target).label},
            status=409,
        )
    contract.status = target


def modules_from_codes(codes: list[str] | None) -> list[Module]:
    if not codes:
        return []
    modules = list(Module.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {m.code for m in modules})
    if missing:
        raise ValidationError(
            {"modules": _("Unknown module codes: %(codes)s.") % {"codes": ", ".join(missing)}}
        )
    return modules


def contract_assign_number(contract: Contract) -> None:
    """Human-readable, gapless per year: CT-2026-000123."""
    year = timezone.localdate().year
    contract.number = f"{CONTRACT_SERIES}-{year}-{sequence_next(series=CONTRACT_SERIES, year=year):06d}"


@transaction.atomic
def contract_create(
    *,
    actor: Actor,
    organization: Any,
    edition: Edition,
    start_date: date,
    end_date: date,
    modules: list[Module] | None = None,
    device_limit: int | None = None,
    price: Decimal | None = None,
    currency: str = "CNY",
    auto_renew: bool = False,
    nda_signed_on: date | None = None,
    partner: Any = None,
    custom_dev_hours: int | None = None,
    grace_days: int | None = None,
    notes: str = "",
    renewal_of: Contract | None = None,
    origin: str = ContractOrigin.SALES,
) -> Contract:
    modules = modules or []
    if price is None:
        price = default_contract_price(
            edition=edition, currency=currency, start_date=start_date, end_date=end_date
        )
    contract = Contract(
        organization=organization,
        edition=edition,
        start_date=start_date,
        end_date=end_date,
        device_limit=device_limit,
        price=price,
        currency=currency,
        auto_renew=auto_renew,
        nda_signed_on=nda_signed_on,
        partner=partner if partner is not None else getattr(organization, "partner", None),
        custom_dev_hours=edition.custom_dev_hours_per_year if custom_dev_hours is None else custom_dev_hours,
        grace_days=grace_days,
        notes=notes,
        renewal_of=renewal_of,
        origin=origin,
        created_by=actor_user(actor),
        number="pending",
    )
    contract.full_clean(exclude=["number"])
    contract.clean_modules(modules)
    contract_assign_number(contract)
    contract.save()
    contract.modules.set(modules)
    audit(
        actor=actor,
        action="contract.create",
        target=contract,
        data={
            "edition": edition.code,
            "modules": [m.code for m in modules],
            "price": str(price),
            "currency": currency,
            "origin": origin,
        },
    )
    return contract


EDITABLE_WHILE_DRAFT = {
    "edition",
    "start_date",
    "end_date",
    "device_limit",
    "price",
    "currency",
    "auto_renew",
    "nda_signed_on",
    "partner",
    "custom_dev_hours",
    "grace_days",
    "notes",
}


@transaction.atomic
def contract_update(
    *, actor: Actor, contract: Contract, modules: list[Module] | None = None, **changes: Any
) -> Contract:
    """Change a draft. Active contracts change only by renewal (a new contract) or by the NDA date."""
    contract = Contract.objects.select_for_update().select_related("edition").get(pk=contract.pk)
    unknown = set(changes) - EDITABLE_WHILE_DRAFT
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if contract.status != ContractStatus.DRAFT and (
        set(changes) - {"nda_signed_on", "notes", "auto_renew"} or modules
    ):
        raise ApplicationError(
            ContractError.NOT_DRAFT,
            _("Only draft contracts can be changed; renew the contract instead."),
            status=409,
        )
    before = {field: str(getattr(contract, field)) for field in changes}
    for field, value in changes.items():
        setattr(contract, field, value)
    contract.full_clean()
    if modules is not None or "edition" in changes:
        contract.clean_modules(modules if modules is not None else list(contract.modules.all()))
    contract.save()
    if modules is not None:
        contract.modules.set(modules)
    diff = {
        f: [before[f], str(getattr(contract, f))] for f in changes if before[f] != str(getattr(contract, f))
    }
    if modules is not None:
        diff["modules"] = [m.code for m in modules]
    audit(actor=actor, action="contract.update", target=contract, data={"changes": diff})
    return contract


@transaction.atomic
def contract_activate(*, actor: Actor, contract: Contract) -> Contract:
    contract = Contract.objects.select_for_update().select_related("edition").get(pk=contract.pk)
    _transition(contract, ContractStatus.ACTIVE)
    contract.clean_for_activation()
    contract.activated_at = timezone.now()
    contract.save(update_fields=["status", "activated_at", "updated_at"])
    _entitlement_changed(contract)
    audit(actor=actor, action="contract.activate", target=contract)
    contract_activated.send(sender=Contract, contract=contract)
    return contract


def _entitlement_changed(contract: Contract) -> None:
    """An active renewal extends what the contracts it renews grant (contracts.entitlements.chain_end):
    touch them, so that whatever remembers an entitlement by a contract's `updated_at` (the check-in's
    memo and fast path) reads it afresh, and the next check-in hands out the extended license."""
    renewed = []
    node_id = contract.renewal_of_id
    for _step in range(50):
        if node_id is None:
            break
        renewed.append(node_id)
        node_id = Contract.objects.filter(pk=node_id).values_list("renewal_of_id", flat=True).first()
    if renewed:
        Contract.objects.filter(pk__in=renewed).update(updated_at=timezone.now())


@transaction.atomic
def contract_cancel(*, actor: Actor, contract: Contract, reason: str = "") -> Contract:
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    was_active = contract.status == ContractStatus.ACTIVE
    _transition(contract, ContractStatus.CANCELLED)
    contract.cancelled_at = timezone.now()
    contract.cancel_reason = reason[:300]
    contract.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    if was_active:
        _entitlement_changed(contract)  # a cancelled renewal no longer extends the contract it renews
    audit(actor=actor, action="contract.cancel", target=contract, data={"reason": reason})
    return contract


@transaction.atomic
def contract_expire(*, actor: Actor, contract: Contract) -> Contract:
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    _transition(contract, ContractStatus.EXPIRED)
    contract.save(update_fields=["status", "updated_at"])
    audit(actor=actor, action="contract.expire", target=contract)
    return contract


def renewal_term(contract: Contract) -> tuple[date, date]:
    """The next term starts the day after this one ends and lasts as long (whole years where it was)."""
    start = contract.end_date + timedelta(days=1)
    months = _whole_months(contract.start_date, contract.end_date + timedelta(days=1))
    if months:
        end = _add_months(start, months) - timedelta(days=1)
    else:
        end = start + (contract.end_date - contract.start_date)
    return start, end


def _whole_months(start: date, end_exclusive: date) -> int | None:
    months = (end_exclusive.year - start.year) * 12 + end_exclusive.month - start.month
    return months if months > 0 and _add_months(start, months) == end_exclusive else None


def _add_months(day: date, months: int) -> date:
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def renewal_price(contract: Contract) -> Decimal:
    """What the next term costs before any uplift: the current price, except that the one-time license
    fee (source edition) is paid once, so its renewals carry maintenance only."""
    if has_one_time_fee(edition=contract.edition, currency=contract.currency, on=contract.start_date):
        start, end = renewal_term(contract)
        return default_contract_price(
            edition=contract.edition,
            currency=contract.currency,
            start_date=start,
            end_date=end,
            include_one_time=False,
        )
    return contract.price


@transaction.atomic
def contract_renew(*, actor: Actor, contract: Contract, uplift_percent: Decimal | None = None) -> Contract:
    """Create the next-term contract as a draft linked by `renewal_of` (or return the existing one)."""
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("edition", "organization", "partner")
        .get(pk=contract.pk)
    )
    existing: Contract | None = Contract.objects.filter(renewal_of=contract).first()
    if existing is not None:
        return existing
    if contract.status not in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}:
        raise ApplicationError(
            ContractError.INVALID_TRANSITION,
            _("Only active or expired contracts can be renewed."),
            status=409,
        )
    start, end = renewal_term(contract)
    price = renewal_price(contract)
    if uplift_percent:
        price = (price * (Decimal(100) + Decimal(uplift_percent)) / Decimal(100)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    renewal = contract_create(
        actor=actor,
        organization=contract.organization,
        edition=contract.edition,
        start_date=start,
        end_date=end,
        modules=list(contract.modules.all()),
        device_limit=contract.device_limit,
        price=price,
        currency=contract.currency,
        auto_renew=contract.auto_renew,
        nda_signed_on=contract.nda_signed_on,
        partner=contract.partner,
        custom_dev_hours=contract.custom_dev_hours,
        grace_days=contract.grace_days,
        renewal_of=contract,
    )
    audit(
        actor=actor,
        action="contract.renew",
        target=contract,
        data={"renewal": renewal.number, "uplift_percent": str(uplift_percent or 0)},
    )
    return renewal


# Trials ----------------------------------------------------------------------------------------------

MAX_TRIAL_DAYS = 366


def _trial_modules(edition: Edition, modules: list[Module] | None) -> list[Module]:
    """The modules of a trial: those chosen, or for a verticals-of-choice edition the first verticals it
    offers (the trial must be activatable)."""
    if modules:
        return modules
    if not edition.verticals_of_choice:
        return []
    verticals = [m for m in edition.optional_modules.all() if m.kind == ModuleKind.VERTICAL]
    verticals.sort(key=lambda m: (m.sort_order, m.code))
    return verticals[: edition.verticals_of_choice]


@transaction.atomic
def trial_start(
    *,
    actor: Any,
    organization: Any,
    edition: Edition,
    modules: list[Module] | None = None,
    kind: str = TrialKind.SELF_SERVICE,
    days: int | None = None,
    today: date | None = None,
) -> Trial:
    """An active, free contract of `edition` for `days` (the edition's trial length for self-service
    trials; sales choose it for a POC) with no grace period, so licenses end with the trial: their
    `entitlement_end` is its last day and `exp` its end. One self-service trial per organization and
    edition."""
    today = today or timezone.localdate()
    if kind == TrialKind.SELF_SERVICE:
        if not edition.trial_days:
            raise ApplicationError(
                ContractError.TRIAL_NOT_OFFERED,
                _("The %(edition)s edition has no self-service trial.") % {"edition": edition.name},
                status=409,
            )
        days = edition.trial_days
        # one per organization and edition: lock the organization's trials of it, then look
        if (
            Trial.objects.select_for_update()
            .filter(organization=organization, edition=edition, kind=TrialKind.SELF_SERVICE)
            .exists()
        ):
            raise ApplicationError(
                ContractError.TRIAL_ALREADY_USED,
                _("Your organization has already tried the %(edition)s edition.") % {"edition": edition.name},
                status=409,
            )
    if not days or not 1 <= days <= MAX_TRIAL_DAYS:
        raise ApplicationError(
            ContractError.INVALID_TRIAL_LENGTH,
            _("A trial lasts between 1 and %(max)d days.") % {"max": MAX_TRIAL_DAYS},
            status=422,
        )
    contract = contract_create(
        actor=actor,
        organization=organization,
        edition=edition,
        start_date=today,
        end_date=today + timedelta(days=days - 1),
        modules=_trial_modules(edition, modules),
        price=Decimal("0.00"),
        grace_days=0,
        custom_dev_hours=0,
        notes=str(TrialKind(kind).label),
        origin=ContractOrigin.SELF_SERVICE if kind == TrialKind.SELF_SERVICE else ContractOrigin.SALES,
    )
    contract = contract_activate(actor=actor, contract=contract)
    trial = Trial.objects.create(
        contract=contract,
        organization=organization,
        edition=edition,
        kind=kind,
        started_by=actor_user(actor),
    )
    audit(
        actor=actor,
        action="trial.start",
        target=trial,
        data={"edition": edition.code, "kind": kind, "days": days, "contract": contract.number},
    )
    return trial


@transaction.atomic
def trial_extend(*, actor: Any, trial: Trial, days: int) -> Trial:
    """Sales add `days` to a running trial; licenses follow at the next check-in (a later
    `entitlement_end` answers `renewed`)."""
    trial = Trial.objects.select_for_update().select_related("contract").get(pk=trial.pk)
    contract = Contract.objects.select_for_update().get(pk=trial.contract_id)
    if contract.status != ContractStatus.ACTIVE or trial.conversion:
        raise ApplicationError(
            ContractError.TRIAL_NOT_RUNNING,
            _("Only a running trial that was not converted can be extended."),
            status=409,
        )
    total = (contract.end_date - contract.start_date).days + 1 + days
    if not days >= 1 or total > MAX_TRIAL_DAYS:
        raise ApplicationError(
            ContractError.INVALID_TRIAL_LENGTH,
            _("A trial lasts between 1 and %(max)d days.") % {"max": MAX_TRIAL_DAYS},
            status=422,
        )
    contract.end_date = contract.end_date + timedelta(days=days)
    contract.save(update_fields=["end_date", "updated_at"])
    trial.extended_days += days
    trial.save(update_fields=["extended_days"])
    audit(
        actor=actor,
        action="trial.extend",
        target=trial,
        data={"days": days, "end_date": contract.end_date.isoformat()},
    )
    return trial


def _lock_convertible(trial: Trial) -> Trial:
    trial = Trial.objects.select_for_update().select_related("contract", "edition").get(pk=trial.pk)
    if trial.conversion:
        raise ApplicationError(
            ContractError.TRIAL_ALREADY_CONVERTED, _("This trial was already converted."), status=409
        )
    if trial.contract.status not in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}:
        raise ApplicationError(ContractError.TRIAL_NOT_RUNNING, _("This trial was cancelled."), status=409)
    return trial


@transaction.atomic
def trial_mark_converted(*, actor: Any, trial: Trial, conversion: str) -> Trial:
    trial = _lock_convertible(trial)
    trial.conversion = conversion
    trial.converted_at = timezone.now()
    trial.save(update_fields=["conversion", "converted_at"])
    audit(actor=actor, action="trial.convert", target=trial, data={"conversion": conversion})
    return trial


@transaction.atomic
def saas_subscription_start(
    *,
    actor: Any,
    organization: Any,
    edition: Edition,
    modules: list[Module],
    currency: str,
    today: date | None = None,
) -> Contract:
    """An organization starts SaaS online: an active metered contract from today for a year, renewed
    automatically, billed each month for the peak of devices and the modules' fees (billing's usage run).
    One running SaaS contract per organization."""
    if not edition.is_metered or not edition.is_active:
        raise ApplicationError(
            ContractError.NOT_SAAS, _("This edition is not billed per device."), status=409
        )
    today = today or timezone.localdate()
    running = (
        Contract.objects.select_for_update()
        .filter(
            organization=organization,
            edition=edition,
            status__in=[ContractStatus.DRAFT, ContractStatus.ACTIVE],
        )
        .first()
    )
    if running is not None:
        raise ApplicationError(
            ContractError.SAAS_ALREADY_STARTED,
            _("Your organization already has SaaS (%(number)s).") % {"number": running.number},
            status=409,
        )
    contract = contract_create(
        actor=actor,
        organization=organization,
        edition=edition,
        start_date=today,
        end_date=_add_months(today, 12) - timedelta(days=1),
        modules=modules,
        currency=currency,
        auto_renew=True,
        origin=ContractOrigin.SELF_SERVICE,
    )
    return contract_activate(actor=actor, contract=contract)


@transaction.atomic
def contract_add_module(*, actor: Any, contract: Contract, module: Module) -> Contract:
    """A module added to a running contract (bought mid-term and paid): allowed by its edition, not yet on
    it. Its licenses follow at the next check-in (the features change, the answer is `renewed`)."""
    contract = Contract.objects.select_for_update().select_related("edition").get(pk=contract.pk)
    if contract.status != ContractStatus.ACTIVE:
        raise ApplicationError(
            ContractError.CONTRACT_NOT_ACTIVE, _("Modules are added to active contracts."), status=409
        )
    current = list(contract.modules.all())
    if module in current:
        return contract
    if module.code not in contract.edition.allowed_module_codes():
        raise ApplicationError(
            ContractError.MODULE_NOT_OFFERED,
            _("The %(edition)s edition does not offer: %(modules)s.")
            % {"edition": contract.edition.name, "modules": module.code},
            status=422,
        )
    contract.modules.add(module)
    contract.save(update_fields=["updated_at"])  # the entitlement's stamp: licenses are re-issued
    audit(actor=actor, action="contract.add_module", target=contract, data={"module": module.code})
    return contract
