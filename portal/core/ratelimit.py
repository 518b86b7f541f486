"""The client's address and fixed-window rate limits, shared by the platform API, the public forms
and the download views.

Counters live in the `default` cache. With the default local-memory cache each process counts alone,
so production (several workers and machines) points CACHE_URL at a shared cache such as Redis; the
count is then global.

On Redis the counter of a window counts *tokens handed out*, and a process may take several at
once (a lease) for a bucket it is hit often in, then spend them without asking Redis again:

- every request let through spent a token that Redis counted first, so across all processes and
  machines no more than the limit ever pass in a window (the limit is never exceeded);
- the first request of a bucket in a window takes one token, and a process asks for twice as many
  each time its previous lease ran out (up to `MAX_LEASE`), but never more than 1/`LEASE_SHARE` of
  what it last saw left in the window: near the limit every request asks Redis again, one token at
  a time, exactly as a plain counter would;
- once a process has seen every token of a window handed out, it refuses the bucket by itself
  until the window ends (the count of a window only grows);
- tokens a process leased but did not spend before the window ended are lost, so a bucket hit from
  several processes at once may be refused a little before its limit (at most what those processes
  had leased and left, each lease at most what the process had already spent and 1/8 of what was left).

A bucket hit once per window (a deployment's daily check-in, one form post) costs one round trip as
before (a server-side INCRBY that sets the expiry on the first hit); a bucket hit thousands of
times a minute (a fleet behind one address, a client in a retry loop, a benchmark) costs one round
trip per lease. When Redis cannot be reached the limits let requests through (fail open), the
outage is logged once (portal.core.outage), and Redis is tried again at most once a second meanwhile.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import re
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from redis.exceptions import NoScriptError, RedisError

from portal.core.outage import Outage

logger = logging.getLogger(__name__)

MAX_LEASE = 64
LEASE_SHARE = 8

_INCR_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_CLIENTS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_INCR_SHA = hashlib.sha1(_INCR_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@functools.lru_cache(maxsize=4096)
def _valid_address(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_ip(request: HttpRequest, *, trusted_proxies: int = 0) -> str | None:
    """REMOTE_ADDR, or behind `trusted_proxies` reverse proxies the entry that many hops back in
    X-Forwarded-For (when it is an address); None when neither is a valid address. The one reading of
    the caller's address: read once per request (a rate-limit gate and the service both ask)."""
    known: dict[int, str | None] = request.__dict__.setdefault("_client_ips", {})
    if trusted_proxies not in known:
        known[trusted_proxies] = _client_ip(request, trusted_proxies)
    return known[trusted_proxies]


def _client_ip(request: HttpRequest, trusted_proxies: int) -> str | None:
    address = request.META.get("REMOTE_ADDR", "") or ""
    if trusted_proxies > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= trusted_proxies:
            candidate = _valid_address(forwarded[-trusted_proxies])
            if candidate is not None:
                return candidate
            # else a forged or garbled header: fall back to the proxy's own address
    return _valid_address(address)


@functools.lru_cache(maxsize=64)
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
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        allowed = LEASES.take(backend, f"rl:{bucket}:{window}", slot, limit=limit, ttl=window + 1)
    else:
        allowed = _count_locally(backend, f"rl:{bucket}:{window}:{slot}", ttl=window + 1) <= limit
    return None if allowed else max(1, (slot + 1) * window - now)


def _count_locally(backend: Any, key: str, *, ttl: int) -> int:
    try:
        return 1 if backend.add(key, 1, timeout=ttl) else backend.incr(key)
    except ValueError:  # expired between add and incr: this hit starts the window
        backend.set(key, 1, timeout=ttl)
        return 1


def _redis_client(backend: RedisCache) -> Any:
    """The redis-py client of the cache's write server, made once per backend instance: Django's
    get_client() builds a new one for every operation, which costs more than the round trip."""
    cache_client = backend._cache  # type: ignore[attr-defined]  # Django's RedisCacheClient, not in the stubs
    client = _CLIENTS.get(cache_client)
    if client is None:
        client = _CLIENTS[cache_client] = cache_client.get_client(write=True)
    return client


@dataclass(slots=True)
class _Lease:
    slot: int  # the window the tokens belong to
    tokens: int = 0  # leased and not yet spent
    next_size: int = 1  # tokens to ask for next time
    seen: int = 0  # the highest count Redis returned in this window


class Leases:
    """This process's tokens per bucket (one instance per process; tests make their own to play
    several processes)."""

    def __init__(self) -> None:
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def take(self, backend: RedisCache, base: str, slot: int, *, limit: int, ttl: int) -> bool:
        """Spend one token of `base` in window `slot`: True to let the request through."""
        with self._lock:
            lease = self._leases.get(base)
            if lease is None:
                if len(self._leases) > 50_000:  # buckets of long-gone clients
                    self._leases.clear()
                lease = self._leases[base] = _Lease(slot)
            elif lease.slot != slot:  # a new window: what is left of the old one is void
                lease.slot, lease.tokens, lease.seen = slot, 0, 0
            if lease.tokens > 0:
                lease.tokens -= 1
                return True
            if lease.seen >= limit:
                return False  # every token of this window is handed out: no need to ask again
            size = max(1, min(lease.next_size, (limit - lease.seen) // LEASE_SHARE))
        if not outage_of(backend).may_try():
            return True  # Redis is down: fail open without waiting for it again
        count = _incr(backend, f"{base}:{slot}", size, ttl=ttl)
        if count is None:
            return True
        granted = min(size, max(0, limit - (count - size)))
        with self._lock:
            if lease.slot == slot:
                lease.seen = max(lease.seen, count)
                if granted:
                    lease.tokens += granted - 1
                lease.next_size = min(MAX_LEASE, size * 2) if granted == size else 1
        return granted > 0

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()


LEASES = Leases()


def _incr(backend: RedisCache, key: str, amount: int, *, ttl: int) -> int | None:
    """Add `amount` to the counter `key` (created with `ttl`) in one round trip and return it; None
    when Redis is unreachable (logged once per outage)."""
    # One round trip (a server-side INCRBY that sets the expiry on the first hit) instead of the
    # three of cache.add() then cache.incr(), which checks EXISTS first. The counter stays readable
    # through the cache API (Django's Redis serializer stores integers as numbers).
    full_key = backend.make_and_validate_key(key)
    try:
        client = _redis_client(backend)
        try:
            count = client.evalsha(_INCR_SHA, 1, full_key, ttl, amount)
        except NoScriptError:  # a restarted or new server: send the script itself once
            count = client.eval(_INCR_SCRIPT, 1, full_key, ttl, amount)
    except RedisError as exc:
        outage_of(backend).failed(exc, consequence="rate limits let requests through uncounted")
        return None
    state = outage_of(backend)
    if state.ongoing:
        state.recovered()
    return int(count)


_OUTAGES: dict[str, Outage] = {}


def outage_of(backend: RedisCache) -> Outage:
    """The outage state of the cache's Redis server(s), shared by every backend that uses them."""
    location = ",".join(backend._servers)  # type: ignore[attr-defined]  # the configured LOCATION list
    state = _OUTAGES.get(location)
    if state is None:
        shown = re.sub(r"//[^@/]*@", "//", location)  # never log a password of the URL
        state = _OUTAGES[location] = Outage(f"rate-limit cache {shown}", logger, probe_every=1.0)
    return state
