"""Invoices: list, PDF, pay online (Stripe Checkout through billing's services). Owners and billing
members only; for everyone else these pages do not exist (404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing import stripe_gateway
from billing.models import Invoice
from billing.pdf import invoice_pdf_filename, render_invoice_pdf
from billing.services.stripe import invoice_checkout_start
from portal.core.csp import csp_update
from portal.core.errors import ApplicationError
from portal.pages import selectors
from portal.pages.permissions import Perm
from portal.pages.views.common import paginate, portal_view, require_post


# The "Pay online" form on this page is answered by a redirect to the payment page (Stripe Checkout),
# and form-action covers the redirect of a form submission too.
@csp_update(form_action=settings.SECURE_CSP_PAYMENT_ORIGINS)
@portal_view(Perm.VIEW_INVOICES)
def invoice_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "all")
    if status not in ("all", "open"):
        status = "all"
    outcome = request.GET.get("payment")
    if outcome == "success":
        messages.success(
            request, _("Thank you. The payment is being confirmed; the invoice shows it shortly.")
        )
    elif outcome == "cancelled":
        messages.info(request, _("The payment was cancelled; nothing was charged."))
    page = paginate(request, selectors.invoices_for(request.organization, status=status))
    return render(
        request,
        "portal/invoice_list.html",
        {
            "page": page,
            "status": status,
            "open_balances": selectors.open_balance_by_currency(request.organization),
            "online_payment": stripe_gateway.enabled() and Perm.PAY_INVOICES in request.portal_perms,
        },
    )


def _invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    try:
        return selectors.invoice_for_organization(request.organization, invoice_id)
    except Invoice.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(Perm.VIEW_INVOICES)
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@portal_view(Perm.PAY_INVOICES, methods=("GET", "POST"))
def invoice_pay(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    if (response := require_post(request)) is not None:
        return response
    try:
        session = invoice_checkout_start(actor=request.user, invoice=invoice)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("portal:invoices")
    return redirect(session.url)
