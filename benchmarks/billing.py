"""Billing timings on PostgreSQL: PDF rendering, CSV export of 100,000 invoices, SaaS monthly run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_billing .venv/bin/python benchmarks/billing.py

Creates (or reuses) its own database and empties the billing tables first. Steps:
  1. SaaS monthly run for 10,000 contracts (peak device counts come from a stand-in for the licenses
     seam, as in the unit tests), then the same run again (it must bill nothing);
  2. PDF render time per invoice (median and worst of 30, after one warm-up render);
  3. 90,000 more issued invoices are bulk-inserted, then the CSV export of all 100,000 runs in a fresh
     child process that reports rows/s, peak RSS (VmHWM) and the Python heap peak (tracemalloc).
Add --xlsx to time the XLSX export of the same 100,000 invoices as well.
Targets: ≤ 0.5 s per PDF, CSV ≥ 5,000 rows/s under 300 MB, monthly run ≤ 60 s.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._database import ensure_database  # noqa: E402

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_billing")
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")

CONTRACTS = 10_000
INVOICES = 100_000


def setup_django() -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.BILLING_SEND_ON_ISSUE = False  # emails are a separate worker's job, not part of the run


def reset_billing() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        tables = [t for t in connection.introspection.table_names(cursor) if t.startswith("billing_")]
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        cursor.execute("DELETE FROM portal_sequencecounter WHERE series IN ('INV', 'CN')")
        cursor.execute("DELETE FROM portal_auditevent WHERE action LIKE 'invoice.%%'")


def seed_contracts(count: int) -> list[int]:
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from contracts.models import Contract
    from customers.models import Organization
    from editions.models import Edition

    have = list(
        Contract.objects.filter(number__startswith="CT-BENCH-SAAS-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(have) >= count:
        return have[:count]
    saas = Edition.objects.get(code="saas")
    start = datetime.date(2026, 1, 1)
    for offset in range(len(have), count, 2000):
        size = min(2000, count - offset)
        orgs = Organization.objects.bulk_create(
            Organization(
                name=f"基准测试物联网科技有限公司 {i:05d}",
                industry="manufacturing",
                country="CN" if i % 5 else "SG",
                taxpayer_id=f"91310000BENCH{i:05d}",
                registered_address="上海市浦东新区世纪大道 1 号",
                bank_name="中国银行上海分行",
                bank_account=f"4500 0000 {i:05d}",
            )
            for i in range(offset, offset + size)
        )
        Contract.objects.bulk_create(
            Contract(
                number=f"CT-BENCH-SAAS-{i:06d}",
                organization=org,
                edition=saas,
                status="active",
                start_date=start,
                end_date=datetime.date(2026, 12, 31),
                price=Decimal("0"),
                currency="CNY",
                activated_at=timezone.now(),
            )
            for i, org in zip(range(offset, offset + size), orgs, strict=True)
        )
    return list(
        Contract.objects.filter(number__startswith="CT-BENCH-SAAS-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def bench_monthly_run(contract_ids: list[int]) -> dict:
    import datetime

    from billing import usage
    from billing.models import Invoice
    from billing.services import usage_invoice_run

    usage.peak_device_counts = lambda ids, start, end: {cid: 20 + cid % 480 for cid in ids}
    usage.stale_usage = lambda ids, start, end: {}
    today = datetime.date(2026, 2, 3)  # January is the closed month to bill
    started, cpu_started = time.perf_counter(), time.process_time()
    result = usage_invoice_run(actor=None, today=today, contract_ids=contract_ids)
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    started = time.perf_counter()
    again = usage_invoice_run(actor=None, today=today, contract_ids=contract_ids)
    second = time.perf_counter() - started
    return {
        "contracts": len(contract_ids),
        "invoices": len(result.invoices),
        "errors": len(result.errors),
        "seconds": first,
        "cpu": first_cpu,
        "rerun_invoices": len(again.invoices),
        "rerun_seconds": second,
        "issued_in_db": Invoice.objects.filter(status="issued").count(),
    }


def bench_pdf(samples: int = 30) -> dict:
    from decimal import Decimal

    from billing import services
    from billing.models import Invoice
    from billing.pdf import render_invoice_pdf
    from billing.services import LineSpec

    saas_invoice = Invoice.objects.filter(status="issued").select_related("organization").first()
    rich = services.invoice_issue(
        actor=None,
        invoice=services.invoice_create(
            actor=None,
            organization=saas_invoice.organization,
            currency="CNY",
            lines=[
                LineSpec(
                    "企业版年度订阅（2026-02-01 至 2027-01-31）",
                    Decimal("1"),
                    Decimal("150000"),
                    Decimal("0.13"),
                ),
                LineSpec("定制开发超出部分 12.5 小时", Decimal("12.5"), Decimal("1500"), Decimal("0.06")),
                LineSpec("高可用部署实施服务", Decimal("3"), Decimal("8000"), Decimal("0.06")),
                LineSpec(
                    "SaaS 用量 2026-01：峰值 480 台设备", Decimal("480"), Decimal("50"), Decimal("0.06")
                ),
                LineSpec("模块 高级分析和报表，2026-01", Decimal("1"), Decimal("2000"), Decimal("0.06")),
            ],
        ),
    )
    times = {}
    for label, invoice in (("saas", saas_invoice), ("five_lines", rich)):
        invoice = Invoice.objects.select_related("organization", "contract").get(pk=invoice.pk)
        started = time.perf_counter()
        render_invoice_pdf(invoice)
        cold = time.perf_counter() - started
        runs, cpu = [], []
        for _ in range(samples):
            started, cpu_started = time.perf_counter(), time.process_time()
            pdf = render_invoice_pdf(invoice)
            runs.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        times[label] = {
            "first": cold,
            "median": statistics.median(runs),
            "max": max(runs),
            "cpu": statistics.median(cpu),
            "bytes": len(pdf),
        }
    return times


def seed_invoices(total: int) -> int:
    import datetime
    import random
    from decimal import Decimal

    from billing.models import Invoice
    from billing.money import line_amounts
    from customers.models import Organization

    have = Invoice.objects.count()
    missing = total - have
    if missing <= 0:
        return have
    rng = random.Random(7)
    orgs = list(
        Organization.objects.filter(name__startswith="基准测试").values_list("pk", "name", "taxpayer_id")[
            :5000
        ]
    )
    for offset in range(0, missing, 5000):
        batch = []
        for n in range(offset, min(offset + 5000, missing)):
            org_id, name, taxpayer = orgs[n % len(orgs)]
            net, tax, gross = line_amounts(Decimal(rng.randint(1, 500)), Decimal("50"), Decimal("0.06"))
            usd = n % 7 == 0
            batch.append(
                Invoice(
                    kind="invoice",
                    status="issued",
                    payment_status="paid" if n % 3 == 0 else "unpaid",
                    series="INV",
                    fiscal_year=2025,
                    sequence=n + 1,
                    number=f"INV-2025-{n + 1:06d}",
                    organization_id=org_id,
                    currency="USD" if usd else "CNY",
                    rate_to_cny=Decimal("7.1") if usd else Decimal("1"),
                    issue_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=n % 365),
                    due_date=datetime.date(2025, 1, 31) + datetime.timedelta(days=n % 365),
                    net_total=net,
                    tax_total=tax,
                    gross_total=gross,
                    amount_paid=gross if n % 3 == 0 else Decimal("0"),
                    buyer={"name": name, "taxpayer_id": taxpayer},
                    payment_token=f"bench-{n}",
                )
            )
        Invoice.objects.bulk_create(batch)
    return Invoice.objects.count()


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM; ru_maxrss would include the parent's peak, since
    Linux carries it across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_export_csv() -> None:
    """Runs in a fresh process so that the peak memory is the export's own."""
    import tracemalloc

    setup_django()
    from billing.exports import csv_chunks
    from billing.selectors import export_queryset

    qs = export_queryset(filters={})
    rows, size = -1, 0
    started = time.perf_counter()
    for chunk in csv_chunks(qs):
        rows += chunk.count("\n")
        size += len(chunk.encode("utf-8"))
    seconds = time.perf_counter() - started
    rss_mb = peak_rss_mb()
    tracemalloc.start()
    for _chunk in csv_chunks(export_queryset(filters={})):
        pass
    _current, peak = tracemalloc.get_traced_memory()
    print(f"{rows} {seconds:.3f} {size} {rss_mb:.1f} {peak / 1024 / 1024:.1f}")


def child_export_xlsx() -> None:
    setup_django()
    import tempfile

    from billing.exports import write_xlsx
    from billing.selectors import export_queryset

    started = time.perf_counter()
    with tempfile.TemporaryFile() as fh:
        write_xlsx(export_queryset(filters={}), fh)
        size = fh.tell()
    print(f"{time.perf_counter() - started:.3f} {size} {peak_rss_mb():.1f}")


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"], require_postgres=True)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    reset_billing()
    ids = seed_contracts(CONTRACTS)

    run = bench_monthly_run(ids)
    print(
        f"SaaS monthly run: {run['contracts']:,} contracts → {run['invoices']:,} issued invoices in "
        f"{run['seconds']:.1f} s ({run['invoices'] / run['seconds']:,.0f}/s, CPU {run['cpu']:.1f} s), errors {run['errors']}; "
        f"second run {run['rerun_seconds']:.1f} s, {run['rerun_invoices']} new invoices   [target ≤ 60 s]"
    )

    pdf = bench_pdf()
    for label, t in pdf.items():
        print(
            f"PDF ({label}): first {t['first']:.3f} s, median {t['median']:.3f} s (CPU {t['cpu']:.3f} s), "
            f"worst {t['max']:.3f} s, "
            f"{t['bytes'] / 1024:.0f} KiB   [target ≤ 0.5 s]"
        )

    total = seed_invoices(INVOICES)
    output = subprocess.run(
        [sys.executable, __file__, "--child-export-csv"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    ).stdout.split()
    rows, seconds, size, rss, heap = (
        int(output[0]),
        float(output[1]),
        int(output[2]),
        float(output[3]),
        float(output[4]),
    )
    print(
        f"CSV export: {rows:,} of {total:,} invoices in {seconds:.1f} s = {rows / seconds:,.0f} rows/s, "
        f"{size / 1024 / 1024:.1f} MB of CSV; peak RSS {rss:.0f} MB, Python heap peak {heap:.1f} MB   "
        f"[target ≥ 5,000 rows/s, < 300 MB]"
    )
    if "--xlsx" in sys.argv:
        output = subprocess.run(
            [sys.executable, __file__, "--child-export-xlsx"],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        ).stdout.split()
        seconds, size, rss = float(output[0]), int(output[1]), float(output[2])
        print(
            f"XLSX export (two sheets, write-only): {total:,} invoices in {seconds:.1f} s = {total / seconds:,.0f} rows/s, "
            f"{size / 1024 / 1024:.1f} MB; peak RSS {rss:.0f} MB"
        )


if __name__ == "__main__":
    if "--child-export-csv" in sys.argv:
        child_export_csv()
    elif "--child-export-xlsx" in sys.argv:
        child_export_xlsx()
    else:
        main()
