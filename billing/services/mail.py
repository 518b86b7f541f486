"""Emails to customers (invoice, payment reminder) and to staff (usage held), in the right language."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing.i18n import organization_language
from billing.models import Invoice, Quote, UsageHold
from billing.pdf import (
    invoice_pdf_filename,
    pay_url,
    quote_pdf_filename,
    render_invoice_pdf,
    render_quote_pdf,
)
from customers.models import Role
from portal.core.services import audit


def invoice_recipients(invoice: Invoice) -> list[str]:
    """The organization's billing email, else its owners' and billing members' addresses."""
    return organization_billing_recipients(invoice.organization)


def organization_billing_recipients(organization: Any) -> list[str]:
    """The organization's billing email, else its owners' and billing members' addresses."""
    if organization.billing_email:
        return [organization.billing_email]
    emails = (
        organization.memberships.filter(role__in=[Role.BILLING, Role.OWNER], user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(emails))


def _send(
    *,
    template: str,
    context: dict[str, Any],
    recipients: list[str],
    language: str,
    attachments: Iterable = (),
    cc: list[str] | None = None,
) -> None:
    with translation.override(language):
        subject = render_to_string(f"billing/email/{template}_subject.txt", context).strip()
        text = render_to_string(f"billing/email/{template}.txt", context)
        html = render_to_string(f"billing/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        cc=cc,
        reply_to=[settings.SELLER_EMAIL] if settings.SELLER_EMAIL else None,
    )
    message.attach_alternative(html, "text/html")
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    message.send()


def _invoice_context(invoice: Invoice) -> dict[str, Any]:
    online = bool(settings.STRIPE_SECRET_KEY) and invoice.open_balance > 0
    return {
        "invoice": invoice,
        "organization": invoice.organization,
        "seller": invoice.seller,
        "pay_url": pay_url(invoice) if online else "",
    }


def send_invoice_email(invoice: Invoice, recipients: list[str] | None = None) -> list[str]:
    """Email the invoice PDF; returns who it went to (empty if nobody to send to)."""
    recipients = recipients or invoice_recipients(invoice)
    if not recipients:
        return []
    language = invoice.language or organization_language(invoice.organization)
    pdf = render_invoice_pdf(invoice, language)
    template = "credit_note" if invoice.is_credit_note else "invoice"
    _send(
        template=template,
        context=_invoice_context(invoice),
        recipients=recipients,
        language=language,
        attachments=[(invoice_pdf_filename(invoice), pdf, "application/pdf")],
    )
    return recipients


def send_reminder_email(invoice: Invoice, *, stage_days: int, recipients: list[str]) -> None:
    language = invoice.language or organization_language(invoice.organization)
    context = {**_invoice_context(invoice), "stage_days": stage_days, "days_overdue": invoice.days_overdue}
    pdf = render_invoice_pdf(invoice, language)
    _send(
        template="reminder",
        context=context,
        recipients=recipients,
        language=language,
        attachments=[(invoice_pdf_filename(invoice), pdf, "application/pdf")],
    )


def send_usage_holds_email(holds: list[Any]) -> bool:
    recipients = list(settings.BILLING_FINANCE_EMAILS or [])
    if not recipients or not holds:
        return False
    _send(
        template="usage_held",
        context={"holds": holds, "site_url": settings.SITE_URL},
        recipients=recipients,
        language=settings.LANGUAGE_CODE,
    )
    return True


def invoice_email_send(*, invoice_id: int, recipients: list[str] | None = None) -> list[str]:
    """The job behind invoice_email_queue: mail the invoice, then note when and to whom it went."""
    invoice = Invoice.objects.select_related("organization", "contract", "credit_for").get(pk=invoice_id)
    sent_to = send_invoice_email(invoice, recipients)
    if sent_to:
        Invoice.objects.filter(pk=invoice_id).update(sent_at=timezone.now())
        audit(actor=None, action="invoice.send", target=invoice, data={"to": sent_to})
    return sent_to


def usage_holds_notify() -> int:
    """Tell finance once about the months held for review; returns how many."""
    with transaction.atomic():
        holds = list(
            UsageHold.objects.select_for_update(skip_locked=True)
            .filter(notified_at__isnull=True, released_at__isnull=True)
            .select_related("contract")
        )
        if not holds:
            return 0
        send_usage_holds_email(holds)
        UsageHold.objects.filter(pk__in=[h.pk for h in holds]).update(notified_at=timezone.now())
    return len(holds)


def quote_email_send(*, quote_id: int, recipients: list[str] | None = None) -> list[str]:
    """The job behind quote_send: mail the quote's PDF to `recipients`, else the organization's billing
    contacts, in the quote's language; the account owner gets a copy."""
    quote = Quote.objects.select_related("organization__account_owner", "contract", "edition").get(
        pk=quote_id
    )
    recipients = recipients or organization_billing_recipients(quote.organization)
    if not recipients:
        audit(actor=None, action="quote.send_failed", target=quote, data={"reason": "no_recipients"})
        return []
    language = quote.language or organization_language(quote.organization)
    owner = getattr(quote.organization, "account_owner", None)
    _send(
        template="quote",
        context={
            "quote": quote,
            "organization": quote.organization,
            "portal_url": f"{settings.SITE_URL}/quotes/{quote.pk}/?org={quote.organization_id}",
        },
        recipients=recipients,
        language=language,
        attachments=[(quote_pdf_filename(quote), render_quote_pdf(quote, language), "application/pdf")],
        cc=[owner.email] if owner is not None and owner.email else None,
    )
    audit(actor=None, action="quote.mailed", target=quote, data={"to": recipients})
    return recipients
