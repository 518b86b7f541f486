"""The one place where periodic jobs are scheduled (times in Asia/Shanghai).

django-celery-beat copies these entries into its tables at beat start, so staff can see and pause
them in admin; the code here stays the source of truth.
"""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "portal-heartbeat": {
        "task": "portal.tasks.heartbeat",
        "schedule": crontab(minute="*"),
    },
    "support-sla-check": {"task": "support.tasks.sla_check", "schedule": crontab(minute="*")},
    "support-close-resolved": {"task": "support.tasks.close_resolved_tickets", "schedule": crontab(minute=17)},
}
