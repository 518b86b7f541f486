"""The check-in fast route (licenses.fastpath): it must answer exactly as the ninja route does, hand
everything it does not take to that route untouched, and count each request's rate limit once."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

import licenses.fastpath
from contracts.entitlements import end_of_term
from licenses import tokens
from licenses.models import UsageReport
from licenses.services import license_revoke
from tests.licenses.factories import activate, active_contract

pytestmark = pytest.mark.django_db

CHECKIN = "/api/v1/platform/checkin"
# Headers the middlewares behind the fast route add to every page (they concern HTML documents).
_PAGE_ONLY_HEADERS = {"X-Frame-Options"}


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Records what the fast route answered for each request: a status code, or None (handed on)."""
    answered: list[int | None] = []
    real = licenses.fastpath.answer_checkin

    def spy(request: Any) -> Any:
        response = real(request)
        answered.append(None if response is None else response.status_code)
        return response

    monkeypatch.setattr(licenses.fastpath, "answer_checkin", spy)
    return answered


def full_stack_client() -> Client:
    """A client whose handler is built without the fast route (middleware loads on first use)."""
    with override_settings(LICENSE_CHECKIN_FAST_PATH=False):
        client = Client()
        client.get("/api/v1/platform/ping")
    return client


def checkin(client: Client, body: Any, **headers: str) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(CHECKIN, data=data, content_type="application/json", headers=headers)


def comparable(response: Any) -> tuple[int, dict, dict]:
    body = response.json()
    body.pop("server_time", None)
    headers = {k: v for k, v in response.headers.items() if k not in _PAGE_ONLY_HEADERS}
    return response.status_code, body, headers


def _valid() -> dict:
    return {"license": activate(active_contract()).license.token, "machine_id": "machine-A"}


def _over_limit() -> dict:
    token = activate(active_contract(edition_code="standard", device_limit=10)).license.token
    return {"license": token, "machine_id": "machine-A", "device_count": 11, "nonce": "n-1"}


def _expiring_soon() -> dict:
    token = activate(active_contract(days_left=5)).license.token
    return {"license": token, "machine_id": "machine-A", "platform_version": "3.4.1"}


def _revoked() -> dict:
    answer = activate(active_contract())
    license_revoke(actor=None, license=answer.license, reason="fraud")
    return {"license": answer.license.token, "machine_id": "machine-A"}


def _wrong_machine() -> dict:
    return {"license": activate(active_contract()).license.token, "machine_id": "machine-B"}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("scenario", "status"),
    [(_valid, 200), (_over_limit, 200), (_expiring_soon, 200), (_revoked, 403), (_wrong_machine, 403)],
)
def test_both_routes_give_the_same_answer(routes, scenario, status, language):
    body = scenario()
    fast = checkin(Client(), body, accept_language=language)
    full = checkin(full_stack_client(), body, accept_language=language)
    assert routes == [status]  # the fast route answered the first and never saw the second
    assert comparable(fast) == comparable(full)
    assert fast.status_code == status
    assert fast["Content-Language"] == language and "Accept-Language" in fast["Vary"]


def test_grace_answers_alike(routes):
    contract = active_contract(days_left=3, grace_days=14)
    body = {"license": activate(contract).license.token, "machine_id": "machine-A"}
    import time_machine

    with time_machine.travel(end_of_term(contract.end_date) + dt.timedelta(days=1)):
        fast, full = checkin(Client(), body), checkin(full_stack_client(), body)
    assert comparable(fast) == comparable(full)
    assert fast.json()["status"] == "grace" and routes == [200]


def test_renewed_and_recovered_tokens_come_from_the_same_service(routes):
    """The cases the single statement does not take (here: renew_after passed) still get their
    answer from the fast route, through the service's full path."""
    import time_machine

    body = _valid()
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        fresh = checkin(Client(), body).json()
        again = checkin(full_stack_client(), body).json()  # the response "was lost"
    assert fresh["status"] == "valid" and fresh["license"] != body["license"]
    assert again["status"] == "renewed" and again["license"] == fresh["license"]
    assert routes == [200]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("{not json", 400),
        ("[]", 422),
        ('{"license": "x"}', 422),
        ('{"license": "x", "machine_id": "m", "device_count": "7"}', 422),
        ('{"license": "x", "machine_id": "m", "device_count": -1}', 422),
        ("", 422),
    ],
)
def test_bodies_it_refuses_go_to_the_ninja_route_unchanged(routes, raw, status):
    fast = checkin(Client(), raw)
    full = checkin(full_stack_client(), raw)
    assert routes == [None]
    assert fast.status_code == status
    assert comparable(fast) == comparable(full)


def test_oversized_bodies_are_left_to_the_gate(routes, settings):
    settings.LICENSE_PLATFORM_MAX_BODY = 64
    response = checkin(Client(), {"license": "x" * 100, "machine_id": "m"})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert routes == [None]


@override_settings(LICENSE_RATE_LIMIT_ADDRESS="3/m")
def test_each_request_counts_once_against_the_address_limit(routes):
    client, body = Client(), _valid()
    assert checkin(client, "{broken").status_code == 400  # handed on: counted by the ninja gate
    assert checkin(client, body).status_code == 200  # fast route: counted there
    assert checkin(client, body).status_code == 200
    limited = checkin(client, body)
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert routes == [None, 200, 200, 429]
    assert UsageReport.objects.count() == 2


def test_a_host_not_allowed_is_refused_by_the_full_stack(routes):
    response = Client().post(
        CHECKIN, data=json.dumps(_valid()), content_type="application/json", headers={"host": "evil.example"}
    )
    assert response.status_code == 400
    assert routes == [None]
    assert not UsageReport.objects.exists()


def test_an_unexpected_error_is_a_json_500_and_logged(routes, monkeypatch, caplog):
    from licenses import services

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    body = _valid()
    monkeypatch.setattr(services, "license_checkin", broken)
    response = checkin(Client(raise_request_exception=False), body)
    assert response.status_code == 500 and response.json()["code"] == "server_error"
    assert "database on fire" not in response.content.decode()
    assert "Unhandled error in API POST /api/v1/platform/checkin" in caplog.text
    assert routes == [500]


def test_other_methods_and_paths_are_not_taken(routes):
    client = Client()
    assert client.get(CHECKIN).status_code == 405
    assert client.post(CHECKIN + "/", data="{}", content_type="application/json").status_code == 404
    assert routes == []


def test_under_a_script_prefix(routes):
    body = _valid()
    client = Client(SCRIPT_NAME="/backoffice")
    response = client.post(CHECKIN, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200 and response.json()["license"] == body["license"]
    assert routes == [200]


def test_switched_off(routes, settings):
    settings.LICENSE_CHECKIN_FAST_PATH = False
    client = Client()
    assert checkin(client, _valid()).status_code == 200
    assert routes == []


def test_a_catalog_change_renews_although_the_contract_did_not_move(routes):
    """The single statement is only used while the token states the entitlement the process
    computes now. A change in the edition (here its device limit) leaves the contract's updated_at
    alone; once the memo is recomputed (by another deployment's check-in), every older token must
    still reach the full path and be renewed."""
    from licenses.services import licensing

    contract = active_contract(edition_code="standard")
    tokens_before = {m: activate(contract, machine_id=m).license.token for m in ("machine-A", "machine-B")}
    client = Client()
    for machine, token in tokens_before.items():
        assert checkin(client, {"license": token, "machine_id": machine}).json()["status"] == "valid"
    edition = contract.edition
    edition.device_limit = (edition.device_limit or 0) + 500
    edition.save()
    licensing.entitlement_memo_clear()  # what the memo's five-minute lifetime does in production
    for machine, token in tokens_before.items():
        answer = checkin(client, {"license": token, "machine_id": machine}).json()
        assert answer["status"] == "renewed" and answer["license"] != token, machine
        assert tokens.verify(answer["license"])[0]["device_limit"] == edition.device_limit
    assert routes == [200] * 4


def test_a_connection_lost_after_commit_answers_503_and_never_runs_the_check_in_twice(routes, monkeypatch):
    """The statement commits, then the connection breaks before the answer is read: the check-in
    is stored once and answered 503 (the platform retries); the full path never runs it again."""
    import psycopg
    from django.db import OperationalError

    from licenses.services import platform

    body = _valid()
    client = Client(raise_request_exception=False)
    assert checkin(client, body).status_code == 200  # the full path fills the entitlement memo
    real_cursor = platform._prepared_cursor
    full_path_queries: list[int] = []
    monkeypatch.setattr(platform, "_locked_license_query", lambda: full_path_queries.append(1))

    class LostAfterCommit:
        def __init__(self, cursor: Any) -> None:
            self.cursor = cursor

        def __enter__(self) -> Any:
            self.cursor.__enter__()
            return self

        def __exit__(self, *exc: Any) -> None:
            self.cursor.__exit__(*exc)

        def execute(self, sql: str, params: Any) -> None:
            self.cursor.execute(sql, params)
            try:
                raise psycopg.OperationalError(
                    "consuming input failed: server closed the connection unexpectedly"
                )
            except psycopg.OperationalError as cause:
                raise OperationalError(str(cause)) from cause

    monkeypatch.setattr(
        platform, "_prepared_cursor", lambda connection: LostAfterCommit(real_cursor(connection))
    )
    before = UsageReport.objects.count()
    response = checkin(client, body, accept_language="en")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert UsageReport.objects.count() == before + 1  # stored once, by the statement that "was lost"
    assert full_path_queries == []
    assert routes == [200, 503]
