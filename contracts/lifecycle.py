"""The daily contract lifecycle (Celery beat, see contracts.tasks.daily_lifecycle).

Rules (DESIGN §6; the issue "Contract lifecycle and renewal reminders"):

- A contract is *in force* from its start date to its end date while it is active. Sales may activate
  a contract, a renewal in particular, before its start date (`clean_for_activation` only refuses
  contracts that have already ended): it is then active, signed and counted, but takes effect at its
  start date. Which contract of a renewal chain applies on a given day, and what it grants, is
  contracts.entitlements' answer (`contract_in_force`).
- At the end date an active contract becomes expired (the day after its last day). When a renewal
  takes effect while the contract it renews is still active (a renewal starting early), the old one
  is expired that day too: the renewal replaces it.
- Licenses follow their contract: the run sends `contracts.signals.contract_ended` for each contract
  that ended, whose grace ended or that was cancelled, and the licenses app (which builds on
  contracts; contracts never import it) answers: once the contract has expired its licenses are no
  longer renewed and run in grace; when the grace period is over they expire; licenses of cancelled
  contracts are revoked.
- Contracts with `auto_renew` get their renewal draft (contracts.services.contract_renew) created
  CONTRACT_AUTO_RENEW_DAYS before the end; sales still activates it.
- Renewal reminders are claimed and sent (contracts.reminders).

Every step is idempotent and works in keyset-paginated batches of CONTRACT_LIFECYCLE_BATCH_SIZE ids;
each contract is handled in its own transaction, and one that fails is logged and counted without
stopping the run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from contracts import reminders
from contracts.entitlements import renewal_of
from contracts.models import Contract, ContractStatus
from contracts.services import contract_expire, contract_renew
from contracts.signals import contract_ended
from portal.core.services import audit, enqueue_on_commit

logger = logging.getLogger(__name__)


# --- selections -----------------------------------------------------------------------------------------


def contracts_past_end(today: dt.date) -> QuerySet[Contract]:
    """Active contracts whose last day has passed."""
    return Contract.objects.filter(status=ContractStatus.ACTIVE, end_date__lt=today)


def contracts_replaced(today: dt.date) -> QuerySet[Contract]:
    """Active contracts (not yet at their end) replaced by a renewal that has taken effect."""
    return Contract.objects.filter(
        status=ContractStatus.ACTIVE,
        end_date__gte=today,
        renewal__status=ContractStatus.ACTIVE,
        renewal__start_date__lte=today,
    )


def contracts_grace_ended(today: dt.date) -> QuerySet[Contract]:
    """Expired contracts whose grace period ended today or on one of the catch-up days."""
    return Contract.objects.filter(status=ContractStatus.EXPIRED).filter(reminders.grace_end_filter(today))


def contracts_recently_cancelled(now: dt.datetime) -> QuerySet[Contract]:
    since = now - dt.timedelta(days=settings.CONTRACT_REMINDER_CATCH_UP_DAYS + 1)
    return Contract.objects.filter(status=ContractStatus.CANCELLED, cancelled_at__gte=since)


def contracts_to_auto_renew(today: dt.date) -> QuerySet[Contract]:
    return Contract.objects.filter(
        status=ContractStatus.ACTIVE,
        auto_renew=True,
        renewal__isnull=True,
        end_date__gte=today,
        end_date__lte=today + dt.timedelta(days=settings.CONTRACT_AUTO_RENEW_DAYS),
    )


# --- one contract at a time ------------------------------------------------------------------------------


def contract_end_term(*, contract_id: int, today: dt.date | None = None) -> bool:
    """Expire one contract whose term is over (or that a started renewal replaces). False when there
    is nothing to do, e.g. another run did it first."""
    today = today or timezone.localdate()
    with transaction.atomic(durable=True):
        contract = (
            Contract.objects.select_for_update(of=("self",))
            .select_related("renewal")
            .filter(pk=contract_id)
            .first()
        )
        if contract is None or contract.status != ContractStatus.ACTIVE:
            return False
        renewal = renewal_of(contract)
        replaced = bool(
            renewal is not None and renewal.status == ContractStatus.ACTIVE and renewal.start_date <= today
        )
        if contract.end_date >= today and not replaced:
            return False
        contract_expire(actor=None, contract=contract)
        if replaced and renewal is not None:
            audit(
                actor=None,
                action="contract.renewal_in_force",
                target=renewal,
                data={"renews": contract.number, "start_date": renewal.start_date.isoformat()},
            )
    return True


def licenses_follow_contract(*, contract: Contract, now: dt.datetime | None = None) -> int:
    """Let the apps that follow contracts (licenses: grace, then expiry; revocation for a cancelled
    contract) bring their rows in line with an ended contract. Returns how many rows changed."""
    answers = contract_ended.send(sender=Contract, contract=contract, now=now)
    total = 0
    for _receiver, changed in answers:
        if isinstance(changed, int):
            total += changed
    return total


def contract_auto_renew(*, contract_id: int) -> Contract | None:
    contract = Contract.objects.filter(pk=contract_id, status=ContractStatus.ACTIVE, auto_renew=True).first()
    if contract is None:
        return None
    uplift = Decimal(str(settings.CONTRACT_AUTO_RENEW_UPLIFT_PERCENT or 0))
    with transaction.atomic(durable=True):
        return contract_renew(actor=None, contract=contract, uplift_percent=uplift or None)


# --- the daily run ---------------------------------------------------------------------------------------


@dataclass
class LifecycleReport:
    today: str = ""
    expired: int = 0
    licenses_changed: int = 0
    auto_renewed: int = 0
    reminders_offered: int = 0
    reminder_batches: int = 0
    failures: int = 0
    failed_contracts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _each(
    ids: list[int], step: str, report: LifecycleReport, work: Callable[[int], Any]
) -> list[tuple[int, Any]]:
    """Run `work` for each id; a failure is logged and counted, and the run goes on."""
    done = []
    for pk in ids:
        try:
            done.append((pk, work(pk)))
        except Exception:
            logger.exception("contract lifecycle: %s failed for contract id %s", step, pk)
            report.failures += 1
            if len(report.failed_contracts) < 100:
                report.failed_contracts.append(f"{step}:{pk}")
    return done


def lifecycle_run(
    *, today: dt.date | None = None, now: dt.datetime | None = None, send: bool = True
) -> LifecycleReport:
    """The daily job: end terms, licenses follow, auto-renewal drafts, renewal reminders.
    Safe to run twice, concurrently, or again after a crash."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    size = settings.CONTRACT_LIFECYCLE_BATCH_SIZE
    report = LifecycleReport(today=today.isoformat())

    # 1. Terms that are over (or replaced by a renewal in force) end; their licenses go into grace.
    ended: list[int] = []
    for queryset in (contracts_past_end(today), contracts_replaced(today)):
        for ids in reminders.keyset_ids(queryset, size=size):
            for pk, changed in _each(
                ids, "expire", report, lambda pk: contract_end_term(contract_id=pk, today=today)
            ):
                if changed:
                    report.expired += 1
                    ended.append(pk)

    # 2. Licenses follow: just ended (grace starts), grace over (expire), cancelled (revoke).
    def follow(pk: int) -> int:
        return licenses_follow_contract(contract=Contract.objects.get(pk=pk), now=now)

    for _pk, changed in _each(ended, "licenses", report, follow):
        report.licenses_changed += changed
    for queryset in (contracts_grace_ended(today), contracts_recently_cancelled(now)):
        for ids in reminders.keyset_ids(queryset, size=size):
            for _pk, changed in _each(ids, "licenses", report, follow):
                report.licenses_changed += changed

    # 3. Auto-renewal drafts.
    for ids in reminders.keyset_ids(contracts_to_auto_renew(today), size=size):
        for _pk, renewal in _each(ids, "auto_renew", report, lambda pk: contract_auto_renew(contract_id=pk)):
            report.auto_renewed += renewal is not None

    # 4. Reminders: claim what is due, then hand every pending reminder to the sending task.
    try:
        report.reminders_offered = reminders.reminders_claim_due(today=today, batch_size=size)
    except Exception:
        logger.exception("contract lifecycle: claiming reminders failed")
        report.failures += 1
    if send:
        chunk = settings.CONTRACT_REMINDER_SEND_BATCH_SIZE
        for ids in reminders.reminders_pending_ids(now=now, batch_size=size):
            for start in range(0, len(ids), chunk):
                try:
                    enqueue_on_commit("contracts.tasks.send_contract_reminders", ids[start : start + chunk])
                except Exception:  # the broker is down, or an eager send raised: the next run resends
                    logger.exception(
                        "contract lifecycle: queueing reminders %s failed", ids[start : start + chunk]
                    )
                    report.failures += 1
                    continue
                report.reminder_batches += 1
    logger.info("contract lifecycle %s", report.as_dict())
    return report
