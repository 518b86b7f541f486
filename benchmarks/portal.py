"""Query count and render time of the customer portal's main pages for a large customer.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_portal .venv/bin/python benchmarks/portal.py

Creates (or reuses) its own database and migrates it, seeds one enterprise organization with 1,000
deployments, 100,000 check-ins (usage reports, spread over 90 days), 40 issued invoices and a few
members (bulk_create where the data is plain rows), then requests each page 20 times with Django's
test Client as the organization's owner and prints the number of queries and the median time.
Targets: at most 15 queries and 100 ms per page.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._database import ensure_database

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_portal")
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

DEPLOYMENTS = 1_000
CHECKINS = 100_000
INVOICES = 40
RUNS = 20
MAX_QUERIES = 15
MAX_MS = 100.0


def seed():
    import datetime as dt
    import random
    from decimal import Decimal

    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from billing.services.invoices import LineSpec, invoice_create, invoice_issue
    from contracts.models import Contract, ContractStatus
    from customers.models import Membership, Organization, Role
    from editions.models import Edition
    from licenses.models import Deployment, License, LicenseReason, UsageReport
    from licenses.services import activation_code_create, signing_key_for_issuing

    User = get_user_model()
    organization = Organization.objects.filter(name="Bench Portal Customer").first()
    if (
        organization is not None
        and UsageReport.objects.filter(deployment__organization=organization).count() >= CHECKINS
    ):
        contract = Contract.objects.get(organization=organization)
        return User.objects.get(username="bench-portal-owner"), contract

    organization = Organization.objects.create(
        name="Bench Portal Customer", industry="manufacturing", country="CN"
    )
    today = timezone.localdate()
    contract = Contract.objects.create(
        number=f"CT-BENCH-P{organization.pk:05d}",
        organization=organization,
        edition=Edition.objects.get(code="enterprise"),
        status=ContractStatus.ACTIVE,
        start_date=today - dt.timedelta(days=300),
        end_date=today + dt.timedelta(days=65),
        device_limit=200_000,
        price=Decimal("150000.00"),
        activated_at=timezone.now(),
    )
    owner, _created = User.objects.get_or_create(
        username="bench-portal-owner", defaults={"email": "owner@bench-portal.example"}
    )
    Membership.objects.get_or_create(organization=organization, user=owner, defaults={"role": Role.OWNER})
    if not Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(owner, generate_totp_secret())  # owners of enterprise contracts must use 2FA
    for i in range(9):
        user, _created = User.objects.get_or_create(
            username=f"bench-portal-member-{i}", defaults={"email": f"member{i}@bench-portal.example"}
        )
        Membership.objects.get_or_create(
            organization=organization,
            user=user,
            defaults={"role": [Role.ADMIN, Role.BILLING, Role.TECHNICAL][i % 3]},
        )
    for _i in range(3):
        activation_code_create(actor=None, contract=contract, max_deployments=400)

    now = timezone.now()
    rng = random.Random(7)
    deployments = Deployment.objects.bulk_create(
        Deployment(
            organization=organization,
            contract=contract,
            machine_id=f"bench-machine-{i:05d}",
            hostname=f"plant-{i:04d}",
            platform_version="3.2.0",
            last_checkin_at=now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 5)),
            last_device_count=rng.randint(10, 150),
            created_at=now - dt.timedelta(days=120),
        )
        for i in range(DEPLOYMENTS)
    )
    key = signing_key_for_issuing("RS256")
    issued = now - dt.timedelta(days=2)
    licenses = License.objects.bulk_create(
        License(
            deployment=d,
            contract=contract,
            signing_key=key,
            token="bench",
            edition_code="enterprise",
            features=["core"],
            device_limit=200_000,
            entitlement_end=contract.end_date,
            grace_days=14,
            issued_at=issued,
            expires_at=issued + dt.timedelta(days=30),
            renew_after=issued + dt.timedelta(days=7),
            reason=LicenseReason.ACTIVATION,
        )
        for d in deployments
    )
    per_deployment = CHECKINS // DEPLOYMENTS
    batch = []
    for deployment, license in zip(deployments, licenses, strict=True):
        base = rng.randint(20, 120)
        for n in range(per_deployment):
            batch.append(
                UsageReport(
                    deployment=deployment,
                    contract=contract,
                    license=license,
                    reported_at=now - dt.timedelta(hours=n * 21.6),  # ~90 days
                    device_count=base + rng.randint(-5, 5),
                    platform_version="3.2.0",
                    status="valid",
                )
            )
        if len(batch) >= 20_000:
            UsageReport.objects.bulk_create(batch)
            batch = []
    UsageReport.objects.bulk_create(batch)

    for i in range(INVOICES):
        invoice = invoice_create(
            actor=None,
            organization=organization,
            currency="CNY" if i % 4 else "USD",
            contract=contract,
            lines=[
                LineSpec(
                    description=f"Usage {i}",
                    quantity=Decimal("1"),
                    unit_price=Decimal("1000.00") + i,
                    tax_rate=Decimal("0.06"),
                )
            ],
        )
        invoice_issue(actor=None, invoice=invoice)
    return owner, contract


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
    owner, contract = seed()
    print(f"seed ready in {time.perf_counter() - started:.1f} s")

    from licenses.models import Deployment, UsageReport

    deployment = Deployment.objects.filter(contract=contract).order_by("pk").first()
    print(
        f"organization: {Deployment.objects.filter(contract=contract).count():,} deployments, "
        f"{UsageReport.objects.filter(contract=contract).count():,} check-ins; "
        f"deployment #{deployment.pk}: {UsageReport.objects.filter(deployment=deployment).count()} check-ins"
    )

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(owner)
    pages = [
        ("dashboard", "/"),
        ("contracts", "/contracts/"),
        ("contract detail", f"/contracts/{contract.number}/"),
        ("deployments", "/deployments/"),
        ("deployments p.40", "/deployments/?page=40"),
        ("deployments not seen 3 days", "/deployments/?status=stale"),
        ("deployment detail", f"/deployments/{deployment.pk}/"),
        ("register deployment", "/deployments/register/"),
        ("offline activation", "/deployments/offline/"),
        ("invoices", "/invoices/"),
        ("organization", "/organization/"),
    ]
    print(f"{'page':<30}{'queries':>8}{'median ms':>11}{'p90 ms':>9}  ok")
    failures = 0
    for label, url in pages:
        response = client.get(url)  # warm up (templates, caches)
        assert response.status_code == 200, (url, response.status_code)
        reset_queries()  # the DEBUG query log is a bounded deque; start it empty
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        timings = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(timings)
        p90 = sorted(timings)[int(RUNS * 0.9) - 1]
        ok = len(ctx.captured_queries) <= MAX_QUERIES and median <= MAX_MS
        failures += not ok
        print(f"{label:<30}{len(ctx.captured_queries):>8}{median:>11.1f}{p90:>9.1f}  {'yes' if ok else 'NO'}")
    print(f"targets: <= {MAX_QUERIES} queries, <= {MAX_MS:.0f} ms median ({RUNS} runs each)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
