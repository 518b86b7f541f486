"""Factories and scenario helpers of the downloads tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tarfile
import zipfile
from typing import Any

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from editions.models import Artifact, ArtifactKind, NdaTerms, Release
from editions.serving import downloads_storage
from tests.factories import ContractFactory, MembershipFactory, OrganizationFactory, UserFactory, edition


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    version = factory.Sequence(lambda n: f"3.{n}.0")
    channel = "stable"
    released_on = factory.LazyFunction(timezone.localdate)
    notes = "## Changes\n\n- faster ingestion"
    is_published = True
    published_at = factory.LazyFunction(timezone.now)


def stored_file(key: str, content: bytes) -> tuple[str, int, str]:
    """Put `content` in the downloads storage; returns (key, size, sha256)."""
    storage = downloads_storage()
    if storage.exists(key):
        storage.delete(key)
    saved = storage.save(key, ContentFile(content))
    return saved, len(content), hashlib.sha256(content).hexdigest()


def file_artifact(
    *,
    editions: list[str] = (),
    modules: list[Any] = (),
    kind: str = ArtifactKind.OFFLINE_BUNDLE,
    content: bytes = b"",
    name: str = "",
    release: Release | None = None,
    **kwargs: Any,
) -> Artifact:
    release = release or ReleaseFactory()
    name = name or f"iot-platform-{release.version}-{kind}.bin"
    content = content or (b"offline bundle " + name.encode() + b"\n") * 64
    key, size, sha256 = stored_file(f"releases/{release.version}/{name}", content)
    artifact = Artifact.objects.create(
        release=release, kind=kind, name=name, storage_key=key, size=size, sha256=sha256, **kwargs
    )
    artifact.editions.set([edition(code) for code in editions])
    artifact.modules.set(list(modules))
    return artifact


def image_artifact(
    *, repository: str, editions: list[str], release: Release | None = None, **kwargs: Any
) -> Artifact:
    release = release or ReleaseFactory()
    artifact = Artifact.objects.create(
        release=release,
        kind=ArtifactKind.DOCKER_IMAGE,
        name=f"{repository}:{release.version}",
        repository=repository,
        digest="sha256:" + hashlib.sha256(repository.encode() + release.version.encode()).hexdigest(),
        **kwargs,
    )
    artifact.editions.set([edition(code) for code in editions])
    return artifact


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def member(
    *,
    edition_code: str | None = "enterprise",
    modules: list[Any] = (),
    role: str = "technical",
    **contract_kwargs: Any,
) -> Any:
    """A portal user whose organization has an active contract of `edition_code` (None: no contract)."""
    organization = OrganizationFactory()
    user = UserFactory()
    MembershipFactory(organization=organization, user=user, role=role)
    if edition_code:
        today = timezone.localdate()
        ContractFactory(
            organization=organization,
            edition=edition(edition_code),
            start_date=today - dt.timedelta(days=30),
            end_date=today + dt.timedelta(days=300),
            modules=list(modules),
            **contract_kwargs,
        )
    user.organization = organization  # convenience for tests
    return user


def nda_terms(version: str = "2026-01") -> NdaTerms:
    terms, _ = NdaTerms.objects.get_or_create(
        version=version,
        defaults={
            "title": "Source code confidentiality terms",
            "body": "1. Keep the source code confidential.\n2. Do not distribute it.",
            "published_at": timezone.now() - dt.timedelta(days=1),
        },
    )
    return terms
