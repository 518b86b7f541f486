"""The reference client against the real running API (live_server)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from licenses import selectors
from licenses.client import (
    LicenseClient,
    LicenseInvalid,
    ServerRefused,
    machine_fingerprint,
    verify_token,
    write_atomic,
)
from licenses.models import License
from licenses.services import activation_code_create, license_revoke, signing_key_for_issuing
from tests.licenses.factories import active_contract

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """The JWKS file a platform release bundles."""
    signing_key_for_issuing()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(selectors.jwks()))
    return path


def _client(live_server, tmp_path: Path, bundle: Path, **kwargs) -> LicenseClient:
    machine_file = tmp_path / "machine-id"
    machine_file.write_text("0123456789abcdef0123456789abcdef\n")
    return LicenseClient(
        live_server.url,
        state_dir=tmp_path / "state",
        jwks_path=bundle,
        machine_id_path=machine_file,
        timeout=5,
        sleep=kwargs.pop("sleep", lambda s: None),
        **kwargs,
    )


def test_activate_checkin_and_store_atomically(live_server, tmp_path, bundle):
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    client = _client(live_server, tmp_path, bundle)
    claims = client.activate(plain, hostname="edge-1", platform_version="3.2.0")
    assert claims["edition"] == "enterprise"
    stored = client.license_path.read_text()
    assert not stored.endswith("\n") and stored.count(".") == 2
    assert client.current()["jti"] == claims["jti"]

    outcome = client.checkin_with_retry(device_count=12)
    assert outcome.status == "valid" and outcome.claims["jti"] == claims["jti"]

    # After renew_after the server hands out a fresh token; the client verifies and stores it.
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        outcome = client.checkin_with_retry(device_count=15)
        assert outcome.status == "valid" and outcome.claims["jti"] != claims["jti"]
        assert client.current()["jti"] == outcome.claims["jti"]


def test_unreachable_server_keeps_the_cached_token_until_exp(live_server, tmp_path, bundle):
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    client = _client(live_server, tmp_path, bundle)
    claims = client.activate(plain)
    delays: list[float] = []
    offline = LicenseClient(
        "http://127.0.0.1:9",  # nothing listens on the discard port
        state_dir=tmp_path / "state",
        jwks_path=bundle,
        machine_id=client.machine_id,
        timeout=1,
        sleep=delays.append,
    )
    outcome = offline.checkin_with_retry(attempts=4, base_delay=1, max_delay=10)
    assert outcome.status == "offline" and outcome.claims["jti"] == claims["jti"]
    assert len(delays) == 3 and all(0 <= d <= 10 for d in delays)
    after_exp = dt.datetime.fromtimestamp(claims["exp"] + 60, tz=dt.UTC)
    with time_machine.travel(after_exp), pytest.raises(LicenseInvalid):
        offline.checkin_with_retry(attempts=1)


def test_revoked_license_is_moved_aside(live_server, tmp_path, bundle):
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    client = _client(live_server, tmp_path, bundle)
    claims = client.activate(plain)
    license_revoke(actor=None, license=License.objects.get(pk=int(claims["jti"])), reason="test")
    with pytest.raises(ServerRefused) as info:
        client.checkin()
    assert info.value.code == "license_revoked" and info.value.status == 403
    assert client.current() is None


def test_tokens_from_keys_not_in_the_bundle_are_not_stored(live_server, tmp_path, bundle):
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    bundle.write_text(json.dumps({"keys": []}))  # a release that pins no key of this server
    client = _client(live_server, tmp_path, bundle)
    with pytest.raises(LicenseInvalid):
        client.activate(plain)
    assert client.token() is None


def test_fingerprint_is_stable_and_bound_to_the_host(tmp_path):
    host_a = tmp_path / "a"
    host_a.write_text("aaaa")
    host_b = tmp_path / "b"
    host_b.write_text("bbbb")
    first = machine_fingerprint(tmp_path / "state", host_a)
    assert machine_fingerprint(tmp_path / "state", host_a) == first
    assert machine_fingerprint(tmp_path / "state", host_b) != first  # state copied to another host
    assert (
        machine_fingerprint(tmp_path / "state", tmp_path / "missing")
        == (tmp_path / "state" / "install-id").read_text()
    )


def test_write_atomic_and_offline_verification(tmp_path, db):
    target = tmp_path / "license.key"
    write_atomic(target, "abc")
    write_atomic(target, "def")
    assert target.read_text() == "def" and not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(LicenseInvalid):
        verify_token("not-a-token", {}, "m")


def test_daily_checkin_is_spread_with_jitter(tmp_path, db):
    signing_key_for_issuing()
    bundle = tmp_path / "jwks.json"
    bundle.write_text(json.dumps(selectors.jwks()))
    import random

    client = LicenseClient(
        "http://127.0.0.1:9", state_dir=tmp_path / "s", jwks_path=bundle, machine_id="m", rng=random.Random(7)
    )
    delays = [client.next_checkin_delay() for _ in range(200)]
    assert all(0.9 * 86400 <= d <= 1.1 * 86400 for d in delays)
    assert max(delays) - min(delays) > 3600  # actually spread, not a fixed time
    with pytest.raises(ValueError):
        LicenseClient("file:///etc/passwd", state_dir=tmp_path / "s", jwks_path=bundle, machine_id="m")


class _Flaky:
    """A reverse proxy on loopback in front of the live server: it answers the scripted failures
    (status, Retry-After) first, then forwards every request to the real API."""

    def __init__(self, upstream: str, script: list[tuple[int, str | None]]) -> None:
        import http.server
        import threading
        import urllib.request

        self.script = list(script)
        self.seen: list[int] = []
        flaky = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if flaky.script:
                    status, retry_after = flaky.script.pop(0)
                    payload = json.dumps({"detail": "scripted", "code": "database_unavailable"}).encode()
                    self.send_response(status)
                    if retry_after is not None:
                        self.send_header("Retry-After", retry_after)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    flaky.seen.append(status)
                    return
                request = urllib.request.Request(
                    upstream + self.path,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(request, timeout=5) as answer:
                    data = answer.read()
                    self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                flaky.seen.append(200)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_backs_off_on_503_and_429_at_least_as_long_as_retry_after(live_server, tmp_path, bundle):
    import random

    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    client = _client(live_server, tmp_path, bundle)
    claims = client.activate(plain)
    flaky = _Flaky(live_server.url, [(503, "5"), (429, "17"), (503, None), (502, "0")])
    delays: list[float] = []
    try:
        through = LicenseClient(
            flaky.url,
            state_dir=client.state_dir,
            jwks_path=bundle,
            machine_id=client.machine_id,
            timeout=5,
            sleep=delays.append,
            rng=random.Random(3),
        )
        outcome = through.checkin_with_retry(attempts=6, base_delay=2, max_delay=60)
    finally:
        flaky.close()
    assert flaky.seen == [503, 429, 503, 502, 200]
    assert outcome.status == "valid" and outcome.claims["jti"] == claims["jti"]
    assert len(delays) == 4
    assert 5 <= delays[0] <= 7.5  # Retry-After 5, spread up to half as long again
    assert 17 <= delays[1] <= 25.5
    assert 0 <= delays[2] <= 8  # no Retry-After: backoff with full jitter (2 * 2**2)
    assert 0 <= delays[3] <= 16


def test_retry_delays_are_jittered_and_never_before_retry_after(tmp_path, db):
    import random

    signing_key_for_issuing()
    bundle = tmp_path / "jwks.json"
    bundle.write_text(json.dumps(selectors.jwks()))
    client = LicenseClient(
        "http://127.0.0.1:9",
        state_dir=tmp_path / "s",
        jwks_path=bundle,
        machine_id="m",
        rng=random.Random(11),
    )
    told = [client.retry_delay(0, 30.0, max_delay=600) for _ in range(500)]
    assert min(told) >= 30 and max(told) <= 45
    assert max(told) - min(told) > 10  # a fleet told "30 s" comes back spread over 15 s, not at once
    assert client.retry_delay(3, 3600.0, max_delay=600) is None  # come back much later: give up this round
    backoff = [client.retry_delay(4, None, base_delay=2, max_delay=600) for _ in range(500)]
    assert min(backoff) >= 0 and max(backoff) <= 32 and max(backoff) > 16


def test_a_long_retry_after_ends_the_round_on_the_cached_token(live_server, tmp_path, bundle):
    contract = active_contract()
    _code, plain = activation_code_create(actor=None, contract=contract)
    client = _client(live_server, tmp_path, bundle)
    claims = client.activate(plain)
    flaky = _Flaky(live_server.url, [(429, "3600")])
    delays: list[float] = []
    try:
        through = LicenseClient(
            flaky.url,
            state_dir=client.state_dir,
            jwks_path=bundle,
            machine_id=client.machine_id,
            sleep=delays.append,
        )
        outcome = through.checkin_with_retry(attempts=5, max_delay=600)
    finally:
        flaky.close()
    assert flaky.seen == [429] and delays == []
    assert outcome.status == "offline" and outcome.claims["jti"] == claims["jti"]


def test_retry_after_as_an_http_date():
    import email.utils
    import time

    from licenses.client import retry_after_seconds

    assert (
        retry_after_seconds("7") == 7.0
        and retry_after_seconds(None) is None
        and retry_after_seconds("soon") is None
    )
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute) <= 61
    assert retry_after_seconds(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0
