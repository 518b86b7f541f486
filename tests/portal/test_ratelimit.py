"""portal.core.ratelimit: fixed-window counters in the default cache, on the local-memory cache and on a
real Redis (one round trip per hit there), and what happens when Redis is unreachable."""

from __future__ import annotations

import datetime as dt
import logging
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


def test_unreachable_redis_lets_requests_through_and_says_so(caplog):
    unreachable = override_settings(CACHES=_redis_cache("redis://127.0.0.1:1/0"))
    with unreachable, caplog.at_level(logging.WARNING, logger="portal.core.ratelimit"):
        assert _hits("down", "1/m", 3) == [None, None, None]
    assert "rate limit not counted" in caplog.text
