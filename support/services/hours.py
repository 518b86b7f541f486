"""Custom-development hours (spec §6): a bucket per contract year; time entries draw it down."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.services import invoice_custom_development_overage
from contracts.models import Contract
from portal.core.actors import Actor, actor_user
from portal.core.errors import ApplicationError
from portal.core.services import audit, enqueue_on_commit
from support.errors import SupportError
from support.models import BucketKind, Category, EventKind, HoursBucket, Ticket, TicketEvent, TimeEntry

WARN_RATIO = Decimal("0.8")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def contract_year(contract: Any, on: date) -> tuple[date, date]:
    """[start, end) of the contract year that contains `on` (the last year ends with the contract)."""
    years = max(0, on.year - contract.start_date.year)
    if _add_years(contract.start_date, years) > on:
        years -= 1
    years = max(0, years)
    start = _add_years(contract.start_date, years)
    return start, min(_add_years(contract.start_date, years + 1), contract.end_date)


def hours_bucket_for(*, contract: Any, on: date | None = None) -> HoursBucket | None:
    """The bucket of the contract year containing `on`, created on first use; None without hours."""
    if contract is None or not contract.custom_dev_hours:
        return None
    start, end = contract_year(contract, on or timezone.localdate())
    bucket = HoursBucket.objects.filter(
        contract=contract, kind=BucketKind.CUSTOM_DEV, period_start=start
    ).first()
    if bucket is None:
        try:
            with transaction.atomic():
                bucket = HoursBucket.objects.create(
                    contract=contract,
                    kind=BucketKind.CUSTOM_DEV,
                    period_start=start,
                    period_end=end,
                    granted_minutes=contract.custom_dev_hours * 60,
                )
        except IntegrityError:
            bucket = HoursBucket.objects.get(
                contract=contract, kind=BucketKind.CUSTOM_DEV, period_start=start
            )
    return bucket


def bucket_used_minutes(bucket: HoursBucket) -> int:
    return bucket.entries.aggregate(total=Sum("minutes"))["total"] or 0


@transaction.atomic
def time_entry_add(
    *,
    actor: Actor,
    ticket: Ticket,
    minutes: int,
    user: Any = None,
    work_date: date | None = None,
    description: str = "",
) -> TimeEntry:
    """Log an engineer's time. On custom-development tickets it draws from the contract year's bucket;
    minutes beyond the grant are recorded as overage (billable) and flag the ticket."""
    user = user or actor
    if minutes <= 0:
        raise ApplicationError(SupportError.INVALID_INPUT, _("Log a positive number of minutes."))
    if not getattr(user, "is_staff", False):
        raise ApplicationError(SupportError.INVALID_INPUT, _("Time is logged by support engineers (staff)."))
    work_date = work_date or timezone.localdate()
    bucket = None
    overage = 0
    if ticket.category == Category.CUSTOM_DEVELOPMENT and ticket.contract_id:
        bucket = hours_bucket_for(contract=ticket.contract, on=work_date)
    if bucket is not None:
        bucket = HoursBucket.objects.select_for_update().get(pk=bucket.pk)  # serialises the arithmetic
        used = bucket_used_minutes(bucket)
        overage = min(minutes, max(0, used + minutes - bucket.granted_minutes))
    entry = TimeEntry.objects.create(
        ticket=ticket,
        user=user,
        bucket=bucket,
        minutes=minutes,
        overage_minutes=overage,
        work_date=work_date,
        description=description,
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=EventKind.TIME_LOGGED,
        actor=actor_user(actor),
        data={"minutes": minutes, "overage": overage},
    )
    if overage and not ticket.hours_overage:
        Ticket.objects.filter(pk=ticket.pk).update(hours_overage=True)
        ticket.hours_overage = True
    if (
        bucket is not None
        and bucket.warned_at is None
        and used + minutes >= WARN_RATIO * bucket.granted_minutes
    ):
        bucket.warned_at = timezone.now()
        bucket.save(update_fields=["warned_at"])
        enqueue_on_commit("support.tasks.hours_bucket_warn", bucket.pk)
    audit(actor=actor, action="ticket.time", target=ticket, data={"minutes": minutes, "overage": overage})
    return entry


def hours_overage_invoice(*, actor: Actor, period: tuple[date, date]) -> list[Any]:
    """Invoice each contract's custom-development overage logged in `period` (inclusive dates, local
    time): the minutes beyond its yearly grant, as hours to the minute, through billing's
    invoice_custom_development_overage (idempotent per contract and period start). Entries count in
    the period they were logged in, so time logged late for an earlier day is billed next time
    instead of being lost. Each contract is invoiced in its own transaction; an error stops the run,
    and running it again skips the contracts already invoiced for the period."""
    start, end = period
    zone = timezone.get_default_timezone()
    since = timezone.make_aware(datetime.combine(start, time.min), zone)
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone)
    overage = (
        TimeEntry.objects.filter(overage_minutes__gt=0, created_at__gte=since, created_at__lt=until)
        .values("bucket__contract")
        .annotate(minutes=Sum("overage_minutes"))
        .order_by("bucket__contract")
    )
    contracts = Contract.objects.in_bulk([row["bucket__contract"] for row in overage])
    invoices = []
    for row in overage:
        hours = (Decimal(row["minutes"]) / 60).quantize(Decimal("0.0001"))
        invoice = invoice_custom_development_overage(
            actor=actor, contract=contracts[row["bucket__contract"]], hours=hours, period=(start, end)
        )
        if invoice is not None:
            invoices.append(invoice)
    return invoices
