import os

from celery import Celery

from portal.schedule import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Every task runs through the outbox's bookkeeping (portal.core.jobtask.JobTask).
app = Celery("portal", task_cls="portal.core.jobtask:JobTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_beat_schedule(sender: Celery, **kwargs: object) -> None:
    sender.conf.beat_schedule = BEAT_SCHEDULE
