"""Reads of the support app: tenancy-scoped tickets, hours, knowledge base, reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from contracts.entitlements import organization_entitlement
from contracts.models import Contract
from customers.models import Organization
from support.models import (
    OPEN_STATUSES,
    ArticleStatus,
    BucketKind,
    KbArticle,
    SlaMetric,
    SlaState,
    Ticket,
    TicketMessage,
    TicketRating,
)
from support.services.hours import WARN_RATIO, contract_year
from support.services.sla import sla_policy_for_contract

# Tickets and contracts for the portal ---------------------------------------------------------------


def tickets_for_organization(organization: Organization, *, status: str = "") -> QuerySet[Ticket]:
    """The organization's tickets: the portal's tenancy boundary."""
    qs = Ticket.objects.filter(organization=organization).select_related(
        "organization", "contract__edition", "assignee"
    )
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def ticket_for_organization(organization: Organization, number: str) -> Ticket:
    """One ticket with its public messages and their attachments; Ticket.DoesNotExist (→ 404) when it
    belongs to another organization."""
    public = (
        TicketMessage.objects.filter(is_internal=False)
        .select_related("author")
        .prefetch_related("attachments")
    )
    return (
        tickets_for_organization(organization)
        .select_related("requester", "sla_policy")
        .prefetch_related(Prefetch("messages", queryset=public, to_attr="public_messages"))
        .get(number=number)
    )


def contracts_for_new_ticket(organization: Organization) -> QuerySet[Contract]:
    """The contracts a new ticket may be filed under, and whose SLA it then gets: the organization's
    contracts in force and in their term (contracts.entitlements), the one that started last first."""
    delivering = organization_entitlement(organization).contracts
    return (
        Contract.objects.filter(pk__in=[c.pk for c in delivering])
        .select_related("organization", "edition")
        .order_by("-start_date", "-pk")
    )


def contract_has_sla(contract: Contract | None) -> bool:
    return sla_policy_for_contract(contract) is not None


# Custom-development hours -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursSummary:
    contract_id: int
    period_start: date
    period_end: date
    granted_hours: Decimal
    used_hours: Decimal
    remaining_hours: Decimal
    overage_hours: Decimal
    percent_used: int
    warning: bool
    exhausted: bool


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"))


def contract_hours_summary(contract: Contract, on: date | None = None) -> HoursSummary | None:
    """The custom-development bucket of the current contract year, for the portal and admin; None when the
    contract grants no hours."""
    if not contract.custom_dev_hours:
        return None
    on = on or timezone.localdate()
    start, end = contract_year(contract, on)
    bucket = contract.hours_buckets.filter(kind=BucketKind.CUSTOM_DEV, period_start=start).first()
    granted, used, overage = contract.custom_dev_hours * 60, 0, 0
    if bucket is not None:
        end, granted = bucket.period_end, bucket.granted_minutes
        totals = bucket.entries.aggregate(used=Sum("minutes"), overage=Sum("overage_minutes"))
        used, overage = totals["used"] or 0, totals["overage"] or 0
    return HoursSummary(
        contract_id=contract.pk,
        period_start=start,
        period_end=end,
        granted_hours=_hours(granted),
        used_hours=_hours(used),
        remaining_hours=_hours(max(granted - used, 0)),
        overage_hours=_hours(overage),
        percent_used=int(used * 100 / granted) if granted else 100,
        warning=used >= WARN_RATIO * granted,
        exhausted=used >= granted,
    )


# Knowledge base ---------------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{2,}")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "not",
        "but",
        "are",
        "was",
        "were",
        "this",
        "that",
        "from",
        "have",
        "has",
        "how",
        "what",
        "when",
        "why",
        "can",
        "cannot",
        "does",
        "into",
        "our",
        "your",
        "you",
        "its",
        "after",
        "before",
        "about",
        "please",
        "error",
    ]
)


def _language_fields(language: str) -> tuple[str, str]:
    return ("title_zh", "body_zh") if (language or "").lower().startswith("zh") else ("title_en", "body_en")


def _published() -> QuerySet[KbArticle]:
    return KbArticle.objects.filter(status=ArticleStatus.PUBLISHED).select_related("category")


def kb_search(query: str, language: str, *, category: str = "", limit: int = 50) -> list[KbArticle]:
    """Published articles whose title or body in `language` contains the query (English uses PostgreSQL
    full-text search ranking when available; Chinese has no word breaks, so containment it is)."""
    title, body = _language_fields(language)
    qs = _published()
    if category:
        qs = qs.filter(category__slug=category)
    query = (query or "").strip()[:200]
    if not query:
        return list(qs.order_by("category__sort_order", "-published_at")[:limit])
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and title == "title_en":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector("title_en", weight="A", config="english") + SearchVector(
            "body_en", weight="B", config="english"
        )
        search = SearchQuery(query, config="english", search_type="websearch")
        ranked = qs.annotate(rank=SearchRank(vector, search)).filter(
            Q(rank__gt=0) | Q(title_en__icontains=query)
        )
        return list(ranked.order_by("-rank", "-published_at")[:limit])
    words = query.split()[:8]
    condition = Q()
    for word in words:
        condition &= Q(**{f"{title}__icontains": word}) | Q(**{f"{body}__icontains": word})
    return list(qs.filter(condition).order_by("-published_at")[:limit])


def _terms(text: str) -> list[str]:
    """Keywords of free text: Latin words (3+ chars) and CJK bigrams, most distinctive first."""
    text = (text or "")[:2000]
    words = [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP]
    bigrams = [run[i : i + 2] for run in _CJK.findall(text) for i in range(max(len(run) - 1, 1))]
    seen: dict[str, None] = {}
    for term in sorted(words, key=len, reverse=True) + bigrams:
        seen.setdefault(term, None)
    return list(seen)[:12]


def suggest_articles(text: str, language: str, limit: int = 5) -> list[KbArticle]:
    """Articles that may answer a ticket being written, best first (title hits weigh three times)."""
    terms = _terms(text)
    if not terms:
        return []
    title, body = _language_fields(language)
    condition = Q()
    for term in terms:
        condition |= Q(**{f"{title}__icontains": term}) | Q(**{f"{body}__icontains": term})
    scored = []
    for article in _published().filter(condition)[:200]:
        t, b = getattr(article, title).lower(), getattr(article, body).lower()
        score = sum(3 * (term in t) + (term in b) for term in terms)
        scored.append((-score, article.pk, article))
    return [article for *_rank, article in sorted(scored)[:limit]]


# Reports ----------------------------------------------------------------------------------------------


def sla_attainment(*, start: date, end: date) -> list[dict[str, Any]]:
    """Per edition, priority and month of creation: how many measured targets were met vs. breached."""
    qs = Ticket.objects.filter(
        created_at__date__gte=start, created_at__date__lt=end, sla_policy__isnull=False
    )
    aggregates: dict[str, Any] = {}
    for metric in SlaMetric.values:
        aggregates[f"{metric}_met"] = Count("pk", filter=Q(**{f"{metric}_state": SlaState.MET}))
        aggregates[f"{metric}_breached"] = Count("pk", filter=Q(**{f"{metric}_state": SlaState.BREACHED}))
    rows = (
        qs.annotate(month=TruncMonth("created_at"))
        .values("contract__edition__code", "priority", "month")
        .annotate(tickets=Count("pk"), **aggregates)
        .order_by("month", "contract__edition__code", "priority")
    )
    out: list[dict[str, Any]] = []
    for values in rows:
        row: dict[str, Any] = dict(values)
        for metric in SlaMetric.values:
            met, breached = row[f"{metric}_met"], row[f"{metric}_breached"]
            row[f"{metric}_percent"] = round(100 * met / (met + breached), 1) if met + breached else None
        out.append(row)
    return out


AGE_BUCKETS = [
    (timedelta(days=1), "< 1 d"),
    (timedelta(days=3), "1–3 d"),
    (timedelta(days=7), "3–7 d"),
    (timedelta(days=30), "7–30 d"),
    (None, "> 30 d"),
]


def backlog_by_age(now: datetime | None = None) -> list[dict[str, Any]]:
    """Open tickets by age and priority."""
    now = now or timezone.now()
    aggregates = {}
    lower = None
    for index, (upper, _label) in enumerate(AGE_BUCKETS):
        condition = Q()
        if upper is not None:
            condition &= Q(created_at__gt=now - upper)
        if lower is not None:
            condition &= Q(created_at__lte=now - lower)
        aggregates[f"age{index}"] = Count("pk", filter=condition)
        lower = upper
    rows = (
        Ticket.objects.filter(status__in=OPEN_STATUSES)
        .values("priority")
        .annotate(total=Count("pk"), breached=Count("pk", filter=Q(sla_due_at__lte=now)), **aggregates)
        .order_by("priority")
    )
    return [{**row, "ages": [row[f"age{i}"] for i in range(len(AGE_BUCKETS))]} for row in map(dict, rows)]


def csat_summary(*, start: date, end: date) -> dict[str, Any]:
    qs = TicketRating.objects.filter(created_at__date__gte=start, created_at__date__lt=end)
    overall = qs.aggregate(average=Avg("rating"), count=Count("pk"))
    by_month = list(
        qs.annotate(month=TruncMonth("created_at"))
        .values("month", "ticket__contract__edition__code")
        .annotate(average=Avg("rating"), count=Count("pk"))
        .order_by("month", "ticket__contract__edition__code")
    )
    return {**overall, "rows": by_month}
