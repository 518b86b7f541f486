"""The back office: lists with filters in a fixed number of queries, actions through services."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licenses.models import ActivationCode, Deployment, License, LicenseState
from licenses.services import activation_code_reveal, license_checkin
from portal.core.models import AuditEvent
from tests.factories import UserFactory
from tests.licenses.factories import activate, active_contract

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(client):
    user = UserFactory(is_staff=True, is_superuser=True, username="sales-admin")
    client.force_login(user)
    return user


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/licenses/deployment/",
        "/admin/licenses/deployment/?over_limit=yes&not_seen=7",
        "/admin/licenses/license/",
        "/admin/licenses/license/?expiring=30&state__exact=active",
        "/admin/licenses/activationcode/",
        "/admin/licenses/usagereport/",
        "/admin/licenses/signingkey/",
    ],
)
def test_changelists_do_not_grow_queries_with_rows(client, sales, url):
    def add_rows(n: int) -> None:
        for i in range(n):
            answer = activate(
                active_contract(edition_code="standard", device_limit=5), machine_id=f"m-{url}-{i}"
            )
            license_checkin(
                token=answer.license.token, machine_id=answer.deployment.machine_id, device_count=9
            )

    add_rows(2)
    _queries(client, url)  # warm per-process caches (content types, session)
    few = _queries(client, url)
    add_rows(6)
    many = _queries(client, url)
    assert many == few, f"{url}: {few} queries with 2 rows, {many} with 8"


def test_filters_find_what_sales_looks_for(client, sales):
    over = activate(active_contract(edition_code="standard", device_limit=5), machine_id="over-host")
    license_checkin(token=over.license.token, machine_id="over-host", device_count=50)
    activate(active_contract(), machine_id="silent-host")
    page = client.get("/admin/licenses/deployment/?over_limit=yes").content.decode()
    assert "over-host" in page and "silent-host" not in page
    page = client.get("/admin/licenses/deployment/?not_seen=never").content.decode()
    assert "silent-host" in page and "over-host" not in page
    page = client.get("/admin/licenses/deployment/?q=silent-host").content.decode()
    assert "silent-host" in page


def test_revoke_action_asks_for_a_reason(client, sales, activated):
    url = "/admin/licenses/license/"
    form = client.post(url, {"action": "revoke", "_selected_action": [activated.license.pk]})
    assert form.status_code == 200 and b'name="reason"' in form.content
    assert License.objects.get(pk=activated.license.pk).state == LicenseState.ACTIVE
    done = client.post(
        url,
        {
            "action": "revoke",
            "_selected_action": [activated.license.pk],
            "apply": "1",
            "reason": "chargeback",
        },
    )
    assert done.status_code == 302
    license = License.objects.get(pk=activated.license.pk)
    assert license.state == LicenseState.REVOKED and license.state_note == "chargeback"
    assert AuditEvent.objects.get(action="license.revoke").actor == sales


def test_reissue_actions(client, sales, activated):
    client.post("/admin/licenses/license/", {"action": "reissue", "_selected_action": [activated.license.pk]})
    assert License.objects.get(pk=activated.license.pk).state == LicenseState.SUPERSEDED
    client.post(
        "/admin/licenses/deployment/",
        {"action": "issue_license", "_selected_action": [activated.deployment.pk]},
    )
    assert License.objects.filter(deployment=activated.deployment).count() == 3
    assert License.objects.filter(deployment=activated.deployment, state=LicenseState.ACTIVE).count() == 1


def test_register_offline_deployment_and_download_its_key(client, sales, contract):
    response = client.post(
        "/admin/licenses/deployment/add/",
        {
            "contract": contract.pk,
            "machine_id": "air-gapped-01",
            "hostname": "vault",
            "environment": "production",
            "offline": "on",
            "license_algorithm": "RS256",
            "notes": "",
            "licenses-TOTAL_FORMS": "0",
            "licenses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    deployment = Deployment.objects.get(machine_id="air-gapped-01")
    license = License.objects.get(deployment=deployment)
    assert license.offline and deployment.organization_id == contract.organization_id
    page = client.get(
        f"/admin/licenses/deployment/{deployment.pk}/change/", headers={"Accept-Language": "en"}
    )
    assert page.status_code == 200 and b"usage history" in page.content.lower()
    key = client.get(f"/admin/licenses/license/{license.pk}/key/")
    assert key.status_code == 200 and key.content.decode() == license.token


def test_activation_code_added_in_admin_is_shown_and_revocable(client, sales, contract):
    response = client.post(
        "/admin/licenses/activationcode/add/", {"contract": contract.pk, "max_deployments": "", "note": "HQ"}
    )
    assert response.status_code == 302
    code = ActivationCode.objects.get()
    assert code.max_deployments == 5  # enterprise default: 3 production + 2 staging
    page = client.get(f"/admin/licenses/activationcode/{code.pk}/change/").content.decode()
    assert activation_code_reveal(code) in page
    client.post("/admin/licenses/activationcode/", {"action": "revoke_codes", "_selected_action": [code.pk]})
    code.refresh_from_db()
    assert code.revoked_at is not None


def test_license_change_page_renders(client, sales, activated):
    page = client.get(f"/admin/licenses/license/{activated.license.pk}/change/")
    assert page.status_code == 200
    assert activated.license.token.encode() not in page.content  # the token is downloaded, not shown
