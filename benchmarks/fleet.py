"""Fleet insights over 100,000 deployments (issue 18): the health scan and the fleet versions query.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fleet .venv/bin/python benchmarks/fleet.py [deployments]

Creates (or reuses) its own database, seeds 1,000 organizations with one contract each and N
deployments (default 100,000; bulk_create) with mixed versions, device counts and last check-ins (about
5 % silent, some late, some never), then prints the time and query count of:
- the health scan on its first run (opens an episode per silent deployment), a steady-state run, and a
  run after 1,000 silent deployments came back (ends their episodes);
- the fleet versions query (licenses.insights.fleet_versions, what GET /api/v1/fleet/versions serves).
The per-episode alerts run in support's task, outside the scan; the benchmark records that the scan
enqueued it instead of running it.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._database import ensure_database

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_fleet")
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"

ORGANIZATIONS = 1000
VERSIONS = ["3.2.0", "3.1.2", "3.1.0", "3.0.4", "2.8.4", "2.8.0", ""]


def main(deployments: int = 100_000) -> None:
    ensure_database(os.environ["DATABASE_URL"], require_postgres=True)
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from contracts.models import Contract
    from customers.models import Organization
    from editions.models import Edition
    from licenses import insights
    from licenses.models import Deployment, SilenceEpisode
    from licenses.services import fleet

    enqueued: list[str] = []
    fleet.enqueue_on_commit = lambda name, *args: enqueued.append(name)  # the alerts task: not run here

    rng = random.Random(18)
    now = timezone.now()
    today = timezone.localdate()
    if Organization.objects.filter(name__startswith="Fleet Bench ").count() < ORGANIZATIONS:
        editions = list(Edition.objects.filter(is_commercial=True))
        orgs = Organization.objects.bulk_create(
            Organization(name=f"Fleet Bench {i:05d}", industry="manufacturing", country="CN")
            for i in range(ORGANIZATIONS)
        )
        Contract.objects.bulk_create(
            Contract(
                number=f"CT-FLEET-{o.pk:06d}",
                organization=o,
                edition=editions[o.pk % len(editions)],
                status="active",
                start_date=today - timedelta(days=100),
                end_date=today + timedelta(days=265),
                price=Decimal("30000.00"),
            )
            for o in orgs
        )
    contracts = list(
        Contract.objects.filter(number__startswith="CT-FLEET-").values_list("pk", "organization_id")
    )
    have = Deployment.objects.filter(machine_id__startswith="fleet-bench-").count()
    if have < deployments:
        t0 = time.perf_counter()
        batch = []
        for i in range(have, deployments):
            contract_id, organization_id = contracts[i % len(contracts)]
            roll = rng.random()
            if roll < 0.05:
                last = now - timedelta(days=rng.uniform(3.1, 40))  # silent
            elif roll < 0.08:
                last = now - timedelta(hours=rng.uniform(31, 70))  # late
            elif roll < 0.09:
                last = None  # registered, never checked in
            else:
                last = now - timedelta(hours=rng.uniform(0, 24))
            batch.append(
                Deployment(
                    organization_id=organization_id,
                    contract_id=contract_id,
                    machine_id=f"fleet-bench-{i}",
                    platform_version=rng.choice(VERSIONS),
                    last_checkin_at=last,
                    last_device_count=rng.randint(0, 3000),
                    offline=rng.random() < 0.02,
                )
            )
            if len(batch) == 10_000:
                Deployment.objects.bulk_create(batch)
                batch = []
        Deployment.objects.bulk_create(batch)
        print(f"seeded {deployments - have} deployments in {time.perf_counter() - t0:.1f} s", flush=True)
    SilenceEpisode.objects.filter(deployment__machine_id__startswith="fleet-bench-").delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    total = Deployment.objects.count()
    print(f"deployments: {total}, contracts: {Contract.objects.count()}", flush=True)

    def measure(label: str, run, repeat: int = 1) -> object:
        reset_queries()
        timings, result, queries = [], None, 0
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                result = run()
                timings.append(time.perf_counter() - t0)
            queries = len(ctx.captured_queries)
        print(f"{label:58s} {statistics.median(timings) * 1000:8.1f} ms   queries: {queries}   -> {result}")
        return result

    measure("health scan, first run (opens the silences)", fleet.fleet_health_scan)
    measure("health scan, steady state (median of 5)", fleet.fleet_health_scan, repeat=5)
    back = list(
        SilenceEpisode.objects.filter(ended_at__isnull=True).values_list("deployment_id", flat=True)[:1000]
    )
    Deployment.objects.filter(pk__in=back).update(last_checkin_at=timezone.now())
    measure("health scan, 1,000 silent deployments came back", fleet.fleet_health_scan)
    print(f"alert task enqueued by the scans: {len(enqueued)} times ({set(enqueued)})")
    measure("fleet versions query (median of 5)", lambda: len(insights.fleet_versions()), repeat=5)
    measure(
        "fleet versions, one edition (median of 5)",
        lambda: len(insights.fleet_versions(edition="enterprise")),
        repeat=5,
    )
    measure("fleet health counts (admin page, median of 5)", insights.fleet_health_counts, repeat=5)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
