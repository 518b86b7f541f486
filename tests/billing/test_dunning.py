"""Payment reminders: configurable stages after the due date, each once (DB-enforced), in the
customer's language, HTML and text, with the PDF attached."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing import services
from billing.models import DunningReminder, Invoice
from billing.selectors import overdue_invoices
from tests.billing.factories import chinese_organization, foreign_organization, issued_invoice

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _stages(settings):
    settings.BILLING_DUNNING_DAYS = [7, 14, 30]
    settings.BILLING_PAYMENT_TERMS_DAYS = 30


def run(today, captured):
    with captured(execute=True):
        return services.dunning_run(today=today)


def test_reminder_once_per_stage_in_the_customers_language(django_capture_on_commit_callbacks, mailoutbox):
    invoice = issued_invoice(chinese_organization())
    due = invoice.due_date
    assert run(due + datetime.timedelta(days=6), django_capture_on_commit_callbacks) == []
    sent = run(due + datetime.timedelta(days=7), django_capture_on_commit_callbacks)
    assert len(sent) == 1 and len(mailoutbox) == 1
    message = mailoutbox[0]
    assert invoice.number in message.subject and "逾期" in message.subject
    assert message.to == ["finance@zhilian.example.cn"]
    html = message.alternatives[0][0]
    assert "逾期" in message.body and "<html>" in html and invoice.number in html
    assert message.attachments[0][0] == f"{invoice.number}.pdf"
    assert run(due + datetime.timedelta(days=8), django_capture_on_commit_callbacks) == []
    run(due + datetime.timedelta(days=14), django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2
    assert list(DunningReminder.objects.order_by("stage_days").values_list("stage_days", flat=True)) == [
        7,
        14,
    ]


def test_english_reminder_for_foreign_customer(django_capture_on_commit_callbacks, mailoutbox):
    invoice = issued_invoice(foreign_organization())
    run(invoice.due_date + datetime.timedelta(days=7), django_capture_on_commit_callbacks)
    assert "overdue" in mailoutbox[0].subject and mailoutbox[0].to == ["ap@acme.example"]


def test_missed_stages_send_only_the_latest(django_capture_on_commit_callbacks, mailoutbox):
    invoice = issued_invoice()
    run(invoice.due_date + datetime.timedelta(days=31), django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1
    rows = {r.stage_days: r for r in DunningReminder.objects.all()}
    assert rows[30].sent_at and rows[7].skipped and rows[14].skipped


def test_paid_invoices_get_no_reminder(django_capture_on_commit_callbacks, mailoutbox):
    invoice = issued_invoice()
    services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=D("1130"),
        currency="CNY",
        allocations=[(invoice, D("1130"))],
    )
    assert run(invoice.due_date + datetime.timedelta(days=7), django_capture_on_commit_callbacks) == []
    assert mailoutbox == []


def test_one_reminder_per_stage_is_a_database_constraint():
    invoice = issued_invoice()
    DunningReminder.objects.create(invoice=invoice, stage_days=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        DunningReminder.objects.create(invoice=invoice, stage_days=7)


def test_overdue_selector_lists_open_invoices_past_due():
    invoice = issued_invoice()
    Invoice.objects.filter(pk=invoice.pk).update(due_date=datetime.date(2020, 1, 1))
    assert list(overdue_invoices()) == [Invoice.objects.get(pk=invoice.pk)]
