"""Versions across the fleet (issue 18, item 2): advisory messages at check-in and the fleet endpoint."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from django.test import Client

from editions.models import Release, ReleaseChannel, ReleaseSupport
from licenses.models import Deployment
from licenses.services import license_checkin
from tests.licenses.factories import activate, active_contract

pytestmark = pytest.mark.django_db

CHECKIN = "/api/v1/platform/checkin"


@pytest.fixture
def releases() -> None:
    for version, channel, status in [
        ("3.0.0", ReleaseChannel.STABLE, ReleaseSupport.END_OF_LIFE),
        ("3.1.0", ReleaseChannel.STABLE, ReleaseSupport.SUPPORTED),
        ("3.2.0", ReleaseChannel.STABLE, ReleaseSupport.CURRENT),
        ("2.8.0", ReleaseChannel.LTS, ReleaseSupport.SUPPORTED),
        ("2.8.4", ReleaseChannel.LTS, ReleaseSupport.CURRENT),
        ("3.3.0", ReleaseChannel.STABLE, ReleaseSupport.CURRENT),  # not published: never advised
    ]:
        Release.objects.create(
            version=version, channel=channel, support_status=status, is_published=version != "3.3.0"
        )


def _codes(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["code"]: m for m in messages}


def _post(token: str, version: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"license": token, "machine_id": "machine-A", "device_count": 1}
    if version is not None:
        body["platform_version"] = version
    response = Client().post(CHECKIN, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return _codes(response.json()["messages"])


def test_upgrade_available_for_an_older_version_and_not_for_the_newest_on_both_paths(releases: None) -> None:
    answer = activate(active_contract())
    token = answer.license.token
    old = _post(token, "3.1.0")  # the full path (first check-in of the contract)
    assert old["upgrade_available"]["version"] == "3.2.0" and old["upgrade_available"]["channel"] == "stable"
    assert "version_unsupported" not in old
    again = _post(token, None)  # the fast path, with the version stored at the last check-in
    assert again["upgrade_available"]["version"] == "3.2.0"
    assert _post(token, "3.2.0") == {}
    assert _post(token, None) == {}  # stored version is now the newest


def test_lts_deployments_are_told_about_lts_and_eol_is_unsupported(releases: None) -> None:
    answer = activate(active_contract())
    lts = _codes(
        license_checkin(token=answer.license.token, machine_id="machine-A", platform_version="2.8.0").messages
    )
    assert lts["upgrade_available"]["version"] == "2.8.4"
    eol = _codes(
        license_checkin(token=answer.license.token, machine_id="machine-A", platform_version="3.0.0").messages
    )
    assert eol["version_unsupported"]["version"] == "3.0.0" and eol["upgrade_available"]["version"] == "3.2.0"


def test_a_release_change_is_seen_at_once(releases: None) -> None:
    answer = activate(active_contract())
    assert (
        _codes(
            license_checkin(
                token=answer.license.token, machine_id="machine-A", platform_version="3.2.0"
            ).messages
        )
        == {}
    )
    release = Release.objects.get(version="3.3.0")
    release.is_published = True
    release.save()
    messages = _codes(
        license_checkin(token=answer.license.token, machine_id="machine-A", platform_version="3.2.0").messages
    )
    assert messages["upgrade_available"]["version"] == "3.3.0"


@pytest.fixture
def fleet_500() -> Counter:
    """500 deployments over three editions, random versions and device counts; returns the hand count."""
    rng = random.Random(18)
    contracts = {code: active_contract(edition_code=code) for code in ("standard", "enterprise", "source")}
    versions = ["3.2.0", "3.1.0", "3.0.0", "2.8.4", ""]
    rows, expected = [], Counter()
    for i in range(500):
        code = rng.choice(list(contracts))
        version = rng.choice(versions)
        devices = rng.choice([None, rng.randint(0, 5000)])
        retired = rng.random() < 0.1
        rows.append(
            Deployment(
                organization_id=contracts[code].organization_id,
                contract=contracts[code],
                machine_id=f"m-{i}",
                platform_version=version,
                last_device_count=devices,
                deactivated_at=Deployment._meta.get_field("created_at").default() if retired else None,
            )
        )
        if not retired:
            expected[(version, code, "deployments")] += 1
            expected[(version, code, "devices")] += devices or 0
    Deployment.objects.bulk_create(rows)
    return expected


def test_fleet_versions_matches_a_hand_count_of_500_deployments(
    client: Client, fleet_500: Counter, read_token: str, releases: None
) -> None:
    from tests.conftest import bearer

    response = client.get("/api/v1/fleet/versions", headers=bearer(read_token))
    assert response.status_code == 200
    body = response.json()
    got = Counter()
    for item in body["items"]:
        got[(item["version"], item["edition"], "deployments")] += item["deployments"]
        got[(item["version"], item["edition"], "devices")] += item["devices"]
    assert +got == +fleet_500
    assert body["deployments"] == sum(v for k, v in fleet_500.items() if k[2] == "deployments")
    assert body["items"][0]["version"] == "3.2.0"  # newest first
    statuses = {i["version"]: i["support_status"] for i in body["items"]}
    assert statuses["3.0.0"] == "eol" and statuses[""] is None
    only = client.get("/api/v1/fleet/versions?edition=source", headers=bearer(read_token)).json()
    assert {i["edition"] for i in only["items"]} == {"source"}


def test_fleet_versions_errors(client: Client, django_user_model: Any, read_token: str) -> None:
    from tests.conftest import bearer

    assert client.get("/api/v1/fleet/versions").status_code == 401
    assert client.get("/api/v1/fleet/versions", headers=bearer("not-a-token")).status_code == 401
    customer = django_user_model.objects.create_user(username="c", email="c@x.example", password="x")
    client.force_login(customer)
    refused = client.get("/api/v1/fleet/versions")
    assert refused.status_code in {401, 403} and refused.json()["code"]
    client.logout()
    bad = client.get("/api/v1/fleet/versions?edition=DROP%20TABLE", headers=bearer(read_token))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
