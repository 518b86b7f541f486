"""Query count and render time of the partner area's pages for a large partner.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_partner .venv/bin/python benchmarks/partner_area.py

Creates (or reuses) its own database and migrates it, seeds one OEM partner with 300 end customers
(one active contract each, 5 deployments per contract: 1,500) and 300 deal registrations, then
requests each page 20 times with Django's test Client as the partner's administrator and prints the
number of queries and the median time. Targets: at most 15 queries and 150 ms per page, the query
count independent of the book's size.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._database import ensure_database

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_partner")
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

CUSTOMERS = 300
DEPLOYMENTS_PER_CONTRACT = 5
DEALS = 300
RUNS = 20
MAX_QUERIES = 15
MAX_MS = 150.0


def seed() -> object:
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from contracts.models import Contract, ContractStatus
    from customers.models import DealRegistration, Organization, Partner, PartnerMembership, PartnerRole
    from editions.models import Edition
    from licenses.models import Deployment

    User = get_user_model()
    partner, _created = Partner.objects.get_or_create(name="Bench OEM Partner", defaults={"kind": "oem"})
    admin, _created = User.objects.get_or_create(
        username="bench-partner-admin", defaults={"email": "admin@bench-partner.example"}
    )
    PartnerMembership.objects.get_or_create(partner=partner, user=admin, defaults={"role": PartnerRole.ADMIN})
    if Organization.objects.filter(partner=partner).count() >= CUSTOMERS:
        return admin
    today = timezone.localdate()
    enterprise = Edition.objects.get(code="enterprise")
    organizations = Organization.objects.bulk_create(
        Organization(name=f"Bench End Customer {i:04d}", industry="retail", country="CN", partner=partner)
        for i in range(CUSTOMERS)
    )
    contracts = Contract.objects.bulk_create(
        Contract(
            number=f"CT-BENCH-PA{i:05d}",
            organization=organization,
            edition=enterprise,
            partner=partner,
            status=ContractStatus.ACTIVE,
            start_date=today - dt.timedelta(days=300),
            end_date=today + dt.timedelta(days=i % 400),
            price=Decimal("90000.00"),
            activated_at=timezone.now(),
        )
        for i, organization in enumerate(organizations)
    )
    Deployment.objects.bulk_create(
        Deployment(
            organization=contract.organization,
            contract=contract,
            machine_id=f"bench-partner-{contract.pk}-{n}",
            hostname=f"site-{n}",
        )
        for contract in contracts
        for n in range(DEPLOYMENTS_PER_CONTRACT)
    )
    DealRegistration.objects.bulk_create(
        DealRegistration(
            partner=partner,
            registered_by=admin,
            company_name=f"Bench Prospect {i:04d}",
            industry="logistics",
            contact_email=f"buyer{i}@prospect.example",
            edition=enterprise,
            expected_value=Decimal("50000.00"),
            expected_close_date=today + dt.timedelta(days=30),
        )
        for i in range(DEALS)
    )
    return admin


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    admin = seed()
    print(f"seed ready in {time.perf_counter() - started:.1f} s")
    from customers.models import Organization

    customer = Organization.objects.filter(partner__memberships__user=admin).order_by("pk").first()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(admin)
    pages = [
        ("overview", "/partner/"),
        ("customers (book)", "/partner/customers/"),
        ("customer detail", f"/partner/customers/{customer.pk}/"),
        ("deal registrations", "/partner/deals/"),
        ("commissions", "/partner/commissions/"),
        ("API: book", "/api/v1/partner/customers"),
        ("API: deals", "/api/v1/partner/deals"),
    ]
    failed = False
    print(f"{'page':<22} {'queries':>7} {'median ms':>10}")
    for name, url in pages:
        client.get(url)  # warm caches
        reset_queries()  # the DEBUG query log is a bounded deque; start it empty
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        queries = len(ctx.captured_queries)
        flag = "" if queries <= MAX_QUERIES and median <= MAX_MS else "  <-- over target"
        failed = failed or bool(flag)
        print(f"{name:<22} {queries:>7} {median:>10.1f}{flag}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
