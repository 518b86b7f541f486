"""Broker down during portal and API actions (issue 21): a private Redis broker is stopped, staff issue
and send an invoice over the API, an owner invites a colleague and opens a ticket in the portal; every
request answers as usual and nothing is mailed. The broker comes back, a real Celery worker starts,
beat's sweep runs: each mail is sent exactly once, and sending the jobs again changes nothing."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import timedelta

import httpx
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from billing.models import Invoice
from customers.models import Invitation, Role
from portal.celery import app
from portal.core import jobs
from portal.core.models import Job, JobState
from support.models import Ticket
from tests.billing.factories import chinese_organization, draft_invoice
from tests.conftest import bearer, requires_postgres
from tests.factories import ContractFactory, MembershipFactory, UserFactory, edition

pytestmark = [
    requires_postgres,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server (CI has it)"),
]

CSRF = "c" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, stopped and started at will."""

    def __init__(self, tmp_path) -> None:
        self.port = _free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _forget_broker_connections() -> None:
    """Connections and producers pooled for another broker by earlier tests in this process."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.task_always_eager = False
    app.conf.broker_url = redis.url
    _forget_broker_connections()
    try:
        yield redis
    finally:
        redis.stop()
        app.conf.update(saved)
        _forget_broker_connections()


def _portal_client(live_server, user) -> httpx.Client:
    django_client = Client()
    django_client.force_login(user)
    client = httpx.Client(base_url=live_server.url, timeout=30, follow_redirects=False)
    client.cookies.set(
        settings.SESSION_COOKIE_NAME, django_client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    client.cookies.set(settings.CSRF_COOKIE_NAME, CSRF)
    return client


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_actions_answer_while_the_broker_is_down_and_each_mail_goes_once_it_is_back(
    broker, live_server, write_token, staff_user
):
    organization = chinese_organization(billing_email="ap@zhilian.example.cn")
    ContractFactory(organization=organization, edition=edition("standard"))
    owner = UserFactory(email="owner@zhilian.example.cn")
    MembershipFactory(organization=organization, user=owner, role=Role.OWNER)
    invoice = draft_invoice(organization)
    portal = _portal_client(live_server, owner)
    api = httpx.Client(base_url=live_server.url, timeout=30, headers=bearer(write_token))

    broker.stop()
    started = time.monotonic()
    issued = api.post(f"/api/v1/invoices/{invoice.pk}/issue", params={"send": "true"})
    invited = portal.post(
        "/organization/invitations/",
        data={"email": "colleague@zhilian.example.cn", "role": Role.TECHNICAL, "csrfmiddlewaretoken": CSRF},
    )
    ticket = portal.post(
        "/support/new/",
        data={
            "subject": "Gateway offline",
            "body": "The gateway stopped reporting.",
            "category": "question",
            "priority": "P3",
            "csrfmiddlewaretoken": CSRF,
        },
    )
    elapsed = time.monotonic() - started

    assert issued.status_code == 200, issued.text
    assert invited.status_code == 302, invited.text[:500]
    assert ticket.status_code == 302, ticket.text[:500]
    assert elapsed < 15, f"the three requests took {elapsed:.1f} s with the broker down"
    assert Invoice.objects.get(pk=invoice.pk).number
    assert Invitation.objects.filter(email="colleague@zhilian.example.cn").exists()
    assert Ticket.objects.filter(subject="Gateway offline").exists()
    assert set(Job.objects.values_list("state", flat=True)) == {JobState.PENDING}
    assert mail.outbox == []

    broker.start()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        counts = jobs.sweep(now=timezone.now() + timedelta(minutes=1))  # what beat runs every minute
        assert counts["sent"] >= 3
        assert _wait_for(lambda: not Job.objects.exclude(state=JobState.DONE).exists())

        def recipients() -> list[str]:
            return sorted(address for message in mail.outbox for address in message.to)

        assert "ap@zhilian.example.cn" in recipients()  # the invoice
        assert "colleague@zhilian.example.cn" in recipients()  # the invitation
        assert "owner@zhilian.example.cn" in recipients()  # the ticket's acknowledgement
        first = recipients()
        assert len(first) == len(set(first)), first  # each once

        # The broker delivers every job again (e.g. a sweep after a lost acknowledgement): no effect.
        for job in Job.objects.all():
            app.send_task(job.task, args=job.args, kwargs=job.kwargs, task_id=str(job.pk))
        time.sleep(3)
        assert recipients() == first
