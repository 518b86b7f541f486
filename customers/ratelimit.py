"""A fixed-window rate limit per client address for the public inquiry form, counted in the default cache.

With the default local-memory cache each process counts alone; production sets CACHE_URL to a shared
cache (Redis) so the limit holds across processes and machines."""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int] | None:
    """'10/h' → (10, 3600). Empty, '0' or 'off' disables the limit."""
    rate = (rate or "").strip().lower()
    if rate in {"", "0", "off", "none"}:
        return None
    count, _sep, unit = rate.partition("/")
    window = _UNITS.get(unit.strip()[:1] or "h")
    if window is None or not count.strip().isdigit():
        raise ValueError(f"invalid rate {rate!r}; use e.g. 10/h")
    return int(count), window


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind N trusted proxies the Nth address from the right of
    X-Forwarded-For (INQUIRY_TRUSTED_PROXY_COUNT)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "INQUIRY_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote


def hit(bucket: str, rate: str) -> int | None:
    """Count one hit; None while under the rate, else the seconds until the window resets."""
    parsed = parse_rate(rate)
    if parsed is None:
        return None
    limit, window = parsed
    now = int(time.time())
    slot = now // window
    key = f"inq-rl:{bucket}:{window}:{slot}"
    try:
        count = 1 if cache.add(key, 1, timeout=window + 1) else cache.incr(key)
    except ValueError:  # expired between add and incr: this hit starts the window
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return max(1, (slot + 1) * window - now)
    return None
