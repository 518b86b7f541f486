"""The transactional outbox (portal/core/jobs.py): a job exists exactly when its business change
committed, reaches Celery when the broker answers (now or at the sweep), runs once however often it
is delivered, and a failure is retried with a growing pause, then shown to staff."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from celery import shared_task
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from portal.celery import app
from portal.core import jobs
from portal.core.mail import mail_enqueue, message_to_payload, payload_to_message
from portal.core.models import AuditEvent, Job, JobState

pytestmark = pytest.mark.django_db

RUNS: list[str] = []


@shared_task(name="tests.outbox.record")
def record(value: str) -> str:
    RUNS.append(value)
    return value


@shared_task(name="tests.outbox.explode")
def explode() -> None:
    raise RuntimeError("the mail server said no")


@pytest.fixture(autouse=True)
def _reset():
    RUNS.clear()
    yield
    RUNS.clear()


@pytest.fixture
def broker_down():
    """Not eager (as in production) and every send to the broker fails."""
    app.conf.task_always_eager = False
    try:
        with mock.patch.object(app, "send_task", side_effect=OperationalError("Connection refused")) as send:
            yield send
    finally:
        app.conf.task_always_eager = True


def later(seconds: int = 60) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_a_job_exists_exactly_when_its_transaction_committed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                jobs.enqueue_on_commit("tests.outbox.record", "rolled back")
                raise ValueError
        except ValueError:
            pass
        with transaction.atomic():
            job = jobs.enqueue_on_commit("tests.outbox.record", "committed")
    assert list(Job.objects.values_list("args", flat=True)) == [["committed"]]
    assert RUNS == ["committed"]
    job.refresh_from_db()
    assert (job.state, job.started_at is not None, job.finished_at is not None) == (JobState.DONE, True, True)


def test_with_the_broker_down_the_caller_is_unaffected_and_the_sweep_sends_later(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        first = jobs.enqueue_on_commit("tests.outbox.record", "a")
        second = jobs.enqueue_on_commit("tests.outbox.record", "b")
    assert set(Job.objects.values_list("state", flat=True)) == {JobState.PENDING}
    assert sum("broker unreachable" in r.getMessage() for r in caplog.records) == 1  # once per outage

    broker_down.side_effect = None  # the broker is back
    counts = jobs.sweep(now=later())

    assert counts["sent"] == 2
    assert [c.kwargs["task_id"] for c in broker_down.call_args_list[-2:]] == [str(first.pk), str(second.pk)]
    assert set(Job.objects.values_list("state", flat=True)) == {JobState.SENT}
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_the_sweep_leaves_fresh_jobs_to_the_request_that_made_them(broker_down):
    with transaction.atomic():
        jobs.enqueue_on_commit("tests.outbox.record", "fresh")
    broker_down.side_effect = None
    assert jobs.sweep()["sent"] == 0
    assert jobs.sweep(now=later())["sent"] == 1


def test_a_second_delivery_of_a_job_is_skipped(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue_on_commit("tests.outbox.record", "once")
    record.apply(args=["once"], task_id=str(job.pk))  # the broker delivers it again
    assert RUNS == ["once"]
    record.apply(args=["untracked"])  # not an outbox job (e.g. sent by beat): runs as usual
    assert RUNS == ["once", "untracked"]


@override_settings(JOB_RETRY_BASE_SECONDS=60, JOB_MAX_FAILURES=3)
def test_failures_are_retried_with_a_growing_pause_then_kept_for_staff():
    app.conf.task_eager_propagates = False  # as on a worker: the failure is recorded, not raised here
    try:
        job = jobs.enqueue_on_commit("tests.outbox.explode")
        jobs.relay([job.pk])
        pauses = []
        for attempt in range(1, 4):
            job.refresh_from_db()
            assert (job.state, job.failures) == (JobState.FAILED, attempt)
            assert "mail server said no" in job.last_error
            pauses.append(round((job.run_after - job.finished_at).total_seconds()))
            assert jobs.sweep(now=job.run_after - dt.timedelta(seconds=1))["retried"] == 0
            jobs.sweep(now=job.run_after + dt.timedelta(seconds=1))
    finally:
        app.conf.task_eager_propagates = True
    assert pauses == [60, 120, 240]
    job.refresh_from_db()
    assert (job.state, job.failures) == (JobState.FAILED, 3)  # given up: staff see it in admin
    assert jobs.sweep(now=later(3600))["retried"] == 0


def test_staff_retry_a_failed_job_from_admin(client, staff_user):
    job = Job.objects.create(task="tests.outbox.record", args=["again"], state=JobState.FAILED, failures=10)
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    changelist = client.get("/admin/portal/job/?state=failed")
    assert changelist.status_code == 200 and "tests.outbox.record" in changelist.content.decode()

    with override_settings():
        response = client.post(
            "/admin/portal/job/", {"action": "retry", "_selected_action": [str(job.pk)]}, follow=True
        )

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.state, job.failures) in {(JobState.PENDING, 0), (JobState.DONE, 0)}
    assert AuditEvent.objects.filter(action="job.retry").count() == 1


def test_what_a_dead_worker_or_a_restarted_broker_lost_is_sent_again(broker_down):
    broker_down.side_effect = None
    now = timezone.now()
    ago = now - dt.timedelta(hours=2)
    old = {"task": "tests.outbox.record", "created_at": ago, "run_after": ago}
    stalled = Job.objects.create(**old, state=JobState.RUNNING, started_at=ago)
    lost = Job.objects.create(**old, state=JobState.SENT, sent_at=ago)
    recent = Job.objects.create(**old, state=JobState.SENT, sent_at=now)

    counts = jobs.sweep(now=now)

    assert (counts["stalled"], counts["lost"], counts["sent"]) == (1, 1, 2)
    sent_ids = {c.kwargs["task_id"] for c in broker_down.call_args_list}
    assert sent_ids == {str(stalled.pk), str(lost.pk)} and str(recent.pk) not in sent_ids


def test_mail_goes_through_the_outbox_with_its_parts(django_capture_on_commit_callbacks):
    message = EmailMessage(
        "Invoice INV-1", "Body", "billing@vendor.example", ["ap@acme.example"], reply_to=["x@y.z"]
    )
    message.attach("INV-1.pdf", b"%PDF-1.7 fake", "application/pdf")
    payload = message_to_payload(message)
    assert payload_to_message(payload).message().as_bytes().count(b"INV-1.pdf") >= 1

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mail_enqueue(message)
        assert mail.outbox == []  # nothing is sent inside the request's transaction
    (sent,) = mail.outbox
    assert (sent.subject, sent.to, sent.reply_to) == ("Invoice INV-1", ["ap@acme.example"], ["x@y.z"])
    assert sent.attachments[0][0] == "INV-1.pdf" and sent.attachments[0][1] == b"%PDF-1.7 fake"
