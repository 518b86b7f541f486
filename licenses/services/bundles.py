"""Support bundles (issue 18): diagnostic archives a deployment or its customer uploads.

An upload is identified by its first bytes (gzip holding a tar, or zip), never by its name or declared
type; it is stored under a random name in the private default storage (nothing serves MEDIA_ROOT), is
never opened, unpacked or executed here, and is deleted after FLEET_SUPPORT_BUNDLE_RETENTION_DAYS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from licenses import tokens
from licenses.errors import LicenseError, license_error
from licenses.events import license_event_record
from licenses.models import ArchiveType, Deployment, License, LicenseEventKind, LicenseState, SupportBundle
from portal.core.actors import actor_user
from portal.core.services import audit
from support.models import Ticket

GZIP_MAGIC = b"\x1f\x8b\x08"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive's end record
TAR_MAGIC_OFFSET = 257
HEAD_BYTES = 64 * 1024


def archive_type_of(head: bytes) -> str | None:
    """tar.gz when the bytes are gzip whose content starts with a tar header (ustar magic), zip when
    they start with a zip record; None for anything else."""
    if head.startswith(ZIP_MAGICS):
        return ArchiveType.ZIP
    if head.startswith(GZIP_MAGIC):
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 512)
        except zlib.error:
            return None
        if inner[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + 5] == b"ustar":
            return ArchiveType.TAR_GZ
    return None


def license_for_upload(*, token: str, machine_id: str) -> License:
    """The license a platform presents to upload: genuine (401 otherwise), this server's current
    token of a live deployment on this machine (403 otherwise)."""
    claims, _key = tokens.verify(token)
    license = License.objects.select_related("deployment").filter(pk=int(claims["jti"])).first()
    if license is None or license.token != token or str(license.deployment_id) != claims["sub"]:
        raise license_error(LicenseError.TOKEN_INVALID)
    deployment = license.deployment
    if machine_id != deployment.machine_id:
        raise license_error(LicenseError.MACHINE_MISMATCH)
    if deployment.deactivated_at is not None or license.state == LicenseState.REVOKED:
        raise license_error(LicenseError.LICENSE_REVOKED)
    return license


def _ticket(deployment: Deployment, number: str) -> Ticket | None:
    if not number:
        return None
    ticket = Ticket.objects.filter(number=number.strip(), organization_id=deployment.organization_id).first()
    if ticket is None:
        raise license_error(LicenseError.TICKET_NOT_FOUND)
    return ticket


def _digest(upload: Any) -> str:
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@transaction.atomic
def support_bundle_upload(
    *,
    actor: Any,
    deployment: Deployment,
    upload: Any,
    ticket_number: str = "",
    note: str = "",
    source_ip: str | None = None,
    now: dt.datetime | None = None,
) -> SupportBundle:
    """Check and store one bundle of `deployment`; with a ticket number of the same customer, the
    ticket gets an internal note pointing to it. 413 too large, 415 not a tar.gz/zip archive."""
    now = now or timezone.now()
    if upload.size > settings.FLEET_SUPPORT_BUNDLE_MAX_BYTES:
        raise license_error(
            LicenseError.PAYLOAD_TOO_LARGE,
            _("The bundle is larger than %(limit)d MB.")
            % {"limit": settings.FLEET_SUPPORT_BUNDLE_MAX_BYTES // (1024 * 1024)},
        )
    upload.seek(0)
    archive_type = archive_type_of(upload.read(HEAD_BYTES))
    if archive_type is None:
        raise license_error(LicenseError.ARCHIVE_TYPE_INVALID)
    ticket = _ticket(deployment, ticket_number)
    bundle = SupportBundle(
        deployment=deployment,
        ticket=ticket,
        filename=(upload.name or "bundle")[-200:],
        archive_type=archive_type,
        size=upload.size,
        sha256=_digest(upload),
        note=note[:500],
        uploaded_by=actor_user(actor),
        source_ip=source_ip,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.FLEET_SUPPORT_BUNDLE_RETENTION_DAYS),
    )
    bundle.file.save(f"bundle.{archive_type}", upload, save=False)
    bundle.save()
    license_event_record(
        actor=actor,
        deployment=deployment,
        kind=LicenseEventKind.SUPPORT_BUNDLE,
        via="portal" if bundle.uploaded_by else "platform",
        source_ip=source_ip,
        data={"bundle": bundle.pk, "size": bundle.size, "ticket": ticket.number if ticket else None},
    )
    audit(
        actor=actor,
        action="support_bundle.upload",
        target=bundle,
        data={"deployment": deployment.pk, "size": bundle.size, "sha256": bundle.sha256},
    )
    return bundle


def support_bundles_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of bundles past their retention (the row stays as the record); idempotent."""
    now = now or timezone.now()
    count = 0
    for bundle in SupportBundle.objects.filter(expires_at__lte=now, expired_at__isnull=True).order_by("pk")[
        :1000
    ]:
        with transaction.atomic():
            if bundle.file:
                bundle.file.delete(save=False)
            bundle.file = ""
            bundle.expired_at = now
            bundle.save(update_fields=["file", "expired_at"])
            audit(
                actor=None,
                action="support_bundle.expire",
                target=bundle,
                data={"deployment": bundle.deployment_id},
            )
        count += 1
    return count
