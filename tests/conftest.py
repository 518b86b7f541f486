"""Suite-wide fixtures. The header says which database and broker the run uses; in CI both must be
the real PostgreSQL and Redis, so concurrency tests can never be skipped there silently."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    where = f"{db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''}:{db.get('PORT') or ''}/{db['NAME']}"
    broker = settings.REDIS_URL or "none (Celery eager; real-worker tests skip)"
    return [f"database: {where}", f"celery broker for integration tests: {broker}"]


def pytest_configure(config: pytest.Config) -> None:
    sqlite_run = os.environ.get("SQLITE_MONEY_RUN")  # make test's second run: the money tests on SQLite
    if os.environ.get("CI") and settings.DATABASE_VENDOR != "postgresql" and not sqlite_run:
        raise pytest.UsageError(
            "CI must run on PostgreSQL: set DATABASE_URL or start PostgreSQL on 127.0.0.1:5432"
        )
    if os.environ.get("CI") and not settings.REDIS_URL:
        raise pytest.UsageError("CI must run with Redis on 127.0.0.1:6379 for the Celery integration tests")


@pytest.fixture(autouse=True)
def english_by_default():
    """Messages are asserted in English; tests of the Chinese catalog activate zh-hans themselves."""
    from django.utils import translation

    with translation.override("en"):
        yield


# Data migrations whose `seed(apps, schema_editor)` creates reference rows the app needs to work.
SEED_MIGRATIONS = [
    "editions.migrations.0002_seed_catalog",
    "editions.migrations.0005_edition_sold_without_negotiation",
    "editions.migrations.0009_seed_pricing_page",
    "support.migrations.0002_seed_calendars_policies",
    "support.migrations.0004_china_calendar_from_chinesecalendar",
    "support.migrations.0005_calendar_and_policy_names_in_both_languages",
]


@pytest.fixture(autouse=True)
def catalog_after_flush(request: pytest.FixtureRequest) -> None:
    """Transactional tests (and the live server) truncate tables between tests, which also removes the
    rows the data migrations created (catalog, SLA calendars and policies); put them back (idempotently)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    if transactional or {"transactional_db", "live_server", "http"} & set(request.fixturenames):
        import importlib

        from django.apps import apps

        request.getfixturevalue("transactional_db")
        for migration in SEED_MIGRATIONS:
            importlib.import_module(migration).seed(apps, None)


requires_postgres = pytest.mark.skipif(
    settings.DATABASE_VENDOR != "postgresql", reason="needs PostgreSQL (row locks); CI always runs it"
)
requires_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis; CI always runs it")


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment, each in its own thread with its own database connection;
    their results in order, an exception standing for a call that raised."""
    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def staff_user(db: Any) -> Any:
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, username="sales", email="sales@vendor.example")


@pytest.fixture
def write_token(staff_user: Any) -> str:
    from portal.core.services import api_token_create

    _token, secret = api_token_create(user=staff_user, name="erp", write=True)
    return secret


@pytest.fixture
def read_token(staff_user: Any) -> str:
    from portal.core.services import api_token_create

    _token, secret = api_token_create(user=staff_user, name="reports", write=False)
    return secret


def _live_server_without_nagle() -> None:
    """The live server writes a response's headers and body separately; with Nagle's algorithm on,
    the body waits for the client's delayed ACK of the headers (~40 ms on Linux) on every request
    of a kept-alive connection. TCP_NODELAY on its sockets makes a trivial request ~1 ms instead of
    ~45 ms (the schemathesis run and every `http`/browser test make thousands)."""
    from django.core.servers.basehttp import WSGIRequestHandler

    WSGIRequestHandler.disable_nagle_algorithm = True


_live_server_without_nagle()


@pytest.fixture
def http(live_server: Any) -> Any:
    """A real HTTP client against the live test server (threaded runserver on loopback)."""
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# Browser tests: one headless Debian chromium per test process, shared by every browser test.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


def _chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not _chromium_available():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is not installed (browser tests run in CI)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls around it
    # stay synchronous, so Django's async-safety check is told to allow them (tests only).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url,
        accept_downloads=True,
        locale="en-US",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Any):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
