"""The daily contract lifecycle with a frozen clock: a contract walks through every reminder milestone,
its end, the grace period and its expiry, or is renewed; licenses follow through the licenses service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from contracts import entitlements, lifecycle, reminders
from contracts.models import Contract, ContractReminder, ContractStatus, ReminderState
from contracts.services import contract_activate, contract_cancel, contract_renew
from licenses import keys
from licenses.models import License, LicenseState
from licenses.services import activation_code_create, deployment_activate, license_checkin
from portal.core.models import AuditEvent
from tests.contracts.factories import at, customer, signed_contract

pytestmark = pytest.mark.django_db

START = dt.date(2027, 3, 1)
_KEYS: dict[str, Any] = {}
_REAL_NEW_PRIVATE_KEY = keys.new_private_key


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch: pytest.MonkeyPatch) -> Any:
    """3072-bit RSA keys are slow to make; one per algorithm serves the whole module."""

    def cached(algorithm: str) -> Any:
        if algorithm not in _KEYS:
            _KEYS[algorithm] = _REAL_NEW_PRIVATE_KEY(algorithm)
        return _KEYS[algorithm]

    monkeypatch.setattr(keys, "new_private_key", cached)
    cache.clear()
    yield
    cache.clear()


def run_job(when: dt.datetime, capture: Any) -> lifecycle.LifecycleReport:
    with time_machine.travel(when, tick=False), capture(execute=True):
        return lifecycle.lifecycle_run()


def deploy(contract: Contract, when: dt.datetime, machine_id: str = "machine-A") -> Any:
    with time_machine.travel(when, tick=False):
        _code, plain = activation_code_create(actor=None, contract=contract)
        return deployment_activate(code=plain, machine_id=machine_id, hostname="iot-1")


def checkin(token: str, when: dt.datetime, machine_id: str = "machine-A") -> Any:
    with time_machine.travel(when, tick=False):
        return license_checkin(token=token, machine_id=machine_id, device_count=10)


def milestones_sent(contract: Contract) -> list[str]:
    return list(
        ContractReminder.objects.filter(contract=contract, state=ReminderState.SENT)
        .order_by("id")
        .values_list("milestone", flat=True)
    )


def test_walk_through_milestones_expiry_grace_and_license_expiry(django_capture_on_commit_callbacks):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contract = signed_contract(organization=people.organization, start=START)
    end = contract.end_date
    answer = deploy(contract, at(START, 11))
    grace = contract.effective_grace_days

    expected = {90: "90d", 60: "60d", 30: "30d", 7: "7d", 0: "0d"}
    seen: list[str] = []
    day = end - dt.timedelta(days=95)
    while day <= end + dt.timedelta(days=grace + 2):
        before = len(mail.outbox)
        report = run_job(at(day), django_capture_on_commit_callbacks)
        assert report.failures == 0
        days_left = (end - day).days
        sent_now = len(mail.outbox) - before
        if days_left in expected:
            seen.append(expected[days_left])
            assert sent_now == 1, (day, days_left)  # owner and billing share a language: one message
            message = mail.outbox[-1]
            # Nobody stored a language preference: Simplified Chinese, the default.
            if days_left:
                assert message.subject == (
                    f"[IoT Platform] 合同 {contract.number} 将于 {end:%Y-%m-%d} 到期（剩余 {days_left} 天）"
                )
            else:
                assert message.subject == f"[IoT Platform] 合同 {contract.number} 今天到期"
            assert message.extra_headers["Content-Language"] == "zh-hans"
            assert sorted(message.to) == ["billing@acme.example", "owner@acme.example"]
            assert message.cc == ["acme-sales@vendor.example"]
            assert f"/contracts/{contract.number}/" in message.body
            assert message.alternatives and message.alternatives[0][1] == "text/html"
        elif day == end + dt.timedelta(days=grace + 1):
            seen.append("grace_end")
            assert sent_now == 1
            message = mail.outbox[-1]
            assert message.subject == f"[IoT Platform] 合同 {contract.number}：宽限期已结束"
            assert "许可证已失效" in message.body and "许可证已失效" in message.alternatives[0][0]
            assert message.cc == ["acme-sales@vendor.example"]
        else:
            assert sent_now == 0, (day, days_left, [m.subject for m in mail.outbox[before:]])
        contract.refresh_from_db()
        if day <= end:
            assert contract.status == ContractStatus.ACTIVE
        else:
            assert contract.status == ContractStatus.EXPIRED
        # The license: valid during the term and the grace period, expired when the grace is over.
        if day == end + dt.timedelta(days=1):
            grace_answer = checkin(answer.license.token, at(day, 9))
            assert grace_answer.status == "grace"
            answer = grace_answer
        live = License.objects.filter(deployment=answer.deployment, state=LicenseState.ACTIVE)
        if day <= end + dt.timedelta(days=grace):
            assert live.exists(), day
        else:
            assert not live.exists(), day
        day += dt.timedelta(days=1)

    assert seen == ["90d", "60d", "30d", "7d", "0d", "grace_end"]
    assert milestones_sent(contract) == seen
    expired = License.objects.filter(deployment=answer.deployment, state=LicenseState.EXPIRED)
    assert expired.filter(state_reason="contract_ended").exists()
    assert AuditEvent.objects.filter(action="contract.expire", target_id=str(contract.pk)).count() == 1

    # Running the same day again changes nothing and mails nobody.
    before = len(mail.outbox)
    report = run_job(at(end + dt.timedelta(days=grace + 1), 3), django_capture_on_commit_callbacks)
    assert (report.expired, report.licenses_changed, len(mail.outbox) - before) == (0, 0, 0)


def test_renewal_signed_early_takes_effect_at_its_start(django_capture_on_commit_callbacks, staff_user):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contract = signed_contract(organization=people.organization, start=START)
    end = contract.end_date
    answer = deploy(contract, at(START, 11))

    run_job(at(end - dt.timedelta(days=30)), django_capture_on_commit_callbacks)
    assert milestones_sent(contract) == ["30d"]

    # Sales renews with a 5 % uplift and activates the renewal ahead of its start.
    with time_machine.travel(at(end - dt.timedelta(days=20), 15), tick=False):
        renewal = contract_renew(actor=staff_user, contract=contract, uplift_percent=Decimal("5"))
        renewal = contract_activate(actor=staff_user, contract=renewal)
    assert renewal.start_date == end + dt.timedelta(days=1)
    assert renewal.price == (contract.price * Decimal("1.05")).quantize(Decimal("0.01"))
    assert renewal.status == ContractStatus.ACTIVE
    assert entitlements.contract_in_force(contract, on=end) == contract
    assert entitlements.contract_in_force(contract, on=renewal.start_date) == renewal
    assert not entitlements.contract_is_in_force(renewal, on=end)

    # Renewed: no more reminders, the old contract runs to its end.
    before = len(mail.outbox)
    for days_left in (7, 0):
        run_job(at(end - dt.timedelta(days=days_left)), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == before
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE

    # The renewal's first day: the old contract expires, the renewal is the contract in force and the
    # next check-in hands the deployment a license under it.
    report = run_job(at(renewal.start_date), django_capture_on_commit_callbacks)
    assert report.expired == 1
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED
    assert AuditEvent.objects.filter(action="contract.renewal_in_force", target_id=str(renewal.pk)).exists()
    renewed = checkin(answer.license.token, at(renewal.start_date, 9))
    assert renewed.status == "renewed"
    assert renewed.license.contract_id == renewal.pk
    assert License.objects.get(pk=answer.license.pk).state == LicenseState.SUPERSEDED

    # No grace-end reminder, licenses untouched when the old contract's grace would have ended.
    grace_over = end + dt.timedelta(days=contract.effective_grace_days + 1)
    report = run_job(at(grace_over), django_capture_on_commit_callbacks)
    assert report.licenses_changed == 0
    assert License.objects.get(pk=renewed.license.pk).state == LicenseState.ACTIVE
    assert milestones_sent(contract) == ["30d"]


def test_checkin_before_the_renewal_starts_keeps_the_current_contract(staff_user):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contract = signed_contract(organization=people.organization, start=START)
    answer = deploy(contract, at(START, 11))
    with time_machine.travel(at(contract.end_date - dt.timedelta(days=20), 15), tick=False):
        renewal = contract_activate(
            actor=staff_user, contract=contract_renew(actor=staff_user, contract=contract)
        )
    early = checkin(answer.license.token, at(contract.end_date - dt.timedelta(days=10), 9))
    assert early.license.contract_id == contract.pk
    assert renewal.status == ContractStatus.ACTIVE


def test_renewal_activated_during_grace_stops_the_grace_reminder(
    django_capture_on_commit_callbacks, staff_user
):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contract = signed_contract(organization=people.organization, start=START)
    end = contract.end_date
    run_job(at(end + dt.timedelta(days=1)), django_capture_on_commit_callbacks)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.EXPIRED
    with time_machine.travel(at(end + dt.timedelta(days=3), 10), tick=False):
        renewal = contract_activate(
            actor=staff_user, contract=contract_renew(actor=staff_user, contract=contract)
        )
        assert entitlements.contract_in_force(contract) == renewal
    run_job(
        at(end + dt.timedelta(days=contract.effective_grace_days + 1)), django_capture_on_commit_callbacks
    )
    assert not ContractReminder.objects.filter(contract=contract, milestone="grace_end").exists()


@override_settings(CONTRACT_AUTO_RENEW_UPLIFT_PERCENT="3")
def test_auto_renew_creates_the_draft_sixty_days_before_the_end(django_capture_on_commit_callbacks):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contract = signed_contract(organization=people.organization, start=START, auto_renew=True)
        manual = signed_contract(organization=people.organization, start=START)
    end = contract.end_date

    report = run_job(at(end - dt.timedelta(days=61)), django_capture_on_commit_callbacks)
    assert report.auto_renewed == 0
    report = run_job(at(end - dt.timedelta(days=60)), django_capture_on_commit_callbacks)
    assert report.auto_renewed == 1
    renewal = Contract.objects.get(renewal_of=contract)
    assert renewal.status == ContractStatus.DRAFT
    assert (renewal.start_date, renewal.auto_renew) == (end + dt.timedelta(days=1), True)
    assert renewal.price == (contract.price * Decimal("1.03")).quantize(Decimal("0.01"))
    assert not Contract.objects.filter(renewal_of=manual).exists()
    assert AuditEvent.objects.filter(action="contract.renew", target_id=str(contract.pk), actor=None).exists()

    # Again (and again the next day): still one draft.
    run_job(at(end - dt.timedelta(days=60), 5), django_capture_on_commit_callbacks)
    report = run_job(at(end - dt.timedelta(days=59)), django_capture_on_commit_callbacks)
    assert report.auto_renewed == 0
    assert Contract.objects.filter(renewal_of=contract).count() == 1

    # A draft renewal does not stop reminders; the mail points at the prepared offer.
    run_job(at(end - dt.timedelta(days=30)), django_capture_on_commit_callbacks)
    message = [m for m in mail.outbox if contract.number in m.subject][-1]
    assert "剩余 30 天" in message.subject
    assert renewal.number in message.body


def test_one_bad_contract_does_not_stop_the_run(django_capture_on_commit_callbacks, monkeypatch, caplog):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contracts = [
            signed_contract(organization=people.organization, start=START, days=30) for _ in range(3)
        ]
    real_expire = lifecycle.contract_expire
    bad = contracts[1]

    def flaky_expire(*, actor: Any, contract: Contract) -> Contract:
        if contract.pk == bad.pk:
            raise RuntimeError("database hiccup")
        return real_expire(actor=actor, contract=contract)

    monkeypatch.setattr(lifecycle, "contract_expire", flaky_expire)
    report = run_job(at(START + dt.timedelta(days=31)), django_capture_on_commit_callbacks)
    assert report.expired == 2
    assert report.failures == 1
    assert report.failed_contracts == [f"expire:{bad.pk}"]
    assert "database hiccup" in caplog.text
    statuses = dict(Contract.objects.filter(pk__in=[c.pk for c in contracts]).values_list("pk", "status"))
    assert statuses == {contracts[0].pk: "expired", bad.pk: "active", contracts[2].pk: "expired"}

    # The next run picks it up.
    monkeypatch.setattr(lifecycle, "contract_expire", real_expire)
    report = run_job(at(START + dt.timedelta(days=32)), django_capture_on_commit_callbacks)
    assert (report.expired, report.failures) == (1, 0)


def test_licenses_of_a_cancelled_contract_are_revoked_by_the_job(django_capture_on_commit_callbacks):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contract = signed_contract(organization=people.organization, start=START)
    answer = deploy(contract, at(START, 11))
    with time_machine.travel(at(START + dt.timedelta(days=40), 10), tick=False):
        contract_cancel(actor=None, contract=contract, reason="unpaid")
    report = run_job(at(START + dt.timedelta(days=41)), django_capture_on_commit_callbacks)
    assert report.licenses_changed == 1
    assert License.objects.get(pk=answer.license.pk).state == LicenseState.REVOKED
    # No reminders for a cancelled contract.
    run_job(at(contract.end_date - dt.timedelta(days=30)), django_capture_on_commit_callbacks)
    assert not ContractReminder.objects.filter(contract=contract).exists()


def test_job_queries_do_not_grow_with_contracts_not_due(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    """The selection is set-based: contracts that are not due cost no queries."""
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        due = signed_contract(organization=people.organization, start=START)
        end = due.end_date
        for _ in range(30):
            signed_contract(organization=people.organization, start=START, days=500)
    with (
        time_machine.travel(at(end - dt.timedelta(days=30)), tick=False),
        django_assert_max_num_queries(40),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = lifecycle.lifecycle_run()
    assert report.reminders_offered == 1
    assert milestones_sent(due) == ["30d"]


def test_milestone_windows_catch_up_but_never_across_the_next_milestone():
    today = dt.date(2027, 6, 1)
    windows = {w.milestone: (w.end_from - today).days for w in reminders.milestone_windows(today)}
    ends = {w.milestone: (w.end_to - today).days for w in reminders.milestone_windows(today)}
    assert ends == {"90d": 90, "60d": 60, "30d": 30, "7d": 7, "0d": 0}
    assert windows == {"90d": 87, "60d": 57, "30d": 27, "7d": 4, "0d": 0}
    with override_settings(CONTRACT_REMINDER_CATCH_UP_DAYS=10):
        windows = {w.milestone: (w.end_from - today).days for w in reminders.milestone_windows(today)}
    assert windows == {"90d": 80, "60d": 50, "30d": 20, "7d": 1, "0d": 0}


def test_next_reminder(django_capture_on_commit_callbacks):
    people = customer()
    with time_machine.travel(at(START, 10), tick=False):
        contract = signed_contract(organization=people.organization, start=START)
    end = contract.end_date
    today = end - dt.timedelta(days=100)
    assert reminders.reminder_next(contract, today=today) == (end - dt.timedelta(days=90), "90d")
    run_job(at(end - dt.timedelta(days=90)), django_capture_on_commit_callbacks)
    today = end - dt.timedelta(days=90)
    assert reminders.reminder_next(contract, today=today) == (end - dt.timedelta(days=60), "60d")
    grace_end = end + dt.timedelta(days=contract.effective_grace_days + 1)
    assert reminders.reminder_next(contract, claimed=["90d", "60d", "30d", "7d", "0d"], today=today) == (
        grace_end,
        "grace_end",
    )
