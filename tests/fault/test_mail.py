"""The mail server down while customers and staff act (issue 21): a real SMTP server on loopback (aiosmtpd)
is stopped, staff issue and send an invoice over the API, an owner invites a colleague and opens a
ticket in the portal, someone asks for a password reset. Every request answers as usual (no request
sends mail itself); a real Celery worker on a private Redis broker tries each mail, fails, and the
outbox keeps it `failed` with the error and a pause, nothing marked sent. The mail server comes back,
the sweep (what beat runs every minute) retries: every mail is delivered exactly once, and the invoice
is marked sent only then.

Each task's own retries are set to none here so the outbox's retry is what is tested (the tasks'
policies only add tries before the outbox takes over); the retry pause is shortened to a second."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.test import Client
from django.utils import timezone

from billing.models import Invoice
from customers.models import Role
from portal.celery import app
from portal.core import jobs
from portal.core.models import Job, JobState
from tests.billing.factories import chinese_organization, draft_invoice
from tests.conftest import bearer, requires_postgres
from tests.factories import ContractFactory, MembershipFactory, UserFactory, edition
from tests.fault.conftest import FAULT, record_result, wait_until
from tests.support.mailservers import SmtpSink, _Handler, free_port

pytestmark = [*FAULT, requires_postgres, pytest.mark.django_db(transaction=True)]

CSRF = "c" * 32
MAIL_TASKS = (
    "billing.tasks.invoice_send",
    "customers.tasks.invitation_mail",
    "portal.core.tasks.send_email",
    "support.tasks.ticket_notify",
)


class StoppableSmtp:
    """An aiosmtpd server on a fixed loopback port that can be stopped (connections refused) and
    started again on the same port, as a mail relay going down and coming back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sink = SmtpSink(port=self.port, controller=None)
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Handler(self.sink), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def recipients(self) -> Counter[str]:
        return Counter(address for _sender, rcpts in self.sink.envelopes for address in rcpts)


@pytest.fixture
def smtp(settings: Any) -> Iterator[StoppableSmtp]:
    server = StoppableSmtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 3
    settings.JOB_RETRY_BASE_SECONDS = 1
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def worker_on_private_broker(redis_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Celery as in production (not eager) on a private Redis, with a real worker thread."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_server.url(0)
    _forget_broker_connections()
    app.loader.import_default_modules()
    for name in MAIL_TASKS:
        monkeypatch.setattr(app.tasks[name], "max_retries", 0)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        app.conf.update(saved)
        _forget_broker_connections()


def _forget_broker_connections() -> None:
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


def _portal_client(base_url: str, user: Any) -> httpx.Client:
    django_client = Client()
    django_client.force_login(user)
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
    client.cookies.set(
        settings.SESSION_COOKIE_NAME, django_client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    client.cookies.set(settings.CSRF_COOKIE_NAME, CSRF)
    return client


def _unfinished() -> list[tuple[str, str]]:
    return list(Job.objects.exclude(state=JobState.DONE).values_list("task", "state"))


def test_mail_server_down_nothing_is_marked_sent_and_each_mail_goes_once_it_is_back(
    smtp: StoppableSmtp, worker_on_private_broker: Any, live_server: Any, write_token: str
) -> None:
    organization = chinese_organization(billing_email="ap@zhilian.example.cn")
    ContractFactory(organization=organization, edition=edition("standard"))
    owner = UserFactory(email="owner@zhilian.example.cn")
    MembershipFactory(organization=organization, user=owner, role=Role.OWNER)
    invoice = draft_invoice(organization)
    portal = _portal_client(live_server.url, owner)
    api = httpx.Client(base_url=live_server.url, timeout=30, headers=bearer(write_token))
    anonymous = httpx.Client(base_url=live_server.url, timeout=30)
    anonymous.cookies.set(settings.CSRF_COOKIE_NAME, CSRF)

    # The mail server is down (never started): connections to its port are refused.
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
    reset = anonymous.post(
        "/accounts/password/reset/",
        data={"email": "owner@zhilian.example.cn", "csrfmiddlewaretoken": CSRF},
    )
    assert issued.status_code == 200, issued.text
    assert invited.status_code == 302, invited.text[:500]
    assert ticket.status_code == 302, ticket.text[:500]
    assert reset.status_code == 302, reset.text[:500]

    # The worker tries every mail, fails on the refused connection and leaves it to the outbox.
    assert wait_until(
        lambda: bool(_unfinished()) and all(state == JobState.FAILED for _task, state in _unfinished()),
        timeout=60,
    ), _unfinished()
    failed = Job.objects.filter(state=JobState.FAILED)
    tasks_failed = sorted(set(failed.values_list("task", flat=True)))
    assert {"billing.tasks.invoice_send", "customers.tasks.invitation_mail"} <= set(tasks_failed), (
        tasks_failed
    )
    assert all(
        "refused" in error.lower() or "errno" in error.lower()
        for error in failed.values_list("last_error", flat=True)
    )
    assert Invoice.objects.get(pk=invoice.pk).sent_at is None  # nothing marked sent that was not sent
    assert smtp.recipients() == Counter()

    # A sweep while it is still down: tried again, still failed, still not marked sent.
    jobs.sweep(now=timezone.now() + timedelta(minutes=1))
    assert wait_until(lambda: all(s == JobState.FAILED for _t, s in _unfinished()), timeout=30)
    assert Invoice.objects.get(pk=invoice.pk).sent_at is None

    smtp.start()
    deadline = time.monotonic() + 60
    while _unfinished() and time.monotonic() < deadline:
        jobs.sweep(now=timezone.now() + timedelta(hours=1))  # past any retry pause
        wait_until(lambda: not _unfinished(), timeout=3)
    assert not _unfinished(), _unfinished()

    delivered = smtp.recipients()
    expected = {
        "ap@zhilian.example.cn": 1,  # the invoice
        "colleague@zhilian.example.cn": 1,  # the invitation
        "owner@zhilian.example.cn": 2,  # the ticket's acknowledgement and the password reset
    }
    assert dict(delivered) == expected, delivered
    assert Invoice.objects.get(pk=invoice.pk).sent_at is not None
    record_result(
        test="mail server down during invoice, invitation, ticket and password-reset mails",
        jobs=Job.objects.count(),
        failed_attempts_while_down=sum(Job.objects.values_list("failures", flat=True)),
        mails_delivered=sum(delivered.values()),
        lost_mails=sum(max(0, n - delivered[a]) for a, n in expected.items()),
        duplicate_mails=sum(max(0, n - expected.get(a, 0)) for a, n in delivered.items()),
    )
