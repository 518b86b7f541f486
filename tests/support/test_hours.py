"""Spec §6: custom-development hours bucket per contract year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from portal.errors import ApplicationError
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
