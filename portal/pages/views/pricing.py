"""The public pricing page (/pricing/, no login): the editions side by side from the catalog in CNY or
USD, the SaaS calculator, the "which edition fits" guide, and each edition's action."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from editions import selectors as catalog
from editions.models import Currency
from portal.pages.pricing_forms import SaasCalculatorForm
from portal.pages.views.common import Access, portal_view


def pricing_currency(request: HttpRequest) -> str:
    """`?currency=` when valid; otherwise CNY for Chinese readers and USD for the others."""
    wanted = (request.GET.get("currency") or request.POST.get("currency") or "").upper()
    if wanted in Currency.values:
        return wanted
    return Currency.CNY if (get_language() or "zh-hans").lower().startswith("zh") else Currency.USD


@portal_view(access=Access.PUBLIC)
def pricing(request: HttpRequest) -> HttpResponse:
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
