"""Support bundles (issue 18, item 4): license-authenticated upload, size and type checks, expiry."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
import tarfile
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from licenses.models import ArchiveType, SupportBundle
from licenses.services.bundles import archive_type_of, support_bundles_expire
from portal.core.models import AuditEvent
from support.services import ticket_create
from tests.licenses.factories import activate, active_contract
from tests.portal.portal_helpers import member

pytestmark = pytest.mark.django_db

URL = "/api/v1/platform/support-bundle"


def tar_gz(content: bytes = b"log line\n" * 100) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("diagnostics/platform.log")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("diagnostics/platform.log", "log line\n")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def platform() -> dict[str, Any]:
    contract = active_contract()
    first = activate(contract, machine_id="m-1")
    other = activate(active_contract(), machine_id="m-2")
    return {"contract": contract, "answer": first, "other": other}


def upload(
    answer: Any, data: bytes, *, name: str = "bundle.tar.gz", machine_id: str = "m-1", **fields: Any
) -> Any:
    body = {
        "license": answer.license.token,
        "machine_id": machine_id,
        "bundle": SimpleUploadedFile(name, data, content_type="application/octet-stream"),
        **fields,
    }
    return Client().post(URL, data=body)


def test_a_tar_gz_is_stored_with_its_deployment_and_attached_to_the_ticket(platform: dict[str, Any]) -> None:
    contract = platform["contract"]
    owner = member(contract.organization, totp=False)
    ticket = ticket_create(
        actor=owner, organization=contract.organization, requester=owner, subject="Slow", body="Slow UI"
    )
    data = tar_gz()
    response = upload(platform["answer"], data, ticket=ticket.number, note="after upgrade")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["archive_type"] == "tar.gz" and body["size"] == len(data) and body["ticket"] == ticket.number
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    bundle = SupportBundle.objects.get()
    assert bundle.deployment == platform["answer"].deployment and bundle.ticket == ticket
    stored_name = bundle.file.name.rsplit("/", 1)[1]  # a random name, never the uploaded one
    assert len(stored_name) == len("0" * 32 + ".tar.gz") and stored_name.endswith(".tar.gz")
    with bundle.file.open("rb") as fh:
        assert fh.read() == data
    assert AuditEvent.objects.filter(action="support_bundle.upload").count() == 1


def test_a_zip_is_accepted(platform: dict[str, Any]) -> None:
    response = upload(platform["answer"], zip_bytes(), name="diag.zip")
    assert response.status_code == 201 and response.json()["archive_type"] == "zip"


@pytest.mark.parametrize(
    "data",
    [
        b"#!/bin/sh\nrm -rf /\n",
        gzip.compress(b"not a tar, only gzip" * 50, mtime=0),
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"",
    ],
    ids=["shell-script", "gzip-not-tar", "png", "empty"],
)
def test_anything_but_tar_gz_or_zip_is_refused_by_its_content(platform: dict[str, Any], data: bytes) -> None:
    response = upload(platform["answer"], data, name="bundle.tar.gz")
    assert response.status_code in {415, 422} if not data else response.status_code == 415
    assert response.json()["code"] in {"archive_type_invalid", "invalid_input"}
    assert not SupportBundle.objects.exists()


def test_size_limit(platform: dict[str, Any], settings: Any) -> None:
    data = tar_gz(os.urandom(4000))  # incompressible: well over 1 KiB
    settings.FLEET_SUPPORT_BUNDLE_MAX_BYTES = 1024
    refused = upload(platform["answer"], data)
    assert refused.status_code == 413 and refused.json()["code"] == "payload_too_large"
    settings.FLEET_SUPPORT_BUNDLE_BODY_MAX = 2048  # the gate refuses before reading the body
    early = upload(platform["answer"], data)
    assert early.status_code == 413 and early.json()["code"] == "payload_too_large"
    assert not SupportBundle.objects.exists()


def test_another_deployments_license_or_machine_is_refused(platform: dict[str, Any]) -> None:
    mine = platform["answer"].deployment
    refused = upload(platform["other"], tar_gz(), machine_id="m-2", deployment_id=str(mine.pk))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    wrong_machine = upload(platform["answer"], tar_gz(), machine_id="m-2")
    assert wrong_machine.status_code == 403 and wrong_machine.json()["code"] == "machine_mismatch"
    forged = Client().post(
        URL, data={"license": "x.y.z", "machine_id": "m-1", "bundle": SimpleUploadedFile("b", tar_gz())}
    )
    assert forged.status_code == 401
    assert not SupportBundle.objects.exists()


def test_a_ticket_of_another_customer_is_not_found(platform: dict[str, Any]) -> None:
    other_contract = platform["other"].deployment.contract
    owner = member(other_contract.organization, totp=False)
    foreign = ticket_create(
        actor=owner, organization=other_contract.organization, requester=owner, subject="x", body="y"
    )
    response = upload(platform["answer"], tar_gz(), ticket=foreign.number)
    assert response.status_code == 404 and response.json()["code"] == "ticket_not_found"


def test_bundles_expire_after_the_retention_period(platform: dict[str, Any]) -> None:
    assert upload(platform["answer"], tar_gz()).status_code == 201
    bundle = SupportBundle.objects.get()
    path = bundle.file.path
    assert support_bundles_expire(now=bundle.expires_at - dt.timedelta(seconds=1)) == 0
    assert support_bundles_expire(now=bundle.expires_at) == 1
    bundle.refresh_from_db()
    assert bundle.expired_at is not None and not bundle.file
    assert not os.path.exists(path)
    assert support_bundles_expire(now=timezone.now() + dt.timedelta(days=365)) == 0


def test_archive_type_of() -> None:
    assert archive_type_of(tar_gz()) == ArchiveType.TAR_GZ
    assert archive_type_of(zip_bytes()) == ArchiveType.ZIP
    assert archive_type_of(gzip.compress(b"plain")) is None
    assert archive_type_of(b"PK") is None
