"""Export jobs: large finance exports written by a worker, with progress, downloadable when ready."""

from __future__ import annotations

import logging
import tempfile
from datetime import date
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation

from billing.exports import WRITERS
from billing.models import ExportFormat, ExportJob, ExportStatus
from billing.selectors import export_queryset
from portal.core.actors import Actor, actor_user
from portal.core.services import audit, enqueue_on_commit

logger = logging.getLogger(__name__)


def _jsonable(filters: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in filters.items():
        if value in (None, "", []):
            continue
        out[key] = value.isoformat() if isinstance(value, date) else value
    return out


@transaction.atomic
def export_job_create(*, actor: Actor, format: str, filters: dict[str, Any]) -> ExportJob:
    job = ExportJob.objects.create(
        format=ExportFormat(format),
        filters={**_jsonable(filters), "language": translation.get_language() or "zh-hans"},
        created_by=actor_user(actor),
    )
    audit(actor=actor, action="invoice.export", target=job, data={"format": format, "filters": job.filters})
    enqueue_on_commit("billing.tasks.export_run", job.pk)
    return job


def export_job_run(*, job_id: int) -> ExportJob:
    """Write the export file; safe to call again (a finished job is left alone)."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ExportStatus.DONE:
            return job
        filters = {k: v for k, v in job.filters.items() if k != "language"}
        qs = export_queryset(filters=filters)
        job.status, job.started_at, job.done, job.error = ExportStatus.RUNNING, timezone.now(), 0, ""
        job.total = qs.count()
        job.save(update_fields=["status", "started_at", "done", "error", "total"])

    def progress(done: int) -> None:
        ExportJob.objects.filter(pk=job_id).update(done=done)

    try:
        with tempfile.TemporaryFile() as tmp, translation.override(job.filters.get("language") or "zh-hans"):
            WRITERS[job.format](qs, tmp, progress)
            tmp.seek(0)
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            job.file.save(f"invoices-{stamp}-{job.pk}.{job.format}", File(tmp), save=False)
        job.status, job.finished_at, job.done = ExportStatus.DONE, timezone.now(), job.total
        job.save(update_fields=["file", "status", "finished_at", "done"])
    except Exception as exc:
        logger.exception("export job %s failed", job_id)
        job.status, job.error, job.finished_at = ExportStatus.FAILED, repr(exc)[:2000], timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
    return job
