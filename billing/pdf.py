"""Invoice PDFs with WeasyPrint: one template, the organization's language, no remote resources."""

from __future__ import annotations

import base64
from collections import defaultdict
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import pgettext_lazy

from billing import payments
from billing.models import DocumentKind, Invoice, InvoiceStatus
from billing.money import ZERO
from billing.selectors import buyer_details, seller_details


@lru_cache(maxsize=1)
def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _fetcher() -> Any:
    # Only inline data: URIs (the QR code); anything else would be a remote or local file read.
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


def pay_url(invoice: Invoice) -> str:
    """The link behind the QR code: leads to the rail configured for the invoice (billing.payments)."""
    return f"{settings.SITE_URL}/api/v1/billing/pay/{invoice.payment_token}"


def qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=1)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


def tax_summary(lines: list[Any]) -> list[dict[str, Any]]:
    """Net and tax per rate (the fapiao-style summary), highest rate first."""
    groups: dict[Decimal, dict[str, Decimal]] = defaultdict(lambda: {"net": ZERO, "tax": ZERO, "gross": ZERO})
    for line in lines:
        group = groups[line.tax_rate]
        group["net"] += line.net
        group["tax"] += line.tax
        group["gross"] += line.gross
    return [{"rate": rate, **sums} for rate, sums in sorted(groups.items(), key=lambda kv: -kv[0])]


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    lines = list(invoice.lines.all())
    issued = invoice.status != InvoiceStatus.DRAFT
    payable = (
        invoice.kind == DocumentKind.INVOICE
        and invoice.status == InvoiceStatus.ISSUED
        and invoice.open_balance > 0
    )

    rails = payments.available_for(invoice) if payable else []
    link = pay_url(invoice) if rails else ""
    return {
        "invoice": invoice,
        "lines": lines,
        "seller": invoice.seller if issued and invoice.seller else seller_details(),
        "buyer": invoice.buyer if issued and invoice.buyer else buyer_details(invoice.organization),
        "tax_summary": tax_summary(lines),
        "is_credit_note": invoice.kind == DocumentKind.CREDIT_NOTE,
        "is_draft": not issued,
        "is_void": invoice.status == InvoiceStatus.VOID,
        "payable": payable,
        "pay_url": link,
        "pay_rails": ", ".join(p.label() for p in rails),
        "qr": qr_data_uri(link) if link else "",
    }


def render_invoice_html(invoice: Invoice, language: str | None = None) -> str:
    with translation.override(language or invoice.language or settings.LANGUAGE_CODE):
        return render_to_string("billing/invoice_pdf.html", invoice_context(invoice))


def render_invoice_pdf(invoice: Invoice, language: str | None = None) -> bytes:
    from weasyprint import HTML

    html = render_invoice_html(invoice, language)
    return HTML(string=html, url_fetcher=_fetcher()).write_pdf(font_config=_font_config())


def invoice_pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.pk}'}.pdf"


# Quotes ------------------------------------------------------------------------------------------------


# The quote PDF's labels (billing_tags.bilingual renders each in Chinese and English); listed here so
# that makemessages finds them.
QUOTE_PDF_LABELS = (
    pgettext_lazy("billing", "Address and phone"),
    pgettext_lazy("billing", "Amount"),
    pgettext_lazy(
        "billing",
        "Accept this quote in the customer portal; the invoice follows on acceptance.",
    ),
    pgettext_lazy("billing", "Bank and account"),
    pgettext_lazy("billing", "Buyer"),
    pgettext_lazy("billing", "Contract"),
    pgettext_lazy("billing", "Currency"),
    pgettext_lazy("billing", "DRAFT"),
    pgettext_lazy("billing", "Date"),
    pgettext_lazy("billing", "Day of the peak"),
    pgettext_lazy("billing", "Deployment"),
    pgettext_lazy("billing", "Description"),
    pgettext_lazy("billing", "Device limit"),
    pgettext_lazy("billing", "Discount"),
    pgettext_lazy("billing", "Edition"),
    pgettext_lazy("billing", "Kind"),
    pgettext_lazy("billing", "List price"),
    pgettext_lazy("billing", "Modules"),
    pgettext_lazy("billing", "Name"),
    pgettext_lazy("billing", "Net total"),
    pgettext_lazy("billing", "Net"),
    pgettext_lazy("billing", "Number"),
    pgettext_lazy("billing", "Peak devices"),
    pgettext_lazy("billing", "Quantity"),
    pgettext_lazy("billing", "Quote"),
    pgettext_lazy("billing", "Seller"),
    pgettext_lazy("billing", "Tax rate"),
    pgettext_lazy("billing", "Tax total"),
    pgettext_lazy("billing", "Tax"),
    pgettext_lazy("billing", "Taxpayer ID"),
    pgettext_lazy("billing", "Term"),
    pgettext_lazy("billing", "Total"),
    pgettext_lazy("billing", "True-up evidence"),
    pgettext_lazy("billing", "Unit price"),
    pgettext_lazy("billing", "Unit"),
    pgettext_lazy("billing", "Valid until"),
)


def quote_context(quote: Any) -> dict[str, Any]:
    lines = list(quote.lines.all())
    return {
        "quote": quote,
        "lines": lines,
        "seller": seller_details(),
        "buyer": buyer_details(quote.organization),
        "tax_summary": tax_summary(lines),
        "modules": [m.name for m in quote.modules.all()],
        "true_ups": [line for line in lines if line.kind == "true_up"],
        "approval_pending": quote.needs_discount_approval,
    }


def render_quote_html(quote: Any, language: str | None = None) -> str:
    with translation.override(language or quote.language or settings.LANGUAGE_CODE):
        return render_to_string("billing/quote_pdf.html", quote_context(quote))


def render_quote_pdf(quote: Any, language: str | None = None) -> bytes:
    """The quote with every label in Chinese and English (line texts in the customer's language)."""
    from weasyprint import HTML

    html = render_quote_html(quote, language)
    return HTML(string=html, url_fetcher=_fetcher()).write_pdf(font_config=_font_config())


def quote_pdf_filename(quote: Any) -> str:
    return f"{quote.number}-v{quote.version}.pdf"
