"""The client's address and fixed-window rate limits, shared by the platform API, the public forms
and the download views.

Counters live in the `default` cache. With the default local-memory cache each process counts alone,
so production (several workers and machines) points CACHE_URL at a shared cache such as Redis; the
increments are then atomic and global.
"""

from __future__ import annotations

import ipaddress
import time

from django.core.cache import cache
from django.http import HttpRequest

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def client_ip(request: HttpRequest, *, trusted_proxies: int = 0) -> str | None:
    """REMOTE_ADDR, or behind `trusted_proxies` reverse proxies the entry that many hops back in
    X-Forwarded-For (when it is an address); None when neither is a valid address."""
    address = request.META.get("REMOTE_ADDR", "") or ""
    if trusted_proxies > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= trusted_proxies:
            candidate = forwarded[-trusted_proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # a forged or garbled header: fall back to the proxy's own address
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def parse_rate(rate: str, *, default_unit: str = "m") -> tuple[int, int] | None:
    """'60/m' -> (60, 60). Empty, '0' or 'off' disables the limit."""
    rate = (rate or "").strip().lower()
    if rate in {"", "0", "off", "none"}:
        return None
    count, _sep, unit = rate.partition("/")
    window = _UNITS.get(unit.strip()[:1] or default_unit)
    if window is None or not count.strip().isdigit():
        raise ValueError(f"invalid rate {rate!r}; use e.g. 60/m")
    return int(count), window


def hit(bucket: str, rate: str, *, default_unit: str = "m") -> int | None:
    """Count one hit in `bucket`; None while under the rate, else the seconds until the window resets."""
    parsed = parse_rate(rate, default_unit=default_unit)
    if parsed is None:
        return None
    limit, window = parsed
    now = int(time.time())
    slot = now // window
    key = f"rl:{bucket}:{window}:{slot}"
    try:
        count = 1 if cache.add(key, 1, timeout=window + 1) else cache.incr(key)
    except ValueError:  # expired between add and incr: this hit starts the window
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return max(1, (slot + 1) * window - now)
    return None
