"""portal.core.ratelimit: fixed-window counters in the default cache, on the local-memory cache and on a
real Redis (one round trip per hit there), and what happens when Redis is unreachable."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

import pytest
import redis
import time_machine
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from portal.core import ratelimit
from tests.conftest import requires_redis


def _redis_cache(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"t-{uuid.uuid4().hex[:8]}",  # xdist workers share the database
        }
    }


def _hits(bucket: str, rate: str, n: int) -> list[int | None]:
    return [ratelimit.hit(bucket, rate) for _ in range(n)]


def test_parse_rate():
    assert ratelimit.parse_rate("60/m") == (60, 60)
    assert ratelimit.parse_rate("30/h") == (30, 3600)
    assert ratelimit.parse_rate("5") == (5, 60)
    for off in ("", "0", "off", "None"):
        assert ratelimit.parse_rate(off) is None
    for bad in ("x/m", "5/w", "-1/m"):
        with pytest.raises(ValueError, match="invalid rate"):
            ratelimit.parse_rate(bad)


def _assert_fixed_window(bucket: str) -> None:
    start = timezone.now().replace(second=10, microsecond=0)
    with time_machine.travel(start, tick=False):
        assert _hits(bucket, "3/m", 3) == [None, None, None]
        assert ratelimit.hit(bucket, "3/m") == 50  # seconds until the minute turns
        assert ratelimit.hit("other:" + bucket, "3/m") is None  # buckets count apart
    with time_machine.travel(start.replace(second=0) + dt.timedelta(minutes=1), tick=False):
        assert ratelimit.hit(bucket, "3/m") is None  # a new window


def test_local_memory_cache_counts_a_fixed_window():
    cache.clear()
    _assert_fixed_window(f"lm-{uuid.uuid4().hex}")


def test_a_disabled_rate_counts_nothing():
    assert _hits("off-bucket", "off", 1000)[-1] is None


@requires_redis
def test_redis_counts_a_fixed_window_in_one_round_trip(settings):
    with override_settings(CACHES=_redis_cache(settings.REDIS_URL)):
        bucket = f"rd-{uuid.uuid4().hex}"
        _assert_fixed_window(bucket)
        client = redis.Redis.from_url(settings.REDIS_URL)
        commands: list[str] = []
        original = redis.Redis.execute_command

        def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
            commands.append(str(args[0]))
            return original(self, *args, **kwargs)

        assert ratelimit.hit(bucket + "-2", "10/m") is None
        redis.Redis.execute_command = spy  # type: ignore[method-assign]
        try:
            assert ratelimit.hit(bucket + "-2", "10/m") is None  # an existing counter
        finally:
            redis.Redis.execute_command = original  # type: ignore[method-assign]
        assert commands == ["EVALSHA"]
        # The counter is an ordinary cache entry with the window's expiry.
        (key,) = [k for k in client.scan_iter(match=f"*{bucket}-2*")]
        assert 0 < client.ttl(key) <= 61
        window_key = key.decode().split(":", 2)[2]
        assert cache.get(window_key) == 2


@requires_redis
def test_redis_that_forgot_the_script_is_served_again(settings):
    with override_settings(CACHES=_redis_cache(settings.REDIS_URL)):
        bucket = f"flush-{uuid.uuid4().hex}"
        assert ratelimit.hit(bucket, "2/m") is None
        redis.Redis.from_url(settings.REDIS_URL).script_flush()
        assert ratelimit.hit(bucket, "2/m") is None
        assert ratelimit.hit(bucket, "2/m") is not None  # the third hit: counting went on


def test_unreachable_redis_lets_requests_through_and_says_so_once(caplog):
    unreachable = override_settings(CACHES=_redis_cache("redis://:secret@127.0.0.1:1/0"))
    with unreachable, caplog.at_level(logging.WARNING, logger="portal.core.ratelimit"):
        assert _hits("down", "1/m", 50) == [None] * 50
    [record] = caplog.records
    assert record.getMessage().startswith("rate-limit cache redis://127.0.0.1:1/0 unavailable: ")
    assert "rate limits let requests through uncounted" in record.getMessage()
    assert "secret" not in caplog.text


class _RoundTrips:
    """Counts the commands sent to Redis (redis-py's execute_command) while active."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self._original = redis.Redis.execute_command

    def __enter__(self) -> _RoundTrips:
        original, commands = self._original, self.commands

        def spy(client: Any, *args: Any, **kwargs: Any) -> Any:
            commands.append(str(args[0]))
            return original(client, *args, **kwargs)

        redis.Redis.execute_command = spy  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        redis.Redis.execute_command = self._original  # type: ignore[method-assign]


@requires_redis
def test_a_hot_bucket_leases_tokens_and_stops_exactly_at_the_limit(settings):
    """One process hit 1,100 times in a window with a limit of 1,000: exactly 1,000 pass, the rest
    are refused, and Redis is asked a few dozen times instead of 1,100."""
    ratelimit.LEASES.clear()
    redis_cache = override_settings(CACHES=_redis_cache(settings.REDIS_URL))
    one_window = time_machine.travel(timezone.now().replace(second=1), tick=False)
    with redis_cache, one_window, _RoundTrips() as trips:
        answers = _hits(f"hot-{uuid.uuid4().hex}", "1000/m", 1100)
    assert answers[:1000] == [None] * 1000
    assert all(a is not None for a in answers[1000:])
    assert 10 <= len(trips.commands) <= 80, len(trips.commands)


@requires_redis
def test_processes_sharing_a_bucket_never_pass_more_than_the_limit_together(settings):
    """Three processes (three lease tables) hit one bucket in turn: together they pass exactly the
    limit, refusals start only when the window's tokens are nearly all spent, and none passes
    anything once they are."""
    processes = [ratelimit.Leases() for _ in range(3)]
    bucket = f"shared-{uuid.uuid4().hex}"
    passed: list[int] = []
    redis_cache = override_settings(CACHES=_redis_cache(settings.REDIS_URL))
    with redis_cache, time_machine.travel(timezone.now().replace(second=1), tick=False):
        for i in range(1500):
            process = processes[i % 3]
            ratelimit.LEASES, saved = process, ratelimit.LEASES
            try:
                if ratelimit.hit(bucket, "600/m") is None:
                    passed.append(i)
            finally:
                ratelimit.LEASES = saved
    assert len(passed) == 600
    first_refusal = next(i for i in range(1500) if i not in set(passed))
    assert first_refusal >= 560, first_refusal  # leased tokens spent by the others first


@requires_redis
def test_leases_end_with_their_window(settings):
    ratelimit.LEASES.clear()
    bucket = f"windows-{uuid.uuid4().hex}"
    start = timezone.now().replace(second=5, microsecond=0)
    with override_settings(CACHES=_redis_cache(settings.REDIS_URL)):
        with time_machine.travel(start, tick=False):
            assert _hits(bucket, "100/m", 100) == [None] * 100
            assert ratelimit.hit(bucket, "100/m") is not None
        with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
            assert _hits(bucket, "100/m", 100) == [None] * 100  # a fresh window, counted afresh
            assert ratelimit.hit(bucket, "100/m") is not None
            (key,) = [
                k for k in cache._cache.get_client().scan_iter(match=f"*{bucket}*{int(time.time()) // 60}")
            ]
            assert cache._cache.get_client().get(key) is not None


def test_the_client_address_is_validated_and_normalized():
    from django.test import RequestFactory

    factory = RequestFactory()
    assert ratelimit.client_ip(factory.get("/", REMOTE_ADDR="2001:db8:0:0::1")) == "2001:db8::1"
    assert ratelimit.client_ip(factory.get("/", REMOTE_ADDR="not-an-address")) is None
    proxied = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.2")
    assert ratelimit.client_ip(proxied, trusted_proxies=2) == "203.0.113.7"
    forged = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="<script>")
    assert ratelimit.client_ip(forged, trusted_proxies=1) == "10.0.0.1"
