"""Source archives: only for a source-license contract with the NDA on file, after the downloader has
accepted the confidentiality terms; every copy is watermarked and its checksum recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tarfile
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from editions.models import ArtifactKind, Download, NdaAcceptance
from portal.core.models import AuditEvent
from tests.editions.factories import file_artifact, member, nda_terms, tar_gz_bytes, zip_bytes
from tests.editions.test_downloads import body, start_download

pytestmark = pytest.mark.django_db

SOURCES = {
    "iot-platform/README.md": b"# IoT platform\n",
    "iot-platform/app/main.py": b"print('hello')\n" * 100,
}


def source_archive(content: bytes | None = None, name: str = "iot-platform-3.2.0-src.zip"):
    return file_artifact(
        editions=["source"],
        kind=ArtifactKind.SOURCE_ARCHIVE,
        name=name,
        content=content or zip_bytes(SOURCES),
    )


def source_member(*, nda_signed: bool = True):
    return member(edition_code="source", nda_signed_on=dt.date(2026, 1, 10) if nda_signed else None)


def accept_terms(client, user):
    terms = nda_terms()
    response = client.post(reverse("downloads:nda"), {"accept": "yes", "org": user.organization.pk})
    assert response.status_code == 302
    return terms


def test_watermarked_zip_names_the_licensee_and_its_checksum_is_recorded(client):
    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)

    response = start_download(client, artifact, HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302
    delivered = body(client.get(response["Location"]))

    download = Download.objects.select_related("contract", "organization", "user").get()
    assert hashlib.sha256(delivered).hexdigest() == download.delivered_sha256
    assert len(delivered) == download.delivered_size
    assert download.delivered_sha256 != artifact.sha256
    with zipfile.ZipFile(io.BytesIO(delivered)) as archive:
        for name, data in SOURCES.items():
            assert archive.read(name) == data
        licensee = archive.read("LICENSEE.txt").decode("utf-8")
    assert download.organization.name in licensee
    assert download.contract.number in licensee
    assert user.email in licensee
    assert str(download.download_id) in licensee
    assert "2026-01" in licensee  # the terms version accepted
    assert "被许可方" in licensee  # and in Chinese too
    assert download.ip_address == "198.51.100.7"
    assert download.nda_acceptance.user == user
    assert AuditEvent.objects.filter(action="download.source_archive", target_id=str(download.pk)).exists()


def test_each_download_is_a_different_copy(client):
    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)
    first = body(client.get(start_download(client, artifact)["Location"]))
    second = body(client.get(start_download(client, artifact)["Location"]))
    assert hashlib.sha256(first).hexdigest() != hashlib.sha256(second).hexdigest()
    assert Download.objects.count() == 2


def test_watermarked_tar_gz(client):
    artifact = source_archive(tar_gz_bytes(SOURCES), name="iot-platform-3.2.0-src.tar.gz")
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)

    delivered = body(client.get(start_download(client, artifact)["Location"]))

    download = Download.objects.get()
    assert hashlib.sha256(delivered).hexdigest() == download.delivered_sha256
    with tarfile.open(fileobj=io.BytesIO(delivered), mode="r:gz") as archive:
        assert archive.extractfile("iot-platform/app/main.py").read() == SOURCES["iot-platform/app/main.py"]
        licensee = archive.extractfile("LICENSEE.txt").read().decode()
    assert str(download.download_id) in licensee and download.contract.number in licensee


def test_range_requests_serve_the_watermarked_copy(client):
    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)
    link = start_download(client, artifact)["Location"]
    download = Download.objects.get()
    parts = [body(client.get(link, HTTP_RANGE="bytes=0-99")), body(client.get(link, HTTP_RANGE="bytes=100-"))]
    assert hashlib.sha256(b"".join(parts)).hexdigest() == download.delivered_sha256


def test_without_the_nda_date_source_code_is_refused(client):
    artifact = source_archive()
    user = source_member(nda_signed=False)
    client.force_login(user)
    nda_terms()
    NdaAcceptance.objects.create(
        user=user, organization=user.organization, terms=nda_terms(), terms_sha256="0" * 64
    )

    page = client.get(reverse("downloads:artifact", args=[artifact.pk]))
    response = start_download(client, artifact)

    assert page.status_code == 403 and response.status_code == 403
    assert b"NDA" in response.content
    assert not Download.objects.exists()


def test_not_accepted_terms_redirect_to_the_acceptance_page(client):
    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    terms = nda_terms()

    response = start_download(client, artifact)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("downloads:nda"))
    assert not Download.objects.exists()
    page = client.get(response["Location"])
    assert page.status_code == 200 and terms.title in page.content.decode()

    # Not ticking the box is not acceptance.
    refused = client.post(response["Location"], {"org": user.organization.pk, "next": "/downloads/"})
    assert refused.status_code == 400 and not NdaAcceptance.objects.exists()

    accepted = client.post(
        response["Location"],
        {
            "accept": "yes",
            "org": user.organization.pk,
            "next": reverse("downloads:artifact", args=[artifact.pk]),
        },
        HTTP_USER_AGENT="Firefox",
        REMOTE_ADDR="192.0.2.44",
    )
    assert accepted.status_code == 302 and accepted["Location"] == reverse(
        "downloads:artifact", args=[artifact.pk]
    )
    acceptance = NdaAcceptance.objects.get()
    assert (acceptance.user, acceptance.organization, acceptance.terms) == (user, user.organization, terms)
    assert acceptance.terms_sha256 == hashlib.sha256(terms.body.encode()).hexdigest()
    assert (acceptance.ip_address, acceptance.user_agent) == ("192.0.2.44", "Firefox")
    assert start_download(client, artifact)["Location"].startswith("/downloads/get/")


def test_a_new_version_of_the_terms_must_be_accepted_again(client):
    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)
    newer = nda_terms("2026-07")
    newer.published_at = timezone.now() - dt.timedelta(seconds=1)
    newer.save()
    response = start_download(client, artifact)
    assert response.status_code == 302 and response["Location"].startswith(reverse("downloads:nda"))


def test_external_next_urls_are_ignored(client):
    user = source_member()
    client.force_login(user)
    nda_terms()
    response = client.post(
        reverse("downloads:nda"),
        {"accept": "yes", "org": user.organization.pk, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("downloads:index")


def test_other_editions_do_not_see_source_archives(client):
    artifact = source_archive()
    misfiled = file_artifact(
        editions=["enterprise"],
        kind=ArtifactKind.SOURCE_ARCHIVE,
        content=zip_bytes(SOURCES),
        name="x-src.zip",
    )
    client.force_login(member(edition_code="enterprise"))
    assert client.get(reverse("downloads:artifact", args=[artifact.pk])).status_code == 404
    # Source code needs a source-license contract even when an artifact is filed under another edition.
    assert client.get(reverse("downloads:artifact", args=[misfiled.pk])).status_code == 404


def test_admin_finds_a_leaked_copy_by_checksum(client, staff_user):
    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)
    leaked = body(client.get(start_download(client, artifact)["Location"]))
    start_download(client, artifact)  # another copy that must not match
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)

    response = client.get(
        reverse("admin:editions_download_changelist"), {"q": hashlib.sha256(leaked).hexdigest().upper()}
    )

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert response.context["cl"].result_list[0].delivered_sha256 == hashlib.sha256(leaked).hexdigest()


def test_purge_removes_old_copies_but_keeps_the_checksum(client):
    from editions.serving import downloads_storage
    from editions.tasks import purge_watermarked_copies

    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)
    start_download(client, artifact)
    download = Download.objects.get()
    key = download.delivered_storage_key
    assert downloads_storage().exists(key)
    Download.objects.update(created_at=download.created_at - dt.timedelta(days=30))

    assert purge_watermarked_copies() == 1

    download.refresh_from_db()
    assert not downloads_storage().exists(key)
    assert download.delivered_storage_key == "" and len(download.delivered_sha256) == 64


def test_a_billing_member_reaches_neither_the_terms_nor_the_source_archive(client):
    """Issue 20, finding 2: the one permission map gives downloads to technical roles only."""
    artifact = source_archive()
    user = member(edition_code="source", role="billing", nda_signed_on=dt.date(2026, 1, 10))
    client.force_login(user)
    nda_terms()

    terms = client.post(reverse("downloads:nda"), {"accept": "yes"})
    page = client.get(reverse("downloads:artifact", args=[artifact.pk]))
    started = start_download(client, artifact)
    index = client.get(reverse("downloads:index"))

    assert (terms.status_code, page.status_code, started.status_code) == (404, 404, 404)
    assert not NdaAcceptance.objects.exists() and not Download.objects.exists()
    assert artifact.name not in index.content.decode()


def test_a_link_stops_working_when_the_member_loses_the_download_role(client):
    artifact = source_archive()
    user = source_member()
    client.force_login(user)
    accept_terms(client, user)
    link = start_download(client, artifact)["Location"]
    user.memberships.update(role="billing")

    assert client.get(link).status_code == 404
