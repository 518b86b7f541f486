"""Rate limits of the platform API: portal.core.ratelimit's counters, answered as 429 rate_limited."""

from __future__ import annotations

from licenses.errors import LicenseError, license_error
from portal.core.ratelimit import hit


def check(bucket: str, rate: str) -> None:
    """Count one hit in `bucket`; raise 429 rate_limited with Retry-After when over the rate."""
    retry_after = hit(f"lic:{bucket}", rate)
    if retry_after is not None:
        raise license_error(LicenseError.RATE_LIMITED, headers={"Retry-After": str(retry_after)})
