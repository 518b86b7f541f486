"""Query count and render time of the public pricing page (/pricing/).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pricing .venv/bin/python benchmarks/pricing.py

Creates (or reuses) its own database and migrates it (the catalog comes from the data migrations), adds
a few more price lines so every edition has several, then requests the page 30 times per case with
Django's test Client (anonymous in Chinese and English, CNY and USD, with the calculator filled in, and
signed in as a member) and prints the number of queries and the median time. Target: at most 10 queries.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._database import ensure_database

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_pricing")
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

RUNS = 30
MAX_QUERIES = 10


def seed():
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from customers.models import Membership, Organization, Role
    from editions.models import Edition, Price

    # older price lines (superseded) must not change the query count nor the figures
    for edition in Edition.objects.all():
        for currency in ("CNY", "USD"):
            Price.objects.get_or_create(
                edition=edition,
                module=None,
                kind="service",
                term="once",
                currency=currency,
                valid_from=dt.date(2025, 1, 1),
                defaults={"amount": Decimal("1000")},
            )
    organization, _ = Organization.objects.get_or_create(
        name="Bench Pricing Customer", defaults={"country": "CN"}
    )
    user, _ = get_user_model().objects.get_or_create(
        username="bench-pricing-member", defaults={"email": "member@bench-pricing.example"}
    )
    Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": Role.OWNER})
    return user


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    member = seed()
    cases = [
        ("anonymous, zh-hans, CNY", "zh-hans", None, "/pricing/"),
        ("anonymous, en, USD", "en", None, "/pricing/?currency=USD"),
        ("anonymous, calculator", "en", None, "/pricing/?currency=CNY&devices=500&months=24&modules=retail"),
        ("signed-in member", "zh-hans", member, "/pricing/"),
    ]
    worst = 0
    print(f"{'case':<28} {'queries':>7} {'median ms':>10} {'max ms':>8}")
    for label, language, user, url in cases:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        if user is not None:
            client.force_login(user)
            client.get("/")  # the first request of a session records it (allauth user sessions)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(ctx.captured_queries)
        worst = max(worst, queries)
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"{label:<28} {queries:>7} {statistics.median(timings):>10.1f} {max(timings):>8.1f}")
        if os.environ.get("SHOW_QUERIES"):
            for query in ctx.captured_queries:
                print("   ", query["sql"][:160])
    print(f"worst query count {worst} (target ≤ {MAX_QUERIES}): {'OK' if worst <= MAX_QUERIES else 'OVER'}")
    if worst > MAX_QUERIES:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
