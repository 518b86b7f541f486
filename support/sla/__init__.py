"""The SLA clock as pure functions (no database; "now" is always passed in). See
shared/specs/sla-clock.md §2–§4. `calendar` holds the business-time primitives, `metrics` the rules that
turn a ticket's event log into per-metric states."""

from support.sla.calendar import (
    BusinessCalendar,
    NoOpenTimeError,
    add_business,
    business_seconds,
    open_intervals,
)
from support.sla.metrics import (
    Event,
    EventKind,
    Metric,
    MetricResult,
    MetricState,
    Rules,
    Targets,
    evaluate,
)

__all__ = [
    "BusinessCalendar",
    "Event",
    "EventKind",
    "Metric",
    "MetricResult",
    "MetricState",
    "NoOpenTimeError",
    "Rules",
    "Targets",
    "add_business",
    "business_seconds",
    "evaluate",
    "open_intervals",
]
