"""Reference client for the platform side of licensing (DESIGN §4-§5).

Copy this file into the platform: it needs only the standard library, PyJWT and cryptography (no
Django). It

- derives a stable machine fingerprint: a random install ID persisted in the state directory,
  bound to /etc/machine-id when present (a cloned disk on another host gets another fingerprint);
- activates with an activation code and stores the license atomically (temp file + os.replace,
  no trailing newline, so the platform's LicenseManager reads it as-is);
- verifies the license offline against the JWKS bundled with the release (the algorithm is pinned
  to each key; no key is ever fetched and trusted from the network);
- checks in daily with random jitter, retries with exponential backoff (full jitter) on no answer,
  a 5xx (503 while the server's database is down) or a 429, never sooner than the server's
  Retry-After and spread beyond it, stores a renewed token only after verifying it, and keeps
  working on the cached token until its `exp` while the server is unreachable.

    client = LicenseClient("https://licenses.example.com", state_dir="/var/lib/iot", jwks_path="jwks.json")
    client.activate("7KQ2M-…")                         # once
    outcome = client.checkin_with_retry(device_count=812)
    time.sleep(client.next_checkin_delay())
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import json
import os
import random
import secrets
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

DAY = 86400.0
REFUSALS_THAT_END_THE_LICENSE = {"license_revoked", "grace_expired", "machine_mismatch", "token_invalid"}


class LicenseClientError(Exception):
    pass


class LicenseInvalid(LicenseClientError):
    """The token does not verify offline (signature, key, expiry or machine)."""


class ServerUnreachable(LicenseClientError):
    """No answer, a 5xx or a 429: try again later; the cached token stays usable until exp."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerRefused(LicenseClientError):
    """A definite 4xx answer ({"code", "detail"})."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


@dataclass
class CheckinOutcome:
    status: str  # valid | renewed | grace | over_limit | offline
    claims: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    renew_after: str | None = None


# --- files -------------------------------------------------------------------------------------------


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` exactly (no newline added) so that readers see the old or the new file, never
    a torn one: temp file in the same directory, fsync, os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def machine_fingerprint(state_dir: str | Path, machine_id_path: str | Path | None = "/etc/machine-id") -> str:
    """A stable ID of this installation on this host: the persisted install ID, hashed together
    with /etc/machine-id when that exists (so copying the state directory to another host does not
    copy the identity)."""
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    id_file = state / "install-id"
    try:
        fd = os.open(id_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(uuid.uuid4().hex)
    install_id = id_file.read_text().strip()
    host_id = ""
    if machine_id_path:
        try:
            host_id = Path(machine_id_path).read_text().strip()
        except OSError:
            host_id = ""
    if not host_id:
        return install_id
    return hashlib.sha256(f"{install_id}:{host_id}".encode()).hexdigest()[:32]


# --- offline verification -------------------------------------------------------------------------------


def load_jwks(path: str | Path) -> dict[str, tuple[Any, str]]:
    """kid -> (public key, algorithm) from a JWKS file bundled with the release."""
    data = json.loads(Path(path).read_text())
    keys: dict[str, tuple[Any, str]] = {}
    for entry in data.get("keys", []):
        algorithm = entry.get("alg")
        if algorithm not in {"RS256", "EdDSA"} or not entry.get("kid"):
            continue
        keys[entry["kid"]] = (jwt.PyJWK(entry, algorithm=algorithm).key, algorithm)
    return keys


def verify_token(
    token: str, keys: dict[str, tuple[Any, str]], machine_id: str, *, now: float | None = None
) -> dict[str, Any]:
    """Claims of a license that verifies offline on this machine; raises LicenseInvalid otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise LicenseInvalid(f"not a JWT: {exc}") from None
    entry = keys.get(header.get("kid", ""))
    if entry is None:
        raise LicenseInvalid(f"unknown signing key {header.get('kid')!r}")
    public_key, algorithm = entry
    try:
        claims = jwt.decode(token, public_key, algorithms=[algorithm], options={"verify_exp": False})
    except jwt.PyJWTError as exc:
        raise LicenseInvalid(str(exc)) from None
    if claims.get("exp", 0) <= (now if now is not None else time.time()):
        raise LicenseInvalid("license expired")
    if claims.get("machine_id") != machine_id:
        raise LicenseInvalid("license belongs to another machine")
    return claims


# --- the client -------------------------------------------------------------------------------------


class LicenseClient:
    def __init__(
        self,
        base_url: str,
        *,
        state_dir: str | Path,
        jwks_path: str | Path,
        machine_id: str | None = None,
        machine_id_path: str | Path | None = "/etc/machine-id",
        timeout: float = 10.0,
        sleep: Any = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.state_dir = Path(state_dir)
        self.license_path = self.state_dir / "license.key"
        self.keys = load_jwks(jwks_path)
        self.machine_id = machine_id or machine_fingerprint(self.state_dir, machine_id_path)
        self.timeout = timeout
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    # local state

    def token(self) -> str | None:
        try:
            return self.license_path.read_text()
        except FileNotFoundError:
            return None

    def current(self) -> dict[str, Any] | None:
        """The claims of the stored license while it verifies offline, else None (community mode)."""
        token = self.token()
        if not token:
            return None
        try:
            return verify_token(token, self.keys, self.machine_id)
        except LicenseInvalid:
            return None

    def _store(self, token: str) -> dict[str, Any]:
        claims = verify_token(token, self.keys, self.machine_id)  # never store what we cannot verify
        if token != self.token():
            write_atomic(self.license_path, token)
        return claims

    # HTTP

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.base_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            payload = _json_or_empty(exc)
            if exc.code == 429 or exc.code >= 500:
                retry_after = retry_after_seconds(exc.headers.get("Retry-After"))
                raise ServerUnreachable(f"{exc.code} {payload.get('code', '')}", retry_after) from None
            raise ServerRefused(
                exc.code, payload.get("code", "error"), payload.get("detail", str(exc))
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ServerUnreachable(str(exc)) from None

    def activate(
        self,
        activation_code: str,
        *,
        hostname: str | None = None,
        platform_version: str | None = None,
        environment: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"activation_code": activation_code, "machine_id": self.machine_id}
        for name, value in (
            ("hostname", hostname),
            ("platform_version", platform_version),
            ("environment", environment),
        ):
            if value:
                body[name] = value
        answer = self._post("/api/v1/platform/activate", body)
        return self._store(answer["license"])

    def checkin(
        self, *, device_count: int | None = None, platform_version: str | None = None
    ) -> CheckinOutcome:
        """One check-in. A definite refusal of the license (revoked, grace over, another machine)
        moves the stored token aside, so the platform falls back to community features."""
        token = self.token()
        if not token:
            raise LicenseInvalid("not activated")
        nonce = secrets.token_urlsafe(16)
        body: dict[str, Any] = {"license": token, "machine_id": self.machine_id, "nonce": nonce}
        if device_count is not None:
            body["device_count"] = device_count
        if platform_version:
            body["platform_version"] = platform_version
        try:
            answer = self._post("/api/v1/platform/checkin", body)
        except ServerRefused as exc:
            if exc.code in REFUSALS_THAT_END_THE_LICENSE:
                os.replace(self.license_path, self.license_path.with_suffix(".key.refused"))
            raise
        if answer.get("nonce") != nonce:
            raise ServerUnreachable("answer does not echo our nonce (replayed or proxied)")
        claims = self._store(answer["license"])
        return CheckinOutcome(
            status=answer["status"],
            claims=claims,
            messages=answer.get("messages", []),
            renew_after=answer.get("renew_after"),
        )

    def checkin_with_retry(
        self,
        *,
        device_count: int | None = None,
        platform_version: str | None = None,
        attempts: int = 5,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
    ) -> CheckinOutcome:
        """checkin() with exponential backoff and full jitter on transient failures. When the server
        stays unreachable the cached token keeps working until its `exp` (status 'offline');
        after that LicenseInvalid is raised."""
        for attempt in range(attempts):
            try:
                return self.checkin(device_count=device_count, platform_version=platform_version)
            except ServerUnreachable as exc:
                if attempt == attempts - 1:
                    break
                delay = self.retry_delay(attempt, exc.retry_after, base_delay=base_delay, max_delay=max_delay)
                if delay is None:
                    break  # asked to come back later than we wait: the cached token carries on
                self.sleep(delay)
        claims = self.current()
        if claims is None:
            raise LicenseInvalid("server unreachable and no valid cached license")
        return CheckinOutcome(status="offline", claims=claims)

    def retry_delay(
        self, attempt: int, retry_after: float | None, *, base_delay: float = 2.0, max_delay: float = 600.0
    ) -> float | None:
        """Seconds to wait before retry number `attempt` + 1: exponential backoff with full jitter;
        never sooner than the server's Retry-After (a 503 during a database outage, a 429), and then
        up to half as long again so that a fleet told the same does not return at the same second.
        None when Retry-After is beyond `max_delay` (give up this round)."""
        delay = self.rng.uniform(0, min(max_delay, base_delay * 2**attempt))
        if retry_after is None:
            return delay
        if retry_after > max_delay:
            return None
        return max(delay, min(max_delay, retry_after * self.rng.uniform(1.0, 1.5)))

    def next_checkin_delay(self, interval: float = DAY, jitter: float = 0.1) -> float:
        """Seconds until the next daily check-in, spread ±10 % so a fleet does not arrive at once."""
        return interval * (1 + self.rng.uniform(-jitter, jitter))


def _json_or_empty(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        data = json.loads(exc.read().decode())
        return data if isinstance(data, dict) else {}
    except (ValueError, OSError):
        return {}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
