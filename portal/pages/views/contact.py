"""The public inquiry form (no login). Spam protection: a rate limit per client address (cache-based,
429 page) and a honeypot field that silently drops what bots send."""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from customers import services
from portal.core.ratelimit import client_ip, hit
from portal.pages.contact_forms import PublicInquiryForm
from portal.pages.views.common import Access, PortalRequest, portal_view

logger = logging.getLogger(__name__)


@portal_view(access=Access.PUBLIC, methods=("GET", "POST"))
def inquiry_form(request: PortalRequest) -> HttpResponse:
    if request.method != "POST":
        form = PublicInquiryForm.for_offer(request.GET.get("offer"))
        return render(request, "customers/inquiry_form.html", {"form": form})
    address = client_ip(request, trusted_proxies=settings.INQUIRY_TRUSTED_PROXY_COUNT) or "-"
    retry_after = hit(f"inquiry:{address}", settings.INQUIRY_RATE_LIMIT, default_unit="h")
    if retry_after is not None:
        response = render(
            request,
            "customers/inquiry_rate_limited.html",
            {"retry_minutes": -(-retry_after // 60)},
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    form = PublicInquiryForm(request.POST)
    if form.is_spam():
        # Looks like success to the sender, so bots learn nothing; nothing is stored or sent.
        logger.info("inquiry form: honeypot filled from %s, dropped", address)
        return redirect("customers:inquiry_thanks")
    if form.is_valid():
        try:
            services.inquiry_submit_web_form(source_ip=_ip_or_none(address), **form.inquiry_fields())
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return redirect("customers:inquiry_thanks")
    return render(request, "customers/inquiry_form.html", {"form": form}, status=400)


@portal_view(access=Access.PUBLIC)
def inquiry_thanks(request: PortalRequest) -> HttpResponse:
    return render(request, "customers/inquiry_thanks.html")


def _ip_or_none(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
