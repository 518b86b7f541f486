"""Celery tasks of downloads: housekeeping of the per-download watermarked copies."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from editions import services


@shared_task(name="editions.tasks.purge_watermarked_copies", ignore_result=True)
def purge_watermarked_copies() -> int:
    """Idempotent: deletes copies older than DOWNLOADS_WATERMARK_RETENTION_HOURS (their checksums and
    download IDs stay on the download records, which is what tracing needs)."""
    return services.downloads_purge_watermarked(
        older_than=timedelta(hours=settings.DOWNLOADS_WATERMARK_RETENTION_HOURS)
    )
