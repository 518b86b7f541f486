"""Database outages (portal.core.outage): every API call answers 503 database_unavailable with Retry-After,
pages answer a translated 503 page, nothing answers 500, the outage is logged once, and the app
recovers by itself when the database answers again.

The outage here is real as far as the driver goes: the test points the connection settings at a
loopback port where nothing listens, so psycopg fails to connect exactly as with a stopped server.
tests/fault/ crashes a real PostgreSQL cluster under load through gunicorn."""

from __future__ import annotations

import json
import logging
import re
import socket
import sqlite3
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from django.test import Client

from licenses.models import UsageReport
from portal.core import outage
from tests.conftest import bearer, requires_postgres
from tests.factories import UserFactory
from tests.licenses.factories import activate, active_contract
from tests.portal.portal_helpers import fast_keys  # noqa: F401

CHECKIN = "/api/v1/platform/checkin"


def _wrapped(django_error: type[Exception], cause: BaseException) -> Exception:
    """A Django database error as Django raises it: the driver's error as its __cause__."""
    try:
        raise django_error(str(cause)) from cause
    except django_error as exc:
        return exc


def _with_state(message: str, sqlstate: str) -> psycopg.Error:
    error = psycopg.OperationalError(message)
    error.sqlstate = sqlstate  # type: ignore[misc]
    return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (_wrapped(OperationalError, psycopg.OperationalError("connection failed: Connection refused")), True),
        (_wrapped(OperationalError, psycopg.OperationalError("server closed the connection")), True),
        (_wrapped(OperationalError, _with_state("terminating connection", "57P01")), True),
        (_wrapped(OperationalError, _with_state("the database system is starting up", "57P03")), True),
        (_wrapped(OperationalError, _with_state("too many clients already", "53300")), True),
        (_wrapped(OperationalError, _with_state("connection failure", "08006")), True),
        (_wrapped(InterfaceError, psycopg.InterfaceError("connection already closed")), True),
        (_wrapped(OperationalError, sqlite3.OperationalError("database is locked")), True),
        (_wrapped(OperationalError, _with_state("deadlock detected", "40P01")), False),
        (
            _wrapped(OperationalError, _with_state("canceling statement due to statement timeout", "57014")),
            False,
        ),
        (_wrapped(OperationalError, sqlite3.OperationalError("no such table: licenses_license")), False),
        (_wrapped(IntegrityError, psycopg.IntegrityError("duplicate key")), False),
        (RuntimeError("database on fire"), False),
    ],
)
def test_what_counts_as_the_database_being_unavailable(error, unavailable):
    assert outage.database_unavailable(error) is unavailable


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture
def database(transactional_db: Any) -> Any:
    """`database.down()` makes every new connection fail as with a stopped server; `database.up()`
    brings it back. The connection settings are shared by every thread's connection."""

    class Switch:
        settings = connection.settings_dict
        original = (settings["HOST"], settings["PORT"])

        def down(self) -> None:
            connection.close()
            self.settings["HOST"], self.settings["PORT"] = "127.0.0.1", str(_dead_port())

        def up(self) -> None:
            self.settings["HOST"], self.settings["PORT"] = self.original

    switch = Switch()
    yield switch
    switch.up()
    connection.close()
    outage.DATABASE.recovered()


def _records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= level]


@requires_postgres
def test_the_api_answers_503_logs_once_and_recovers(database, write_token, caplog):
    client = Client(raise_request_exception=False)
    headers = {**bearer(write_token), "accept-language": "en"}
    assert client.get("/api/v1/organizations", headers=headers).status_code == 200
    database.down()
    with caplog.at_level(logging.INFO):
        answers = [
            client.get("/api/v1/organizations", headers=headers),
            client.post(
                "/api/v1/organizations",
                data=json.dumps({"name": "ACME", "industry": "retail", "country": "CN"}),
                content_type="application/json",
                headers=headers,
            ),
            client.get("/api/v1/contracts", headers=headers),
        ]
        for response in answers:
            assert response.status_code == 503
            assert response["Retry-After"] == "5"
            assert response.json() == {
                "detail": "The service is briefly unavailable (its database cannot be reached). Try again shortly.",
                "code": "database_unavailable",
            }
        health = client.get("/api/v1/health")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"

        errors = _records(caplog, logging.WARNING)
        assert [(r.name, r.getMessage().split(":")[0]) for r in errors] == [
            ("portal.core.outage", "database unavailable")
        ]
        assert "Connection refused" in errors[0].getMessage()
        assert not [r for r in caplog.records if r.exc_info]  # no traceback at all

        database.up()
        assert client.get("/api/v1/organizations", headers=headers).status_code == 200
    recovered = [r for r in caplog.records if r.name == "portal.core.outage" and r.levelno == logging.WARNING]
    assert len(recovered) == 1
    assert "database available again" in recovered[0].getMessage()
    assert "(4 failed requests" in recovered[0].getMessage()  # the three calls and the health check
    assert not outage.DATABASE.ongoing


@requires_postgres
def test_a_check_in_answers_503_in_the_callers_language(database):
    body = {"license": activate(active_contract()).license.token, "machine_id": "machine-A"}
    client = Client(raise_request_exception=False)
    assert client.post(CHECKIN, data=body, content_type="application/json").status_code == 200
    database.down()
    response = client.post(
        CHECKIN, data=body, content_type="application/json", headers={"accept-language": "zh-hans"}
    )
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert response.json()["detail"] == "服务暂时不可用（无法连接数据库），请稍后重试。"
    database.up()
    assert client.post(CHECKIN, data=body, content_type="application/json").status_code == 200
    assert UsageReport.objects.count() == 2


@requires_postgres
@pytest.mark.parametrize(("path", "staff"), [("/", False), ("/contracts/", False), ("/admin/", True)])
def test_pages_answer_a_translated_503_page(database, path, staff, caplog):
    user = UserFactory(is_staff=staff, is_superuser=staff)
    client = Client(raise_request_exception=False)
    client.force_login(user)  # the session is read from the database on the next request
    database.down()
    with caplog.at_level(logging.INFO):
        response = client.get(path, headers={"accept-language": "zh-hans"})
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "暂时无法访问" in page and 'lang="zh-hans"' in page
    # Its one inline style carries the request's nonce, which the policy sent allows.
    nonce = re.search(r'<style nonce="([^"]+)">', page)
    assert nonce and f"'nonce-{nonce.group(1)}'" in response["Content-Security-Policy"]
    english = client.get(path, headers={"accept-language": "en"})
    assert english.status_code == 503 and "Briefly unavailable" in english.content.decode()
    assert not [r for r in caplog.records if r.name == "django.request"]


@requires_postgres
def test_an_api_call_without_the_view_reaching_the_database_is_503_too(database, caplog):
    """A failure in the middleware (the session of a logged-in browser calling the API) never
    reaches ninja: handler500 answers it, as JSON because the path is the API's."""
    user = UserFactory()
    client = Client(raise_request_exception=False)
    client.force_login(user)
    database.down()
    response = client.get("/api/v1/organizations")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


def test_other_database_errors_stay_logged_500s(monkeypatch, db, write_token, caplog):
    def deadlock(*args: Any, **kwargs: Any) -> Any:
        raise _wrapped(OperationalError, _with_state("deadlock detected", "40P01"))

    monkeypatch.setattr("portal.core.api_auth.StaffTokenAuth.authenticate", deadlock)
    response = Client(raise_request_exception=False).get("/api/v1/organizations", headers=bearer(write_token))
    assert response.status_code == 500 and response.json()["code"] == "server_error"
    assert "Unhandled error in API" in caplog.text
    assert not [r for r in caplog.records if r.name == "portal.core.outage"]


def test_outage_state_logs_the_first_failure_and_the_recovery(caplog):
    state = outage.Outage("cache", logging.getLogger("tests.outage"))
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        for _ in range(100):
            state.failed(ConnectionError("Connection refused"), consequence="rate limits not counted")
        state.recovered()
        state.recovered()
        state.failed(ConnectionError("again"))
    messages = [r.getMessage() for r in caplog.records]
    assert (
        messages[0]
        == "cache unavailable: Connection refused; rate limits not counted (logged once until it answers again)"
    )
    assert messages[1].startswith("cache available again after") and "(100 failed requests" in messages[1]
    assert messages[2].startswith("cache unavailable: again")
    assert len(messages) == 3
