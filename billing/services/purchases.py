"""Orders placed online (/pricing/), on the quotes: buying an edition sold online, converting a trial
into a purchase, asking sales for an upgrade. Each is a self-service quote (Quote.origin); accepting it
creates the contract draft and issues the invoice (billing.services.quotes), and paying that invoice
activates the contract (quote_contract_activate_on_payment).

`purchase_complete` then gives the paid online order its activation code and sends the welcome mail
(outbox). It runs in the task `billing.tasks.purchase_complete`, which the payment state enqueues when an
invoice of a contract becomes paid: recording money never fails because of it, and it is idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from billing.i18n import organization_language
from billing.models import OPEN_QUOTE_STATUSES, Invoice, PaymentStatus, Quote, QuoteKind, QuoteOrigin
from billing.services.mail import invoice_recipients
from billing.services.quotes import quote_create, quote_withdraw
from contracts import services as contract_services
from contracts.models import Contract, ContractOrigin, ContractStatus, Trial, TrialConversion
from customers.services import inquiry_from_portal
from editions.models import Edition, Module, PurchasePath
from licenses.models import ActivationCode
from licenses.services import activation_code_create
from portal.core.errors import ApplicationError
from portal.core.mail import mail_enqueue
from portal.core.services import audit


@transaction.atomic
def purchase_complete(*, actor: Any, invoice_id: int) -> Contract | None:
    """The paid invoice's contract, if it is an online order that is now active and has no activation
    code yet: make one and mail the welcome. None when there is nothing to do."""
    invoice = Invoice.objects.select_related("organization").get(pk=invoice_id)
    if invoice.payment_status != PaymentStatus.PAID or invoice.contract_id is None:
        return None
    contract = Contract.objects.select_for_update().select_related("edition").get(pk=invoice.contract_id)
    if contract.origin != ContractOrigin.SELF_SERVICE or contract.status != ContractStatus.ACTIVE:
        return None
    if ActivationCode.objects.filter(contract=contract).exists():
        return None
    activation_code_create(actor=actor, contract=contract, note="online purchase")
    audit(
        actor=actor,
        action="purchase.complete",
        target=contract,
        data={"invoice": invoice.number, "amount": str(invoice.gross_total), "currency": invoice.currency},
    )
    _welcome_mail(contract, invoice)
    return contract


def _check_sold_online(edition: Edition) -> None:
    if edition.purchase_path != PurchasePath.SELF_SERVICE or not edition.is_active:
        raise ApplicationError(
            "not_sold_online",
            _("The %(edition)s edition is sold through sales.") % {"edition": edition.name},
            status=409,
        )


def _withdraw_open_online_quotes(*, actor: Any, organization: Any, edition: Edition) -> None:
    """One open online order per organization and edition: ordering again replaces it."""
    for quote in Quote.objects.filter(
        organization=organization,
        edition=edition,
        kind=QuoteKind.NEW,
        origin=QuoteOrigin.SELF_SERVICE,
        status__in=OPEN_QUOTE_STATUSES,
    ):
        quote_withdraw(actor=actor, quote=quote, reason="replaced by a new online order")


@transaction.atomic
def purchase_quote_create(
    *, actor: Any, organization: Any, edition: Edition, modules: list[Module], currency: str
) -> Quote:
    """A one-year quote at the price list for an edition sold online, made by the customer."""
    _check_sold_online(edition)
    _withdraw_open_online_quotes(actor=actor, organization=organization, edition=edition)
    return quote_create(
        actor=actor,
        organization=organization,
        kind=QuoteKind.NEW,
        edition=edition,
        currency=currency,
        modules=modules,
        origin=QuoteOrigin.SELF_SERVICE,
    )


@transaction.atomic
def trial_purchase_quote_create(*, actor: Any, trial: Trial, currency: str) -> Quote:
    """One click from a trial of an edition sold online to its purchase: a one-year quote from today with
    the trial's modules, naming the trial contract, whose contract (once accepted and paid) continues the
    trial's: its deployments move over at their next check-in, no new activation."""
    trial = Trial.objects.select_related("edition", "organization", "contract").get(pk=trial.pk)
    _check_sold_online(trial.edition)
    contract_services.trial_mark_converted(actor=actor, trial=trial, conversion=TrialConversion.PURCHASE)
    _withdraw_open_online_quotes(actor=actor, organization=trial.organization, edition=trial.edition)
    return quote_create(
        actor=actor,
        organization=trial.organization,
        kind=QuoteKind.NEW,
        edition=trial.edition,
        contract=trial.contract,
        currency=currency,
        modules=list(trial.contract.modules.all()),
        origin=QuoteOrigin.SELF_SERVICE,
        notes=_("Converted from trial %(number)s") % {"number": trial.contract.number},
    )


@transaction.atomic
def upgrade_quote_request(*, actor: Any, contract: Contract, edition: Edition) -> Quote:
    """The customer asks to upgrade an active contract to a sales-led edition (standard → enterprise): an
    upgrade quote from today to the end of the term with the prorated credit for the unused term
    (billing.services.quotes.upgrade_lines), left as a draft for sales to review, adjust and send."""
    if contract.status != ContractStatus.ACTIVE:
        raise ApplicationError("contract_not_active", _("Only active contracts can be upgraded."), status=409)
    open_upgrade = Quote.objects.filter(
        contract=contract, kind=QuoteKind.UPGRADE, status__in=OPEN_QUOTE_STATUSES
    ).first()
    if open_upgrade is not None:
        return open_upgrade
    quote = quote_create(
        actor=actor,
        organization=contract.organization,
        kind=QuoteKind.UPGRADE,
        contract=contract,
        edition=edition,
        modules=list(edition.optional_modules.all()) if edition.verticals_of_choice else [],
        origin=QuoteOrigin.SELF_SERVICE,
    )
    inquiry_from_portal(
        actor=actor,
        organization=contract.organization,
        offer=edition.code,
        message=f"Upgrade of {contract.number} to {edition.code}: quote {quote} (draft) to review and send",
    )
    return quote


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
