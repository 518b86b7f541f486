"""Quotes sent to the customer: read one (lines, true-up evidence, totals), its PDF, and accept it.
Owners and billing members only (Perm.ACCEPT_QUOTES); for everyone else these pages do not exist (404).
Accepting creates the contract draft and the invoice (billing.services.quotes.quote_accept) and leads to
the invoice's pay page: online or by bank transfer."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing.models import Quote, QuoteLineKind, QuoteStatus
from billing.pdf import quote_pdf_filename, render_quote_pdf
from billing.services.quotes import quote_accept
from portal.core.errors import ApplicationError
from portal.pages import selectors
from portal.pages.permissions import Perm
from portal.pages.views.common import portal_view


def _quote(request: HttpRequest, quote_id: int) -> Quote:
    try:
        return selectors.quote_for_organization(request.organization, quote_id)
    except Quote.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(Perm.ACCEPT_QUOTES)
def quote_detail(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = _quote(request, quote_id)
    lines = list(quote.lines.all())
    return render(
        request,
        "portal/quote_detail.html",
        {
            "quote": quote,
            "lines": lines,
            "true_ups": [line for line in lines if line.kind == QuoteLineKind.TRUE_UP],
            "can_accept": quote.status == QuoteStatus.SENT and not quote.is_past_validity(),
            "modules": [m.name for m in quote.modules.all()],
        },
    )


@portal_view(Perm.ACCEPT_QUOTES)
def quote_pdf(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = _quote(request, quote_id)
    response = HttpResponse(render_quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote_pdf_filename(quote)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@portal_view(Perm.ACCEPT_QUOTES, methods=("POST",))
def quote_accept_view(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = _quote(request, quote_id)
    if request.POST.get("confirm") != "1":
        messages.error(request, _("Tick the box to confirm that you accept the quote."))
        return redirect("portal:quote_detail", quote_id=quote.pk)
    try:
        quote = quote_accept(actor=request.user, quote=quote, on_behalf=False)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("portal:quote_detail", quote_id=quote.pk)
    messages.success(
        request,
        _("Thank you: quote %(quote)s is accepted and invoice %(invoice)s issued.")
        % {"quote": quote.number, "invoice": quote.invoice.number},
    )
    if Perm.PAY_INVOICES in request.portal_perms:
        return redirect("portal:invoice_pay", invoice_id=quote.invoice_id)
    return redirect("portal:quote_detail", quote_id=quote.pk)
