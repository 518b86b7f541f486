"""Fleet reads (issue 18): health of deployments, versions across the fleet, availability strips,
device-count trends and the growth signals sales works from. Set-based: each function is a fixed number
of queries whatever the size of the fleet."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.models import Contract, ContractStatus
from editions.selectors import release_index, version_key
from licenses.models import Deployment, FleetVersionSnapshot, SilenceEpisode, UsageReport
from support.models import OPEN_STATUSES, Ticket


class Health:
    HEALTHY = "healthy"
    LATE = "late"
    SILENT = "silent"
    NEVER = "never"  # registered, never checked in
    OFFLINE = "offline"  # air-gapped: does not check in


def late_after() -> dt.timedelta:
    return dt.timedelta(hours=settings.FLEET_CHECKIN_INTERVAL_HOURS + settings.FLEET_CHECKIN_JITTER_HOURS)


def health_of(deployment: Deployment, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if deployment.offline:
        return Health.OFFLINE
    if deployment.last_checkin_at is None:
        return Health.NEVER
    silence = now - deployment.last_checkin_at
    if silence > dt.timedelta(days=settings.FLEET_SILENT_DAYS):
        return Health.SILENT
    if silence > late_after():
        return Health.LATE
    return Health.HEALTHY


def availability(
    deployment_ids: list[int], *, days: int = 90, today: dt.date | None = None
) -> dict[int, list[tuple[dt.date, bool]]]:
    """Per deployment, each of the last `days` days (Asia/Shanghai) and whether it checked in that day:
    one query for all of them."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    seen: dict[int, set[dt.date]] = defaultdict(set)
    rows = (
        UsageReport.objects.filter(deployment_id__in=deployment_ids, reported_at__gte=since)
        .annotate(day=TruncDate("reported_at", tzinfo=timezone.get_default_timezone()))
        .values_list("deployment_id", "day")
        .distinct()
    )
    for deployment_id, day in rows:
        seen[deployment_id].add(day)
    calendar = [start + dt.timedelta(days=i) for i in range(days)]
    return {pk: [(day, day in seen[pk]) for day in calendar] for pk in deployment_ids}


# --- versions -----------------------------------------------------------------------------------------


@dataclass
class VersionRow:
    version: str
    edition: str
    deployments: int
    devices: int
    support_status: str | None  # None: not a published release of ours


def fleet_versions(*, edition: str | None = None) -> list[VersionRow]:
    """Live deployments and their last reported devices per platform version and edition, newest
    version first: one grouped query over the fleet."""
    qs = Deployment.objects.filter(deactivated_at__isnull=True)
    if edition:
        qs = qs.filter(contract__edition__code=edition)
    rows = (
        qs.values("platform_version", edition_code=F("contract__edition__code"))
        .annotate(count=Count("id"), devices=Coalesce(Sum("last_device_count"), 0))
        .order_by()
    )
    index = release_index()
    result = [
        VersionRow(
            version=row["platform_version"],
            edition=row["edition_code"],
            deployments=row["count"],
            devices=row["devices"],
            support_status=getattr(
                index.by_version.get(row["platform_version"].removeprefix("v")), "support_status", None
            ),
        )
        for row in rows
    ]
    result.sort(key=lambda r: (version_key(r.version), r.version, r.edition), reverse=True)
    return result


def version_adoption(*, days: int = 90, today: dt.date | None = None, top: int = 6) -> dict[str, Any]:
    """Deployments per version per day from the daily snapshots: the `top` versions of the last day by
    name, the rest summed as "other"."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    rows = (
        FleetVersionSnapshot.objects.filter(day__gte=start, day__lte=today)
        .values("day", "version")
        .annotate(count=Sum("deployments"))
        .order_by("day")
    )
    per_day: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for row in rows:
        per_day[row["day"]][row["version"]] = row["count"]
    last = per_day[max(per_day)] if per_day else {}
    leaders = sorted(last, key=lambda v: (last[v], version_key(v)), reverse=True)[:top]
    series: dict[str, list[tuple[dt.date, int]]] = {v: [] for v in leaders}
    others: list[tuple[dt.date, int]] = []
    for day in sorted(per_day):
        counts = per_day[day]
        for version in leaders:
            series[version].append((day, counts.get(version, 0)))
        others.append((day, sum(c for v, c in counts.items() if v not in leaders)))
    if any(count for _day, count in others):
        series["other"] = others
    return {"start": start, "end": today, "series": series}


# --- growth signals -----------------------------------------------------------------------------------

TREND_DAYS = 30


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares (slope, intercept) of (x, y) points; None for fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return None
    mean_x = sum(x for x, _y in points) / n
    mean_y = sum(y for _x, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _y in points)
    if var == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    return slope, mean_y - slope * mean_x


@dataclass
class Growth:
    contract: Contract
    daily: list[tuple[dt.date, int]] = field(default_factory=list)
    current: int = 0
    slope_per_day: float | None = None
    limit_reached_on: dt.date | None = None
    silent_deployments: int = 0
    open_tickets: int = 0

    @property
    def limit(self) -> int | None:
        return self.contract.effective_device_limit

    @property
    def usage_ratio(self) -> float | None:
        return self.current / self.limit if self.limit else None

    @property
    def peak(self) -> int:
        return max((c for _d, c in self.daily), default=0)

    @property
    def upsell(self) -> bool:
        if not self.limit:
            return False
        over_threshold = self.current >= settings.FLEET_UPSELL_THRESHOLD * self.limit
        passes_before_renewal = (
            self.limit_reached_on is not None and self.limit_reached_on <= self.contract.end_date
        )
        return over_threshold or passes_before_renewal

    @property
    def risk_reasons(self) -> list[str]:
        reasons = []
        if self.peak and self.current * 2 <= self.peak:
            reasons.append(_("devices fell by half"))
        if self.silent_deployments:
            reasons.append(_("%(n)d deployments silent") % {"n": self.silent_deployments})
        if self.open_tickets >= settings.FLEET_AT_RISK_OPEN_TICKETS:
            reasons.append(_("%(n)d open tickets") % {"n": self.open_tickets})
        return reasons


def contract_daily_devices(
    contract_ids: list[int] | None, *, days: int = TREND_DAYS, today: dt.date | None = None
) -> dict[int, list[tuple[dt.date, int]]]:
    """Per contract, per day: the sum over its deployments of each one's highest reported device count
    that day (daily peak). One grouped query; the sum over deployments is done here."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    qs = UsageReport.objects.filter(reported_at__gte=since, device_count__isnull=False)
    if contract_ids is not None:
        qs = qs.filter(contract_id__in=contract_ids)
    rows = (
        qs.annotate(day=TruncDate("reported_at", tzinfo=timezone.get_default_timezone()))
        .values_list("contract_id", "deployment_id", "day")
        .annotate(peak=Max("device_count"))
        .order_by()
    )
    sums: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for contract_id, _deployment_id, day, peak in rows:
        sums[contract_id][day] += peak
    return {cid: sorted(days_.items()) for cid, days_ in sums.items()}


def _active_contracts() -> QuerySet[Contract]:
    return Contract.objects.filter(status=ContractStatus.ACTIVE).select_related("organization", "edition")


def growth_signals(*, today: dt.date | None = None, contracts: list[Contract] | None = None) -> list[Growth]:
    """Device trend, projected date the limit is reached, silent deployments and open tickets of every
    active contract (or the ones given): four queries in all."""
    today = today or timezone.localdate()
    contracts = list(contracts if contracts is not None else _active_contracts())
    ids = [c.pk for c in contracts]
    daily = contract_daily_devices(ids, today=today)
    silent = dict(
        SilenceEpisode.objects.filter(ended_at__isnull=True, deployment__contract_id__in=ids)
        .values_list("deployment__contract_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    tickets = dict(
        Ticket.objects.filter(
            organization_id__in={c.organization_id for c in contracts}, status__in=OPEN_STATUSES
        )
        .values_list("organization_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    signals = []
    for contract in contracts:
        growth = Growth(contract=contract, daily=daily.get(contract.pk, []))
        growth.current = growth.daily[-1][1] if growth.daily else 0
        growth.silent_deployments = silent.get(contract.pk, 0)
        growth.open_tickets = tickets.get(contract.organization_id, 0)
        fit = linear_fit([((day - today).days, count) for day, count in growth.daily])
        if fit is not None:
            slope, intercept = fit
            growth.slope_per_day = slope
            limit = growth.limit
            if limit and slope > 0:
                days_left = (limit - intercept) / slope  # x where the line meets the limit (x=0 is today)
                growth.limit_reached_on = today + dt.timedelta(days=max(0, int(days_left) + 1))
        signals.append(growth)
    return signals


def upsell_candidates(**kwargs: Any) -> list[Growth]:
    return sorted((g for g in growth_signals(**kwargs) if g.upsell), key=lambda g: -(g.usage_ratio or 0))


def accounts_at_risk(**kwargs: Any) -> list[Growth]:
    return [g for g in growth_signals(**kwargs) if g.risk_reasons]


def open_silences() -> QuerySet[SilenceEpisode]:
    return SilenceEpisode.objects.filter(ended_at__isnull=True).select_related(
        "deployment__organization", "deployment__contract", "ticket"
    )


def fleet_health_counts(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Live deployments per health state: one aggregate query."""
    now = now or timezone.now()
    live = Deployment.objects.filter(deactivated_at__isnull=True)
    silent = now - dt.timedelta(days=settings.FLEET_SILENT_DAYS)
    late = now - late_after()
    filters = {
        Health.OFFLINE: Q(offline=True),
        Health.NEVER: Q(offline=False, last_checkin_at__isnull=True),
        Health.SILENT: Q(offline=False, last_checkin_at__lt=silent),
        Health.LATE: Q(offline=False, last_checkin_at__lt=late, last_checkin_at__gte=silent),
        Health.HEALTHY: Q(offline=False, last_checkin_at__gte=late),
    }
    # Aliased: "offline" is also a column name, which aggregate() refuses as an alias.
    counts = live.aggregate(**{f"n_{state}": Count("id", filter=q) for state, q in filters.items()})
    return {state: counts[f"n_{state}"] for state in filters}
