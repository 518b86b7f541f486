"""Metric rules of spec §3: a ticket's SLA state rebuilt from its event log, never from stored counters.

`evaluate()` is pure: the calendar, the targets of the ticket's *current* priority (a priority change
applies from `created`, spec §3 / GLPI #15605), the events and "now" go in; one MetricResult per metric
comes out. The caller stores the results in the ticket's derived columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from support.sla.calendar import (
    BusinessCalendar,
    NoOpenTimeError,
    add_us,
    business_us,
    from_us,
    to_us,
)

_FOREVER = 2**62


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class MetricState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    NA = "n/a"


class EventKind(StrEnum):
    CREATED = "created"
    STATUS = "status"  # `status` holds the new status
    AGENT_REPLY = "agent_reply"  # public reply by staff
    CUSTOMER_MESSAGE = "customer_message"
    INTERNAL_NOTE = "internal_note"  # never counts as a response


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    kind: str
    status: str = ""


@dataclass(frozen=True, slots=True)
class Targets:
    """Business seconds per metric for the ticket's priority; None: not applicable."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None

    def of(self, metric: Metric) -> int | None:
        return getattr(self, metric.value)


@dataclass(frozen=True, slots=True)
class Rules:
    pause_statuses: frozenset[str] = frozenset({"pending_customer"})
    # First response is deliberately not paused: a pending state must not trick the SLA (Zammad #1905).
    pause_applies_to: frozenset[str] = frozenset({Metric.NEXT_RESPONSE, Metric.RESOLUTION})
    stop_statuses: frozenset[str] = frozenset({"resolved", "closed"})
    initial_status: str = "new"
    warn_ratio: float = 0.8


@dataclass(frozen=True, slots=True)
class MetricResult:
    metric: Metric
    state: MetricState
    target: int | None = None
    elapsed: float = 0.0
    remaining: float | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def is_running(self) -> bool:
        """Counting now (a breached metric that is not yet met keeps counting)."""
        return self.met_at is None and self.state in {MetricState.RUNNING, MetricState.BREACHED}


def _na(metric: Metric) -> MetricResult:
    return MetricResult(metric=metric, state=MetricState.NA)


def _measure(
    cal: BusinessCalendar,
    metric: Metric,
    *,
    start: int,
    target: int,
    pauses: list[tuple[int, int]],
    end: int | None,
    now: int,
    warn_ratio: float,
) -> MetricResult:
    """One clock from `start` with `target` business µs, stopped at `end` (met) or still running at `now`.

    `pauses` are merged microsecond intervals; an ongoing one ends at _FOREVER.
    """
    horizon = end if end is not None else now
    clipped = [(s, min(e, horizon)) for s, e in pauses if s < horizon]
    elapsed = business_us(cal, start, horizon, clipped) if horizon > start else 0
    paused_now = end is None and bool(pauses) and pauses[-1][0] <= now < pauses[-1][1]
    deadline: int | None = None
    try:
        if elapsed >= target:
            deadline = add_us(cal, start, target, clipped)
        elif end is not None or not paused_now:
            deadline = add_us(cal, start, target, clipped if end is not None else pauses)
    except NoOpenTimeError:
        deadline = None
    warn_at = None
    breached_at = None
    if end is not None:
        breached = deadline is not None and deadline < end
        state = MetricState.BREACHED if breached else MetricState.MET
    else:
        breached = deadline is not None and deadline <= now
        if breached:
            state = MetricState.BREACHED
        elif paused_now:
            state = MetricState.PAUSED
        else:
            state = MetricState.RUNNING
            try:
                warn_at = from_us(add_us(cal, start, round(target * warn_ratio), pauses))
            except NoOpenTimeError:
                warn_at = None
    if breached:
        breached_at = from_us(deadline)  # type: ignore[arg-type]
    due_at = None if (paused_now and not breached) or deadline is None else from_us(deadline)
    return MetricResult(
        metric=metric,
        state=state,
        target=target // 1_000_000,
        elapsed=elapsed / 1_000_000,
        remaining=max(target - elapsed, 0) / 1_000_000,
        due_at=due_at,
        warn_at=warn_at,
        met_at=from_us(end) if end is not None else None,
        breached_at=breached_at,
    )


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def evaluate(
    cal: BusinessCalendar,
    targets: Targets,
    events: Sequence[Event],
    now: datetime,
    rules: Rules = Rules(),
) -> dict[Metric, MetricResult]:
    """Rebuild every metric of one ticket from its events (in any order; ties keep their given order)."""
    ordered = sorted(events, key=lambda e: e.at)
    now_us = to_us(now)
    created = next((to_us(e.at) for e in ordered if e.kind == EventKind.CREATED), None)
    if created is None:
        created = to_us(ordered[0].at) if ordered else now_us

    # Status timeline: [start, end) segments; the last one is open (end _FOREVER).
    segments: list[tuple[int, int, str]] = []
    status, since = rules.initial_status, created
    first_reply: int | None = None
    first_stop: int | None = None
    cycles: list[tuple[int, int | None, bool]] = []  # next_response: (start, end, met?)
    cycle_start: int | None = None
    for event in ordered:
        at = to_us(event.at)
        if event.kind == EventKind.STATUS and event.status and event.status != status:
            segments.append((since, at, status))
            status, since = event.status, at
            if status in rules.stop_statuses:
                if first_stop is None:
                    first_stop = at
                if cycle_start is not None:  # resolution disarms next_response (Chatwoot #10178)
                    cycles.append((cycle_start, at, False))
                    cycle_start = None
        elif event.kind == EventKind.AGENT_REPLY:
            if first_reply is None:
                first_reply = at
            elif cycle_start is not None:
                cycles.append((cycle_start, at, True))
                cycle_start = None
        elif (
            event.kind == EventKind.CUSTOMER_MESSAGE
            and first_reply is not None  # armed only after the first response
            and cycle_start is None  # later messages do not restart it
        ):
            cycle_start = at
    segments.append((since, _FOREVER, status))
    stopped_now = status in rules.stop_statuses

    def pauses_for(metric: Metric) -> list[tuple[int, int]]:
        if metric not in rules.pause_applies_to:
            return []
        return _merge((s, e) for s, e, st in segments if st in rules.pause_statuses)

    results: dict[Metric, MetricResult] = {}
    us = 1_000_000

    # First response: from created to the first public agent reply; resolving also fulfils it.
    target = targets.first_response
    if target is None:
        results[Metric.FIRST_RESPONSE] = _na(Metric.FIRST_RESPONSE)
    else:
        stops = [t for t in (first_reply, first_stop) if t is not None]
        results[Metric.FIRST_RESPONSE] = _measure(
            cal,
            Metric.FIRST_RESPONSE,
            start=created,
            target=target * us,
            pauses=pauses_for(Metric.FIRST_RESPONSE),
            end=min(stops) if stops else None,
            now=now_us,
            warn_ratio=rules.warn_ratio,
        )

    # Next response: cycles opened by the first unanswered customer message after the first reply.
    target = targets.next_response
    if target is None:
        results[Metric.NEXT_RESPONSE] = _na(Metric.NEXT_RESPONSE)
    else:
        pauses = pauses_for(Metric.NEXT_RESPONSE)
        if cycle_start is not None:
            cycles.append((cycle_start, None, False))
        current: MetricResult | None = None
        first_breach = None
        for start, end, met in cycles:
            result = _measure(
                cal,
                Metric.NEXT_RESPONSE,
                start=start,
                target=target * us,
                pauses=[p for p in pauses if p[1] > start],
                end=end,
                now=now_us,
                warn_ratio=rules.warn_ratio,
            )
            if not met and end is not None:  # disarmed by resolution: only a breach survives
                if result.breached_at is None:
                    continue
                result = replace(result, state=MetricState.BREACHED, met_at=None)
            if first_breach is None and result.breached_at is not None:
                first_breach = result.breached_at
            current = result
        if current is None:
            results[Metric.NEXT_RESPONSE] = _na(Metric.NEXT_RESPONSE)
        else:
            if first_breach is not None and current.breached_at is None:  # kept, as Odoo does
                current = replace(current, breached_at=first_breach)
            results[Metric.NEXT_RESPONSE] = current

    # Resolution: accumulates from created while neither paused nor resolved; reopening resumes it.
    target = targets.resolution
    if target is None:
        results[Metric.RESOLUTION] = _na(Metric.RESOLUTION)
    else:
        inactive = [(s, e) for s, e, st in segments if st in rules.stop_statuses]
        inactive = _merge([*inactive, *pauses_for(Metric.RESOLUTION)])
        end = segments[-1][0] if stopped_now else None
        results[Metric.RESOLUTION] = _measure(
            cal,
            Metric.RESOLUTION,
            start=created,
            target=target * us,
            pauses=inactive,
            end=end,
            now=now_us,
            warn_ratio=rules.warn_ratio,
        )
    return results
