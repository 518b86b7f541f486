"""Reads of the customer portal. Every function takes the organization it serves, so a page can
only ever show that organization's rows; each runs a fixed number of queries whatever the data size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, F, Max, Q, QuerySet, Sum, Window
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus, Quote, QuoteKind, QuoteStatus
from contracts.entitlements import modules_of
from contracts.models import EXPIRING_WINDOW_DAYS, Contract, ContractStatus
from contracts.selectors import contract_queryset
from customers.models import Membership, Organization
from licenses.models import ActivationCode, Deployment, License, LicenseState, UsageReport
from licenses.selectors import activation_code_queryset, deployment_queryset
from licenses.services import activation_code_reveal

RECENTLY_ENDED_DAYS = 90
STALE_CHECKIN_DAYS = 3
CHART_DAYS = 90


# --- contracts ------------------------------------------------------------------------------------------


def contracts_visible(organization: Organization) -> QuerySet[Contract]:
    """What the customer sees of their contracts: everything but drafts (offers in preparation)."""
    return contract_queryset().filter(organization=organization).exclude(status=ContractStatus.DRAFT)


def contracts_current(organization: Organization, *, today: dt.date | None = None) -> list[Contract]:
    """Active contracts and those that ended in the last 90 days, soonest end first."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=RECENTLY_ENDED_DAYS)
    return list(
        contracts_visible(organization)
        .filter(Q(status=ContractStatus.ACTIVE) | Q(status=ContractStatus.EXPIRED, end_date__gte=since))
        .order_by("end_date", "pk")
    )


def renewal_quotes_shown(organization: Organization, contracts: list[Contract]) -> dict[int, Quote]:
    """Per contract ending within QUOTE_RENEWAL_WINDOW_DAYS: its newest renewal quote sent to the
    customer that is still open or accepted (one query)."""
    today = timezone.localdate()
    horizon = today + dt.timedelta(days=settings.QUOTE_RENEWAL_WINDOW_DAYS)
    ids = [c.pk for c in contracts if c.status == ContractStatus.ACTIVE and c.end_date <= horizon]
    if not ids:
        return {}
    quotes = (
        Quote.objects.filter(
            organization=organization,
            contract_id__in=ids,
            kind=QuoteKind.RENEWAL,
            sent_at__isnull=False,
            status__in=[QuoteStatus.SENT, QuoteStatus.ACCEPTED],
        )
        .select_related("invoice")
        .order_by("contract_id", "-created_at", "-id")
    )
    shown: dict[int, Quote] = {}
    for quote in quotes:
        shown.setdefault(quote.contract_id, quote)
    return shown


def quote_for_organization(organization: Organization, quote_id: int) -> Quote:
    """A quote sent to this organization; Quote.DoesNotExist for drafts and other organizations'."""
    return (
        Quote.objects.filter(organization=organization, sent_at__isnull=False)
        .select_related("contract", "edition", "invoice", "resulting_contract", "organization")
        .prefetch_related("lines", "modules")
        .get(pk=quote_id)
    )


def contract_for_organization(organization: Organization, number: str) -> Contract:
    """Raises Contract.DoesNotExist for another organization's contract."""
    return contracts_visible(organization).get(number=number.strip().upper())


def contract_usage(organization: Organization) -> dict[int, dict[str, int]]:
    """Per contract: live deployments and the devices they last reported, in one query."""
    rows = (
        Deployment.objects.filter(organization=organization, deactivated_at__isnull=True)
        .values("contract_id")
        .annotate(deployments=Count("id"), devices=Sum("last_device_count"))
        .order_by()
    )
    return {r["contract_id"]: {"deployments": r["deployments"], "devices": r["devices"] or 0} for r in rows}


def decorate_contracts(contracts: list[Contract], usage: dict[int, dict[str, int]]) -> list[Contract]:
    today = timezone.localdate()
    for contract in contracts:
        contract.days_left = contract.days_to_expiry(today)
        contract.days_ago = max(0, -contract.days_left)
        contract.needs_renewal = (
            contract.status == ContractStatus.ACTIVE and contract.days_left <= EXPIRING_WINDOW_DAYS
        )
        modules = modules_of(contract)
        contract.features = [m.code for m in modules]
        contract.module_names = [m.name for m in modules]
        numbers = usage.get(contract.pk, {})
        contract.deployment_count = numbers.get("deployments", 0)
        contract.device_count = numbers.get("devices", 0)
        limit = contract.effective_device_limit
        contract.device_percent = min(100, round(100 * contract.device_count / limit)) if limit else None
        contract.over_limit = bool(limit) and contract.device_count > limit
        try:
            contract.renewal_contract = contract.renewal
        except Contract.renewal.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
            contract.renewal_contract = None
    return contracts


# --- activation codes -----------------------------------------------------------------------------------


def activation_codes(
    organization: Organization, *, contract: Contract | None = None
) -> QuerySet[ActivationCode]:
    """Usable codes (not revoked) of the organization's active contracts, with their use count."""
    qs = activation_code_queryset().filter(
        contract__organization=organization, revoked_at__isnull=True, contract__status=ContractStatus.ACTIVE
    )
    if contract is not None:
        qs = qs.filter(contract=contract)
    return qs.order_by("contract__end_date", "-created_at", "-pk")


def reveal_codes(codes: Any) -> list[ActivationCode]:
    codes = list(codes)
    for code in codes:
        code.plain = activation_code_reveal(code)
    return codes


# --- deployments ----------------------------------------------------------------------------------------


DEPLOYMENT_FILTERS = ("all", "online", "offline", "stale", "over_limit")


def deployments_for(organization: Organization, *, status: str = "all") -> QuerySet[Deployment]:
    qs = deployment_queryset().filter(organization=organization, deactivated_at__isnull=True)
    if status == "online":
        qs = qs.filter(offline=False)
    elif status == "offline":
        qs = qs.filter(offline=True)
    elif status == "stale":
        cutoff = timezone.now() - dt.timedelta(days=STALE_CHECKIN_DAYS)
        qs = qs.filter(offline=False).filter(Q(last_checkin_at__lt=cutoff) | Q(last_checkin_at__isnull=True))
    elif status == "over_limit":
        qs = qs.filter(device_limit__isnull=False, last_device_count__gt=F("device_limit"))
    return qs.order_by(F("last_checkin_at").desc(nulls_last=True), "-pk")


def deployment_for_organization(organization: Organization, deployment_id: int) -> Deployment:
    """Live or retired, but only the organization's own; raises Deployment.DoesNotExist otherwise."""
    return deployment_queryset().filter(organization=organization).get(pk=deployment_id)


def deployment_is_stale(deployment: Deployment, now: dt.datetime | None = None) -> bool:
    if deployment.offline:
        return False
    now = now or timezone.now()
    return deployment.last_checkin_at is None or deployment.last_checkin_at < now - dt.timedelta(
        days=STALE_CHECKIN_DAYS
    )


def decorate_deployments(deployments: Any) -> list[Deployment]:
    now = timezone.now()
    deployments = list(deployments)
    for d in deployments:
        d.is_stale = deployment_is_stale(d, now)
        d.over_limit = d.device_limit is not None and (d.last_device_count or 0) > d.device_limit
    return deployments


def checkins_for(deployment: Deployment) -> QuerySet[UsageReport]:
    return UsageReport.objects.filter(deployment=deployment).order_by("-reported_at", "-pk")


def daily_device_peaks(
    deployment: Deployment, *, days: int = CHART_DAYS, today: dt.date | None = None
) -> list[tuple[dt.date, int]]:
    """The highest device count the deployment reported on each day (Asia/Shanghai) of the last
    `days` days, aggregated by the database: one row per day, whatever the number of check-ins."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    rows = (
        UsageReport.objects.filter(deployment=deployment, reported_at__gte=since, device_count__isnull=False)
        .annotate(day=TruncDate("reported_at", tzinfo=timezone.get_default_timezone()))
        .values("day")
        .annotate(peak=Max("device_count"))
        .order_by("day")
        .values_list("day", "peak")
    )
    return [(day, peak) for day, peak in rows]


def licenses_of(deployment: Deployment, *, limit: int = 10) -> list[License]:
    return list(
        License.objects.filter(deployment=deployment)
        .select_related("contract")
        .only(
            "pk",
            "state",
            "reason",
            "issued_at",
            "expires_at",
            "offline",
            "edition_code",
            "device_limit",
            "deployment_id",
            "contract__number",
        )
        .order_by("-pk")[:limit]
    )


def license_active(deployment: Deployment) -> License | None:
    return License.objects.filter(deployment=deployment, state=LicenseState.ACTIVE).order_by("-pk").first()


# --- invoices -------------------------------------------------------------------------------------------


def invoices_for(organization: Organization, *, status: str = "all") -> QuerySet[Invoice]:
    """Issued and void documents (drafts are the vendor's work in progress), newest first."""
    qs = Invoice.objects.filter(organization=organization).exclude(status=InvoiceStatus.DRAFT)
    if status == "open":
        qs = Invoice.objects.open().filter(organization=organization)
    return qs.select_related("contract").order_by("-issue_date", "-pk")


def invoice_for_organization(organization: Organization, invoice_id: int) -> Invoice:
    return (
        Invoice.objects.filter(organization=organization)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("organization")
        .get(pk=invoice_id)
    )


def open_balance_by_currency(organization: Organization) -> list[dict[str, Any]]:
    rows = (
        Invoice.objects.open()
        .filter(organization=organization)
        .values("currency")
        .annotate(
            count=Count("id"),
            due=Sum(F("gross_total") + F("amount_credited") - F("amount_paid")),
        )
        .order_by("currency")
    )
    return list(rows)


# --- tickets (support app, when installed) --------------------------------------------------------------


def tickets_open(organization: Organization, *, limit: int = 5) -> tuple[list[Any], int] | None:
    """The newest open tickets and how many are open, in one query; None without the support app."""
    if not apps.is_installed("support"):
        return None
    # Imported here: the support app is optional (a deployment may run without it).
    from support.models import OPEN_STATUSES, Ticket

    rows = list(
        Ticket.objects.filter(organization=organization, status__in=OPEN_STATUSES)
        .annotate(open_total=Window(Count("id")))
        .order_by("-created_at", "-pk")[:limit]
    )
    return rows, (rows[0].open_total if rows else 0)


# --- members --------------------------------------------------------------------------------------------


def members_of(organization: Organization) -> list[Membership]:
    return list(
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__email")
    )


def membership_in(organization: Organization, membership_id: int) -> Membership:
    return Membership.objects.select_related("user").get(organization=organization, pk=membership_id)


# --- the dashboard --------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    contracts: list[Contract] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    deployment_total: int = 0
    device_total: int = 0
    invoices: list[Any] | None = None
    open_balances: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[Any] | None = None
    ticket_total: int = 0


def dashboard(organization: Organization, *, perms: frozenset[str], deployments_shown: int = 8) -> Dashboard:
    """Everything the overview shows, in a fixed number of queries."""
    board = Dashboard()
    usage = contract_usage(organization)
    board.contracts = decorate_contracts(contracts_current(organization), usage)
    board.deployment_total = sum(u["deployments"] for u in usage.values())
    board.device_total = sum(u["devices"] for u in usage.values())
    if "view_deployments" in perms and board.deployment_total:
        board.deployments = decorate_deployments(deployments_for(organization)[:deployments_shown])
    if "accept_quotes" in perms:
        quotes = renewal_quotes_shown(organization, board.contracts)
        for contract in board.contracts:
            contract.renewal_quote = quotes.get(contract.pk)
    if "view_invoices" in perms:
        board.invoices = list(invoices_for(organization, status="open").order_by("due_date", "pk")[:5])
        board.open_balances = open_balance_by_currency(organization) if board.invoices else []
    if "view_tickets" in perms:
        tickets = tickets_open(organization)
        if tickets is not None:
            board.tickets, board.ticket_total = tickets
    return board


def sales_contact(organization: Organization) -> str:
    """Whom to write about a renewal or an upgrade: the account manager, else the sales address."""
    owner = organization.account_owner if organization.account_owner_id else None
    return (owner.email if owner is not None and owner.email else "") or settings.PORTAL_SALES_EMAIL
