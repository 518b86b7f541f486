"""The public pricing page (/pricing/, no login): the editions side by side from the catalog in CNY or
USD, the SaaS calculator, the "which edition fits" guide, and each edition's action."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from billing.models import Quote, QuoteOrigin, QuoteStatus
from billing.services import purchases
from billing.services.quotes import quote_accept
from contracts import services as contract_services
from contracts.models import Contract, Trial, TrialKind
from contracts.services import modules_from_codes
from customers import services as customer_services
from customers.models import Organization
from customers.services import organization_update
from editions import selectors as catalog
from editions.models import Currency, Edition, Module, ModuleKind, PurchasePath
from licenses.services import activation_code_create
from portal.core.errors import ApplicationError
from portal.pages.permissions import Perm
from portal.pages.pricing_forms import (
    BuyForm,
    CheckoutForm,
    SaasCalculatorForm,
    SaasStartForm,
    TrialStartForm,
)
from portal.pages.selectors import contracts_visible
from portal.pages.views.common import Access, MemberRequest, PortalRequest, portal_view


def pricing_currency(request: HttpRequest) -> str:
    """`?currency=` when valid; otherwise CNY for Chinese readers and USD for the others."""
    wanted = (request.GET.get("currency") or request.POST.get("currency") or "").upper()
    if wanted in Currency.values:
        return wanted
    return Currency.CNY if (get_language() or "zh-hans").lower().startswith("zh") else Currency.USD


@portal_view(access=Access.PUBLIC)
def pricing(request: PortalRequest) -> HttpResponse:
    currency = pricing_currency(request)
    offers = catalog.pricing_catalog(currency=currency)
    saas = offers.offer("saas")
    module_choices = [(m.code, m.name) for m in offers.verticals if saas and m.code in saas.module_fees]
    data = request.GET if "devices" in request.GET else None
    form = SaasCalculatorForm(data, module_choices=module_choices)
    estimate = None
    if saas is not None:
        if data is not None and form.is_valid():
            devices, months, modules = (
                form.cleaned_data["devices"],
                form.cleaned_data["months"],
                form.cleaned_data["modules"],
            )
        else:
            devices, months, modules = 100, 12, []
        estimate = catalog.saas_estimate(offer=saas, devices=devices, months=months, module_codes=modules)
    context: dict[str, Any] = {
        "catalog": offers,
        "currency": currency,
        "currencies": Currency.choices,
        "saas": saas,
        "form": form,
        "estimate": estimate,
        "organization": request.organization,
    }
    return render(request, "pricing/pricing.html", context, status=400 if form.errors else 200)


# --- trials ---------------------------------------------------------------------------------------------


def _edition_on_sale(code: str) -> Edition:
    edition = Edition.objects.filter(code=code, is_active=True).prefetch_related("optional_modules").first()
    if edition is None:
        raise Http404
    return edition


def _verticals_of_choice(edition: Edition) -> list[tuple[str, str]]:
    if not edition.verticals_of_choice:
        return []
    modules = sorted(
        (m for m in edition.optional_modules.all() if m.kind == ModuleKind.VERTICAL),
        key=lambda m: (m.sort_order, m.code),
    )
    return [(m.code, m.name) for m in modules]


@portal_view(Perm.PURCHASE, methods=("GET", "POST"))
def trial_start(request: MemberRequest, code: str) -> HttpResponse:
    """GET: what the trial gives and, for Standard, which vertical to try; POST starts it and opens the
    trial contract's page, where its activation code is."""
    edition = _edition_on_sale(code)
    if not edition.trial_days:
        raise Http404
    verticals = _verticals_of_choice(edition)
    form = TrialStartForm(request.POST if request.method == "POST" else None, verticals=verticals)
    used = Trial.objects.filter(
        organization=request.organization, edition=edition, kind=TrialKind.SELF_SERVICE
    ).first()
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data.get("vertical")
        try:
            with transaction.atomic():
                trial = contract_services.trial_start(
                    actor=request.user,
                    organization=request.organization,
                    edition=edition,
                    modules=modules_from_codes([chosen]) if chosen else None,
                )
                activation_code_create(actor=request.user, contract=trial.contract)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(
                request,
                _("Your %(days)d-day trial of the %(edition)s edition has started.")
                % {"days": edition.trial_days, "edition": edition.name},
            )
            return redirect("portal:contract_detail", number=trial.contract.number)
    status = 400 if form.errors else 200
    return render(
        request, "pricing/trial_start.html", {"edition": edition, "form": form, "used": used}, status=status
    )


@portal_view(Perm.PURCHASE, methods=("POST",))
def trial_convert(request: MemberRequest, trial_id: int) -> HttpResponse:
    """One click: Standard becomes a purchase (the checkout of the paid contract that renews the trial),
    Enterprise a quote request to sales. The trial's deployments stay activated."""
    trial = get_object_or_404(
        Trial.objects.select_related("contract", "edition", "organization"),
        pk=trial_id,
        organization=request.organization,
    )
    try:
        if trial.edition.purchase_path == PurchasePath.SELF_SERVICE:
            order = purchases.trial_purchase_quote_create(
                actor=request.user, trial=trial, currency=pricing_currency(request)
            )
            return redirect("pricing:quote", number=order.number)
        customer_services.trial_request_quote(actor=request.user, trial=trial)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            _("Sales have your request and will send you a quote; your trial keeps running meanwhile."),
        )
    return redirect("portal:contract_detail", number=trial.contract.number)


# --- buying online ----------------------------------------------------------------------------------------


@portal_view(Perm.PURCHASE, methods=("GET", "POST"))
def buy(request: MemberRequest, code: str) -> HttpResponse:
    """Pick the industry module and the currency; POST makes the self-service quote and opens it. A visitor
    signs in or signs up first (the sign-up opens an organization whose owner they are) and comes back."""
    edition = _edition_on_sale(code)
    if edition.purchase_path != PurchasePath.SELF_SERVICE:
        raise Http404
    verticals = _verticals_of_choice(edition)
    data = request.POST if request.method == "POST" else None
    form = BuyForm(data, verticals=verticals, initial={"currency": pricing_currency(request)})
    if data is not None and form.is_valid():
        chosen = form.cleaned_data.get("vertical")
        try:
            quote = purchases.purchase_quote_create(
                actor=request.user,
                organization=request.organization,
                edition=edition,
                modules=modules_from_codes([chosen]) if chosen else [],
                currency=form.cleaned_data["currency"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return redirect("pricing:quote", number=quote.number)
    offer = catalog.pricing_catalog(currency=pricing_currency(request)).offer(edition.code)
    return render(
        request,
        "pricing/buy.html",
        {"edition": edition, "form": form, "offer": offer},
        status=400 if form.errors else 200,
    )


def _online_quote(request: MemberRequest, number: str) -> Quote:
    quote = (
        Quote.objects.select_related("edition", "contract", "invoice", "resulting_contract")
        .prefetch_related("lines", "modules")
        .filter(
            organization=request.organization, number=number.strip().upper(), origin=QuoteOrigin.SELF_SERVICE
        )
        .order_by("-version")
        .first()
    )
    if quote is None:
        raise Http404
    return quote


@portal_view(Perm.PURCHASE, methods=("GET", "POST"))
def quote(request: MemberRequest, number: str) -> HttpResponse:
    """The online order's quote: its lines and totals and the company invoicing data (tax ID, invoice
    title). POST saves that data, accepts the quote (the contract draft is created and the invoice issued)
    and opens the invoice's pay page: online payment or bank transfer. Paying activates the contract."""
    order = _online_quote(request, number)
    if order.status == QuoteStatus.ACCEPTED and order.invoice_id:
        return redirect("portal:invoice_pay", invoice_id=order.invoice_id)
    organization = Organization.objects.get(pk=request.organization.pk)
    form = CheckoutForm(
        request.POST if request.method == "POST" else None, instance=organization, currency=order.currency
    )
    if request.method == "POST" and order.is_open and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        try:
            with transaction.atomic():
                if changes:
                    organization_update(actor=request.user, organization=organization, **changes)
                accepted = quote_accept(actor=request.user, quote=order)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            return redirect("portal:invoice_pay", invoice_id=accepted.invoice_id)
    return render(
        request,
        "pricing/quote.html",
        {"quote": order, "form": form},
        status=400 if form.errors else 200,
    )


@portal_view(Perm.PURCHASE, methods=("POST",))
def upgrade(request: MemberRequest, number: str) -> HttpResponse:
    """From an active contract's page: ask sales for the upgrade to a sales-led edition (`edition`)."""
    try:
        contract = contracts_visible(request.organization).get(number=number.strip().upper())
    except Contract.DoesNotExist as exc:
        raise Http404 from exc
    target = Edition.objects.filter(code=request.POST.get("edition", ""), is_active=True).first()
    if target is None or target.pk == contract.edition_id:
        raise Http404
    try:
        purchases.upgrade_quote_request(actor=request.user, contract=contract, edition=target)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            _(
                "Sales have your upgrade request and will send you the quote, with a credit for the unused term."
            ),
        )
    return redirect("portal:contract_detail", number=contract.number)


# --- SaaS ---------------------------------------------------------------------------------------------------


@portal_view(Perm.PURCHASE, methods=("GET", "POST"))
def saas_start(request: MemberRequest) -> HttpResponse:
    """Start SaaS: the currency and the industry modules; billed each month for the peak of devices (the
    existing usage run). The contract's page then shows the month-to-date peak and the estimated bill."""
    edition = (
        Edition.objects.filter(is_metered=True, is_active=True).prefetch_related("optional_modules").first()
    )
    if edition is None:
        raise Http404
    currency = pricing_currency(request)
    offer = catalog.pricing_catalog(currency=currency).offer(edition.code)
    choices = [(m.code, m.name) for m in edition.optional_modules.all()]
    data = request.POST if request.method == "POST" else None
    form = SaasStartForm(data, module_choices=choices, initial={"currency": currency})
    if data is not None and form.is_valid():
        try:
            contract = contract_services.saas_subscription_start(
                actor=request.user,
                organization=request.organization,
                edition=edition,
                modules=modules_from_codes(form.cleaned_data["modules"]),
                currency=form.cleaned_data["currency"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(
                request, _("SaaS has started; your first invoice comes at the end of the month.")
            )
            return redirect("portal:contract_detail", number=contract.number)
    return render(
        request,
        "pricing/saas_start.html",
        {"edition": edition, "form": form, "offer": offer, "currency": currency},
        status=400 if form.errors else 200,
    )


@portal_view(Perm.PURCHASE, methods=("POST",))
def module_add(request: MemberRequest, number: str) -> HttpResponse:
    """From an active contract's page: buy an industry module for the rest of the term; opens the
    prorated invoice's pay page."""
    try:
        contract = contracts_visible(request.organization).get(number=number.strip().upper())
    except Contract.DoesNotExist as exc:
        raise Http404 from exc
    module = Module.objects.filter(code=request.POST.get("module", "")).first()
    if module is None:
        raise Http404
    try:
        order = purchases.module_order_create(actor=request.user, contract=contract, module=module)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("portal:contract_detail", number=contract.number)
    return redirect("portal:invoice_pay", invoice_id=order.invoice_id)
