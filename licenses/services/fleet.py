"""Fleet health (issue 18): the scan that finds silent deployments, and the alerts of a silence.

The scan runs from the beat schedule and is set-based: a fixed handful of statements whatever the size
of the fleet (benchmarks/fleet.py measures it over 100,000 deployments). It opens one SilenceEpisode per
paying deployment that went silent, ends the episodes of deployments that checked in again, and writes
today's version snapshot. The alerts themselves (a support ticket for the editions in
FLEET_TICKET_EDITIONS, a mail to the account owner for the others) and their closing are per episode, in
support's task (support.services.silence_alerts_process) the scan enqueues only when there is something
to do. The check-in hot path is not touched: a deployment that returns is seen
by the next scan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contracts.models import Contract, ContractStatus
from editions.models import Edition
from licenses.models import Deployment, FleetVersionSnapshot, SilenceEpisode
from portal.core.services import enqueue_on_commit


@dataclass(frozen=True)
class ScanResult:
    opened: int
    ended: int
    snapshot_rows: int


def _tables() -> dict[str, str]:
    return {
        "dep": Deployment._meta.db_table,
        "con": Contract._meta.db_table,
        "edi": Edition._meta.db_table,
        "sil": SilenceEpisode._meta.db_table,
        "snap": FleetVersionSnapshot._meta.db_table,
    }


def silent_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.FLEET_SILENT_DAYS)


@transaction.atomic(durable=True)
def fleet_health_scan(*, now: dt.datetime | None = None) -> ScanResult:
    """Open an episode for each paying deployment silent for FLEET_SILENT_DAYS, end the episodes of
    those that checked in again (or were retired), snapshot versions; five statements in all."""
    now = now or timezone.now()
    t = _tables()
    params: dict[str, Any] = {
        "now": now,
        "silent_before": silent_before(now),
        "active": ContractStatus.ACTIVE,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {t["sil"]} (deployment_id, last_checkin_at, last_version, last_device_count, detected_at)
            SELECT d.id, d.last_checkin_at, d.platform_version, d.last_device_count, %(now)s
            FROM {t["dep"]} d
            JOIN {t["con"]} c ON c.id = d.contract_id
            JOIN {t["edi"]} e ON e.id = c.edition_id
            WHERE d.deactivated_at IS NULL AND NOT d.offline
              AND d.last_checkin_at < %(silent_before)s
              AND e.is_commercial AND c.status = %(active)s
              AND NOT EXISTS (SELECT 1 FROM {t["sil"]} s WHERE s.deployment_id = d.id AND s.ended_at IS NULL)
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - table names from _meta, values bound
            params,
        )
        opened = cursor.rowcount
        cursor.execute(
            f"""
            UPDATE {t["sil"]} s SET ended_at = COALESCE(
                CASE WHEN d.last_checkin_at > s.last_checkin_at THEN d.last_checkin_at END, %(now)s)
            FROM {t["dep"]} d
            WHERE s.deployment_id = d.id AND s.ended_at IS NULL
              AND (d.last_checkin_at > s.last_checkin_at OR d.deactivated_at IS NOT NULL)
            """,  # noqa: S608
            params,
        )
        ended = cursor.rowcount
        snapshot_rows = _snapshot_versions(cursor, t, timezone.localdate(now))
    if opened or ended:
        enqueue_on_commit("support.tasks.fleet_alerts_process")
    return ScanResult(opened=opened, ended=ended, snapshot_rows=snapshot_rows)


def _snapshot_versions(cursor: Any, t: dict[str, str], day: dt.date) -> int:
    cursor.execute(f"DELETE FROM {t['snap']} WHERE day = %s", [day])  # noqa: S608
    cursor.execute(
        f"""
        INSERT INTO {t["snap"]} (day, version, edition_code, deployments, devices)
        SELECT %s, d.platform_version, e.code, count(*), COALESCE(sum(d.last_device_count), 0)
        FROM {t["dep"]} d
        JOIN {t["con"]} c ON c.id = d.contract_id
        JOIN {t["edi"]} e ON e.id = c.edition_id
        WHERE d.deactivated_at IS NULL
        GROUP BY d.platform_version, e.code
        """,  # noqa: S608
        [day],
    )
    return int(cursor.rowcount)
