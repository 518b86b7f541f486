import smtplib
from typing import Any

from celery import shared_task
from django.utils import timezone

from portal.core import jobs
from portal.core.mail import payload_to_message
from portal.core.models import SchedulerHeartbeat


@shared_task(name="portal.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    SchedulerHeartbeat.objects.update_or_create(name="beat", defaults={"last_seen_at": timezone.now()})


@shared_task(name="portal.core.tasks.jobs_sweep", ignore_result=True)
def jobs_sweep() -> dict[str, int]:
    return jobs.sweep()


@shared_task(
    name="portal.core.tasks.send_email",
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=5,
    ignore_result=True,
)
def send_email(message: dict[str, Any]) -> int:
    """One message from the outbox (portal.core.mail.mail_enqueue); the job's claim makes it one send."""
    return payload_to_message(message).send()
