"""Orders placed online (/pricing/): when the invoice of a self-service contract is paid, the contract
activates by itself, an activation code is made for it and the owners get a welcome mail (outbox).

Called by the task `billing.tasks.purchase_complete`, which the payment state enqueues when an invoice
of a contract becomes paid: recording money never fails because an activation does, and the task is
idempotent (a contract already active is left alone)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from billing.i18n import organization_language
from billing.models import Invoice, PaymentStatus
from billing.services.mail import invoice_recipients
from contracts.models import Contract, ContractOrigin, ContractStatus
from contracts.services import contract_activate
from licenses.models import ActivationCode
from licenses.services import activation_code_create
from portal.core.mail import mail_enqueue
from portal.core.services import audit


@transaction.atomic
def purchase_complete(*, actor: Any, invoice_id: int) -> Contract | None:
    """Activate the self-service contract whose invoice `invoice_id` is paid; None when there is nothing
    to do (not paid, not an online order, already active)."""
    invoice = Invoice.objects.select_related("organization").get(pk=invoice_id)
    if invoice.payment_status != PaymentStatus.PAID or invoice.contract_id is None:
        return None
    contract = Contract.objects.select_for_update().select_related("edition").get(pk=invoice.contract_id)
    if contract.origin != ContractOrigin.SELF_SERVICE or contract.status != ContractStatus.DRAFT:
        return None
    contract = contract_activate(actor=actor, contract=contract)
    if not ActivationCode.objects.filter(contract=contract).exists():
        activation_code_create(actor=actor, contract=contract, note="online purchase")
    audit(
        actor=actor,
        action="purchase.complete",
        target=contract,
        data={"invoice": invoice.number, "amount": str(invoice.total), "currency": invoice.currency},
    )
    _welcome_mail(contract, invoice)
    return contract


def _welcome_mail(contract: Contract, invoice: Invoice) -> None:
    recipients = sorted(
        set(
            contract.organization.memberships.filter(role="owner", user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    ) or invoice_recipients(invoice)
    if not recipients:
        return
    site = settings.SITE_URL.rstrip("/")
    context = {
        "contract": contract,
        "organization": contract.organization,
        "contract_url": site + reverse("portal:contract_detail", kwargs={"number": contract.number}),
        "downloads_url": site + reverse("downloads:index"),
    }
    with translation.override(organization_language(contract.organization)):
        subject = render_to_string("billing/email/welcome_subject.txt", context).strip()
        body = render_to_string("billing/email/welcome.txt", context)
    message = EmailMultiAlternatives(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=[settings.SELLER_EMAIL] if settings.SELLER_EMAIL else None,
    )
    mail_enqueue(message)
