"""Query count and render time of the sales changelists with 1,000 organizations.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_admin .venv/bin/python benchmarks/admin_changelists.py

Creates (or reuses) its own database, seeds 1,000 organizations with a contract each, and prints the
number of queries and the median time of each changelist page (100 rows a page) over 10 requests.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._database import ensure_database

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_admin")
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")


def main(organizations: int = 1000) -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from contracts.models import Contract
    from customers.models import Organization, Partner
    from editions.models import Edition

    User = get_user_model()
    boss, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    have = Organization.objects.filter(name__startswith="Bench Org ").count()
    if have < organizations:
        owners = [
            User.objects.get_or_create(username=f"bench-owner-{i}", defaults={"is_staff": True})[0]
            for i in range(5)
        ]
        partner, _ = Partner.objects.get_or_create(name="Bench Partner", defaults={"kind": "oem"})
        editions = list(Edition.objects.filter(is_commercial=True))
        orgs = Organization.objects.bulk_create(
            Organization(
                name=f"Bench Org {i:05d}",
                industry="manufacturing",
                country="CN",
                account_owner=owners[i % 5],
                partner=partner if i % 3 == 0 else None,
            )
            for i in range(have, organizations)
        )
        today = timezone.localdate()
        Contract.objects.bulk_create(
            Contract(
                number=f"CT-BENCH-{o.pk:06d}",
                organization=o,
                edition=editions[o.pk % len(editions)],
                status="active",
                start_date=today - timedelta(days=o.pk % 300),
                end_date=today - timedelta(days=o.pk % 300) + timedelta(days=365),
                price=Decimal("30000.00"),
                partner=o.partner,
            )
            for o in orgs
        )
    client = Client()
    client.force_login(boss)
    print(f"organizations: {Organization.objects.count()}, contracts: {Contract.objects.count()}", flush=True)
    for label, url in (
        ("organization changelist", "/admin/customers/organization/"),
        ("contract changelist", "/admin/contracts/contract/"),
        ("contract changelist, expiring in 90 days", "/admin/contracts/contract/?ends_within=90"),
    ):
        client.get(url)  # warm caches and the session row
        reset_queries()  # the DEBUG query log is a bounded deque; start it empty
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, response.status_code
        timings = []
        for _ in range(10):
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"{label:42s} queries: {len(ctx.captured_queries):3d}   median: {statistics.median(timings):6.1f} ms"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
