"""Redis (the cache that counts the rate limits) killed under check-in load, through gunicorn.

Check-ins keep being answered (the limits fail open), nothing answers 5xx, each worker logs the
outage once, and counting resumes when Redis is back. Before that, a low per-deployment limit shows
that the limits hold across the worker processes while Redis is up.
"""

from __future__ import annotations

import http.client
import json
import time

from tests.fault.conftest import FAULT, CheckinLoad, record_result, wait_until

pytestmark = FAULT


def _checkin(url: str, body: dict) -> int:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/api/v1/platform/checkin", json.dumps(body), {"Content-Type": "application/json"})
    status = conn.getresponse().status
    conn.close()  # a new connection each time: gunicorn hands them to either worker
    return status


def test_checkins_are_served_while_redis_is_down(pg, portal, pg_template, redis_server):
    server = portal(
        pg,
        workers=2,
        CACHE_URL=redis_server.url(1),
        LICENSE_RATE_LIMIT_ADDRESS="1000000/m",
        LICENSE_RATE_LIMIT_DEPLOYMENT="12/h",
    )
    # The per-deployment limit, counted in Redis across both workers: 12 pass, then 429.
    limited = [_checkin(server.url, pg_template.bodies[0]) for _ in range(16)]
    assert limited == [200] * 12 + [429] * 4, limited

    bodies = pg_template.bodies[1:]  # each deployment below its limit during the test
    load = CheckinLoad(server.url, bodies, connections=6, limit=40).start()
    try:
        assert wait_until(lambda: load.statuses()[200] >= 150, timeout=20), load.statuses()
        assert redis_server.command("-n", "1", "--scan", "--pattern", "*rl:*")  # counted in Redis
        redis_server.stop()
        down_at = time.monotonic()
        time.sleep(2.0)
        up_at = time.monotonic()
        redis_server.start()  # same port, empty: the counters start again
        assert wait_until(
            lambda: bool(redis_server.command("-n", "1", "--scan", "--pattern", "*rl:*")), timeout=10
        )
        time.sleep(0.5)
    finally:
        load.stop()

    statuses = load.statuses()
    while_down = load.statuses(since=down_at, until=up_at)
    stored = {int(n) for n in pg.query("SELECT device_count FROM licenses_usagereport").split() if int(n) > 0}
    log = server.log()
    result = {
        "test": "redis (rate-limit cache) killed under check-in load",
        "tries": len(load.answers),
        "200": statuses[200],
        "while_down_200": while_down[200],
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "lost_checkins": len(load.answered(200) - stored),
        "outage_log_lines": log.count("unavailable:"),
        "tracebacks": log.count("Traceback"),
    }
    record_result(**result)
    assert set(statuses) == {200}, statuses
    assert while_down[200] > 0
    assert result["lost_checkins"] == 0
    assert result["tracebacks"] == 0, log
    assert 1 <= result["outage_log_lines"] <= 2, log  # once per worker that noticed
    # Each worker that noticed says so once when the cache answers again (a worker that gets no request
    # after the restart has nothing to say yet).
    assert 1 <= log.count("available again") <= result["outage_log_lines"], log
