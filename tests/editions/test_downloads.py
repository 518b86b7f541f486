"""Downloads: who sees what (edition, module, public, tenancy), signed links (expiry, other users),
Range requests, web-server hand-off and the audit trail of every download."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.urls import reverse

from contracts.models import ContractStatus
from editions.models import Artifact, Download, DownloadTransfer, Module
from editions.selectors import artifacts_for, entitlement_for
from tests.editions.factories import ReleaseFactory, file_artifact, image_artifact, member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def start_download(client, artifact: Artifact, **extra):
    """POST the artifact page as the portal's Download button does; returns the redirect response."""
    return client.post(reverse("downloads:artifact", args=[artifact.pk]), **extra)


def fetch(client, response, **headers):
    assert response.status_code == 302, response.content[:500]
    return client.get(response["Location"], **headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- entitlement -------------------------------------------------------------------------------------


def test_artifact_is_visible_to_the_entitled_edition_only():
    enterprise = file_artifact(editions=["enterprise"])
    standard = file_artifact(editions=["standard"])
    both = file_artifact(editions=["standard", "enterprise"])
    ent_user, std_user, no_contract = member(), member(edition_code="standard"), member(edition_code=None)

    assert set(artifacts_for(entitlement_for(ent_user.organization))) == {enterprise, both}
    assert set(artifacts_for(entitlement_for(std_user.organization))) == {standard, both}
    assert set(artifacts_for(entitlement_for(no_contract.organization))) == set()


def test_module_entitles_an_artifact():
    retail, vehicle = Module.objects.get(code="retail"), Module.objects.get(code="vehicle")
    retail_pack = file_artifact(modules=[retail], name="retail-dashboards.tar.gz")
    with_retail = member(edition_code="standard", modules=[retail])
    with_vehicle = member(edition_code="standard", modules=[vehicle])
    enterprise = member()  # enterprise includes every module

    assert retail_pack in artifacts_for(entitlement_for(with_retail.organization))
    assert retail_pack not in artifacts_for(entitlement_for(with_vehicle.organization))
    assert retail_pack in artifacts_for(entitlement_for(enterprise.organization))


def test_only_active_contracts_and_published_releases_count():
    artifact = file_artifact(editions=["enterprise"])
    draft = file_artifact(
        editions=["enterprise"], release=ReleaseFactory(is_published=False, published_at=None)
    )
    user = member()
    assert set(artifacts_for(entitlement_for(user.organization))) == {artifact}
    user.organization.contracts.update(status=ContractStatus.EXPIRED)
    assert set(artifacts_for(entitlement_for(user.organization))) == set()
    assert draft.pk  # never listed


def test_index_lists_what_the_organization_may_fetch_newest_first(client):
    old = file_artifact(
        editions=["enterprise"], release=ReleaseFactory(version="3.0.0", released_on=dt.date(2026, 1, 5))
    )
    new = file_artifact(
        editions=["enterprise"], release=ReleaseFactory(version="3.1.0", released_on=dt.date(2026, 3, 5))
    )
    image = image_artifact(repository="iot/enterprise", editions=["enterprise"], release=new.release)
    hidden = file_artifact(editions=["standard"], name="standard-only.bin")
    user = member()
    client.force_login(user)

    response = client.get(reverse("downloads:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("3.1.0") < html.index("3.0.0")
    assert old.sha256 in html and new.sha256 in html
    assert f"docker pull registry.test/iot/enterprise@{image.digest}" in html
    assert f"echo &#x27;{new.sha256}  {new.filename}&#x27; | sha256sum -c -" in html
    assert "standard-only.bin" not in html and hidden.sha256 not in html


def test_release_notes_are_rendered_safely(client):
    release = ReleaseFactory(notes="**bold** <script>alert(1)</script> [x](javascript:alert(1))")
    file_artifact(editions=["community"], release=release)
    html = client.get(reverse("downloads:index")).content.decode()
    assert "<strong>bold</strong>" in html
    assert "<script>alert(1)" not in html and "javascript:" not in html


def test_community_artifacts_are_public_even_anonymously(client):
    artifact = file_artifact(editions=["community"], content=b"community compose bundle\n" * 10)
    assert artifact.sha256 in client.get(reverse("downloads:index")).content.decode()

    response = fetch(client, start_download(client, artifact))

    assert response.status_code == 200
    assert body(response) == b"community compose bundle\n" * 10
    download = Download.objects.get()
    assert download.user is None and download.organization is None


def test_anonymous_visitors_are_sent_to_login_for_non_public_artifacts(client):
    artifact = file_artifact(editions=["enterprise"])
    for response in (
        client.get(reverse("downloads:artifact", args=[artifact.pk])),
        start_download(client, artifact),
    ):
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]
    # A link issued to a customer also needs that customer's session.
    user = member()
    client.force_login(user)
    link = start_download(client, artifact)["Location"]
    client.logout()
    response = client.get(link)
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert not DownloadTransfer.objects.exists()


def test_another_organization_gets_404_for_an_edition_it_does_not_have(client):
    artifact = file_artifact(editions=["enterprise"])
    client.force_login(member(edition_code="standard"))
    assert client.get(reverse("downloads:artifact", args=[artifact.pk])).status_code == 404
    assert start_download(client, artifact).status_code == 404
    assert not Download.objects.exists()


def test_current_organization_is_chosen_among_the_users_memberships(client):
    from tests.factories import MembershipFactory

    artifact = file_artifact(editions=["enterprise"])
    user = member(edition_code="standard")
    enterprise_member = member()
    MembershipFactory(organization=enterprise_member.organization, user=user, role="technical")
    client.force_login(user)
    url = reverse("downloads:artifact", args=[artifact.pk])
    assert client.get(url, {"org": user.organization.pk}).status_code == 404
    assert client.get(url, {"org": enterprise_member.organization.pk}).status_code == 200
    # An organization the user is not a member of is never chosen.
    assert (
        client.get(url, {"org": member().organization.pk}).status_code == 200
    )  # falls back to the session's


# --- signed links ------------------------------------------------------------------------------------


def test_link_expires(client, settings):
    settings.DOWNLOADS_LINK_MAX_AGE = 600
    artifact = file_artifact(editions=["enterprise"])
    client.force_login(member())
    start = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        link = start_download(client, artifact)["Location"]
    with time_machine.travel(start + dt.timedelta(seconds=599), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=601), tick=False):
        response = client.get(link, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert b"This download link has expired" in response.content


def test_link_of_another_user_is_refused_even_in_the_same_organization(client):
    artifact = file_artifact(editions=["enterprise"])
    owner = member()
    colleague = UserFactory()
    from tests.factories import MembershipFactory

    MembershipFactory(organization=owner.organization, user=colleague, role="technical")
    client.force_login(owner)
    link = start_download(client, artifact)["Location"]

    client.force_login(colleague)
    assert client.get(link).status_code == 404
    client.force_login(member(edition_code="standard"))
    assert client.get(link).status_code == 404
    client.force_login(owner)
    assert client.get(link).status_code == 200


def test_tampered_or_guessed_links_are_not_found(client):
    artifact = file_artifact(editions=["enterprise"])
    client.force_login(member())
    link = start_download(client, artifact)["Location"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.get(reverse("downloads:fetch", args=[forged])).status_code == 404
    assert client.get(reverse("downloads:fetch", args=["nonsense"])).status_code == 404


def test_link_stops_working_when_the_contract_ends(client):
    artifact = file_artifact(editions=["enterprise"])
    user = member()
    client.force_login(user)
    link = start_download(client, artifact)["Location"]
    user.organization.contracts.update(status=ContractStatus.EXPIRED)
    assert client.get(link).status_code == 404


# --- Range requests ----------------------------------------------------------------------------------

CONTENT = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def link(client):
    artifact = file_artifact(editions=["enterprise"], content=CONTENT)
    client.force_login(member())
    return start_download(client, artifact)["Location"]


def test_full_download_advertises_ranges(client, link):
    response = client.get(link)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(CONTENT))
    assert response["ETag"] == f'"{hashlib.sha256(CONTENT).hexdigest()}"'
    assert response["Content-Disposition"].startswith("attachment;")
    assert body(response) == CONTENT


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-240", 10000, 10239),
        ("bytes=10200-99999", 10200, 10239),
    ],
)
def test_single_range_is_206(client, link, header, start, end):
    response = client.get(link, HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(CONTENT)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert body(response) == CONTENT[start : end + 1]


def test_download_in_chunks_reassembles_the_file(client, link):
    chunks, size = [], len(CONTENT)
    for start in range(0, size, 3000):
        response = client.get(link, HTTP_RANGE=f"bytes={start}-{min(start + 2999, size - 1)}")
        assert response.status_code == 206
        chunks.append(body(response))
    assert b"".join(chunks) == CONTENT
    transfers = DownloadTransfer.objects.filter(status=206).order_by("range_start")
    assert [t.range_start for t in transfers] == list(range(0, size, 3000))
    assert sum(t.bytes for t in transfers) == size


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-20010", "bytes=-0"])
def test_unsatisfiable_range_is_416(client, link, header):
    response = client.get(link, HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(CONTENT)}"


@pytest.mark.parametrize("header", ["bytes=0-9,20-29", "items=0-9", "bytes=9-0", "bytes=abc"])
def test_ranges_we_do_not_serve_give_the_whole_file(client, link, header):
    response = client.get(link, HTTP_RANGE=header)
    assert response.status_code == 200
    assert body(response) == CONTENT


def test_if_range_with_a_stale_etag_gives_the_whole_file(client, link):
    response = client.get(link, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert response.status_code == 200
    etag = f'"{hashlib.sha256(CONTENT).hexdigest()}"'
    assert client.get(link, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206


# --- web server hand-off -----------------------------------------------------------------------------


def test_accel_mode_hands_the_file_to_nginx(client, settings, link):
    settings.DOWNLOADS_SERVE_MODE = "accel"
    settings.DOWNLOADS_ACCEL_PREFIX = "/protected/"
    response = client.get(link)
    download = Download.objects.get()
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected/{download.artifact.storage_key}"
    assert response.content == b""
    assert DownloadTransfer.objects.get().mode == "accel"


def test_sendfile_mode_names_the_path(client, settings, link):
    settings.DOWNLOADS_SERVE_MODE = "sendfile"
    response = client.get(link, HTTP_RANGE="bytes=0-9")
    download = Download.objects.get()
    assert response["X-Sendfile"] == str(settings.MEDIA_ROOT / download.artifact.storage_key)
    transfer = DownloadTransfer.objects.get()
    assert (transfer.mode, transfer.status, transfer.bytes) == ("sendfile", 206, 10)


# --- audit trail -------------------------------------------------------------------------------------


def test_every_download_is_recorded(client, link):
    client.get(link, HTTP_USER_AGENT="curl/8.5", REMOTE_ADDR="203.0.113.9")
    client.get(link, HTTP_RANGE="bytes=0-1023", HTTP_USER_AGENT="aria2/1.37", REMOTE_ADDR="203.0.113.10")

    download = Download.objects.select_related("user", "organization", "contract").get()
    assert download.organization.memberships.filter(user=download.user).exists()
    assert download.contract is not None and download.contract.organization == download.organization
    assert download.created_at is not None
    transfers = list(download.transfers.order_by("id"))
    assert [(t.status, t.bytes, t.ip_address, t.user_agent) for t in transfers] == [
        (200, len(CONTENT), "203.0.113.9", "curl/8.5"),
        (206, 1024, "203.0.113.10", "aria2/1.37"),
    ]


def test_downloads_are_visible_in_admin(client, link, staff_user):
    client.get(link)
    download = Download.objects.get()
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)

    listing = client.get(reverse("admin:editions_download_changelist"))
    assert listing.status_code == 200
    assert str(download.download_id) in listing.content.decode()
    found = client.get(reverse("admin:editions_download_changelist"), {"q": str(download.download_id)})
    assert str(download.download_id) in found.content.decode()
    detail = client.get(reverse("admin:editions_download_change", args=[download.pk]))
    assert detail.status_code == 200
    assert f"{len(CONTENT):,}" in listing.content.decode()


def test_release_files_are_never_served_from_media_even_in_debug(client, settings):
    """Issue 20, finding 3: `make demo` (DEBUG=1) served /media/, the source archive included, to anyone."""
    import importlib

    from django.urls import clear_url_caches

    import portal.urls

    settings.DEBUG = True  # as `make demo` runs; the URL patterns are built again under it
    importlib.reload(portal.urls)
    clear_url_caches()
    artifact = file_artifact(editions=["enterprise"], name="secret-bundle.bin")
    path = f"{settings.MEDIA_URL}{artifact.storage_key}"
    assert client.get(path).status_code == 404
    assert client.get(f"{settings.MEDIA_URL}releases/").status_code == 404
