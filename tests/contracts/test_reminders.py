"""Renewal reminder emails: recipients, cc, language, parts, exactly-once claims, mail failures and
retries, staff sending one by hand, and what the admin shows."""

from __future__ import annotations

import datetime as dt
import smtplib
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import override_settings
from django.urls import reverse

from contracts import lifecycle, reminders, tasks
from contracts.models import Contract, ContractReminder, ContractStatus, ReminderState, UnreachedReminder
from contracts.services import contract_activate, contract_renew
from customers.models import Contact
from portal.core.models import AuditEvent
from tests.contracts.factories import at, customer, signed_contract
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = dt.date(2027, 3, 1)


@pytest.fixture
def people() -> Any:
    return customer()


@pytest.fixture
def contract(people: Any) -> Contract:
    with time_machine.travel(at(START, 10), tick=False):
        return signed_contract(organization=people.organization, start=START)


def run_job(when: dt.datetime, capture: Any) -> lifecycle.LifecycleReport:
    with time_machine.travel(when, tick=False), capture(execute=True):
        return lifecycle.lifecycle_run()


def prefer_language(user: Any, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store a user's language: in the portal's UserPreference when that model exists (found by
    `user_language_path`), else in a stand-in field."""
    from django.apps import apps

    try:
        preference = apps.get_model("portal", "UserPreference")
    except LookupError:
        monkeypatch.setattr(reminders, "user_language_path", lambda: "last_name")
        user.last_name = code
        user.save()
        return
    preference.objects.update_or_create(user=user, defaults={"language": code})


@pytest.fixture
def english(people: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The customer's owner and billing contact both read English."""
    prefer_language(people.owner, "en", monkeypatch)
    prefer_language(people.billing, "en", monkeypatch)


def test_reminder_in_each_recipients_language(
    people, contract, monkeypatch, django_capture_on_commit_callbacks
):
    prefer_language(people.owner, "en", monkeypatch)
    end = contract.end_date
    run_job(at(end - dt.timedelta(days=90)), django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 2
    english, chinese = sorted(mail.outbox, key=lambda m: m.extra_headers["Content-Language"])
    assert english.extra_headers["Content-Language"] == "en"
    assert english.to == ["owner@acme.example"]
    assert chinese.to == ["billing@acme.example"]  # no stored preference: the default, zh-hans
    for message in (english, chinese):
        assert message.cc == ["acme-sales@vendor.example"]
        assert message.reply_to == ["acme-sales@vendor.example"]
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html"
        assert f"/contracts/{contract.number}/" in message.body and f"/contracts/{contract.number}/" in html
        assert "tech@acme.example" not in message.to and "gone@acme.example" not in message.to

    assert english.subject == f"[IoT Platform] Contract {contract.number} ends in 90 days ({end:%Y-%m-%d})"
    assert f"contract {contract.number} ends on {end:%Y-%m-%d}, in 90 days." in english.body
    assert "Your account manager: Li Lei <acme-sales@vendor.example>" in english.body
    assert '<html lang="en">' in english.alternatives[0][0]

    assert chinese.subject.startswith("[IoT Platform] ")
    assert contract.number in chinese.subject and "90" in chinese.subject
    assert "到期" in chinese.subject and "到期" in chinese.body
    assert '<html lang="zh-hans">' in chinese.alternatives[0][0]
    assert "Dear" not in chinese.body

    reminder = ContractReminder.objects.get(contract=contract)
    assert reminder.state == ReminderState.SENT and reminder.milestone == "90d"
    assert sorted(reminder.recipients) == ["billing@acme.example", "owner@acme.example"]
    assert reminder.cc == ["acme-sales@vendor.example"]
    assert sorted(reminder.languages) == ["en", "zh-hans"]


@override_settings(SITE_URL="https://portal.example.com")
def test_mail_links_to_the_portal_page(people, contract, django_capture_on_commit_callbacks):
    run_job(at(contract.end_date - dt.timedelta(days=7)), django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    url = f"https://portal.example.com/contracts/{contract.number}/?org={contract.organization_id}"
    assert url in message.body
    assert f'href="{url}"' in message.alternatives[0][0]


def test_each_phase_says_what_happened(people, contract, english, django_capture_on_commit_callbacks):
    end, grace = contract.end_date, contract.effective_grace_days
    run_job(at(end), django_capture_on_commit_callbacks)
    assert mail.outbox[-1].subject.endswith(f"Contract {contract.number} ends today")
    run_job(at(end + dt.timedelta(days=grace + 1)), django_capture_on_commit_callbacks)
    assert mail.outbox[-1].subject.endswith(f"Contract {contract.number}: the grace period has ended")
    assert "no longer valid" in mail.outbox[-1].body


def test_missed_run_catches_up_within_the_window(
    people, contract, english, django_capture_on_commit_callbacks
):
    end = contract.end_date
    run_job(at(end - dt.timedelta(days=58)), django_capture_on_commit_callbacks)  # the 60-day run was missed
    (message,) = mail.outbox
    assert "ends in 58 days" in message.subject
    assert ContractReminder.objects.get(contract=contract).milestone == "60d"
    # Beyond the catch-up window the milestone is skipped, not sent late.
    run_job(at(end - dt.timedelta(days=26)), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_claim_is_enforced_by_the_database(contract):
    ContractReminder.objects.create(contract=contract, milestone="30d", due_on=START)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ContractReminder.objects.create(contract=contract, milestone="30d", due_on=START)
    # Manual reminders are not limited.
    ContractReminder.objects.create(contract=contract, milestone="manual", due_on=START)
    ContractReminder.objects.create(contract=contract, milestone="manual", due_on=START)
    assert ContractReminder.objects.filter(contract=contract).count() == 3


def test_running_the_job_twice_and_resending_sends_once(people, contract, django_capture_on_commit_callbacks):
    when = at(contract.end_date - dt.timedelta(days=30))
    run_job(when, django_capture_on_commit_callbacks)
    run_job(when, django_capture_on_commit_callbacks)
    reminder = ContractReminder.objects.get(contract=contract)
    with time_machine.travel(when, tick=False):
        assert reminders.reminders_send(reminder_ids=[reminder.pk]).sent == []
        tasks.send_contract_reminders.delay([reminder.pk])
    assert len(mail.outbox) == 1


def test_renewed_between_claim_and_send_is_skipped(
    people, contract, staff_user, django_capture_on_commit_callbacks
):
    when = at(contract.end_date - dt.timedelta(days=30))
    with time_machine.travel(when, tick=False):
        reminders.reminders_claim_due()
        contract_activate(actor=staff_user, contract=contract_renew(actor=staff_user, contract=contract))
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.lifecycle_run()
    reminder = ContractReminder.objects.get(contract=contract)
    assert (reminder.state, reminder.last_error) == (ReminderState.SKIPPED, "renewed")
    assert mail.outbox == []


def test_without_portal_users_the_billing_email_gets_each_reminder_once(
    contract, people, django_capture_on_commit_callbacks
):
    """Procurement-bought customers never log in: the organization's billing email gets every milestone,
    exactly once, and the account owner an internal copy."""
    organization = people.organization
    organization.memberships.all().delete()
    organization.billing_email = "ap@procurement.example.cn"
    organization.save()
    days = [90, 60, 30, 7, 0]
    for d in days:
        when = at(contract.end_date - dt.timedelta(days=d))
        run_job(when, django_capture_on_commit_callbacks)
        run_job(when + dt.timedelta(hours=3), django_capture_on_commit_callbacks)  # a second run: no mail
    grace_end = reminders.grace_end_date(contract)
    run_job(at(grace_end), django_capture_on_commit_callbacks)
    to_customer = [m for m in mail.outbox if "ap@procurement.example.cn" in m.to]
    assert len(to_customer) == len(days) + 1 == len(mail.outbox)
    assert all(m.cc == [people.account_owner.email] for m in to_customer)
    rows = ContractReminder.objects.filter(contract=contract)
    assert sorted(rows.values_list("milestone", flat=True)) == sorted([f"{d}d" for d in days] + ["grace_end"])
    assert set(rows.values_list("state", "reached_customer")) == {(ReminderState.SENT, True)}
    assert not UnreachedReminder.objects.unreached().exists()


def test_contacts_are_told_when_there_is_no_billing_email(
    contract, people, django_capture_on_commit_callbacks
):
    organization = people.organization
    organization.memberships.all().delete()
    organization.billing_email = ""
    organization.save()
    Contact.objects.create(organization=organization, name="采购 王", email="wang@buyer.example.cn")
    Contact.objects.create(organization=organization, name="No mail", email="")
    run_job(at(contract.end_date - dt.timedelta(days=30)), django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.to == ["wang@buyer.example.cn"] and message.cc == [people.account_owner.email]


def test_nobody_at_the_customer_the_account_owner_is_told_and_sales_sees_it(
    contract, people, django_capture_on_commit_callbacks, admin_client
):
    organization = people.organization
    organization.memberships.all().delete()
    organization.billing_email = ""
    organization.save()
    run_job(at(contract.end_date - dt.timedelta(days=7)), django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.to == [people.account_owner.email] and message.cc == []
    assert "未送达客户" in message.subject and "内部副本" in message.body  # staff read the default language
    reminder = ContractReminder.objects.get(contract=contract)
    assert (reminder.state, reminder.reached_customer) == (ReminderState.SENT, False)
    assert list(UnreachedReminder.objects.unreached()) == [reminder]
    page = admin_client.get(reverse("admin:contracts_unreachedreminder_changelist"))
    assert page.status_code == 200 and contract.number in page.content.decode()


def test_nobody_at_all_is_recorded_not_dropped(contract, people, django_capture_on_commit_callbacks):
    organization = people.organization
    organization.memberships.all().delete()
    organization.billing_email = ""
    organization.account_owner = None
    organization.save()
    run_job(at(contract.end_date - dt.timedelta(days=7)), django_capture_on_commit_callbacks)
    reminder = ContractReminder.objects.get(contract=contract)
    assert (reminder.state, reminder.last_error) == (ReminderState.SKIPPED, "no_recipients")
    assert mail.outbox == []
    assert list(UnreachedReminder.objects.unreached()) == [reminder]


class FlakyBackend(EmailBackend):
    """The locmem backend, failing the first `failures` sends like an SMTP server that is down."""

    failures = 0

    def send_messages(self, messages: Any) -> int:
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def eager_retries() -> Any:
    """Eager Celery re-raises `Retry` to the caller when exceptions propagate; without propagation it
    runs the retry at once (the countdown is a worker's business), which is what these tests follow."""
    from portal.celery import app

    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = saved
    FlakyBackend.failures = 0


@override_settings(EMAIL_BACKEND="tests.contracts.test_reminders.FlakyBackend")
def test_mail_failure_is_retried_and_not_marked_sent_until_it_works(
    people, contract, django_capture_on_commit_callbacks, monkeypatch, eager_retries
):
    countdowns: list[int] = []
    real_retry = tasks.send_contract_reminders.retry

    def spy_retry(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        # The reminder is still pending when the retry is scheduled.
        assert ContractReminder.objects.get(contract=contract).state == ReminderState.PENDING
        return real_retry(*args, **kwargs)

    monkeypatch.setattr(tasks.send_contract_reminders, "retry", spy_retry)
    FlakyBackend.failures = 2
    run_job(at(contract.end_date - dt.timedelta(days=30)), django_capture_on_commit_callbacks)

    reminder = ContractReminder.objects.get(contract=contract)
    assert reminder.state == ReminderState.SENT
    assert reminder.attempts == 2 and "SMTPServerDisconnected" in reminder.last_error
    assert len(mail.outbox) == 1
    assert len(countdowns) == 2 and 60 <= countdowns[0] < countdowns[1]  # backoff grows


@override_settings(
    EMAIL_BACKEND="tests.contracts.test_reminders.FlakyBackend", CONTRACT_REMINDER_MAX_RETRIES=2
)
def test_mail_that_keeps_failing_ends_failed_never_sent(
    people, contract, django_capture_on_commit_callbacks, eager_retries
):
    FlakyBackend.failures = 100
    when = at(contract.end_date - dt.timedelta(days=7))
    run_job(when, django_capture_on_commit_callbacks)
    reminder = ContractReminder.objects.get(contract=contract)
    assert reminder.state == ReminderState.FAILED
    assert reminder.sent_at is None and reminder.attempts == 3
    assert mail.outbox == []
    # A failed reminder is not picked up again by the daily sweep (staff can send one by hand).
    FlakyBackend.failures = 0
    run_job(when + dt.timedelta(hours=3), django_capture_on_commit_callbacks)
    assert mail.outbox == []


@override_settings(EMAIL_BACKEND="tests.contracts.test_reminders.FlakyBackend")
def test_sweep_waits_for_the_backoff_then_resends(
    people, contract, django_capture_on_commit_callbacks, eager_retries
):
    """A worker crash after a failure (no retry message) is recovered by the next run, not before the
    backoff has passed."""
    FlakyBackend.failures = 1
    when = at(contract.end_date - dt.timedelta(days=7))
    with time_machine.travel(when, tick=False):
        reminders.reminders_claim_due()
        reminder = ContractReminder.objects.get(contract=contract)
        result = reminders.reminders_send(reminder_ids=[reminder.pk])
    assert result.failed == [reminder.pk]
    reminder.refresh_from_db()
    assert reminder.state == ReminderState.PENDING and reminder.next_attempt_at is not None
    with time_machine.travel(when + dt.timedelta(seconds=10), tick=False):
        assert list(reminders.reminders_pending_ids()) == []
    run_job(when + dt.timedelta(minutes=5), django_capture_on_commit_callbacks)
    reminder.refresh_from_db()
    assert reminder.state == ReminderState.SENT
    assert len(mail.outbox) == 1


# --- admin ------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_user(client: Any) -> Any:
    """A superuser; tests log the client in once the clock is where they want it (sessions expire)."""
    return UserFactory(username="boss", is_staff=True, is_superuser=True, email="boss@vendor.example")


def login(client: Any, user: Any) -> None:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_send_a_reminder_now_from_admin(
    client, admin_client_user, contract, english, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(at(START + dt.timedelta(days=100), 10), tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        login(client, admin_client_user)
        response = client.post(
            reverse("admin:contracts_contract_changelist"),
            {"action": "send_reminder_now", "_selected_action": [contract.pk]},
            follow=True,
        )
        assert response.status_code == 200
        assert "1 reminder(s) queued" in response.content.decode()
    reminder = ContractReminder.objects.get(contract=contract)
    assert (reminder.milestone, reminder.state, reminder.requested_by) == (
        "manual",
        "sent",
        admin_client_user,
    )
    assert AuditEvent.objects.filter(action="contract.reminder_request", target_id=str(contract.pk)).exists()
    (message,) = mail.outbox
    assert "ends in" in message.subject
    # The reminder history and the next reminder show on the contract's page.
    with time_machine.travel(at(START + dt.timedelta(days=100), 11), tick=True):
        page = client.get(reverse("admin:contracts_contract_change", args=[contract.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "sent by staff" in content
    assert "90 days before the end" in content


def test_renew_action_asks_for_the_uplift(client, admin_client_user, contract):
    changelist = reverse("admin:contracts_contract_changelist")
    with time_machine.travel(at(contract.end_date - dt.timedelta(days=50), 10), tick=True):
        login(client, admin_client_user)
        response = client.post(changelist, {"action": "renew", "_selected_action": [contract.pk]})
        assert response.status_code == 200
        assert "uplift" in response.content.decode()
        assert not Contract.objects.filter(renewal_of=contract).exists()

        bad = client.post(
            changelist,
            {"action": "renew", "_selected_action": [contract.pk], "apply": "1", "uplift_percent": "500"},
        )
        assert bad.status_code == 200 and not Contract.objects.filter(renewal_of=contract).exists()

        response = client.post(
            changelist,
            {"action": "renew", "_selected_action": [contract.pk], "apply": "1", "uplift_percent": "8.5"},
            follow=True,
        )
    assert response.status_code == 200
    renewal = Contract.objects.get(renewal_of=contract)
    assert renewal.status == ContractStatus.DRAFT
    assert renewal.price == (contract.price * Decimal("1.085")).quantize(Decimal("0.01"))
    assert AuditEvent.objects.filter(action="contract.renew", target_id=str(contract.pk)).exists()


def test_renewals_due_view(client, admin_client_user, people, django_capture_on_commit_callbacks):
    today = START + dt.timedelta(days=300)
    with time_machine.travel(at(START, 10), tick=False):
        soon = signed_contract(organization=people.organization, start=START)  # ends in 64 days
        later = signed_contract(organization=people.organization, start=START, days=500)
    run_job(at(soon.end_date - dt.timedelta(days=90)), django_capture_on_commit_callbacks)
    with time_machine.travel(at(today, 9), tick=False):
        renewal = contract_renew(actor=admin_client_user, contract=soon)

    with time_machine.travel(at(today, 10), tick=True):
        login(client, admin_client_user)
        changelist = client.get(reverse("admin:contracts_contract_changelist"))
        due_url = reverse("admin:contracts_contract_renewals_due")
        assert due_url in changelist.content.decode()
        assert "next reminder" in changelist.content.decode().lower()
        response = client.get(due_url)
    assert response.status_code == 200
    content = response.content.decode()
    assert soon.number in content and later.number not in content
    assert renewal.number in content and "draft" in content
    assert "Li Lei" in content  # account owner
    assert "150,000.00" in content  # value
    assert "Enterprise" in content or "企业版" in content


def test_renewals_due_view_needs_staff(client, contract):
    login(client, UserFactory(username="customer"))
    response = client.get(reverse("admin:contracts_contract_renewals_due"))
    assert response.status_code == 302  # to the admin login
