"""Orders placed online (/pricing/), on the quotes: buying an edition sold online, converting a trial
into a purchase, asking sales for an upgrade. Each is a self-service quote (Quote.origin); accepting it
creates the contract draft and issues the invoice (billing.services.quotes), and paying that invoice
activates the contract (quote_contract_activate_on_payment).

`purchase_complete` then gives the paid online order its activation code and sends the welcome mail
(outbox). It runs in the task `billing.tasks.purchase_complete`, which the payment state enqueues when an
invoice of a contract becomes paid: recording money never fails because of it, and it is idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.errors import BillingError
from billing.models import (
    OPEN_QUOTE_STATUSES,
    Invoice,
    ModuleOrder,
    ModuleOrderState,
    PaymentStatus,
    Quote,
    QuoteKind,
    QuoteOrigin,
)
from billing.proration import DAYS_PER_YEAR, days_inclusive, prorate
from billing.services.contract_billing import PRICE_KIND_TAX
from billing.services.invoices import LineSpec, invoice_create, invoice_issue
from billing.services.mail import invoice_recipients
from billing.services.quotes import quote_create, quote_withdraw
from contracts import services as contract_services
from contracts.models import Contract, ContractOrigin, ContractStatus, Trial, TrialConversion
from customers.services import inquiry_from_portal
from editions.models import Edition, Module, ModuleKind, Price, PriceKind, PriceTerm, PurchasePath
from licenses.models import ActivationCode
from licenses.services import activation_code_create
from portal.core.actors import actor_user
from portal.core.errors import ApplicationError
from portal.core.i18n import organization_language
from portal.core.mail import mail_enqueue
from portal.core.services import audit


@transaction.atomic
def purchase_complete(*, actor: Any, invoice_id: int) -> Contract | None:
    """The paid invoice's contract, if it is an online order that is now active and has no activation
    code yet: make one and mail the welcome. None when there is nothing to do."""
    invoice = Invoice.objects.select_related("organization").get(pk=invoice_id)
    if invoice.payment_status != PaymentStatus.PAID or invoice.contract_id is None:
        return None
    contract: Contract = (
        Contract.objects.select_for_update().select_related("edition").get(pk=invoice.contract_id)
    )
    order = ModuleOrder.objects.select_for_update().filter(invoice=invoice).first()
    if order is not None:
        return _module_order_apply(actor=actor, order=order)
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
            BillingError.NOT_SOLD_ONLINE,
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
        raise ApplicationError(
            BillingError.CONTRACT_NOT_ACTIVE, _("Only active contracts can be upgraded."), status=409
        )
    open_upgrade = Quote.objects.filter(
        contract=contract, kind=QuoteKind.UPGRADE, status__in=OPEN_QUOTE_STATUSES
    ).first()
    if open_upgrade is not None:
        found: Quote = open_upgrade
        return found
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


# --- a module added mid-term ----------------------------------------------------------------------------


def module_fee(contract: Contract, module: Module) -> Price | None:
    """The yearly fee of `module` on the contract's edition in its currency, valid today."""
    return (
        Price.objects.filter(
            edition_id=contract.edition_id,
            module=module,
            kind=PriceKind.MODULE_FEE,
            term=PriceTerm.YEAR,
            currency=contract.currency,
            valid_from__lte=timezone.localdate(),
        )
        .order_by("-valid_from")
        .first()
    )


def module_prorated_fee(*, yearly_fee: Decimal, today: date, term_end: date) -> Decimal:
    """A module added mid-term pays its yearly fee for the days from `today` to the term end, both
    included, over a 365-day year (as the upgrade quotes prorate)."""
    return prorate(yearly_fee, days=days_inclusive(today, term_end), of_days=DAYS_PER_YEAR)


@transaction.atomic
def module_order_create(
    *, actor: Any, contract: Contract, module: Module, today: date | None = None
) -> ModuleOrder:
    """A customer adds an industry module to a running contract: an invoice for the module's fee prorated
    to the term end, issued now; paying it adds the module (purchase_complete)."""
    today = today or timezone.localdate()
    contract = (
        Contract.objects.select_for_update().select_related("edition", "organization").get(pk=contract.pk)
    )
    if contract.status != ContractStatus.ACTIVE or contract.end_date < today:
        raise ApplicationError(
            BillingError.CONTRACT_NOT_ACTIVE, _("Modules are added to active contracts."), status=409
        )
    if module.kind != ModuleKind.VERTICAL or module not in contract.edition.optional_modules.all():
        raise ApplicationError(
            BillingError.MODULE_NOT_OFFERED,
            _("The %(edition)s edition does not offer: %(modules)s.")
            % {"edition": contract.edition.name, "modules": module.name},
            status=422,
        )
    if module in contract.modules.all():
        raise ApplicationError(
            BillingError.MODULE_ALREADY_ADDED, _("The contract has this module already."), status=409
        )
    open_order = ModuleOrder.objects.filter(
        contract=contract, module=module, state=ModuleOrderState.AWAITING_PAYMENT
    ).first()
    if open_order is not None:
        return open_order
    fee = module_fee(contract, module)
    if fee is None:
        raise ApplicationError(
            BillingError.MODULE_NOT_PRICED, _("This module has no price; ask sales."), status=409
        )
    amount = module_prorated_fee(yearly_fee=fee.amount, today=today, term_end=contract.end_date)
    with translation.override(organization_language(contract.organization)):
        description = _("Module %(module)s for %(contract)s, %(start)s to %(end)s (prorated)") % {
            "module": module.name,
            "contract": contract.number,
            "start": today,
            "end": contract.end_date,
        }
    invoice = invoice_create(
        actor=actor,
        organization=contract.organization,
        currency=contract.currency,
        contract=contract,
        lines=[
            LineSpec(
                description=description,
                quantity=Decimal(1),
                unit_price=amount,
                tax_category=PRICE_KIND_TAX[PriceKind.LICENSE],
                period_start=today,
                period_end=contract.end_date,
                price=fee,
                module=module,
            )
        ],
        period_start=today,
        period_end=contract.end_date,
    )
    invoice = invoice_issue(actor=actor, invoice=invoice, send=True)
    order = ModuleOrder.objects.create(
        contract=contract,
        module=module,
        invoice=invoice,
        amount=amount,
        ordered_by=actor_user(actor),
    )
    audit(
        actor=actor,
        action="module_order.create",
        target=contract,
        data={"module": module.code, "amount": str(amount), "invoice": invoice.number},
    )
    return order


def _module_order_apply(*, actor: Any, order: ModuleOrder) -> Contract | None:
    if order.state != ModuleOrderState.AWAITING_PAYMENT:
        return None
    contract = contract_services.contract_add_module(
        actor=actor, contract=order.contract, module=order.module
    )
    order.state = ModuleOrderState.APPLIED
    order.applied_at = timezone.now()
    order.save(update_fields=["state", "applied_at"])
    return contract
