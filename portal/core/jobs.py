"""The transactional outbox: background work that is never lost between the database and the broker.

`enqueue_on_commit(task, *args)` writes a `Job` row in the caller's transaction, so the job exists
exactly when the business change committed, and sends it to Celery once that transaction commits.
If the broker is unreachable then (or the process dies first), the job stays `pending` and the
periodic sweep (`portal.core.tasks.jobs_sweep`, every minute) sends it when the broker is back. The
sweep also sends again what the broker lost (queued long ago, never started), puts back what a
killed worker left `running`, and retries failed jobs with a growing pause until
`JOB_MAX_FAILURES`; after that a job stays `failed` in admin, where staff retry it.

A job's id is its Celery task id. Every task runs through `JobTask` (the app's task class), which
claims the job before running it: a job delivered twice runs once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.celery import app
from portal.core.models import Job, JobState

logger = logging.getLogger(__name__)

RUN = "run"
SKIP = "skip"
UNTRACKED = "untracked"


class _BrokerOutage:
    """Log a broker outage once when it starts and once when it ends, not once per job; and while it
    lasts, let requests leave their jobs to the sweep instead of each waiting for a failed send."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: Any = None
        self.last_failure: Any = None

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self.last_failure = timezone.now()
            if self.since is None:
                self.since = self.last_failure
                logger.warning("broker unreachable, jobs wait in the outbox: %s", exc)

    def recently_failed(self) -> bool:
        last = self.last_failure
        return last is not None and timezone.now() - last < timedelta(
            seconds=settings.JOB_RELAY_PAUSE_SECONDS
        )

    def ok(self) -> None:
        self.last_failure = None
        if self.since is None:
            return
        with self._lock:
            if self.since is not None:
                logger.warning("broker reachable again (down since %s)", self.since.isoformat())
                self.since = None


broker_outage = _BrokerOutage()


def enqueue_on_commit(task: str, *args: Any, countdown: int | None = None, **kwargs: Any) -> Job:
    """Run the task named `task` ("billing.tasks.invoice_send") with these JSON-serializable arguments
    once the current transaction commits; never lost if the broker is down then. `countdown` delays it
    (seconds). By name, so that a service never imports its app's tasks (which import the services):
    the worker resolves the name (tests/test_architecture.py checks every name in the code exists)."""
    if not isinstance(task, str):
        raise TypeError("enqueue_on_commit() takes the task's name, e.g. 'billing.tasks.invoice_send'")
    run_after = timezone.now() + timedelta(seconds=countdown) if countdown else timezone.now()
    job = Job.objects.create(task=task, args=list(args), kwargs=kwargs, run_after=run_after)
    if not countdown:
        transaction.on_commit(lambda: relay([job.pk], pause_on_outage=True))
    return job


def relay(job_ids: Iterable[Any], *, pause_on_outage: bool = False) -> int:
    """Send these pending jobs to Celery; returns how many went. A broker error leaves them pending
    for the sweep and is logged once per outage; it never reaches the caller. With `pause_on_outage`
    (a request's own jobs) nothing is tried for JOB_RELAY_PAUSE_SECONDS after a failure."""
    if pause_on_outage and broker_outage.recently_failed() and not app.conf.task_always_eager:
        return 0
    sent = 0
    jobs = Job.objects.filter(pk__in=list(job_ids), state=JobState.PENDING).order_by("created_at")
    for job in jobs:
        try:
            if app.conf.task_always_eager:  # tests and `CELERY_TASK_ALWAYS_EAGER`: run it here and now
                app.loader.import_default_modules()  # every app's tasks module, as a worker has them
                app.tasks[job.task].apply(args=job.args, kwargs=job.kwargs, task_id=str(job.pk))
            else:
                app.send_task(job.task, args=job.args, kwargs=job.kwargs, task_id=str(job.pk), retry=False)
        except Exception as exc:
            if app.conf.task_always_eager and app.conf.task_eager_propagates:
                raise
            broker_outage.failed(exc)
            return sent
        broker_outage.ok()
        Job.objects.filter(pk=job.pk, state=JobState.PENDING).update(
            state=JobState.SENT, sent_at=timezone.now(), deliveries=F("deliveries") + 1
        )
        sent += 1
    return sent


# --- the task side (called by JobTask) -------------------------------------------------------------------


def claim(job_id: str | None) -> str:
    """Before a task runs: RUN (this delivery owns the job), SKIP (it ran or runs elsewhere: a second
    delivery), or UNTRACKED (not an outbox job, e.g. a periodic task sent by beat)."""
    if not job_id:
        return UNTRACKED
    claimed = Job.objects.filter(pk=job_id, state__in=(JobState.PENDING, JobState.SENT)).update(
        state=JobState.RUNNING, started_at=timezone.now()
    )
    if claimed:
        return RUN
    state = Job.objects.filter(pk=job_id).values_list("state", flat=True).first()
    if state is None:
        return UNTRACKED
    logger.info("job %s is %s already; this delivery is skipped", job_id, state)
    return SKIP


def mark_done(job_id: str) -> None:
    Job.objects.filter(pk=job_id).update(state=JobState.DONE, finished_at=timezone.now(), last_error="")


def mark_retrying(job_id: str, exc: BaseException | None) -> None:
    """The task asked Celery to run it again later (its own retry policy): the next delivery claims it."""
    Job.objects.filter(pk=job_id).update(state=JobState.SENT, last_error=_describe(exc))


def mark_failed(job_id: str, exc: BaseException) -> None:
    """The task gave up (its own retries exhausted): the sweep tries again after a pause that doubles
    with each failure, up to JOB_MAX_FAILURES."""
    job = Job.objects.filter(pk=job_id).only("failures").first()
    if job is None:
        return
    failures = job.failures + 1
    pause = min(settings.JOB_RETRY_BASE_SECONDS * 2 ** (failures - 1), settings.JOB_RETRY_MAX_SECONDS)
    now = timezone.now()
    Job.objects.filter(pk=job_id).update(
        state=JobState.FAILED,
        failures=failures,
        finished_at=now,
        run_after=now + timedelta(seconds=pause),
        last_error=_describe(exc),
    )
    log = logger.error if failures >= settings.JOB_MAX_FAILURES else logger.warning
    log("job %s failed (%d of %d): %s", job_id, failures, settings.JOB_MAX_FAILURES, _describe(exc))


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000] if exc is not None else ""


# --- the sweep --------------------------------------------------------------------------------------------


def sweep(*, now: Any = None, batch: int = 500) -> dict[str, int]:
    """Put back what was lost on the way and send what waits. Safe to run anywhere, any time, twice."""
    now = now or timezone.now()
    running_timeout = now - timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS)
    queued_timeout = now - timedelta(seconds=settings.JOB_QUEUED_TIMEOUT_SECONDS)
    counts = {
        # a worker killed mid-task (its broker message may be gone too)
        "stalled": Job.objects.filter(state=JobState.RUNNING, started_at__lt=running_timeout).update(
            state=JobState.PENDING
        ),
        # queued long ago and never started: the broker lost it (Redis restarted without persistence)
        "lost": Job.objects.filter(state=JobState.SENT, sent_at__lt=queued_timeout).update(
            state=JobState.PENDING
        ),
        "retried": Job.objects.filter(
            state=JobState.FAILED, failures__lt=settings.JOB_MAX_FAILURES, run_after__lte=now
        ).update(state=JobState.PENDING),
    }
    # Jobs younger than a few seconds are being relayed by the request that made them.
    settle = now - timedelta(seconds=settings.JOB_RELAY_GRACE_SECONDS)
    due = list(
        Job.objects.filter(state=JobState.PENDING, run_after__lte=now)
        .filter(
            Q(created_at__lt=settle)
            | Q(deliveries__gt=0)
            | Q(failures__gt=0)
            | Q(run_after__gt=F("created_at"))
        )
        .order_by("run_after")
        .values_list("pk", flat=True)[:batch]
    )
    counts["sent"] = relay(due) if due else 0
    counts["pruned"] = Job.objects.filter(
        state=JobState.DONE, finished_at__lt=now - timedelta(days=settings.JOB_RETENTION_DAYS)
    ).delete()[0]
    return counts
