import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_health_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] == "ok"


def test_health_reports_an_unreachable_broker(client, settings):
    from portal.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/api/v1/health")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json() | {"time": None, "calendars": None} == {
        "status": "degraded",
        "database": "ok",
        "broker": "unreachable",
        "scheduler_last_seen": None,
        "calendars": None,
        "time": None,
    }


def test_health_reports_an_unreachable_database(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, *args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response.json()["broker"] == "ok"
