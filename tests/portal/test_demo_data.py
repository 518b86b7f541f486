"""The demo shows the product as a customer lives with it (issue 22, item 4): contracts priced from the
price list, knowledge-base articles the ticket form suggests in both languages, a year of invoices and
payments with a spread, real sample bundles that differ per version, an activation code with room left."""

from __future__ import annotations

import io
import tarfile
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from billing.models import Invoice, PaymentStatus
from contracts.models import Contract, ContractStatus
from editions.models import Artifact
from editions.serving import downloads_storage
from licenses.models import ActivationCode, Deployment
from portal.pages.accounts import LANGUAGE_SESSION_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(django_user_model):
    call_command("seed_demo", stdout=io.StringIO())
    return django_user_model.objects.get(username="customer")


def test_contracts_are_priced(demo):
    priced = Contract.objects.exclude(status=ContractStatus.DRAFT).exclude(edition__is_metered=True)
    assert priced.exists()
    assert not priced.filter(price__lte=Decimal("0")).exists()


@pytest.mark.parametrize(
    ("language", "text", "title"),
    [
        ("zh-hans", "门店设备离线后告警很慢", "设备离线告警延迟怎么办"),
        ("en", "offline alerts arrive late for our stores", "Offline alerts arrive late"),
    ],
)
def test_the_ticket_form_suggests_articles_in_both_languages(demo, language, text, title):
    client = Client()
    client.force_login(demo)
    session = client.session
    session[LANGUAGE_SESSION_KEY] = language
    session.save()
    answer = client.get("/support/suggest/", {"q": text, "format": "json"}, HTTP_ACCEPT_LANGUAGE=language)
    titles = [a["title"] for a in answer.json()["articles"]]
    assert titles and titles[0] == title


def test_a_year_of_invoices_with_payments_and_arrears(demo):
    invoices = Invoice.objects.filter(kind="invoice", status="issued")
    months = {(i.issue_date.year, i.issue_date.month) for i in invoices}
    assert len(months) >= 12
    statuses = Counter(invoices.values_list("payment_status", flat=True))
    assert statuses[PaymentStatus.PAID] >= 20
    assert statuses[PaymentStatus.PARTIAL] >= 1 and statuses[PaymentStatus.UNPAID] >= 5
    overdue_days = sorted(i.days_overdue for i in Invoice.objects.overdue())
    assert overdue_days and overdue_days[-1] > 90 and overdue_days[0] < 60  # the aging buckets differ
    delays = {(p.received_at.date() - a.invoice.issue_date).days for a in _allocations() for p in [a.payment]}
    assert len(delays) > 5  # customers pay at different speeds


def _allocations():
    from billing.models import PaymentAllocation

    return PaymentAllocation.objects.select_related("payment", "invoice")


def test_sample_bundles_are_real_archives_that_differ_per_version(demo):
    bundles = Artifact.objects.filter(name__endswith=".tar.gz").exclude(storage_key="")
    assert bundles.count() >= 4
    assert len({b.sha256 for b in bundles}) == bundles.count()
    storage = downloads_storage()
    for bundle in bundles:
        with storage.open(bundle.storage_key) as handle, tarfile.open(fileobj=handle, mode="r:gz") as archive:
            names = archive.getnames()
        assert any(name.endswith(("docker-compose.yml", "Chart.yaml")) for name in names)
        assert bundle.size > 200


def test_the_customers_activation_code_has_room_left(demo):
    organization = demo.memberships.get().organization
    for code in ActivationCode.objects.filter(contract__organization=organization):
        used = Deployment.objects.filter(activation_code=code).count()
        assert used < code.max_deployments


def test_check_ins_over_months_and_renewals(demo):
    from django.utils import timezone

    from licenses.models import UsageReport

    ages = {(timezone.now() - r.reported_at).days // 30 for r in UsageReport.objects.all()}
    assert len(ages) >= 6  # check-ins spread over at least half a year, not only the last weeks
    renewals = Contract.objects.filter(renewal_of__isnull=False)
    assert renewals.filter(status=ContractStatus.ACTIVE).exists()
    assert renewals.filter(status=ContractStatus.DRAFT).exists()
    assert all(r.price > 0 for r in renewals)
