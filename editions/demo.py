"""Demo releases and artifacts (small but real archives, different per version) so the downloads pages have something to show.
Idempotent: existing releases are left as they are. Called by the demo seeding."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import tarfile
import zipfile

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from editions.models import Artifact, ArtifactKind, Edition, Release, ReleaseChannel
from editions.serving import downloads_storage

NOTES = """\
## Highlights / 亮点

- Faster telemetry ingestion / 更快的遥测数据接入
- Multi-tenant dashboards / 多租户仪表盘

## Upgrade notes / 升级说明

Run `helm upgrade` or `docker compose pull && docker compose up -d`.
"""


def _file(key: str, content: bytes) -> tuple[str, int, str]:
    """Store `content` under a key that names its digest, so a changed sample never reuses old bytes."""
    storage = downloads_storage()
    digest = hashlib.sha256(content).hexdigest()
    folder, _slash, name = key.rpartition("/")
    key = f"{folder}/{digest[:12]}/{name}"
    if not storage.exists(key):
        key = storage.save(key, ContentFile(content))
    return key, len(content), hashlib.sha256(content).hexdigest()


def _tarball(files: dict[str, str]) -> bytes:
    """A small but real .tar.gz (fixed timestamps, so the same version always gives the same bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(gzip.decompress(buffer.getvalue()), mtime=0)


def _compose_bundle(version: str, edition: str) -> bytes:
    root = f"iot-platform-{edition}-{version}"
    return _tarball(
        {
            f"{root}/docker-compose.yml": (
                "services:\n"
                f"  platform:\n    image: registry.example/iot/{edition}:{version}\n"
                "    ports: ['8080:8080']\n    env_file: platform.env\n"
                "  postgres:\n    image: postgres:15\n  redis:\n    image: redis:7\n"
            ),
            f"{root}/platform.env": "LICENSE_FILE=/etc/iot/license.key\nTZ=Asia/Shanghai\n",
            f"{root}/README.md": f"# IoT platform {version} ({edition})\n\nLoad the images, then `docker compose up -d`.\n",
            f"{root}/VERSION": f"{version}\n",
        }
    )


def _helm_chart(version: str) -> bytes:
    return _tarball(
        {
            "iot-platform/Chart.yaml": (
                f"apiVersion: v2\nname: iot-platform\nversion: {version}\nappVersion: '{version}'\n"
            ),
            "iot-platform/values.yaml": f"image:\n  repository: iot/enterprise\n  tag: '{version}'\nreplicas: 2\n",
            "iot-platform/templates/NOTES.txt": "The platform answers on port 8080.\n",
        }
    )


def _source_zip(version: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"iot-platform-{version}/README.md", f"# IoT platform {version} (demo source)\n")
        archive.writestr(f"iot-platform-{version}/app/main.py", "print('hello, devices')\n")
    return buffer.getvalue()


@transaction.atomic
def seed_demo_downloads() -> int:
    """Create the demo releases that are missing; returns how many were created."""
    editions = {e.code: e for e in Edition.objects.all()}
    created = 0
    today = timezone.localdate()
    for version, channel, days_ago in (
        ("3.1.0", ReleaseChannel.LTS, 120),
        ("3.2.0", ReleaseChannel.STABLE, 20),
    ):
        if Release.objects.filter(version=version).exists():
            continue
        release = Release.objects.create(
            version=version,
            channel=channel,
            released_on=today - dt.timedelta(days=days_ago),
            notes=NOTES,
            is_published=True,
            published_at=timezone.now(),
        )
        created += 1
        files = [
            (
                ArtifactKind.OFFLINE_BUNDLE,
                f"iot-platform-community-{version}-compose.tar.gz",
                ["community"],
                _compose_bundle(version, "community"),
            ),
            (
                ArtifactKind.HELM_CHART,
                f"iot-platform-{version}.tgz",
                ["enterprise", "source"],
                _helm_chart(version),
            ),
            (
                ArtifactKind.OFFLINE_BUNDLE,
                f"iot-platform-{version}-offline.tar.gz",
                ["enterprise", "source"],
                _compose_bundle(version, "enterprise"),
            ),
            (
                ArtifactKind.SOURCE_ARCHIVE,
                f"iot-platform-{version}-src.zip",
                ["source"],
                _source_zip(version),
            ),
        ]
        for order, (kind, name, codes, content) in enumerate(files):
            key, size, sha256 = _file(f"releases/{version}/{name}", content)
            artifact = Artifact.objects.create(
                release=release,
                kind=kind,
                name=name,
                storage_key=key,
                size=size,
                sha256=sha256,
                sort_order=10 + order,
                repository="iot/charts/platform" if kind == ArtifactKind.HELM_CHART else "",
            )
            artifact.editions.set([editions[c] for c in codes if c in editions])
        for order, (repository, codes) in enumerate(
            (("iot/standard", ["standard"]), ("iot/enterprise", ["enterprise", "source", "saas"]))
        ):
            artifact = Artifact.objects.create(
                release=release,
                kind=ArtifactKind.DOCKER_IMAGE,
                name=f"{repository}:{version}",
                repository=repository,
                digest="sha256:" + hashlib.sha256(f"{repository}:{version}".encode()).hexdigest(),
                sort_order=order,
            )
            artifact.editions.set([editions[c] for c in codes if c in editions])
    return created
