"""PostgreSQL crashes (pg_ctl stop -m immediate) under check-in load, through gunicorn.

While the database is down every check-in answers 503 with Retry-After (never 500), each worker
logs the outage once, and the app recovers by itself once the server is back. Every check-in
carries a unique device_count, so afterwards each 200 answer is matched with its usage row: the
rows missing are the check-ins the crash lost although they had been answered 200 (the price of
LICENSE_CHECKIN_ASYNC_COMMIT), and no check-in may be stored twice.
"""

from __future__ import annotations

import time

import pytest

from tests.fault.conftest import FAULT, CheckinLoad, record_result, wait_until

pytestmark = FAULT

DOWN_SECONDS = 2.0


@pytest.mark.parametrize("async_commit", [False, True], ids=["sync-commit", "async-commit"])
def test_database_crash_under_checkin_load(pg, portal, pg_template, async_commit):
    server = portal(pg, LICENSE_CHECKIN_ASYNC_COMMIT="1" if async_commit else "0")
    load = CheckinLoad(server.url, pg_template.bodies, connections=8, limit=45).start()
    try:
        # Warm: both workers have answered on the single-statement path for a while.
        assert wait_until(lambda: load.statuses()[200] >= 400, timeout=20), load.statuses()
        crashed_at = time.monotonic()
        pg.crash()
        time.sleep(DOWN_SECONDS)
        restarting_at = time.monotonic()
        pg.start()
        up_at = time.monotonic()
        assert wait_until(lambda: load.statuses(since=up_at)[200] >= 200, timeout=20), load.statuses(
            since=up_at
        )
        first_200 = min(at for _n, status, at in load.answers if status == 200 and at >= up_at)
    finally:
        load.stop()

    statuses = load.statuses()
    while_down = load.statuses(since=crashed_at + 0.2, until=restarting_at)
    answered_200 = load.answered(200)
    answered_503 = load.answered(503)
    stored = [int(n) for n in pg.query("SELECT device_count FROM licenses_usagereport").split()]
    stored_once = set(stored)
    lost = answered_200 - stored_once
    log = server.log()
    result = {
        "test": f"database crash under check-in load ({'async' if async_commit else 'sync'} commit)",
        "tries": len(load.answers),
        "200": statuses[200],
        "503": statuses[503],
        "500": statuses[500],
        "other_5xx": sum(n for s, n in statuses.items() if s >= 500 and s not in (500, 503)),
        "no_answer": statuses[0],
        "lost_checkins": len(lost),
        "stored_answered_503": len(answered_503 & stored_once),
        "stored_twice": len(stored) - len(stored_once),
        "recovery_s": round(first_200 - up_at, 2),
        "outage_log_lines": log.count("database unavailable"),
        "tracebacks": log.count("Traceback"),
    }
    record_result(**result)

    assert set(statuses) <= {200, 503}, statuses  # never a 500, never a dropped connection
    assert while_down[503] > 0 and set(while_down) == {503}, while_down
    assert result["stored_twice"] == 0
    assert result["tracebacks"] == 0, log
    assert 1 <= result["outage_log_lines"] <= 2, log  # once per worker process
    assert log.count("database available again") == result["outage_log_lines"], log
    if not async_commit:
        assert lost == set(), sorted(lost)[:20]
