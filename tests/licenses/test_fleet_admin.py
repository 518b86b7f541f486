"""Fleet insights in admin (issue 18, items 2, 3, 4 and 6): versions page with the adoption chart,
growth signals (linear fit, upsell candidates, accounts at risk), support bundle download."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from licenses import insights
from licenses.models import UsageReport
from licenses.services.bundles import support_bundle_upload
from licenses.services.fleet import fleet_health_scan
from portal.core.models import AuditEvent
from tests.factories import UserFactory
from tests.licenses.factories import activate, active_contract
from tests.licenses.test_fleet_bundles import tar_gz

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, settings: Any) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _history(answer: Any, counts: list[int], *, today: dt.date) -> None:
    """One check-in a day at noon, the last on `today`."""
    start = today - dt.timedelta(days=len(counts) - 1)
    UsageReport.objects.bulk_create(
        UsageReport(
            deployment=answer.deployment,
            contract_id=answer.license.contract_id,
            license=answer.license,
            reported_at=timezone.make_aware(dt.datetime.combine(start + dt.timedelta(days=i), dt.time(12))),
            device_count=count,
            status="valid",
        )
        for i, count in enumerate(counts)
    )


def test_linear_fit() -> None:
    slope, intercept = insights.linear_fit([(0, 1), (1, 3), (2, 5)])
    assert slope == pytest.approx(2) and intercept == pytest.approx(1)
    assert insights.linear_fit([(1, 5)]) is None


def test_growth_signals_find_upsell_candidates_and_accounts_at_risk() -> None:
    today = timezone.localdate()
    growing = active_contract(device_limit=1000, days_left=200)
    _history(
        activate(growing, machine_id="g"), [400 + 10 * i for i in range(30)], today=today
    )  # 690, +10/day
    full = active_contract(device_limit=100)
    _history(activate(full, machine_id="f"), [85] * 30, today=today)
    shrinking = active_contract(device_limit=1000)
    _history(activate(shrinking, machine_id="s"), [600] * 25 + [250] * 5, today=today)
    quiet = active_contract(device_limit=1000)
    _history(activate(quiet, machine_id="q"), [100] * 30, today=today)

    signals = {g.contract.pk: g for g in insights.growth_signals(today=today)}
    g = signals[growing.pk]
    assert g.current == 690 and g.slope_per_day == pytest.approx(10)
    # 690 + 10/day reaches 1000 in 31 days, well before the contract ends.
    assert g.limit_reached_on == today + dt.timedelta(days=32)
    assert g.upsell and not g.risk_reasons
    assert signals[full.pk].upsell  # 85 % of the limit
    assert not signals[quiet.pk].upsell and not signals[quiet.pk].risk_reasons
    assert signals[shrinking.pk].risk_reasons == ["devices fell by half"]
    upsell = {c.contract.pk for c in insights.upsell_candidates(today=today)}
    assert upsell == {growing.pk, full.pk}
    assert {c.contract.pk for c in insights.accounts_at_risk(today=today)} == {shrinking.pk}


def test_growth_signals_take_a_fixed_number_of_queries(django_assert_max_num_queries: Any) -> None:
    today = timezone.localdate()
    for i in range(4):
        _history(activate(active_contract(device_limit=100), machine_id=f"m{i}"), [10, 20, 30], today=today)
    with django_assert_max_num_queries(4):
        assert len(insights.growth_signals(today=today)) == 4


def test_admin_pages_render_versions_chart_and_growth(admin_client: Client) -> None:
    today = timezone.localdate()
    contract = active_contract(device_limit=100)
    answer = activate(contract, machine_id="a", platform_version="3.2.0")
    _history(answer, [50, 70, 90], today=today)
    fleet_health_scan()
    page = admin_client.get("/admin/licenses/fleetversionsnapshot/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="fleet-versions"' in html and "3.2.0" in html and "<svg" in html
    growth = admin_client.get(f"/admin/licenses/fleetversionsnapshot/growth/?contract={contract.pk}")
    assert growth.status_code == 200
    html = growth.content.decode()
    assert contract.number in html and "<svg" in html and "limit 100" in html
    for url in ("/admin/licenses/silenceepisode/", "/admin/licenses/supportbundle/"):
        assert admin_client.get(url).status_code == 200


def test_admin_pages_in_chinese(admin_client: Client) -> None:
    admin_client.cookies["django_language"] = "zh-hans"
    html = admin_client.get(
        "/admin/licenses/fleetversionsnapshot/", headers={"accept-language": "zh-hans"}
    ).content.decode()
    assert "升级" in html or "版本" in html


def test_staff_download_a_bundle_and_customers_cannot(
    admin_client: Client, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    answer = activate(active_contract(), machine_id="b")
    data = tar_gz()
    bundle = support_bundle_upload(
        actor=None, deployment=answer.deployment, upload=SimpleUploadedFile("x.tar.gz", data)
    )
    url = f"/admin/licenses/supportbundle/{bundle.pk}/download/"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/octet-stream"
    assert "attachment" in response["Content-Disposition"]
    assert AuditEvent.objects.filter(action="support_bundle.download").count() == 1
    customer = Client()
    customer.force_login(UserFactory())
    assert customer.get(url).status_code == 302  # to the admin login
