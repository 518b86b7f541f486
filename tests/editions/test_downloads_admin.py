"""Staff publish releases in admin: upload an artifact (size and SHA-256 computed) or name a file already
in storage, choose who may fetch it, publish."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from editions.models import Artifact, Release
from editions.serving import downloads_storage
from portal.core.models import AuditEvent
from tests.editions.factories import ReleaseFactory, file_artifact, image_artifact, member, stored_file
from tests.factories import edition

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    return client


def artifact_form(release: Release, **overrides):
    data = {
        "release": release.pk,
        "kind": "offline_bundle",
        "name": "Offline bundle",
        "sort_order": 0,
        "repository": "",
        "tag": "",
        "digest": "",
        "storage_key": "",
        "size": "",
        "sha256": "",
        "editions": [edition("enterprise").pk],
    }
    data.update(overrides)
    return data


def test_upload_computes_size_and_checksum(admin_client):
    release = ReleaseFactory(version="3.4.0")
    content = b"x" * (3 * 1024 * 1024 + 17)  # larger than the in-memory upload limit: spooled to disk
    upload = SimpleUploadedFile("iot-offline-3.4.0.tar.gz", content, content_type="application/gzip")

    response = admin_client.post(
        reverse("admin:editions_artifact_add"), {**artifact_form(release), "upload": upload}
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    artifact = Artifact.objects.get()
    assert artifact.storage_key == "releases/3.4.0/iot-offline-3.4.0.tar.gz"
    assert artifact.size == len(content)
    assert artifact.sha256 == hashlib.sha256(content).hexdigest()
    assert list(artifact.editions.values_list("code", flat=True)) == ["enterprise"]
    with downloads_storage().open(artifact.storage_key, "rb") as fh:
        assert fh.read() == content
    assert AuditEvent.objects.filter(action="artifact.create", target_id=str(artifact.pk)).exists()


def test_existing_storage_key_is_checksummed(admin_client):
    release = ReleaseFactory()
    key, size, sha256 = stored_file("mirror/helm/iot-platform-3.4.0.tgz", b"chart bytes" * 100)

    response = admin_client.post(
        reverse("admin:editions_artifact_add"),
        artifact_form(release, kind="helm_chart", storage_key=key, repository="iot/charts/platform"),
    )

    assert response.status_code == 302
    artifact = Artifact.objects.get()
    assert (artifact.size, artifact.sha256) == (size, sha256)


def test_wrong_checksum_or_missing_file_is_a_form_error(admin_client):
    release = ReleaseFactory()
    key, _size, _sha = stored_file("mirror/bundle.bin", b"bundle")
    wrong = admin_client.post(
        reverse("admin:editions_artifact_add"), artifact_form(release, storage_key=key, sha256="0" * 64)
    )
    missing = admin_client.post(
        reverse("admin:editions_artifact_add"), artifact_form(release, storage_key="nope.bin")
    )
    nothing = admin_client.post(reverse("admin:editions_artifact_add"), artifact_form(release))
    for response in (wrong, missing, nothing):
        assert response.status_code == 200
        assert response.context["adminform"].form.errors
    assert not Artifact.objects.exists()


def test_images_need_a_repository_and_digest(admin_client):
    release = ReleaseFactory()
    response = admin_client.post(
        reverse("admin:editions_artifact_add"), artifact_form(release, kind="docker_image", name="image")
    )
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) >= {"repository", "digest"}
    ok = admin_client.post(
        reverse("admin:editions_artifact_add"),
        artifact_form(
            release,
            kind="docker_image",
            name="image",
            repository="iot/enterprise",
            digest="sha256:" + "a" * 64,
        ),
    )
    assert ok.status_code == 302


def test_publish_action_makes_a_release_visible(admin_client, client):
    release = ReleaseFactory(is_published=False, published_at=None)
    artifact = file_artifact(editions=["enterprise"], release=release)

    response = admin_client.post(
        reverse("admin:editions_release_changelist"), {"action": "publish", "_selected_action": [release.pk]}
    )

    assert response.status_code == 302
    release.refresh_from_db()
    assert release.is_published and release.published_at is not None
    assert AuditEvent.objects.filter(action="release.publish").count() == 1
    client.force_login(member())
    assert client.get(reverse("downloads:artifact", args=[artifact.pk])).status_code == 200


def test_admin_pages_render(admin_client):
    release = ReleaseFactory()
    file_artifact(editions=["enterprise"], release=release)
    image_artifact(repository="iot/enterprise", editions=["enterprise"], release=release)
    for name in (
        "admin:editions_release_changelist",
        "admin:editions_artifact_changelist",
        "admin:editions_download_changelist",
        "admin:editions_ndaterms_changelist",
        "admin:editions_ndaacceptance_changelist",
        "admin:editions_registrycredential_changelist",
        "admin:editions_artifact_add",
        "admin:editions_registrycredential_add",
    ):
        assert admin_client.get(reverse(name)).status_code == 200, name
    assert admin_client.get(reverse("admin:editions_release_change", args=[release.pk])).status_code == 200


def test_downloads_page_in_chinese(client):
    file_artifact(editions=["enterprise"])
    client.force_login(member())
    response = client.get(reverse("downloads:index"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "下载" in response.content.decode()


def test_demo_downloads_are_idempotent_and_listed(client):
    from editions.demo import seed_demo_downloads

    assert seed_demo_downloads() == 2
    assert seed_demo_downloads() == 0
    client.force_login(member(edition_code="source", nda_signed_on="2026-01-10"))
    html = client.get(reverse("downloads:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "iot-platform-3.2.0-src.zip" in html and "iot/enterprise" in html
    assert html.index("3.2.0") < html.index("3.1.0")
