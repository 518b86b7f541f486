"""The license token (DESIGN §4): claims, lifetimes, signing and verification.

The platform in the field runs `jwt.decode(token, public_key, algorithms=['RS256'])` with no
audience and zero leeway, so the header is exactly {alg, typ, kid}, there is no `aud`/`nbf`/`crit`,
and `iat` is back-dated five minutes for devices whose clock runs slightly behind.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone

from contracts.entitlements import Entitlement
from licenses import keys
from licenses.errors import LicenseError, license_error
from licenses.models import SigningKey

IAT_BACKDATE = dt.timedelta(minutes=5)
ONLINE_VALIDITY = dt.timedelta(days=30)
RENEW_AFTER = dt.timedelta(days=7)
MAX_TOKEN_LENGTH = 8192
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
REQUIRED_CLAIMS = ["iss", "sub", "jti", "iat", "exp", "machine_id", "customer", "edition", "features"]


@dataclass(frozen=True)
class Lifetime:
    issued_at: dt.datetime
    expires_at: dt.datetime
    renew_after: dt.datetime


def lifetime(*, entitlement: Entitlement, offline: bool, now: dt.datetime | None = None) -> Lifetime:
    """exp = min(contract end + grace, iat + 30 days) online; contract end + grace offline."""
    now = now or timezone.now()
    issued_at = (now - IAT_BACKDATE).replace(microsecond=0)
    hard_end = entitlement.grace_end
    expires_at = hard_end if offline else min(hard_end, issued_at + ONLINE_VALIDITY)
    return Lifetime(issued_at=issued_at, expires_at=expires_at, renew_after=issued_at + RENEW_AFTER)


def entitlement_claims(entitlement: Entitlement) -> dict[str, Any]:
    """The claims that state what a license grants; a token whose claims still equal these for the
    contract's current entitlement needs no renewal."""
    return {
        "edition": entitlement.edition,
        "features": list(entitlement.features),
        "device_limit": entitlement.device_limit,
        "entitlement_end": entitlement.entitlement_end.isoformat(),
        "grace_days": entitlement.grace_days,
    }


def claims_for(
    *,
    license_id: int,
    deployment_id: int,
    machine_id: str,
    entitlement: Entitlement,
    times: Lifetime,
) -> dict[str, Any]:
    granted = entitlement_claims(entitlement)
    return {
        "iss": settings.LICENSE_ISSUER,
        "sub": str(deployment_id),
        "jti": str(license_id),
        "iat": int(times.issued_at.timestamp()),
        "exp": int(times.expires_at.timestamp()),
        "customer": entitlement.customer,
        "edition": granted["edition"],
        "features": granted["features"],
        "machine_id": machine_id,
        "device_limit": granted["device_limit"],
        "contract": entitlement.contract_number,
        "entitlement_end": granted["entitlement_end"],
        "grace_days": granted["grace_days"],
    }


def sign(claims: dict[str, Any], key: SigningKey) -> str:
    return jwt.encode(
        claims,
        keys.signing_key_object(key),
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": "JWT"},
    )


def _invalid(detail: str | None = None) -> Exception:
    return license_error(LicenseError.TOKEN_INVALID, detail)


# Tokens whose signature this process has already verified, newest last. A platform presents the same
# token at every check-in until renew_after, and verifying it (PyJWT's base64url checks + RSA) is most
# of a check-in's CPU. The signature of a given string never changes, so the cached claims are exact;
# the key is looked up again on every hit, so a key that stops being published stops verifying.
_VERIFIED: dict[str, tuple[dict[str, Any], str]] = {}
_VERIFIED_MAX = 4096
_VERIFIED_LOCK = threading.Lock()


def _remember(token: str, claims: dict[str, Any], kid: str) -> None:
    with _VERIFIED_LOCK:
        _VERIFIED[token] = (claims, kid)
        while len(_VERIFIED) > _VERIFIED_MAX:
            del _VERIFIED[next(iter(_VERIFIED))]


def verify(token: Any) -> tuple[dict[str, Any], keys.LoadedKey]:
    """Verify a token's signature with the key its `kid` names, the algorithm pinned to that key.

    Expiry is deliberately not checked: a genuine token that lapsed may still check in. Anything
    else (unknown kid, another algorithm, `none`, HS256 keyed with the public key, tampered claims,
    missing claims, foreign issuer) raises 401 token_invalid."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not _COMPACT_JWS.fullmatch(token):
        raise _invalid()
    cached = _VERIFIED.get(token)
    if cached is not None:
        claims, kid = cached
        loaded = keys.verifying_key(kid)
        if loaded is not None:
            return dict(claims), loaded
    # The header is read here (one regex, one small base64 + JSON) rather than with
    # jwt.get_unverified_header(), which would validate the whole token a second time.
    try:
        header_segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * (-len(header_segment) % 4)))
    except (ValueError, TypeError):
        raise _invalid() from None
    if not isinstance(header, dict):
        raise _invalid()
    loaded = keys.verifying_key(header.get("kid"))  # type: ignore[arg-type]
    if loaded is None or header.get("alg") != loaded.algorithm:
        raise _invalid()
    try:
        claims = jwt.decode(
            token,
            loaded.public_key,
            algorithms=[loaded.algorithm],
            issuer=settings.LICENSE_ISSUER,
            options={"verify_exp": False, "verify_aud": False, "require": REQUIRED_CLAIMS},
            leeway=dt.timedelta(minutes=10),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _invalid() from None
    if not isinstance(claims.get("jti"), str) or not claims["jti"].isdigit():
        raise _invalid()
    if not isinstance(claims.get("sub"), str) or not claims["sub"].isdigit():
        raise _invalid()
    _remember(token, claims, loaded.kid)
    return dict(claims), loaded
