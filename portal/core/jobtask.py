"""The Celery app's task class: every task runs through the outbox's bookkeeping (portal.core.jobs).

Kept apart from portal.core.jobs, which imports models: Celery resolves this class while task modules
are imported, before the app registry is necessarily ready."""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.exceptions import Retry


class JobTask(Task[Any, Any]):
    """Claims the outbox job a delivery carries before running it (a second delivery of a job that ran
    is skipped), and records how it ended: done, to be retried by its own policy, or failed."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Imported when a task runs: portal.core.jobs imports models (see the module docstring).
        from portal.core import jobs

        job_id = self.request.id
        outcome = jobs.claim(job_id)
        if outcome == jobs.SKIP:
            return None
        if outcome == jobs.UNTRACKED or job_id is None:  # (no id: never an outbox job)
            return super().__call__(*args, **kwargs)
        try:
            result = super().__call__(*args, **kwargs)
        except Retry as retry:
            jobs.mark_retrying(job_id, retry.exc)
            raise
        except Exception as exc:
            jobs.mark_failed(job_id, exc)
            raise
        jobs.mark_done(job_id)
        return result
