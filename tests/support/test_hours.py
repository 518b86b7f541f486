"""Spec §6: custom-development hours bucket per contract year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from portal.core.errors import ApplicationError
from support.models import Category, HoursBucket, TimeEntry
from support.selectors import contract_hours_summary
from support.services import contract_year, time_entry_add
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def dev_ticket(member, enterprise_contract):
    return open_ticket(
        member, enterprise_contract, category=Category.CUSTOM_DEVELOPMENT, subject="Custom report"
    )


def test_summary_before_any_entry(enterprise_contract):
    summary = contract_hours_summary(enterprise_contract)
    assert summary.granted_hours == Decimal("50.00")
    assert summary.remaining_hours == Decimal("50.00")
    assert not summary.warning and not summary.exhausted
    assert not HoursBucket.objects.exists()  # reading creates nothing


def test_entries_draw_down_warn_at_80_percent_and_flag_overage(
    dev_ticket, enterprise_contract, agent, django_capture_on_commit_callbacks, settings
):
    settings.SUPPORT_ESCALATION_EMAILS = ["leads@vendor.example"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=39 * 60)
    assert contract_hours_summary(enterprise_contract).remaining_hours == Decimal("11.00")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=60)  # 40 h = 80 %
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=60)  # warned once only
    assert len(mail.outbox) == 1 and "80%" in mail.outbox[0].subject
    summary = contract_hours_summary(enterprise_contract)
    assert summary.warning and summary.percent_used == 82
    entry = time_entry_add(actor=agent, ticket=dev_ticket, minutes=10 * 60)  # 51 h: 1 h overage
    assert entry.overage_minutes == 60
    dev_ticket.refresh_from_db()
    assert dev_ticket.hours_overage
    summary = contract_hours_summary(enterprise_contract)
    assert summary.exhausted and summary.remaining_hours == Decimal("0.00")
    assert summary.overage_hours == Decimal("1.00")
    assert HoursBucket.objects.get().granted_minutes == 50 * 60


def test_entire_entry_is_overage_once_exhausted(dev_ticket, agent):
    time_entry_add(actor=agent, ticket=dev_ticket, minutes=50 * 60)
    assert time_entry_add(actor=agent, ticket=dev_ticket, minutes=30).overage_minutes == 30


def test_other_categories_do_not_draw_from_the_bucket(member, enterprise_contract, agent):
    incident = open_ticket(member, enterprise_contract, category=Category.INCIDENT)
    entry = time_entry_add(actor=agent, ticket=incident, minutes=120)
    assert entry.bucket is None
    assert contract_hours_summary(enterprise_contract).used_hours == Decimal("0.00")


def test_each_contract_year_has_its_own_bucket(dev_ticket, enterprise_contract, agent):
    start = enterprise_contract.start_date
    time_entry_add(actor=agent, ticket=dev_ticket, minutes=600, work_date=start)
    next_year = date(start.year + 1, start.month, min(start.day, 28))
    if next_year < enterprise_contract.end_date:
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=60, work_date=next_year)
        assert HoursBucket.objects.count() == 2
    assert contract_year(enterprise_contract, start) == (start, enterprise_contract.end_date)


def test_only_staff_log_time(dev_ticket, member):
    with pytest.raises(ApplicationError):
        time_entry_add(actor=member, ticket=dev_ticket, minutes=10)
    assert not TimeEntry.objects.exists()


def test_no_summary_without_hours(standard_contract):
    assert contract_hours_summary(standard_contract) is None


def test_overage_is_invoiced_monthly_once_and_only_custom_development(
    dev_ticket, member, enterprise_contract, agent, settings
):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from billing.models import BillingKind, BillingPeriod, Invoice
    from support.tasks import hours_overage_invoice

    zone = timezone.get_default_timezone()
    march = dt.datetime(2026, 3, 10, 10, tzinfo=zone)
    with time_machine.travel(march, tick=False):
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=50 * 60 - 20)  # 20 min left of the grant
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=45)  # 25 min overage
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=40)  # 40 min overage
        incident = open_ticket(member, enterprise_contract, category=Category.INCIDENT)
        time_entry_add(actor=agent, ticket=incident, minutes=600)  # support, never billed as overage
    with time_machine.travel(march.replace(month=4, day=2), tick=False):
        # Logged on 2 April for a March day: billed with April's overage, not lost.
        time_entry_add(actor=agent, ticket=dev_ticket, minutes=30, work_date=dt.date(2026, 3, 31))

    with time_machine.travel(dt.datetime(2026, 4, 1, 3, 40, tzinfo=zone), tick=False):
        assert hours_overage_invoice() == 1
        assert hours_overage_invoice() == 1  # the same invoice again, nothing new
    (invoice,) = Invoice.objects.filter(contract=enterprise_contract)
    (line,) = invoice.lines.all()
    assert line.quantity == Decimal("1.0833")  # 65 minutes
    rate = Decimal(str(settings.BILLING_CUSTOM_DEV_HOURLY_RATE[enterprise_contract.currency]))
    assert line.unit_price == rate and line.net == (Decimal("1.0833") * rate).quantize(Decimal("0.01"))
    assert (line.period_start, line.period_end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))

    assert hours_overage_invoice("2026-04-15") == 1
    april = BillingPeriod.objects.get(kind=BillingKind.CUSTOM_DEV, period_start=dt.date(2026, 4, 1))
    assert april.quantity == Decimal("0.5000")
    assert hours_overage_invoice("2026-05-15") == 0  # nothing logged in May
