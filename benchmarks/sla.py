"""SLA clock benchmark: due-time computations per second (pure) and the every-minute breach check over
100,000 open tickets on PostgreSQL (its own database, created and bulk-filled here).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sla .venv/bin/python benchmarks/sla.py

Targets: >= 10,000 due-time computations/s; the breach-check job over 100,000 open tickets < 20 s.
Options: --tickets N (default 100000), --skip-db (pure part only), --keep (do not drop the data).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._database import ensure_database  # noqa: E402

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_sla")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def bench_pure(seconds: float = 3.0) -> None:
    import json
    from datetime import date

    from support import sla

    days = json.loads((ROOT / "support/data/calendar-cn-2026.json").read_text(encoding="utf-8"))["days"]
    china = sla.BusinessCalendar.weekdays(
        "Asia/Shanghai",
        [("09:00", "18:00")],
        holidays=frozenset(date.fromisoformat(d["date"]) for d in days if d["kind"] == "holiday"),
        workdays=frozenset(date.fromisoformat(d["date"]) for d in days if d["kind"] == "workday"),
    )
    always = sla.BusinessCalendar("Asia/Shanghai", is_24x7=True)
    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [
        base + timedelta(seconds=rng.randrange(365 * 86400), microseconds=rng.randrange(10**6))
        for _ in range(20000)
    ]
    targets = [h * 3600 for h in (0.5, 1, 2, 4, 8, 9, 18, 45, 90)]
    for name, cal in (("5x8 China 2026", china), ("7x24", always)):
        count, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            for start in starts[:2000]:
                sla.add_business(cal, start, rng.choice(targets))
            count += 2000
        rate = count / (time.perf_counter() - began)
        print(f"add_business ({name}): {rate:,.0f} due-time computations/s")
    # a whole ticket: three metrics rebuilt from a small event log (what a recompute does per ticket)
    events = []
    count, began = 0, time.perf_counter()
    targets_p2 = sla.Targets(first_response=4 * 3600, next_response=8 * 3600, resolution=45 * 3600)
    while time.perf_counter() - began < seconds:
        for start in starts[:1000]:
            events = [
                sla.Event(start, sla.EventKind.CREATED),
                sla.Event(start + timedelta(hours=1), sla.EventKind.AGENT_REPLY),
                sla.Event(start + timedelta(hours=2), sla.EventKind.STATUS, "pending_customer"),
                sla.Event(start + timedelta(hours=30), sla.EventKind.CUSTOMER_MESSAGE),
                sla.Event(start + timedelta(hours=30), sla.EventKind.STATUS, "open"),
            ]
            sla.evaluate(china, targets_p2, events, start + timedelta(hours=31))
        count += 1000
    print(
        f"evaluate (3 metrics from a 5-event log, 5x8 China): {count / (time.perf_counter() - began):,.0f} tickets/s"
    )


def bench_job(n: int, keep: bool) -> None:
    ensure_database(os.environ["DATABASE_URL"], require_postgres=True)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    import support.tasks
    from contracts.models import Contract
    from customers.models import Organization
    from editions.models import Edition
    from support.models import SlaNotification, SlaPolicy, SlaState, Ticket, TicketEvent
    from support.services import sla_check_due, tickets_sla_recompute

    enqueued: list[int] = []
    support.tasks.sla_notifications_send.delay = lambda ids: enqueued.extend(ids)  # e-mails run on workers

    SlaNotification.objects.filter(ticket__number__startswith="BENCH-").delete()
    TicketEvent.objects.filter(ticket__number__startswith="BENCH-").delete()
    Ticket.objects.filter(number__startswith="BENCH-").delete()
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"email": "bench@example.com"}
    )
    enterprise = Edition.objects.get(code="enterprise")
    policy = SlaPolicy.objects.get(edition=enterprise)
    orgs = [
        Organization.objects.get_or_create(name=f"Bench org {i}", defaults={"industry": "other"})[0]
        for i in range(50)
    ]
    today = datetime.now(UTC).date()
    contracts = [
        Contract.objects.get_or_create(
            number=f"BENCH-CT-{i}",
            defaults={
                "organization": org,
                "edition": enterprise,
                "status": "active",
                "start_date": today - timedelta(days=30),
                "end_date": today + timedelta(days=335),
            },
        )[0]
        for i, org in enumerate(orgs)
    ]
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(1)
    began = time.perf_counter()
    batch = []
    for i in range(n):
        created = now - timedelta(minutes=rng.randrange(1, 600))
        due = now + timedelta(minutes=rng.randrange(2, 6000))
        if i % 100 == 0:  # 1 %: past the warning or the deadline this minute
            due = now - timedelta(minutes=1) if i % 200 == 0 else now + timedelta(minutes=3)
        warn = due - timedelta(minutes=6)
        contract = contracts[i % len(contracts)]
        batch.append(
            Ticket(
                number=f"BENCH-{i:07d}",
                organization_id=contract.organization_id,
                contract=contract,
                requester=user,
                subject="benchmark",
                priority="P1",
                status="open",
                sla_policy=policy,
                created_at=created,
                first_response_state=SlaState.RUNNING,
                first_response_due_at=due,
                first_response_warn_at=warn,
                resolution_state=SlaState.RUNNING,
                resolution_due_at=due + timedelta(hours=4),
                resolution_warn_at=due + timedelta(hours=3),
                sla_due_at=due,
                sla_check_at=min(warn, due),
            )
        )
        if len(batch) == 5000:
            Ticket.objects.bulk_create(batch)
            batch = []
    if batch:
        Ticket.objects.bulk_create(batch)
    ids = list(Ticket.objects.filter(number__startswith="BENCH-").values_list("pk", flat=True))
    TicketEvent.objects.bulk_create(
        [TicketEvent(ticket_id=pk, kind="created", at=now - timedelta(minutes=30)) for pk in ids],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE support_ticket")
    print(f"bulk-created {n:,} open tickets in {time.perf_counter() - began:.1f} s")

    def run(label: str) -> None:
        enqueued.clear()
        began = time.perf_counter()
        stats = sla_check_due(now=now)
        took = time.perf_counter() - began
        print(
            f"{label}: {took:.2f} s for {stats['tickets']:,} due tickets "
            f"({stats['warnings']:,} warnings, {stats['breaches']:,} breaches; {len(enqueued):,} e-mails queued)"
        )

    run("breach check, steady state (1 % due)")
    run("breach check, run again (nothing new)")
    Ticket.objects.filter(number__startswith="BENCH-").update(
        first_response_state=SlaState.RUNNING,
        first_response_due_at=now - timedelta(minutes=2),
        first_response_warn_at=now - timedelta(minutes=8),
        sla_check_at=now - timedelta(minutes=8),
    )
    SlaNotification.objects.filter(ticket__number__startswith="BENCH-").delete()
    run(f"breach check, worst case (all {n:,} tickets breach at once)")
    sample = ids[:5000]
    began = time.perf_counter()
    tickets_sla_recompute(ticket_ids=sample, now=now)
    took = time.perf_counter() - began
    print(f"recompute from the event log (calendar/policy change): {len(sample) / took:,.0f} tickets/s")
    if not keep:
        SlaNotification.objects.filter(ticket__number__startswith="BENCH-").delete()
        TicketEvent.objects.filter(ticket__number__startswith="BENCH-").delete()
        Ticket.objects.filter(number__startswith="BENCH-").delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    bench_pure()
    if not args.skip_db:
        bench_job(args.tickets, args.keep)


if __name__ == "__main__":
    main()
