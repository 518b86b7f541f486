"""Fixed-window rate limits on Django's cache, for the platform API.

The counters live in the `default` cache. With the default local-memory cache each process counts
alone, so production (several gunicorn workers and machines) must point CACHE_URL at a shared cache
such as Redis (`CACHE_URL=redis://redis:6379/1`); the increments are then atomic and global.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from licenses.errors import LicenseError, license_error

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int] | None:
    """'60/m' -> (60, 60). Empty, '0' or 'off' disables the limit."""
    rate = (rate or "").strip().lower()
    if rate in {"", "0", "off", "none"}:
        return None
    count, _, unit = rate.partition("/")
    window = _UNITS.get(unit.strip()[:1] or "m")
    if window is None or not count.strip().isdigit():
        raise ValueError(f"invalid rate {rate!r}; use e.g. 60/m")
    return int(count), window


def check(bucket: str, rate: str) -> None:
    """Count one hit in `bucket`; raise 429 rate_limited with Retry-After when over the rate."""
    parsed = parse_rate(rate)
    if parsed is None:
        return
    limit, window = parsed
    now = int(time.time())
    slot = now // window
    key = f"lic-rl:{bucket}:{window}:{slot}"
    try:
        if cache.add(key, 1, timeout=window + 1):
            return
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this hit starts the window
        cache.set(key, 1, timeout=window + 1)
        return
    if count > limit:
        retry_after = max(1, (slot + 1) * window - now)
        raise license_error(LicenseError.RATE_LIMITED, headers={"Retry-After": str(retry_after)})
