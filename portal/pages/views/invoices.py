"""Invoices: list, PDF (and the fapiao PDF), the pay page (the rails billing.payments offers: Alipay,
WeChat Pay, Stripe; bank transfer). Owners and billing members only; for everyone else these pages do
not exist (404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from billing import pay, payments
from billing.models import Invoice
from billing.pdf import invoice_pdf_filename, render_invoice_pdf
from portal.core.csp import csp_update
from portal.core.errors import ApplicationError
from portal.pages import selectors
from portal.pages.permissions import Perm
from portal.pages.views.common import MemberRequest, paginate, portal_view


@portal_view(Perm.VIEW_INVOICES)
def invoice_list(request: MemberRequest) -> HttpResponse:
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
    prefetch_related_objects(list(page.object_list), "fapiao_documents")
    return render(
        request,
        "portal/invoice_list.html",
        {
            "page": page,
            "status": status,
            "open_balances": selectors.open_balance_by_currency(request.organization),
            "online_currencies": payments.online_currencies()
            if Perm.PAY_INVOICES in request.portal_perms
            else (),
        },
    )


def _invoice(request: MemberRequest, invoice_id: int) -> Invoice:
    try:
        return selectors.invoice_for_organization(request.organization, invoice_id)
    except Invoice.DoesNotExist as exc:
        raise Http404 from exc


@portal_view(Perm.VIEW_INVOICES)
def invoice_pdf(request: MemberRequest, invoice_id: int) -> HttpResponseBase:
    invoice = _invoice(request, invoice_id)
    if request.GET.get("document") == "fapiao":  # the 数电票 PDF the tax bureau issued
        document = invoice.fapiao_documents.filter(pk=request.GET.get("fapiao") or 0).exclude(pdf="").first()
        if document is None:
            raise Http404
        return FileResponse(
            document.pdf.open("rb"), as_attachment=True, filename=pay.fapiao_filename(document)
        )
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
    response["Cache-Control"] = "private, no-store"
    return response


# The pay page's form is answered by a redirect to the chosen rail (Stripe Checkout, Alipay's cashier),
# and form-action covers the redirect of a form submission too.
@csp_update(form_action=settings.SECURE_CSP_PAYMENT_ORIGINS)
@portal_view(Perm.PAY_INVOICES, methods=("GET", "POST"))
def invoice_pay(request: MemberRequest, invoice_id: int) -> HttpResponse:
    """The pay page: the rails offered for the invoice (billing.payments), a QR code once one is
    started, bank-transfer details and the fapiao. POST starts a payment (provider, channel) or asks the
    provider whether the customer has paid (op=check)."""
    invoice = _invoice(request, invoice_id)
    start = None
    if request.method == "POST":
        try:
            if request.POST.get("op") == "check":
                state = payments.get(request.POST.get("provider", "")).query_status(invoice=invoice)
                level, text = pay.check_message(state)
                messages.add_message(request, level, text)
                return redirect("portal:invoices" if state.status == "paid" else request.path)
            start = payments.invoice_payment_start(
                actor=request.user,
                invoice=invoice,
                provider=request.POST.get("provider") or None,
                channel=request.POST.get("channel") or None,
            )
        except ApplicationError as exc:
            messages.error(request, exc.detail)
            return redirect("portal:invoices")
        if start.kind == "redirect":
            return redirect(start.url)
    context = pay.pay_context(invoice, start=start)
    context["fapiao_url"] = reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk})
    return render(request, "billing/invoice_pay.html", context)
