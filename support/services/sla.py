"""The SLA clock against the database: policy resolution, recompute from the event log, and the
every-minute job that warns before and escalates on a breach (each exactly once)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Prefetch, Q, Value, When
from django.db.models.functions import ExtractYear, Least, NullIf
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.models import Field

from portal.core.services import enqueue_on_commit
from support import sla
from support.models import (
    OPEN_STATUSES,
    Calendar,
    EventKind,
    NotificationKind,
    SlaMetric,
    SlaNotification,
    SlaPolicy,
    SlaState,
    Ticket,
    TicketEvent,
)

logger = logging.getLogger(__name__)

METRICS = tuple(SlaMetric.values)
SLA_EVENT_KINDS = (
    EventKind.CREATED,
    EventKind.STATUS,
    EventKind.AGENT_REPLY,
    EventKind.CUSTOMER_MESSAGE,
)
SLA_FIELDS = [
    *(f"{m}_{part}" for m in METRICS for part in ("state", "due_at", "warn_at", "met_at", "breached_at")),
    "sla_due_at",
    "sla_check_at",
    "sla_dirty",
    "sla_uncovered_from",
]
_COUNTING = (SlaState.RUNNING, SlaState.BREACHED)
_NEVER = datetime(9999, 12, 31, tzinfo=UTC)

# Pure calendars by (id, updated_at): a saved calendar gets a new key, so a stale one is never used.
_SPECS: dict[int, tuple[datetime, sla.BusinessCalendar]] = {}


def calendar_spec(calendar: Calendar) -> sla.BusinessCalendar:
    cached = _SPECS.get(calendar.pk)
    if cached is not None and cached[0] == calendar.updated_at:
        return cached[1]
    fresh = Calendar.objects.prefetch_related("weekly_hours", "days", "coverage").get(pk=calendar.pk)
    spec = fresh.to_spec()
    _SPECS[fresh.pk] = (fresh.updated_at, spec)
    return spec


def sla_policy_for_contract(contract: Any) -> SlaPolicy | None:
    """The contract's own override, else its edition's policy; None (n/a) for community and no contract."""
    if contract is None:
        return None
    policies = SlaPolicy.objects.filter(Q(contract=contract) | Q(edition_id=contract.edition_id))
    by_kind = {("contract" if p.contract_id else "edition"): p for p in policies}
    return by_kind.get("contract") or by_kind.get("edition")


def _ticket_queryset() -> Any:
    return Ticket.objects.select_related("sla_policy__calendar").prefetch_related(
        "sla_policy__targets",
        Prefetch(
            "events",
            queryset=TicketEvent.objects.filter(kind__in=SLA_EVENT_KINDS).only(
                "ticket_id", "at", "kind", "data"
            ),
            to_attr="sla_events",
        ),
    )


def evaluate_ticket(ticket: Ticket, now: datetime) -> dict[sla.Metric, sla.MetricResult]:
    """The pure clock on one ticket (reads ticket.sla_events if prefetched, else queries them)."""
    policy = ticket.sla_policy
    if policy is None:
        return {m: sla.MetricResult(metric=m, state=sla.MetricState.NA) for m in sla.Metric}
    rows = getattr(ticket, "sla_events", None)
    if rows is None:
        rows = list(ticket.events.filter(kind__in=SLA_EVENT_KINDS))
    events = [sla.Event(row.at, row.kind, (row.data or {}).get("to", "")) for row in rows]
    return sla.evaluate(
        calendar_spec(policy.calendar), policy.targets_for(ticket.priority), events, now, policy.rules()
    )


def coverage_gap(ticket: Ticket, results: dict[sla.Metric, sla.MetricResult]) -> date | None:
    """The first local date without holiday data between the ticket's creation and its latest due time:
    up to there the due times are right, past it every weekday was counted as a working day."""
    policy = ticket.sla_policy
    dues = [result.due_at for result in results.values() if result.due_at is not None]
    if policy is None or not dues:
        return None
    spec = calendar_spec(policy.calendar)
    zone = spec.tz  # type: ignore[attr-defined]
    first = ticket.created_at.astimezone(zone).date()
    return spec.first_uncovered(first, max(first, max(dues).astimezone(zone).date()))


def _apply(ticket: Ticket, results: dict[sla.Metric, sla.MetricResult]) -> None:
    checks: list[datetime] = []
    dues: list[datetime] = []
    for metric, result in results.items():
        prefix = metric.value
        setattr(ticket, f"{prefix}_state", result.state.value)
        setattr(ticket, f"{prefix}_due_at", result.due_at)
        setattr(ticket, f"{prefix}_warn_at", result.warn_at)
        setattr(ticket, f"{prefix}_met_at", result.met_at)
        setattr(ticket, f"{prefix}_breached_at", result.breached_at)
        if result.is_running and result.due_at is not None:
            dues.append(result.due_at)
            checks.extend(t for t in (result.warn_at, result.due_at) if t is not None)
    ticket.sla_due_at = min(dues, default=None)
    ticket.sla_check_at = min(checks, default=None)
    ticket.sla_dirty = False
    ticket.sla_uncovered_from = coverage_gap(ticket, results)


def ticket_sla_recompute(*, ticket: Ticket, now: datetime | None = None, save: bool = True) -> Ticket:
    """Rebuild the ticket's SLA columns from its event log; call after every event, in its transaction."""
    _apply(ticket, evaluate_ticket(ticket, now or timezone.now()))
    if save:
        Ticket.objects.filter(pk=ticket.pk).update(**{f: getattr(ticket, f) for f in SLA_FIELDS})
    return ticket


def tickets_sla_recompute(
    *, ticket_ids: Iterable[int], now: datetime | None = None, batch_size: int = 500
) -> int:
    """Re-resolve the policy and rebuild the SLA of many tickets (calendar or policy changed)."""
    now = now or timezone.now()
    ids = list(ticket_ids)
    policies = list(SlaPolicy.objects.select_related("calendar").prefetch_related("targets"))
    by_contract = {p.contract_id: p for p in policies if p.contract_id}
    by_edition = {p.edition_id: p for p in policies if p.edition_id}
    for offset in range(0, len(ids), batch_size):
        with transaction.atomic():
            tickets = list(
                _ticket_queryset().select_related("contract").filter(pk__in=ids[offset : offset + batch_size])
            )
            for ticket in tickets:
                contract = ticket.contract
                ticket.sla_policy = (
                    None
                    if contract is None
                    else by_contract.get(contract.pk) or by_edition.get(contract.edition_id)
                )
                _apply(ticket, evaluate_ticket(ticket, now))
            _write_columns(tickets, [*SLA_FIELDS, "sla_policy"])
    return len(ids)


def _write_columns(tickets: list[Ticket], names: list[str]) -> None:
    """Write per-row values of many tickets in one statement. Django's bulk_update builds a CASE with one
    WHEN per row for every column, quadratic on PostgreSQL (≈100 tickets/s here); UPDATE … FROM (VALUES …)
    is linear."""
    if not tickets:
        return
    if connection.vendor != "postgresql":
        Ticket.objects.bulk_update(tickets, names, batch_size=500)
        return
    # Concrete columns of Ticket (no reverse relations among `names`).
    fields = [cast("Field[Any, Any]", Ticket._meta.get_field(name)) for name in names]
    pk = Ticket._meta.pk
    quote = connection.ops.quote_name
    casts = [f"%s::{f.db_type(connection)}" for f in [pk, *fields]]
    row = "(" + ", ".join(casts) + ")"
    columns = [f.column for f in (pk, *fields)]
    sql = (
        f"UPDATE {quote(Ticket._meta.db_table)} AS t SET "  # noqa: S608 - quoted model names; values are params
        + ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns[1:])
        + f" FROM (VALUES {', '.join([row] * len(tickets))}) AS v({', '.join(quote(c) for c in columns)})"
        + f" WHERE t.{quote(columns[0])} = v.{quote(columns[0])}"
    )
    params = []
    for ticket in tickets:
        params.append(ticket.pk)
        params.extend(f.get_db_prep_save(getattr(ticket, f.attname), connection) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def sla_mark_dirty(*, calendar: Calendar | None = None, policy: SlaPolicy | None = None) -> int:
    """Flag the open tickets a calendar or policy change affects; the recompute task picks them up."""
    open_tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    if calendar is not None:
        Calendar.objects.filter(pk=calendar.pk).update(updated_at=timezone.now())
        affected = open_tickets.filter(sla_policy__calendar=calendar)
    elif policy is not None:
        SlaPolicy.objects.filter(pk=policy.pk).update(updated_at=timezone.now())
        scope = Q(sla_policy=policy)
        if policy.contract_id:
            scope |= Q(contract_id=policy.contract_id)
        if policy.edition_id:
            scope |= Q(contract__edition_id=policy.edition_id)
        affected = open_tickets.filter(scope)
    else:
        raise TypeError("give a calendar or a policy")
    count = affected.update(sla_dirty=True)
    enqueue_on_commit("support.tasks.sla_recompute_dirty")
    return count


def sla_coverage_refresh() -> int:
    """Flag for recomputing the open tickets whose due times ran past the holiday data when the data has
    arrived since (a year imported or entered, or a newer holiday source after a deploy). One query per
    (calendar, year) pair still flagged, whatever the number of tickets."""
    flagged = Ticket.objects.filter(
        sla_uncovered_from__isnull=False, status__in=OPEN_STATUSES, sla_dirty=False
    )
    pairs = set(
        flagged.annotate(year=ExtractYear("sla_uncovered_from")).values_list(
            "sla_policy__calendar_id", "year"
        )
    )
    calendars = Calendar.objects.in_bulk({calendar_id for calendar_id, _year in pairs if calendar_id})
    count = 0
    for calendar_id, year in pairs:
        calendar = calendars.get(calendar_id)
        covered = (
            calendar is None
            or calendar_spec(calendar).first_uncovered(date(year, 1, 1), date(year, 1, 1)) is None
        )
        if covered:
            count += flagged.filter(
                sla_policy__calendar_id=calendar_id, sla_uncovered_from__year=year
            ).update(sla_dirty=True)
    return count


def sla_recompute_dirty(*, now: datetime | None = None, limit: int | None = None) -> int:
    ids = Ticket.objects.filter(sla_dirty=True).order_by("pk").values_list("pk", flat=True)
    return tickets_sla_recompute(ticket_ids=list(ids[:limit] if limit else ids), now=now)


# The every-minute job -------------------------------------------------------------------------------


def _next_check(now: datetime) -> Any:
    """SQL for the earliest future warning or deadline of a counting metric (NULL: nothing to watch)."""
    parts = [
        Case(
            When(Q(**{f"{m}_state__in": _COUNTING, f"{m}_{col}__gt": now}), then=F(f"{m}_{col}")),
            default=Value(_NEVER),
            output_field=DateTimeField(),
        )
        for m in METRICS
        for col in ("warn_at", "due_at")
    ]
    return NullIf(Least(*parts), Value(_NEVER, output_field=DateTimeField()))


JOB_LOCK_KEY = 0x5E1A_C4EC  # pg advisory lock: one breach check at a time across all workers


@contextmanager
def job_lock(key: int = JOB_LOCK_KEY) -> Iterator[bool]:
    """A session-level advisory lock: True when this process holds it (one run at a time)."""
    if connection.vendor != "postgresql":
        yield True  # SQLite (demo): a single writer anyway
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def sla_check_due(*, now: datetime | None = None, batch_size: int = 5000) -> dict[str, int]:
    """Warn before and escalate on breaches of tickets whose next check is due; each notification once.

    Reads only tickets with sla_check_at <= now (partial index); per batch, inserts the notifications not
    sent yet (the unique (ticket, metric, kind) row is the guarantee), then marks breaches and moves
    sla_check_at to the next future warning or deadline in one set-based UPDATE; e-mails go after commit.
    An advisory lock keeps overlapping runs (a slow run, several beat hosts) from doing the work twice.
    """
    now = now or timezone.now()
    columns = ["pk", *(f"{m}_{c}" for m in METRICS for c in ("state", "warn_at", "due_at"))]
    stats = {"tickets": 0, "warnings": 0, "breaches": 0}
    with job_lock() as acquired:
        if not acquired:
            logger.info("sla_check_due: another run holds the lock; skipping")
            return stats
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    Ticket.objects.filter(sla_check_at__lte=now, pk__gt=last_pk)
                    .order_by("pk")
                    .values(*columns)[:batch_size]
                )
                if not rows:
                    break
                last_pk = rows[-1]["pk"]
                created = _notify_due(rows, now)
                for note in created:
                    stats["breaches" if note.kind == NotificationKind.BREACH else "warnings"] += 1
                Ticket.objects.filter(pk__in=[row["pk"] for row in rows]).update(**_breach_updates(now))
                stats["tickets"] += len(rows)
            if len(rows) < batch_size:
                break
    return stats


def _notify_due(rows: list[dict[str, Any]], now: datetime) -> list[SlaNotification]:
    wanted: dict[tuple[int, str, str], datetime | None] = {}
    for row in rows:
        for m in METRICS:
            if row[f"{m}_state"] not in _COUNTING:
                continue
            due, warn = row[f"{m}_due_at"], row[f"{m}_warn_at"]
            if due is not None and due <= now:
                wanted[(row["pk"], m, NotificationKind.BREACH)] = due
            elif warn is not None and warn <= now:
                wanted[(row["pk"], m, NotificationKind.WARNING)] = due
    if not wanted:
        return []
    existing = set(
        SlaNotification.objects.filter(ticket_id__in={key[0] for key in wanted}).values_list(
            "ticket_id", "metric", "kind"
        )
    )
    created = SlaNotification.objects.bulk_create(
        [
            SlaNotification(ticket_id=t, metric=m, kind=k, due_at=due, created_at=now)
            for (t, m, k), due in wanted.items()
            if (t, m, k) not in existing
        ]
    )
    if created:
        enqueue_on_commit("support.tasks.sla_notifications_send", [note.pk for note in created])
    return created


def _breach_updates(now: datetime) -> dict[str, Any]:
    """Column updates for one UPDATE: running metrics past their deadline become breached (breached_at =
    the deadline), and the next check moves on. All right-hand sides read the row as it was."""
    updates: dict[str, Any] = {}
    for m in METRICS:
        breaching = Q(**{f"{m}_state": SlaState.RUNNING, f"{m}_due_at__lte": now})
        updates[f"{m}_state"] = Case(When(breaching, then=Value(SlaState.BREACHED)), default=F(f"{m}_state"))
        updates[f"{m}_breached_at"] = Case(
            When(breaching, then=F(f"{m}_due_at")), default=F(f"{m}_breached_at")
        )
    updates["sla_check_at"] = _next_check(now)
    return updates
