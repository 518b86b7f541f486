"""Celery tasks of the contracts app: take ids, re-fetch, call the lifecycle; idempotent."""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import shared_task
from django.conf import settings

from contracts import lifecycle, reminders

logger = logging.getLogger(__name__)


@shared_task(name="contracts.tasks.daily_lifecycle", ignore_result=True)
def daily_lifecycle() -> dict[str, Any]:
    """Beat, daily: end terms, licenses follow, auto-renewal drafts, renewal reminders."""
    return lifecycle.lifecycle_run().as_dict()


@shared_task(bind=True, name="contracts.tasks.send_contract_reminders", ignore_result=True, max_retries=None)
def send_contract_reminders(self: Any, reminder_ids: list[int]) -> dict[str, int]:
    """Send these reminders (each at most once, see contracts.reminders). When the mail server fails,
    the failed ones are retried with exponential backoff and stay pending (never marked sent); after
    CONTRACT_REMINDER_MAX_RETRIES they are marked failed for staff to see."""
    result = reminders.reminders_send(reminder_ids=list(reminder_ids))
    if result.failed:
        if self.request.retries >= settings.CONTRACT_REMINDER_MAX_RETRIES:
            reminders.reminders_give_up(reminder_ids=result.failed)
            logger.error(
                "contract reminders %s failed for good after %d retries", result.failed, self.request.retries
            )
        else:
            countdown = reminders.retry_delay(self.request.retries + 1)
            countdown += random.randint(0, max(countdown // 10, 1))  # noqa: S311 - jitter, not security
            raise self.retry(args=[result.failed], countdown=countdown)
    return {"sent": len(result.sent), "skipped": len(result.skipped), "failed": len(result.failed)}
