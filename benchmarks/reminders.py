"""Benchmark: one daily contract lifecycle run (expiry, licenses, auto-renew, reminder claims and sends)
over a large contract table, at two sizes, to show its query count does not grow with the number of
contracts (only with the work due that day, which is kept the same at both sizes).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_reminders .venv/bin/python benchmarks/reminders.py

Creates (or reuses) its own PostgreSQL database, migrates it, and rebuilds the contract tables for
each size. Mail goes to Django's in-memory backend and Celery runs eagerly, so the sends are timed
and counted too. Target: one run under 20 s at 100,000 contracts.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
DUE_PER_MILESTONE = int(os.environ.get("BENCH_DUE_PER_MILESTONE", "100"))
ORGANIZATIONS = 2000
# Every n-th organization has nobody in the portal (bought through procurement): its reminders go to its
# billing email and contacts (contracts.reminders.fallback_recipients).
WITHOUT_PORTAL_EVERY = int(os.environ.get("BENCH_WITHOUT_PORTAL_EVERY", "4"))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_reminders")
os.environ.setdefault("DEBUG", "1")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._database import ensure_database  # noqa: E402

ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from contracts import lifecycle, reminders  # noqa: E402
from contracts.models import Contract, ContractReminder, ContractStatus, milestone_for_days  # noqa: E402
from customers.models import Contact, Membership, Organization, Role  # noqa: E402
from editions.models import Edition  # noqa: E402
from portal.celery import app  # noqa: E402

settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
app.conf.task_always_eager = True


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.count += 1
        return execute(sql, params, many, context)


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE contracts_contractreminder, contracts_contract_modules, contracts_contract, "
            "portal_auditevent RESTART IDENTITY CASCADE"
        )


@transaction.atomic
def customers() -> list[int]:
    """2,000 organizations with an account owner; each has an owner, a billing and a technical member,
    except every WITHOUT_PORTAL_EVERY-th, which has only a billing email and a contact."""
    bench = Organization.objects.filter(name__startswith="Bench ")
    portal_less = len(range(0, ORGANIZATIONS, WITHOUT_PORTAL_EVERY))
    if (
        Membership.objects.filter(organization__in=bench).count() == (ORGANIZATIONS - portal_less) * 3
        and Contact.objects.filter(organization__in=bench).count() == portal_less
    ):
        return list(bench.values_list("pk", flat=True))
    Contact.objects.filter(organization__in=bench).delete()
    user_model = get_user_model()
    Membership.objects.filter(organization__in=bench).delete()
    bench.delete()
    user_model.objects.filter(username__startswith="bench-").delete()
    sales = user_model.objects.create(username="bench-sales", email="sales@vendor.example", is_staff=True)
    organizations = Organization.objects.bulk_create(
        [
            Organization(
                name=f"Bench {i:05d} Co., Ltd.", industry="manufacturing", country="CN", account_owner=sales
            )
            for i in range(ORGANIZATIONS)
        ]
    )
    portal_less_orgs = organizations[::WITHOUT_PORTAL_EVERY]
    with_portal = [o for o in organizations if o not in portal_less_orgs]
    for o in portal_less_orgs:
        o.billing_email = f"ap@bench{o.pk}.example"
    Organization.objects.bulk_update(portal_less_orgs, ["billing_email"])
    Contact.objects.bulk_create(
        [
            Contact(organization=o, name="Procurement", email=f"buyer@bench{o.pk}.example")
            for o in portal_less_orgs
        ]
    )
    roles = (Role.OWNER, Role.BILLING, Role.TECHNICAL)
    users = user_model.objects.bulk_create(
        [
            user_model(username=f"bench-{o.pk}-{role}", email=f"{role}@bench{o.pk}.example")
            for o in with_portal
            for role in roles
        ]
    )
    by_name = {u.username: u for u in users}
    Membership.objects.bulk_create(
        [
            Membership(organization=o, user=by_name[f"bench-{o.pk}-{role}"], role=role)
            for o in with_portal
            for role in roles
        ]
    )
    return [o.pk for o in organizations]


def build(total: int, organization_ids: list[int], today: dt.date) -> dict[str, int]:
    """`total` contracts: a fixed set due today (reminders at each milestone, a few ending, a few whose
    grace ends), the rest background that is not due (running, long expired, drafts, cancelled) with
    the reminder history such contracts have."""
    rng = random.Random(total)
    edition = Edition.objects.get(code="enterprise")
    rows: list[Contract] = []
    grace = settings.LICENSE_GRACE_DAYS
    skip = set()
    for window in reminders.milestone_windows(today):
        skip.update(range((window.end_from - today).days, (window.end_to - today).days + 1))
    skip.update(range(0, settings.CONTRACT_AUTO_RENEW_DAYS + 1))

    def contract(number: str, end: dt.date, status: str, **extra: object) -> Contract:
        return Contract(
            number=number,
            organization_id=rng.choice(organization_ids),
            edition=edition,
            status=status,
            start_date=end - dt.timedelta(days=364),
            end_date=end,
            price=Decimal("150000.00"),
            **extra,
        )

    n = 0
    for days in reminders.reminder_days():
        for _ in range(DUE_PER_MILESTONE):
            rows.append(contract(f"B-{n:07d}", today + dt.timedelta(days=days), ContractStatus.ACTIVE))
            n += 1
    for _ in range(20):  # ended yesterday
        rows.append(contract(f"B-{n:07d}", today - dt.timedelta(days=1), ContractStatus.ACTIVE))
        n += 1
    for _ in range(20):  # grace ends today
        rows.append(contract(f"B-{n:07d}", today - dt.timedelta(days=grace + 1), ContractStatus.EXPIRED))
        n += 1
    due = n
    history: list[tuple[int, str]] = []
    while n < total:
        kind = rng.random()
        if kind < 0.6:
            days = rng.randint(1, 700)
            while days in skip:
                days = rng.randint(1, 700)
            rows.append(
                contract(
                    f"B-{n:07d}",
                    today + dt.timedelta(days=days),
                    ContractStatus.ACTIVE,
                    auto_renew=rng.random() < 0.2,
                )
            )
            history.extend((n, milestone_for_days(d)) for d in reminders.reminder_days() if d > days)
        elif kind < 0.9:
            days = rng.randint(grace + 30, 1000)
            rows.append(contract(f"B-{n:07d}", today - dt.timedelta(days=days), ContractStatus.EXPIRED))
            history.extend((n, milestone_for_days(d)) for d in reminders.reminder_days())
            history.append((n, "grace_end"))
        elif kind < 0.95:
            rows.append(
                contract(f"B-{n:07d}", today + dt.timedelta(days=rng.randint(400, 800)), ContractStatus.DRAFT)
            )
        else:
            rows.append(
                contract(
                    f"B-{n:07d}",
                    today + dt.timedelta(days=rng.randint(100, 700)),
                    ContractStatus.CANCELLED,
                    cancelled_at=timezone.now() - dt.timedelta(days=rng.randint(30, 300)),
                )
            )
        n += 1
    created = Contract.objects.bulk_create(rows, batch_size=5000)
    ContractReminder.objects.bulk_create(
        [
            ContractReminder(
                contract_id=created[index].pk,
                milestone=milestone,
                due_on=today - dt.timedelta(days=30),
                state="sent",
            )
            for index, milestone in history
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contracts_contract")
        cursor.execute("ANALYZE contracts_contractreminder")
    return {"contracts": total, "due": due, "history": len(history)}


def measure(label: str) -> tuple[float, int, lifecycle.LifecycleReport, int]:
    counter = QueryCounter()
    mail.outbox = []
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        report = lifecycle.lifecycle_run()
    elapsed = time.perf_counter() - started
    global FALLBACK_MAILS
    FALLBACK_MAILS = sum(1 for m in mail.outbox if any(t.startswith("ap@") for t in m.to))
    return elapsed, counter.count, report, len(mail.outbox)


FALLBACK_MAILS = 0


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    organization_ids = customers()
    today = timezone.localdate()
    print(
        f"database {settings.DATABASES['default']['NAME']}, today {today}, batch {settings.CONTRACT_LIFECYCLE_BATCH_SIZE}"
    )
    print(
        f"{'contracts':>10} {'due':>5} {'history':>8} | {'run s':>7} {'queries':>7} {'mails':>5} {'expired':>7} "
        f"{'lic':>4} {'fail':>4} {'billing@':>8} {'unreached':>9} | {'rerun s':>7} {'queries':>7}"
    )
    for total in SIZES:
        reset()
        built = build(total, organization_ids, today)
        elapsed, queries, report, mails = measure("run")
        fallback = FALLBACK_MAILS
        unreached = ContractReminder.objects.filter(reached_customer=False).count()
        again, again_queries, _report, again_mails = measure("rerun")
        assert again_mails == 0, "a second run must not mail again"
        print(
            f"{built['contracts']:>10} {built['due']:>5} {built['history']:>8} | {elapsed:>7.2f} {queries:>7} "
            f"{mails:>5} {report.expired:>7} {report.licenses_changed:>4} {report.failures:>4} "
            f"{fallback:>8} {unreached:>9} | "
            f"{again:>7.2f} {again_queries:>7}"
        )


if __name__ == "__main__":
    main()
