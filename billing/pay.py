"""What a pay page shows (the portal's and the public pay link's): the rails offered for the invoice, the
QR code of a started payment, bank-transfer details, and the invoice's fapiao."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing import payments
from billing.models import DocumentKind, Invoice, InvoiceStatus, OrderChannel
from billing.payments.base import PaymentStart
from billing.pdf import qr_data_uri
from billing.selectors import seller_details


def channel_label(provider: str, channel: str) -> str:
    if provider == "alipay":
        return (
            pgettext("billing", "Alipay QR code") if channel == OrderChannel.QR else _("Alipay web checkout")
        )
    if provider == "wechatpay":
        return pgettext("billing", "WeChat Pay QR code")
    return pgettext("billing", "Card (Stripe)")


def pay_options(invoice: Invoice) -> list[dict[str, str]]:
    """One entry per provider and channel offered for this invoice, in the registry's order."""
    return [
        {"provider": p.code, "channel": channel, "label": channel_label(p.code, channel)}
        for p in payments.available_for(invoice)
        for channel in p.channels()
    ]


def is_payable(invoice: Invoice) -> bool:
    return (
        invoice.kind == DocumentKind.INVOICE
        and invoice.status == InvoiceStatus.ISSUED
        and invoice.open_balance > 0
    )


def pay_context(invoice: Invoice, *, start: PaymentStart | None = None) -> dict[str, Any]:
    seller = invoice.seller or seller_details()
    return {
        "invoice": invoice,
        "payable": is_payable(invoice),
        "options": pay_options(invoice) if is_payable(invoice) else [],
        "start": start,
        "qr": qr_data_uri(start.url) if start is not None and start.kind == "qr" and start.url else "",
        "scan_hint": _scan_hint(start),
        "seller": seller,
        "fapiao": list(invoice.fapiao_documents.order_by("created_at")),
    }


def _scan_hint(start: PaymentStart | None) -> str:
    if start is None or start.kind != "qr":
        return ""
    if start.provider == "wechatpay":
        return _("Scan with WeChat (or long-press the code inside WeChat) to pay.")
    return _("Scan with the Alipay app to pay.")


def check_message(state: Any) -> tuple[int, str]:
    """The message after the customer asked whether their payment arrived."""
    from django.contrib import messages

    if state.status == "paid":
        return messages.SUCCESS, _("Thank you. The payment has been received.")
    if state.status == "closed":
        return messages.WARNING, _("This payment was closed without being paid; start a new one.")
    return messages.INFO, _(
        "The payment has not arrived yet. If you have just paid, check again in a minute."
    )


def fapiao_filename(document: Any) -> str:
    return f"fapiao-{document.fapiao_number}.pdf"
