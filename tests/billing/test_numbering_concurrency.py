"""Numbering under concurrency (real PostgreSQL, real threads): no gaps, no duplicates."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.utils import timezone

from billing import services
from billing.models import Invoice
from tests.billing.factories import chinese_organization, draft_invoice
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8
INVOICES = 200


def _issue(invoice_id: int) -> str:
    try:
        return services.invoice_issue(actor=None, invoice=Invoice.objects.get(pk=invoice_id)).number
    finally:
        connection.close()


def test_eight_workers_issue_200_invoices_without_gaps_or_duplicates():
    organization = chinese_organization()
    ids = [draft_invoice(organization).pk for _ in range(INVOICES)]
    connections.close_all()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        numbers = list(pool.map(_issue, ids))
    year = timezone.localdate().year
    assert len(set(numbers)) == INVOICES
    assert sorted(numbers) == [f"INV-{year}-{n:06d}" for n in range(1, INVOICES + 1)]
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, INVOICES + 1))


def test_concurrent_credit_notes_and_invoices_keep_separate_gapless_series():
    organization = chinese_organization()
    issued = [services.invoice_issue(actor=None, invoice=draft_invoice(organization)) for _ in range(20)]
    drafts = [draft_invoice(organization).pk for _ in range(20)]
    connections.close_all()

    def credit(invoice_id: int) -> str:
        try:
            return services.invoice_credit(actor=None, invoice=Invoice.objects.get(pk=invoice_id)).number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        credit_numbers = list(pool.map(credit, [i.pk for i in issued]))
        invoice_numbers = list(pool.map(_issue, drafts))
    year = timezone.localdate().year
    assert sorted(credit_numbers) == [f"CN-{year}-{n:06d}" for n in range(1, 21)]
    assert sorted(invoice_numbers) == [f"INV-{year}-{n:06d}" for n in range(21, 41)]
