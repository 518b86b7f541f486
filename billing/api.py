"""Integration API for invoices and payments (DESIGN §5b), the providers' notifications and the pay
link."""

import io
import logging
import re
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from billing import payments, selectors, services
from billing.errors import BillingError, billing_error
from billing.exports import CONTENT_TYPES, csv_chunks, write_xlsx
from billing.models import ExportJob, ExportStatus, Invoice, Payment
from billing.pay import pay_context
from billing.pdf import invoice_pdf_filename, render_invoice_pdf
from billing.schemas import (
    CheckoutOut,
    CreditIn,
    ExportFilter,
    ExportJobOut,
    FapiaoIn,
    InvoiceFilter,
    InvoiceIn,
    InvoiceListOut,
    InvoiceOut,
    PaymentIn,
    PaymentOut,
    SendIn,
    VoidIn,
    WebhookOut,
)
from billing.services.invoices import LineSpec
from contracts.models import Contract
from contracts.selectors import contract_get
from customers.models import Organization
from portal.core.api_auth import actor_of, require_write, staff_auth
from portal.core.errors import ApplicationError
from portal.core.schemas import Id, Paging, filter_values

logger = logging.getLogger(__name__)
router = Router(tags=["invoices"], auth=staff_auth)
public_router = Router(tags=["billing"])
_PAY_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,40}")


def _invoice(invoice_id: int) -> Invoice:
    return selectors.invoice_get(invoice_id)


@router.get("/invoices", response=list[InvoiceListOut])
@paginate(Paging)
def invoice_list(request: HttpRequest, filters: Query[InvoiceFilter]) -> Any:
    return selectors.invoice_list(filters=filter_values(filters))


@router.post("/invoices", response={201: InvoiceOut})
def invoice_create(request: HttpRequest, payload: InvoiceIn) -> Status[Any]:
    require_write(request)
    organization = Organization.objects.filter(pk=payload.organization).first()
    if organization is None:
        raise ApplicationError(
            BillingError.INVALID_INPUT,
            _("Organization %(id)s does not exist.") % {"id": payload.organization},
            status=400,
        )
    contract = None
    if payload.contract:
        try:
            contract = contract_get(payload.contract)
        except Contract.DoesNotExist:
            raise ApplicationError(
                BillingError.INVALID_INPUT,
                _("Contract %(id)s does not exist.") % {"id": payload.contract},
                status=400,
            ) from None
    invoice = services.invoice_create(
        actor=actor_of(request),
        organization=organization,
        currency=payload.currency,
        contract=contract,
        notes=payload.notes,
        due_date=payload.due_date,
        rate_to_cny=payload.rate_to_cny,
        lines=[
            LineSpec(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                tax_category=line.tax_category,
                unit=line.unit,
            )
            for line in payload.lines
        ],
    )
    return Status(201, _invoice(invoice.pk))


def _export_name(fmt: str) -> str:
    return f"invoices-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"


@router.get("/invoices/export", response={200: None, 202: ExportJobOut})
def invoice_export(request: HttpRequest, filters: Query[ExportFilter]) -> Any:
    """CSV or XLSX of invoices and credit notes issued in a date range. Small exports come back at once
    (CSV streamed); large ones (and ZIPs of PDFs) start a job: 202 with its status URL."""
    data = filter_values(filters)
    fmt = data.pop("format")
    qs = selectors.export_queryset(filters=data)
    if fmt == "zip" or qs.count() > settings.BILLING_EXPORT_SYNC_MAX_ROWS:
        job = services.export_job_create(actor=actor_of(request), format=fmt, filters=data)
        return Status(202, job)
    response: HttpResponse | StreamingHttpResponse
    if fmt == "csv":
        response = StreamingHttpResponse(csv_chunks(qs), content_type=CONTENT_TYPES["csv"])
    else:
        buffer = io.BytesIO()
        write_xlsx(qs, buffer)
        response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{_export_name(fmt)}"'
    return response


@router.get("/invoices/exports/{job_id}", response=ExportJobOut)
def export_job_status(request: HttpRequest, job_id: Id) -> ExportJob:
    return ExportJob.objects.get(pk=job_id)


@router.get("/invoices/exports/{job_id}/download")
def export_job_download(request: HttpRequest, job_id: Id) -> Any:
    job = ExportJob.objects.get(pk=job_id)
    if job.status != ExportStatus.DONE or not job.file:
        raise billing_error(BillingError.EXPORT_NOT_READY, _("The export is not ready yet."), status=409)
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=(job.file.name or "").rsplit("/", 1)[-1],
        content_type=CONTENT_TYPES[job.format],
    )


@router.get("/invoices/{invoice_id}", response=InvoiceOut)
def invoice_detail(request: HttpRequest, invoice_id: Id) -> Invoice:
    return _invoice(invoice_id)


@router.delete("/invoices/{invoice_id}", response={204: None})
def invoice_delete(request: HttpRequest, invoice_id: Id) -> Status[Any]:
    require_write(request)
    services.invoice_delete(actor=actor_of(request), invoice=_invoice(invoice_id))
    return Status(204, None)


@router.post("/invoices/{invoice_id}/issue", response=InvoiceOut)
def invoice_issue(request: HttpRequest, invoice_id: Id, send: bool = False) -> Invoice:
    require_write(request)
    invoice = services.invoice_issue(actor=actor_of(request), invoice=_invoice(invoice_id), send=send)
    return _invoice(invoice.pk)


@router.post("/invoices/{invoice_id}/void", response=InvoiceOut)
def invoice_void(request: HttpRequest, invoice_id: Id, payload: VoidIn | None = None) -> Invoice:
    require_write(request)
    invoice = services.invoice_void(
        actor=actor_of(request), invoice=_invoice(invoice_id), reason=payload.reason if payload else ""
    )
    return _invoice(invoice.pk)


@router.post("/invoices/{invoice_id}/credit", response={201: InvoiceOut})
def invoice_credit(request: HttpRequest, invoice_id: Id, payload: CreditIn | None = None) -> Status[Any]:
    """Issue a credit note: everything still creditable, or the given quantities per line."""
    require_write(request)
    lines: dict[int, Any] | None = None
    if payload and payload.lines is not None:
        lines = {}
        for item in payload.lines:
            lines[item.line] = lines.get(item.line, 0) + item.quantity
    credit = services.invoice_credit(
        actor=actor_of(request),
        invoice=_invoice(invoice_id),
        reason=payload.reason if payload else "",
        lines=lines,
    )
    return Status(201, _invoice(credit.pk))


@router.post("/invoices/{invoice_id}/fapiao", response=InvoiceOut)
def invoice_fapiao(request: HttpRequest, invoice_id: Id, payload: FapiaoIn) -> Invoice:
    require_write(request)
    invoice = services.invoice_set_fapiao(
        actor=actor_of(request),
        invoice=_invoice(invoice_id),
        fapiao_number=payload.fapiao_number,
        issued_on=payload.issued_on,
    )
    return _invoice(invoice.pk)


@router.post("/invoices/{invoice_id}/send", response={202: dict})
def invoice_send(request: HttpRequest, invoice_id: Id, payload: SendIn | None = None) -> Status[Any]:
    require_write(request)
    invoice = _invoice(invoice_id)
    if invoice.is_draft:
        raise billing_error(BillingError.NOT_PAYABLE, _("Issue the invoice before sending it."))
    services.invoice_email_queue(invoice=invoice, recipients=payload.recipients if payload else None)
    return Status(202, {"queued": True})


@router.post("/invoices/{invoice_id}/checkout", response=CheckoutOut)
def invoice_checkout(request: HttpRequest, invoice_id: Id) -> Any:
    """A Stripe Checkout page for the open balance (card, Alipay, WeChat Pay)."""
    require_write(request)
    return services.invoice_checkout_start(actor=actor_of(request), invoice=_invoice(invoice_id))


@router.get("/invoices/{invoice_id}/pdf")
def invoice_pdf(request: HttpRequest, invoice_id: Id, lang: str | None = None) -> HttpResponse:
    invoice = _invoice(invoice_id)
    response = HttpResponse(render_invoice_pdf(invoice, lang), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice_pdf_filename(invoice)}"'
    return response


@router.get("/payments", response=list[PaymentOut], tags=["payments"])
@paginate(Paging)
def payment_list(request: HttpRequest, unallocated: bool = False) -> Any:
    qs = selectors.payments_to_reconcile() if unallocated else Payment.objects.all()
    return qs.prefetch_related("allocations__invoice")


@router.post("/payments", response={201: PaymentOut}, tags=["payments"])
def payment_create(request: HttpRequest, payload: PaymentIn) -> Status[Any]:
    """Record a bank transfer (对公转账); allocate it to invoices now or later (partial payments allowed)."""
    require_write(request)
    invoices = {i.pk: i for i in Invoice.objects.filter(pk__in=[a.invoice for a in payload.allocations])}
    missing = [a.invoice for a in payload.allocations if a.invoice not in invoices]
    if missing:
        raise ApplicationError(
            BillingError.INVALID_INPUT,
            _("Invoices %(ids)s do not exist.") % {"ids": ", ".join(map(str, missing))},
            status=400,
        )
    actor = actor_of(request)
    payment = services.payment_record(
        actor=actor,
        method=payload.method,
        amount=payload.amount,
        currency=payload.currency,
        received_at=payload.received_at,
        payer_name=payload.payer_name,
        payer_account=payload.payer_account,
        reference=payload.reference,
        memo=payload.memo,
        allocations=[(invoices[a.invoice], a.amount) for a in payload.allocations],
    )
    if payload.match_memo:
        services.payment_allocate_by_memo(actor=actor, payment=payment)
    return Status(201, Payment.objects.prefetch_related("allocations__invoice").get(pk=payment.pk))


# Public endpoints: Stripe's webhook (signed) and the customer's pay link (an unguessable token). ----


@public_router.post("/billing/stripe/webhook", response=WebhookOut, auth=None)
def stripe_webhook(request: HttpRequest) -> dict[str, Any]:
    """Stripe events, verified on the raw body with STRIPE_WEBHOOK_SECRET, stored once by id."""
    event, created = services.stripe_webhook_receive(
        payload=request.body, signature=request.headers.get("Stripe-Signature", "")
    )
    return {"received": True, "duplicate": not created, "outcome": event.outcome}


def _notification(code: str, request: HttpRequest) -> HttpResponse:
    """Verify and apply a provider's notification; answer exactly what that provider expects. A
    database or other internal failure answers 503 so the provider delivers it again later."""

    provider = payments.get(code)
    if not provider.enabled():
        # Not set up here: nothing will ever apply it, so the sender should not retry.
        logger.warning("%s notification received but the rail is not configured", code)
        return HttpResponse(b"failure", status=404, content_type="text/plain")
    try:
        result = provider.receive_notification(body=request.body, headers=request.headers)
    except Exception:
        logger.exception("%s notification could not be applied", code)
        return HttpResponse(b"failure", status=503, content_type="text/plain", headers={"Retry-After": "60"})
    return HttpResponse(result.body, status=result.status, content_type=result.content_type)


@public_router.post("/billing/alipay/notify", auth=None)
def alipay_notify(request: HttpRequest) -> HttpResponse:
    """Alipay's asynchronous notification (form POST, RSA2-signed with the Alipay key); answered with the
    plain text `success` once applied (or already applied), `failure` when refused."""
    return _notification("alipay", request)


@public_router.post("/billing/wechatpay/notify", auth=None)
def wechatpay_notify(request: HttpRequest) -> HttpResponse:
    """WeChat Pay API v3 notification (signed with the WeChat Pay public key, resource encrypted with
    AES-256-GCM under the APIv3 key); 204 once applied, 400 `{"code": "FAIL"}` when refused."""
    return _notification("wechatpay", request)


@public_router.get("/billing/pay/{token}", auth=None, include_in_schema=False)
def invoice_pay(request: HttpRequest, token: str) -> HttpResponse:
    """The link printed on the invoice (and in its QR code). With one rail for the invoice's currency it
    goes straight there; opened inside the Alipay or WeChat app it uses that app's rail; otherwise the
    customer picks (?provider=&channel=). Bank-transfer details are always shown."""
    # Tokens are URL-safe base64 (new_payment_token); anything else cannot match and is not looked up.
    looks_like_token = _PAY_TOKEN.fullmatch(token) is not None
    invoice = (
        Invoice.objects.select_related("organization").filter(payment_token=token).first()
        if looks_like_token
        else None
    )
    if invoice is None:
        return render(request, "billing/pay_unavailable.html", {"invoice": None}, status=404)
    choice = request.GET.get("provider") or None
    offered = payments.available_for(invoice)
    user_agent = request.headers.get("User-Agent", "")
    if not choice and len(offered) > 1 and not payments.in_app(user_agent):
        return render(request, "billing/pay_link.html", pay_context(invoice))
    try:
        start = payments.invoice_payment_start(
            actor=None,
            invoice=invoice,
            provider=choice,
            channel=request.GET.get("channel") or None,
            user_agent=user_agent,
        )
    except ApplicationError as exc:
        return render(
            request, "billing/pay_unavailable.html", {"invoice": invoice, "error": exc}, status=exc.status
        )
    if start.kind == "redirect" or (start.provider == "alipay" and payments.in_app(user_agent) == "alipay"):
        return HttpResponseRedirect(start.url, status=303)  # qr.alipay.com opens the payment in the app
    return render(request, "billing/pay_link.html", pay_context(invoice, start=start))
