"""The client's address and fixed-window rate limits, shared by the platform API, the public forms
and the download views.

Counters live in the `default` cache. With the default local-memory cache each process counts alone,
so production (several workers and machines) points CACHE_URL at a shared cache such as Redis; the
increments are then atomic and global.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
import weakref
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from redis.exceptions import NoScriptError, RedisError

logger = logging.getLogger(__name__)

_INCR_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_CLIENTS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_INCR_SHA = hashlib.sha1(_INCR_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

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
    count = _count(f"rl:{bucket}:{window}:{slot}", ttl=window + 1)
    if count is not None and count > limit:
        return max(1, (slot + 1) * window - now)
    return None


def _redis_client(backend: RedisCache) -> Any:
    """The redis-py client of the cache's write server, made once per backend instance: Django's
    get_client() builds a new one for every operation, which costs more than the round trip."""
    cache_client = backend._cache
    client = _CLIENTS.get(cache_client)
    if client is None:
        client = _CLIENTS[cache_client] = cache_client.get_client(write=True)
    return client


def _count(key: str, *, ttl: int) -> int | None:
    """Add one to the counter `key` (created with `ttl`) and return it; None when the shared cache is
    unreachable: the limit then lets the request through (logged) rather than failing it."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        # One round trip (a server-side INCR that sets the expiry on the first hit) instead of the
        # three of cache.add() then cache.incr(), which checks EXISTS first. A check-in hits two
        # counters, so this is most of its cost once the limits count in Redis. The counter stays
        # readable through the cache API (Django's Redis serializer stores integers as numbers).
        full_key = backend.make_and_validate_key(key)
        try:
            client = _redis_client(backend)
            try:
                count = client.evalsha(_INCR_SHA, 1, full_key, ttl)
            except NoScriptError:  # a restarted or new server: send the script itself once
                count = client.eval(_INCR_SCRIPT, 1, full_key, ttl)
        except RedisError:
            logger.warning("rate limit not counted: the cache at CACHE_URL is unreachable", exc_info=True)
            return None
        return int(count)
    try:
        return 1 if backend.add(key, 1, timeout=ttl) else backend.incr(key)
    except ValueError:  # expired between add and incr: this hit starts the window
        backend.set(key, 1, timeout=ttl)
        return 1
