"""Writes of releases and downloads: publishing, storing artifact files, issuing download links (with
watermarked source archives), recording transfers, NDA acceptance, registry credentials and tokens."""

from __future__ import annotations

import hashlib
import posixpath
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from customers.models import Organization
from editions import registry, watermark
from editions.errors import DownloadError, download_error
from editions.models import (
    Artifact,
    Download,
    DownloadTransfer,
    NdaAcceptance,
    NdaTerms,
    RegistryCredential,
    Release,
)
from editions.selectors import (
    ArtifactAccess,
    entitlement_for,
    nda_acceptance_current,
    nda_terms_current,
    registry_repositories,
)
from editions.serving import ByteRange, downloads_storage
from portal.core.actors import Actor, actor_user
from portal.core.services import audit

CHUNK = 1024 * 1024
LINK_SALT = "editions.download-link"

# --- releases and artifact files ------------------------------------------------------------------------


@transaction.atomic
def release_publish(*, actor: Actor, release: Release) -> Release:
    if not release.is_published:
        release.is_published = True
        release.published_at = timezone.now()
        release.save(update_fields=["is_published", "published_at"])
        audit(actor=actor, action="release.publish", target=release, data={"version": release.version})
    return release


@transaction.atomic
def release_unpublish(*, actor: Actor, release: Release) -> Release:
    if release.is_published:
        release.is_published = False
        release.save(update_fields=["is_published"])
        audit(actor=actor, action="release.unpublish", target=release, data={"version": release.version})
    return release


def file_checksum(fh: IO[bytes]) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file object, read in chunks from its start."""
    if hasattr(fh, "seek"):
        fh.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := fh.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def artifact_store_upload(*, release: Release, upload: Any) -> tuple[str, int, str]:
    """Save an uploaded file under releases/<version>/ in the downloads storage; returns (storage key,
    size, SHA-256), computed streaming (Django spools large uploads to a temporary file)."""
    size, sha256 = file_checksum(upload)
    upload.seek(0)
    version = re.sub(r"[^\w.+-]", "_", release.version)
    name = get_valid_filename(posixpath.basename(getattr(upload, "name", "") or "artifact.bin"))
    key = downloads_storage().save(f"releases/{version}/{name}", File(upload, name=name))
    return key, size, sha256


def artifact_checksum_from_storage(*, storage_key: str) -> tuple[int, str]:
    storage = downloads_storage()
    if not storage.exists(storage_key):
        raise ValidationError({"storage_key": _("There is no file with this key in the downloads storage.")})
    with storage.open(storage_key, "rb") as fh:
        return file_checksum(fh)


@transaction.atomic
def artifact_save(
    *, actor: Actor, artifact: Artifact, upload: Any = None, verify_checksum: bool = False
) -> Artifact:
    """Create or update an artifact. A file is either uploaded (stored, size and SHA-256 computed) or
    named by the storage key of a file already in storage (size and SHA-256 computed from it when not
    entered, or when `verify_checksum`). Many-to-many fields are the caller's (admin saves them after)."""
    creating = artifact.pk is None
    if upload is not None:
        artifact.storage_key, artifact.size, artifact.sha256 = artifact_store_upload(
            release=artifact.release, upload=upload
        )
    elif (
        artifact.is_file
        and artifact.storage_key
        and (not artifact.sha256 or artifact.size is None or verify_checksum)
    ):
        size, sha256 = artifact_checksum_from_storage(storage_key=artifact.storage_key)
        if artifact.sha256 and artifact.sha256 != sha256:
            raise ValidationError(
                {"sha256": _("The file in storage has a different SHA-256: %(sha)s.") % {"sha": sha256}}
            )
        artifact.size, artifact.sha256 = size, sha256
    if artifact.is_file and not artifact.storage_key:
        raise ValidationError(
            {"storage_key": _("Upload the file or enter the storage key of an existing file.")}
        )
    if creating and artifact.created_by_id is None and getattr(actor, "is_authenticated", False):
        artifact.created_by = actor_user(actor)
    artifact.full_clean(exclude=["editions", "modules"])
    artifact.save()
    audit(
        actor=actor,
        action="artifact.create" if creating else "artifact.update",
        target=artifact,
        data={"release": artifact.release.version, "kind": artifact.kind, "sha256": artifact.sha256},
    )
    return artifact


# --- download links ---------------------------------------------------------------------------------------


def download_link_token(download: Download) -> str:
    """The signed, expiring part of a download URL: binds the download ID, the artifact and the user."""
    payload = {"d": str(download.download_id), "a": download.artifact_id, "u": download.user_id}
    return signing.TimestampSigner(salt=LINK_SALT).sign_object(payload, compress=True)


@dataclass(frozen=True)
class LinkClaims:
    download_id: str
    artifact_id: int
    user_id: int | None


def download_link_verify(token: str) -> LinkClaims:
    """Raises ApplicationError link_expired (410) or not_found (404, tampered or malformed)."""
    try:
        payload = signing.TimestampSigner(salt=LINK_SALT).unsign_object(
            token, max_age=timedelta(seconds=settings.DOWNLOADS_LINK_MAX_AGE)
        )
    except signing.SignatureExpired:
        raise download_error(DownloadError.LINK_EXPIRED) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise download_error(DownloadError.NOT_FOUND) from None
    try:
        return LinkClaims(download_id=str(payload["d"]), artifact_id=int(payload["a"]), user_id=payload["u"])
    except (KeyError, TypeError, ValueError):
        raise download_error(DownloadError.NOT_FOUND) from None


def nda_gate(*, access: ArtifactAccess, user: Any, organization: Organization | None) -> NdaAcceptance | None:
    """For a source archive: the NDA must be on file for the contract and the user must have accepted the
    terms in force. Raises ApplicationError nda_not_on_file / nda_not_accepted / nda_terms_missing."""
    if not access.needs_nda:
        return None
    if not access.nda_on_file:
        raise download_error(DownloadError.NDA_NOT_ON_FILE)
    if nda_terms_current() is None:
        raise download_error(DownloadError.NDA_TERMS_MISSING)
    acceptance = nda_acceptance_current(user=user, organization=organization) if organization else None
    if acceptance is None:
        raise download_error(DownloadError.NDA_NOT_ACCEPTED)
    return acceptance


def download_issue(
    *,
    actor: Actor,
    organization: Organization | None,
    access: ArtifactAccess,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Download:
    """Record a download for the user and prepare what it delivers; source archives get a watermarked
    copy naming the organization, contract, user and download ID. The NDA gate is checked here too, so
    no caller can skip it."""
    user = actor_user(actor)
    artifact = access.artifact
    if not artifact.is_file:
        raise download_error(DownloadError.NOT_FOUND)
    acceptance = nda_gate(access=access, user=user, organization=organization)
    download = Download(
        artifact=artifact,
        user=user,
        organization=organization if user else None,
        contract=access.contract if user else None,
        nda_acceptance=acceptance,
        ip_address=ip_address,
        user_agent=user_agent[:400],
    )
    stored_key = ""
    if access.needs_nda:
        stored_key = _store_watermarked_copy(download)
    try:
        with transaction.atomic():
            download.save()
            if access.needs_nda:
                audit(
                    actor=user,
                    action="download.source_archive",
                    target=download,
                    data={"artifact": artifact.pk, "sha256": download.delivered_sha256},
                )
    except BaseException:
        if stored_key:
            downloads_storage().delete(stored_key)
        raise
    return download


def licensee_text(download: Download) -> str:
    """LICENSEE.txt: in English and in Chinese, whatever language the downloader's browser uses."""
    context = {
        "organization": download.organization,
        "contract": download.contract,
        "user": download.user,
        "download": download,
        "artifact": download.artifact,
        "release": download.artifact.release,
        "issued_at": timezone.localtime(download.created_at),
        "terms": download.nda_acceptance.terms if download.nda_acceptance else None,
    }
    parts = []
    for language in ("en", "zh-hans"):
        with translation.override(language):
            parts.append(render_to_string("downloads/licensee.txt", context).strip())
    return "\n\n".join(parts) + "\n"


def _store_watermarked_copy(download: Download) -> str:
    artifact = download.artifact
    storage = downloads_storage()
    try:
        source = storage.open(artifact.storage_key, "rb")
    except (FileNotFoundError, OSError):
        raise download_error(DownloadError.FILE_MISSING) from None
    try:
        with source:
            copy = watermark.watermark(
                source=source, name=artifact.storage_key, licensee_text=licensee_text(download)
            )
    except watermark.ArchiveFormatError:
        raise download_error(DownloadError.ARCHIVE_INVALID) from None
    with copy.file:
        key = storage.save(
            f"downloads/watermarked/{download.organization_id}/{download.download_id}/{artifact.filename}",
            File(copy.file, name=artifact.filename),
        )
    download.delivered_storage_key = key
    download.delivered_size = copy.size
    download.delivered_sha256 = copy.sha256
    return key


def download_record_transfer(
    *,
    download: Download,
    status: int,
    byte_range: ByteRange | None,
    bytes_sent: int,
    mode: str,
    ip_address: str | None,
    user_agent: str,
) -> DownloadTransfer:
    return DownloadTransfer.objects.create(
        download=download,
        status=status,
        range_start=byte_range.start if byte_range else None,
        range_end=byte_range.end if byte_range else None,
        bytes=bytes_sent,
        mode=mode,
        ip_address=ip_address,
        user_agent=user_agent[:400],
    )


@transaction.atomic
def downloads_purge_watermarked(*, older_than: timedelta) -> int:
    """Delete watermarked copies whose links have long expired; their checksums stay on the records."""
    cutoff = timezone.now() - older_than
    storage = downloads_storage()
    purged = 0
    stale = Download.objects.filter(created_at__lt=cutoff).exclude(delivered_storage_key="")
    for download in stale.select_for_update(skip_locked=True).only("pk", "delivered_storage_key"):
        storage.delete(download.delivered_storage_key)
        Download.objects.filter(pk=download.pk).update(delivered_storage_key="")
        purged += 1
    return purged


# --- NDA ---------------------------------------------------------------------------------------------------


@transaction.atomic
def nda_accept(
    *,
    actor: Actor,
    organization: Organization,
    terms: NdaTerms,
    ip_address: str | None = None,
    user_agent: str = "",
) -> NdaAcceptance:
    acceptance, created = NdaAcceptance.objects.get_or_create(
        user=actor_user(actor),
        organization=organization,
        terms=terms,
        defaults={
            "terms_sha256": hashlib.sha256(terms.body.encode("utf-8")).hexdigest(),
            "ip_address": ip_address,
            "user_agent": user_agent[:400],
        },
    )
    if created:
        audit(actor=actor, action="nda.accept", target=acceptance, data={"terms": terms.version})
    return acceptance


# --- registry credentials and tokens --------------------------------------------------------------------

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")


@transaction.atomic
def registry_credential_create(
    *, actor: Actor, organization: Organization | None, name: str, username: str = ""
) -> tuple[RegistryCredential, str]:
    """A credential and its secret, which is shown this once. Customers' usernames are generated;
    service accounts (no organization) are named by staff."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the credential a name.")})
    if organization is not None:
        username = f"o{organization.pk}-{secrets.token_hex(4)}"
    else:
        username = username.strip().lower()
        if not _USERNAME_RE.match(username):
            raise ValidationError(
                {"username": _("3 to 60 lower-case letters, digits, dots, dashes or underscores.")}
            )
        if RegistryCredential.objects.filter(username=username).exists():
            raise ValidationError({"username": _("This username is taken.")})
    secret = RegistryCredential.new_secret()
    credential = RegistryCredential.objects.create(
        organization=organization,
        name=name[:100],
        username=username,
        secret_hash=RegistryCredential.hash_secret(secret),
        created_by=actor_user(actor),
    )
    audit(actor=actor, action="registry_credential.create", target=credential, data={"username": username})
    return credential, secret


@transaction.atomic
def registry_credential_revoke(*, actor: Actor, credential: RegistryCredential) -> RegistryCredential:
    credential = RegistryCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.revoked_at is not None:
        raise download_error(DownloadError.CREDENTIAL_REVOKED)
    credential.revoked_at = timezone.now()
    credential.revoked_by = actor_user(actor)
    credential.save(update_fields=["revoked_at", "revoked_by"])
    audit(
        actor=actor,
        action="registry_credential.revoke",
        target=credential,
        data={"username": credential.username},
    )
    return credential


def registry_authenticate(
    *, username: str, secret: str, ip_address: str | None = None
) -> RegistryCredential | None:
    """The active credential for this username and secret (None otherwise); notes its use, at most once
    a minute so a busy cluster does not write on every pull."""
    if not username or not secret or len(username) > 60 or len(secret) > 200:
        return None
    credential: RegistryCredential | None = (
        RegistryCredential.objects.active()
        .select_related("organization")
        .filter(username=username.lower())
        .first()
    )
    if credential is None or not credential.check_secret(secret):
        return None
    now = timezone.now()
    if credential.last_used_at is None or now - credential.last_used_at > timedelta(minutes=1):
        RegistryCredential.objects.filter(pk=credential.pk).update(last_used_at=now, last_used_ip=ip_address)
        credential.last_used_at, credential.last_used_ip = now, ip_address
    return credential


def registry_grant(
    *, credential: RegistryCredential | None, scopes: list[registry.Scope]
) -> list[dict[str, Any]]:
    """The `access` claim: the intersection of what was asked and what is allowed. Customers (and
    anonymous callers, for public images) get `pull` on the repositories of artifacts they may fetch;
    vendor service accounts get `pull` everywhere and `push` only when listed in REGISTRY_PUSH_USERS.
    Nothing else is ever granted: no `delete`/`*`, no `registry:catalog`."""
    if credential is not None and credential.is_service_account:
        can_push = credential.username in settings.REGISTRY_PUSH_USERS

        def allowed(name: str) -> set[str]:
            return {"pull", "push"} if can_push else {"pull"}

    else:
        organization = credential.organization if credential else None
        repositories = registry_repositories(entitlement_for(organization))

        def allowed(name: str) -> set[str]:
            return {"pull"} if name in repositories else set()

    merged: dict[str, set[str]] = {}
    for scope in scopes:
        if scope.type != "repository":
            continue
        actions = set(scope.actions) & allowed(scope.name)
        if actions:
            merged.setdefault(scope.name, set()).update(actions)
    return [
        {"type": "repository", "name": name, "actions": sorted(actions)} for name, actions in merged.items()
    ]


def registry_token_issue(
    *, credential: RegistryCredential | None, service: str, scopes: list[registry.Scope]
) -> dict[str, Any]:
    now = timezone.now()
    access = registry_grant(credential=credential, scopes=scopes)
    token, expires_in = registry.sign_token(
        subject=credential.username if credential else "", audience=service, access=access, now=now
    )
    return {
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
        "issued_at": now.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
