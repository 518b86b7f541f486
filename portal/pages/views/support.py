"""Customer portal pages of the support desk. Thin: tenancy-scoped selectors, services, plain forms.

Tenancy: every ticket is looked up through selectors.ticket_for_organization with the current
organization, so another organization's ticket is simply not found (404); the knowledge base needs a
login only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from portal.core.errors import ApplicationError
from portal.pages.permissions import Perm
from portal.pages.support_forms import KbSearchForm, RatingForm, ReplyForm, TicketForm
from portal.pages.views.common import Access, MemberRequest, PortalRequest, portal_view
from support import selectors, services
from support.attachments import attachment_response
from support.models import (
    DONE_STATUSES,
    ArticleStatus,
    KbArticle,
    KbCategory,
    Ticket,
    TicketRating,
)


def _ticket_or_404(request: MemberRequest, number: str) -> Ticket:
    try:
        return selectors.ticket_for_organization(request.organization, number)
    except Ticket.DoesNotExist as exc:
        raise Http404 from exc


def _show_error(request: HttpRequest, form: Any, exc: ApplicationError | ValidationError) -> None:
    form.add_error(None, exc.detail if isinstance(exc, ApplicationError) else " ".join(exc.messages))


@portal_view(Perm.VIEW_TICKETS)
def ticket_list(request: MemberRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    tickets = selectors.tickets_for_organization(
        request.organization, status="" if status == "all" else status
    )[:200]
    contracts = [
        (contract, selectors.contract_hours_summary(contract))
        for contract in selectors.contracts_for_new_ticket(request.organization)
        if contract.custom_dev_hours
    ]
    return render(
        request,
        "support/ticket_list.html",
        {
            "tickets": tickets,
            "status": status,
            "hours": contracts,
            "forum_url": settings.SUPPORT_COMMUNITY_FORUM_URL,
        },
    )


@portal_view(Perm.VIEW_TICKETS, methods=("GET", "POST"))
def ticket_new(request: MemberRequest) -> HttpResponse:
    form = TicketForm(request.POST or None, request.FILES or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=request.user,
                organization=request.organization,
                requester=request.user,
                contract=data["contract"],
                subject=data["subject"],
                body=data["body"],
                priority=data["priority"],
                category=data["category"],
                deployment_ref=data["deployment_ref"],
                attachments=data["attachments"],
                language=get_language() or "",
            )
        except (ApplicationError, ValidationError) as exc:
            _show_error(request, form, exc)
        else:
            messages.success(request, _("Ticket %(number)s has been created.") % {"number": ticket.number})
            return redirect("support:ticket_detail", number=ticket.number)
    return render(
        request,
        "support/ticket_new.html",
        {
            "form": form,
            "forum_url": settings.SUPPORT_COMMUNITY_FORUM_URL,
        },
    )


@portal_view(Perm.VIEW_TICKETS)
def ticket_detail(request: MemberRequest, number: str) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    return render(request, "support/ticket_detail.html", _detail_context(ticket, ReplyForm()))


def _detail_context(ticket: Ticket, form: ReplyForm) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "form": form,
        "has_sla": ticket.sla_policy_id is not None,
        "can_rate": ticket.status in DONE_STATUSES
        and not TicketRating.objects.filter(ticket=ticket).exists(),
        "forum_url": settings.SUPPORT_COMMUNITY_FORUM_URL,
    }


@portal_view(Perm.VIEW_TICKETS, methods=("POST",))
def ticket_reply(request: MemberRequest, number: str) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_customer_reply(
                actor=request.user,
                ticket=ticket,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
            )
        except (ApplicationError, ValidationError) as exc:
            _show_error(request, form, exc)
        else:
            messages.success(request, _("Your reply has been sent."))
            return redirect("support:ticket_detail", number=ticket.number)
    return render(request, "support/ticket_detail.html", _detail_context(ticket, form), status=400)


@portal_view(Perm.VIEW_TICKETS, methods=("GET", "POST"))
def ticket_rate(request: MemberRequest, number: str) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    rating = TicketRating.objects.filter(ticket=ticket).first()
    form = RatingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_rate(
                actor=request.user,
                ticket=ticket,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except ApplicationError as exc:
            _show_error(request, form, exc)
        else:
            messages.success(request, _("Thank you for your feedback."))
            return redirect("support:ticket_detail", number=ticket.number)
    status = 409 if request.method == "POST" and form.errors else 200
    return render(
        request, "support/ticket_rate.html", {"ticket": ticket, "form": form, "rating": rating}, status=status
    )


@portal_view(Perm.VIEW_TICKETS)
def attachment(request: MemberRequest, number: str, pk: int) -> FileResponse:
    ticket = _ticket_or_404(request, number)
    return attachment_response(ticket_id=ticket.pk, attachment_id=pk, internal=False)


@portal_view(access=Access.USER)
def suggest(request: PortalRequest) -> HttpResponse:
    """Articles for the ticket being typed: an HTML fragment, or JSON with ?format=json."""
    language = get_language() or settings.LANGUAGE_CODE
    articles = selectors.suggest_articles(request.GET.get("q", ""), language, limit=5)
    if request.GET.get("format") == "json":
        from django.urls import reverse

        return JsonResponse(
            {
                "articles": [
                    {"title": a.title(language), "url": reverse("support:kb_article", args=[a.slug])}
                    for a in articles
                ]
            }
        )
    return render(request, "support/_suggestions.html", {"articles": articles})


@portal_view(access=Access.USER)
def kb_search(request: PortalRequest) -> HttpResponse:
    form = KbSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    category = request.GET.get("category", "")
    articles = selectors.kb_search(query, get_language() or settings.LANGUAGE_CODE, category=category)
    return render(
        request,
        "support/kb_search.html",
        {
            "form": form,
            "query": query,
            "articles": articles,
            "categories": KbCategory.objects.all(),
            "category": category,
        },
    )


@portal_view(access=Access.USER)
def kb_article(request: PortalRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(
        KbArticle.objects.select_related("category"), slug=slug, status=ArticleStatus.PUBLISHED
    )
    return render(request, "support/kb_article.html", {"article": article})
