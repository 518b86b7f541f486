"""Renewal reminders: which contracts are due which milestone, the claim, and the email.

Schedule (settings): a reminder at each of CONTRACT_REMINDER_DAYS before the end (default 90, 60,
30, 7 and 0) and one when the grace period has ended. A run that was missed catches up for
CONTRACT_REMINDER_CATCH_UP_DAYS, never across the next milestone (no "90 days" mail at 60 days).

Exactly once, by the database: the daily job *claims* each due (contract, milestone) by inserting a
`ContractReminder` row (INSERT … ON CONFLICT DO NOTHING on a unique constraint), then every pending
row is sent by `reminders_send`, which locks the row (FOR UPDATE SKIP LOCKED), re-checks it is still
pending, mails, and marks it sent in the same transaction. Two concurrent runs, a retried task or a
worker killed mid-way cannot produce a second mail for a milestone: a rolled-back send leaves the
row pending for the next attempt. (The one window left is a crash after the mail server accepted
the message and before the commit; that mail is sent again rather than lost.)

A contract that has an active renewal gets no more automatic reminders.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contracts.entitlements import renewal_of
from contracts.models import (
    MILESTONE_GRACE_END,
    MILESTONE_MANUAL,
    Contract,
    ContractReminder,
    ContractStatus,
    ReminderState,
    milestone_for_days,
)
from customers.models import Contact, Membership, Organization, Role
from portal.core.errors import ApplicationError
from portal.core.services import audit, enqueue_on_commit

logger = logging.getLogger(__name__)

RECIPIENT_ROLES = (Role.OWNER, Role.BILLING)
_LANGUAGE_FIELD_NAMES = ("language", "preferred_language", "locale")


# --- the schedule -----------------------------------------------------------------------------------


def reminder_days() -> list[int]:
    """The milestones before the end, largest first, e.g. [90, 60, 30, 7, 0]."""
    return sorted({int(d) for d in settings.CONTRACT_REMINDER_DAYS if int(d) >= 0}, reverse=True)


def grace_end_date(contract: Contract) -> dt.date:
    """The first day without a license: the grace period covers the `grace_days` days after the end."""
    return contract.end_date + dt.timedelta(days=contract.effective_grace_days + 1)


@dataclass(frozen=True)
class MilestoneWindow:
    """Contracts ending between `end_from` and `end_to` (inclusive) are due `milestone` today."""

    milestone: str
    days: int
    end_from: dt.date
    end_to: dt.date


def milestone_windows(today: dt.date) -> list[MilestoneWindow]:
    catch_up = max(settings.CONTRACT_REMINDER_CATCH_UP_DAYS, 0)
    days = reminder_days()
    windows = []
    for index, d in enumerate(days):
        next_smaller = days[index + 1] if index + 1 < len(days) else -1
        # days left now: at most d, at least d - catch_up, above the next milestone, and not ended.
        low = max(d - catch_up, next_smaller + 1, 0)
        windows.append(
            MilestoneWindow(
                milestone=milestone_for_days(d),
                days=d,
                end_from=today + dt.timedelta(days=low),
                end_to=today + dt.timedelta(days=d),
            )
        )
    return windows


def _not_renewed() -> Any:
    return ~Exists(Contract.objects.filter(renewal_of=OuterRef("pk"), status=ContractStatus.ACTIVE))


def _not_claimed(milestone: str) -> Any:
    return ~Exists(ContractReminder.objects.filter(contract=OuterRef("pk"), milestone=milestone))


def due_before_end(window: MilestoneWindow) -> QuerySet[Contract]:
    return Contract.objects.filter(
        status=ContractStatus.ACTIVE, end_date__gte=window.end_from, end_date__lte=window.end_to
    ).filter(_not_renewed(), _not_claimed(window.milestone))


def grace_end_filter(today: dt.date, *, catch_up: int | None = None) -> Q:
    """Contracts whose grace period ended on one of the last `catch_up` days (or today). Grace days vary
    per contract, so the condition is one end-date range per distinct override (few) plus the default,
    which keeps it portable and index-friendly."""
    catch_up = settings.CONTRACT_REMINDER_CATCH_UP_DAYS if catch_up is None else catch_up

    def ended(grace: int) -> Q:
        last_end = today - dt.timedelta(days=grace + 1)
        return Q(end_date__gte=last_end - dt.timedelta(days=max(catch_up, 0)), end_date__lte=last_end)

    condition = Q(grace_days__isnull=True) & ended(settings.LICENSE_GRACE_DAYS)
    overrides = (
        Contract.objects.filter(status=ContractStatus.EXPIRED, grace_days__isnull=False)
        .order_by()
        .values_list("grace_days", flat=True)
        .distinct()
    )
    for grace in overrides:
        condition |= Q(grace_days=grace) & ended(grace)
    return condition


def due_grace_end(today: dt.date) -> QuerySet[Contract]:
    return Contract.objects.filter(status=ContractStatus.EXPIRED).filter(
        grace_end_filter(today), _not_renewed(), _not_claimed(MILESTONE_GRACE_END)
    )


def keyset_ids(queryset: QuerySet[Any], *, size: int) -> Iterator[list[int]]:
    """Primary keys of `queryset` in batches, each fetched with `pk > last` (no OFFSET scans, no
    long-held cursor); rows changed by the caller between batches are not seen twice."""
    last = 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        last = ids[-1]
        yield ids


def reminders_claim_due(*, today: dt.date | None = None, batch_size: int | None = None) -> int:
    """Insert the pending reminder rows of every contract due a milestone today; returns how many rows
    were offered (rows another run had already claimed are ignored by the database)."""
    today = today or timezone.localdate()
    batch_size = batch_size or settings.CONTRACT_LIFECYCLE_BATCH_SIZE
    offered = 0
    plans: list[tuple[str, QuerySet[Contract]]] = [
        (w.milestone, due_before_end(w)) for w in milestone_windows(today)
    ]
    if settings.CONTRACT_REMINDER_GRACE_END:
        plans.append((MILESTONE_GRACE_END, due_grace_end(today)))
    for milestone, queryset in plans:
        for ids in keyset_ids(queryset, size=batch_size):
            ContractReminder.objects.bulk_create(
                [ContractReminder(contract_id=pk, milestone=milestone, due_on=today) for pk in ids],
                ignore_conflicts=True,
            )
            offered += len(ids)
    return offered


def reminders_pending_ids(
    *, now: dt.datetime | None = None, batch_size: int | None = None
) -> Iterator[list[int]]:
    """Ids of pending reminders ready to send (not waiting for a retry), in batches."""
    now = now or timezone.now()
    batch_size = batch_size or settings.CONTRACT_LIFECYCLE_BATCH_SIZE
    queryset = ContractReminder.objects.filter(state=ReminderState.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    yield from keyset_ids(queryset, size=batch_size)


# --- the next reminder (admin) ----------------------------------------------------------------------


def reminder_next(
    contract: Contract, *, claimed: Iterable[str] | None = None, today: dt.date | None = None
) -> tuple[dt.date, str] | None:
    """When the next automatic reminder of this contract goes out, and which milestone it is.
    `claimed`: the milestones already claimed (pass them when the reminders are prefetched)."""
    today = today or timezone.localdate()
    if claimed is None:
        claimed = contract.reminders.values_list("milestone", flat=True)
    claimed = set(claimed)
    renewal = renewal_of(contract)
    if renewal is not None and renewal.status == ContractStatus.ACTIVE:
        return None
    catch_up = settings.CONTRACT_REMINDER_CATCH_UP_DAYS
    if contract.status == ContractStatus.ACTIVE:
        days_left = contract.days_to_expiry(today)
        days = reminder_days()
        for index, d in enumerate(days):
            next_smaller = days[index + 1] if index + 1 < len(days) else -1
            key = milestone_for_days(d)
            if key in claimed or days_left <= next_smaller:
                continue
            if days_left >= max(d - catch_up, next_smaller + 1):
                return max(contract.end_date - dt.timedelta(days=d), today), key
    if (
        contract.status in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}
        and settings.CONTRACT_REMINDER_GRACE_END
        and MILESTONE_GRACE_END not in claimed
    ):
        on = grace_end_date(contract)
        if on >= today - dt.timedelta(days=catch_up):
            return max(on, today), MILESTONE_GRACE_END
    return None


# --- staff: send one now ----------------------------------------------------------------------------


@transaction.atomic
def reminder_request(*, actor: Any, contract: Contract) -> ContractReminder:
    """A reminder staff send by hand (admin "send a reminder now"); recorded like the others and
    sent after commit by the same task."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status not in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}:
        raise ApplicationError(
            "invalid_state", _("Reminders are only sent for active or expired contracts."), status=409
        )
    reminder = ContractReminder.objects.create(
        contract=contract,
        milestone=MILESTONE_MANUAL,
        due_on=timezone.localdate(),
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit(actor=actor, action="contract.reminder_request", target=contract, data={"reminder": reminder.pk})
    enqueue_on_commit("contracts.tasks.send_contract_reminders", [reminder.pk])
    return reminder


# --- recipients and language ------------------------------------------------------------------------


@cache
def user_language_path() -> str | None:
    """Where a user's preferred language is stored, if anywhere: a field on the user model or on a
    one-to-one profile (the portal may add one). None: everyone gets the default language."""
    user_model = get_user_model()
    for name in _LANGUAGE_FIELD_NAMES:
        try:
            if user_model._meta.get_field(name).concrete:
                return name
        except FieldDoesNotExist:
            pass
    for relation in user_model._meta.related_objects:
        if not relation.one_to_one:
            continue
        for name in _LANGUAGE_FIELD_NAMES:
            try:
                if relation.related_model._meta.get_field(name).concrete:
                    return f"{relation.name}__{name}"
            except FieldDoesNotExist:
                pass
    return None


def normalize_language(value: Any) -> str:
    """A stored preference mapped to one of settings.LANGUAGES; the default (zh-hans) otherwise."""
    code = str(value or "").strip().lower().replace("_", "-")
    available = [c for c, _name in settings.LANGUAGES]
    if code in available:
        return code
    if code.startswith("zh"):
        return next((c for c in available if c.startswith("zh")), settings.LANGUAGE_CODE)
    if code.startswith("en") and "en" in available:
        return "en"
    return settings.LANGUAGE_CODE


def _organization_language(country: str) -> str:
    # As billing.i18n.organization_language (billing builds on contracts, so it is not imported here).
    return normalize_language("zh-hans" if (country or "CN").upper() == "CN" else "en")


def _add(emails: list[str], email: str) -> None:
    email = (email or "").strip()
    if email and email.lower() not in {e.lower() for e in emails}:
        emails.append(email)


def fallback_recipients(organization_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """For organizations nobody in the portal can be told about (enterprises buying through procurement
    often never log in): the organization's billing email and its contacts, in the organization's
    language. Two queries."""
    ids = set(organization_ids)
    result: dict[int, dict[str, list[str]]] = {}
    organizations = Organization.objects.filter(pk__in=ids).values_list("pk", "billing_email", "country")
    languages = {}
    for pk, billing_email, country in organizations:
        languages[pk] = _organization_language(country)
        if billing_email:
            _add(result.setdefault(pk, {}).setdefault(languages[pk], []), billing_email)
    contacts = (
        Contact.objects.filter(organization_id__in=ids)
        .exclude(email="")
        .order_by("organization_id", "-is_primary", "email")
        .values_list("organization_id", "email")
    )
    for organization_id, email in contacts:
        language = languages.get(organization_id, settings.LANGUAGE_CODE)
        _add(result.setdefault(organization_id, {}).setdefault(language, []), email)
    return result


def recipients_by_organization(organization_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """{organization id: {language: [emails]}}: the active owners and billing members (one query); for
    an organization without any, its billing email and contacts (fallback_recipients)."""
    organization_ids = set(organization_ids)
    members = member_recipients(organization_ids)
    without = organization_ids - {pk for pk, by_language in members.items() if by_language}
    if without:
        members.update(fallback_recipients(without))
    return members


def member_recipients(organization_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """{organization id: {language: [emails]}} of the active owners and billing members, one query."""
    path = user_language_path()
    columns = ["organization_id", "user__email"] + ([f"user__{path}"] if path else [])
    rows = (
        Membership.objects.filter(
            organization_id__in=set(organization_ids), role__in=RECIPIENT_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .order_by("organization_id", "user__email")
        .values_list(*columns)
    )
    result: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for row in rows:
        organization_id, email = row[0], row[1].strip()
        language = normalize_language(row[2] if path else None)
        emails = result[organization_id].setdefault(language, [])
        if email.lower() not in {e.lower() for e in emails}:
            emails.append(email)
    return result


def contract_portal_url(contract: Contract) -> str:
    """The customer's page of this contract, absolute; `org` makes its organization the current one
    for a member of several."""
    path = reverse("portal:contract_detail", kwargs={"number": contract.number})
    return f"{settings.SITE_URL}{path}?org={contract.organization_id}"


# --- the email --------------------------------------------------------------------------------------


def reminder_phase(contract: Contract, today: dt.date) -> str:
    """What the mail says, from the facts at send time (a caught-up reminder still tells the truth)."""
    days_left = contract.days_to_expiry(today)
    if days_left > 0 and contract.status == ContractStatus.ACTIVE:
        return "before"
    if days_left == 0 and contract.status == ContractStatus.ACTIVE:
        return "today"
    if today < grace_end_date(contract):
        return "grace"
    return "ended"


def reminder_subject(contract: Contract, *, phase: str, today: dt.date) -> str:
    if phase == "before":
        days = contract.days_to_expiry(today)
        return ngettext(
            "Contract %(number)s ends in %(days)d day (%(date)s)",
            "Contract %(number)s ends in %(days)d days (%(date)s)",
            days,
        ) % {"number": contract.number, "days": days, "date": contract.end_date.isoformat()}
    if phase == "today":
        return _("Contract %(number)s ends today") % {"number": contract.number}
    if phase == "grace":
        return _("Contract %(number)s has ended: licenses work until %(date)s") % {
            "number": contract.number,
            "date": (grace_end_date(contract) - dt.timedelta(days=1)).isoformat(),
        }
    return _("Contract %(number)s: the grace period has ended") % {"number": contract.number}


def reminder_messages(
    reminder: ContractReminder,
    *,
    recipients: dict[str, list[str]],
    today: dt.date,
    connection: Any = None,
) -> list[tuple[str, EmailMultiAlternatives]]:
    """One message per recipient language (HTML + text), the account owner in cc. With nobody to tell at
    the customer, the account owner gets the reminder alone, marked as not delivered to the customer."""
    contract = reminder.contract
    organization = contract.organization
    owner = organization.account_owner
    cc = [owner.email] if owner is not None and owner.is_active and owner.email else []
    internal_only = not recipients
    if internal_only:
        if not cc:
            return []
        recipients = {settings.LANGUAGE_CODE: cc}
        cc = []
    phase = reminder_phase(contract, today)
    renewal = renewal_of(contract)
    if renewal is not None and renewal.status == ContractStatus.CANCELLED:
        renewal = None
    messages = []
    for language, emails in sorted(recipients.items()):
        with translation.override(language):
            subject = reminder_subject(contract, phase=phase, today=today)
            if internal_only:
                subject = _("[Not delivered to the customer] %(subject)s") % {"subject": subject}
            context = {
                "internal_only": internal_only,
                "contract": contract,
                "organization": organization,
                "edition_name": contract.edition.name,
                "phase": phase,
                "days_left": contract.days_to_expiry(today),
                "grace_last_day": grace_end_date(contract) - dt.timedelta(days=1),
                "renewal": renewal,
                "account_owner": owner,
                "account_owner_name": (owner.get_full_name() or owner.username) if owner else "",
                "portal_url": contract_portal_url(contract),
                "site_url": settings.SITE_URL,
                "subject": subject,
                "language": language,
            }
            text = render_to_string("contracts/email/reminder.txt", context)
            html = render_to_string("contracts/email/reminder.html", context)
        message = EmailMultiAlternatives(
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=emails,
            cc=cc,
            reply_to=cc or None,
            connection=connection,
            headers={"Content-Language": language},
        )
        message.attach_alternative(html, "text/html")
        messages.append((language, message))
    return messages


# --- sending ----------------------------------------------------------------------------------------


@dataclass
class SendResult:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def retry_delay(attempts: int) -> int:
    """Seconds before the next attempt: exponential backoff from CONTRACT_REMINDER_RETRY_BACKOFF."""
    base = max(int(settings.CONTRACT_REMINDER_RETRY_BACKOFF), 1)
    return min(base * 2 ** max(attempts - 1, 0), 6 * 3600)


def _skip_reason(reminder: ContractReminder, today: dt.date) -> str:
    """Why an automatic reminder should not go out any more (empty: send it)."""
    if reminder.milestone == MILESTONE_MANUAL:
        return ""
    contract = reminder.contract
    renewal = renewal_of(contract)
    if renewal is not None and renewal.status == ContractStatus.ACTIVE:
        return "renewed"
    if contract.status not in {ContractStatus.ACTIVE, ContractStatus.EXPIRED}:
        return "contract_" + str(contract.status)
    if (today - reminder.due_on).days > settings.CONTRACT_REMINDER_CATCH_UP_DAYS:
        return "stale"
    return ""


def reminders_send(*, reminder_ids: list[int], today: dt.date | None = None) -> SendResult:
    """Send the pending reminders among `reminder_ids`, each in its own transaction with its row locked;
    rows another worker holds or has already sent are left alone. Failures are recorded (attempts,
    last error, next attempt) and returned for the caller to retry."""
    today = today or timezone.localdate()
    result = SendResult()
    reminders = list(
        ContractReminder.objects.filter(pk__in=reminder_ids, state=ReminderState.PENDING)
        .select_related("contract__organization__account_owner", "contract__edition", "contract__renewal")
        .order_by("pk")
    )
    if not reminders:
        return result
    recipients = recipients_by_organization(r.contract.organization_id for r in reminders)
    connection = get_connection()
    try:
        for reminder in reminders:
            try:
                outcome = _send_one(
                    reminder,
                    recipients=recipients.get(reminder.contract.organization_id, {}),
                    today=today,
                    connection=connection,
                )
            except Exception as exc:
                logger.warning(
                    "contract reminder %s (%s %s) failed: %s",
                    reminder.pk,
                    reminder.contract.number,
                    reminder.milestone,
                    exc,
                    exc_info=True,
                )
                _record_failure(reminder, exc)
                result.failed.append(reminder.pk)
                try:  # a broken SMTP session is reopened for the next reminder
                    connection.close()
                except Exception:
                    logger.debug("closing the mail connection failed", exc_info=True)
                continue
            if outcome == "sent":
                result.sent.append(reminder.pk)
            elif outcome == "skipped":
                result.skipped.append(reminder.pk)
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken SMTP session must not hide the real outcome
            logger.debug("closing the mail connection failed", exc_info=True)
    return result


def _send_one(
    reminder: ContractReminder, *, recipients: dict[str, list[str]], today: dt.date, connection: Any
) -> str:
    with transaction.atomic(durable=True):
        locked = (
            ContractReminder.objects.select_for_update(skip_locked=True)
            .filter(pk=reminder.pk, state=ReminderState.PENDING)
            .values_list("pk", flat=True)
            .first()
        )
        if locked is None:
            return "busy"  # another worker holds it, or it was sent meanwhile
        reason = _skip_reason(reminder, today)
        now = timezone.now()
        messages = (
            []
            if reason
            else reminder_messages(reminder, recipients=recipients, today=today, connection=connection)
        )
        if not reason and not messages:
            reason = "no_recipients"
        if reason:
            ContractReminder.objects.filter(pk=reminder.pk).update(
                state=ReminderState.SKIPPED,
                last_error=reason,
                next_attempt_at=None,
                reached_customer=False if reason == "no_recipients" else None,
            )
            if reason == "no_recipients":
                logger.warning(
                    "contract reminder %s (%s %s) reached nobody",
                    reminder.pk,
                    reminder.contract.number,
                    reminder.milestone,
                )
            return "skipped"
        connection.send_messages([message for _language, message in messages])
        first = messages[0][1]
        ContractReminder.objects.filter(pk=reminder.pk).update(
            state=ReminderState.SENT,
            sent_at=now,
            recipients=[email for _language, message in messages for email in message.to],
            cc=list(first.cc),
            languages=[language for language, _message in messages],
            subject=first.subject[:300],
            next_attempt_at=None,
            reached_customer=bool(recipients),
        )
    return "sent"


def _record_failure(reminder: ContractReminder, exc: Exception) -> None:
    attempts = reminder.attempts + 1
    ContractReminder.objects.filter(pk=reminder.pk, state=ReminderState.PENDING).update(
        attempts=attempts,
        last_error=f"{type(exc).__name__}: {exc}"[:500],
        next_attempt_at=timezone.now() + dt.timedelta(seconds=retry_delay(attempts)),
    )


def reminders_give_up(*, reminder_ids: list[int]) -> int:
    """After the last retry: the reminders are marked failed (visible in admin; staff can send one)."""
    return ContractReminder.objects.filter(pk__in=reminder_ids, state=ReminderState.PENDING).update(
        state=ReminderState.FAILED, next_attempt_at=None
    )
