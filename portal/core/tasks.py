from celery import shared_task
from django.utils import timezone

from portal.core.models import SchedulerHeartbeat


@shared_task(name="portal.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    SchedulerHeartbeat.objects.update_or_create(name="beat", defaults={"last_seen_at": timezone.now()})
