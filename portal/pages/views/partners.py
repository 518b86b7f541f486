"""The partner area (/partner/): a channel partner's users register deals, see their own book (end
customers, contracts, renewal dates, deployments, license state), ask for renewal quotes, follow their
commission and payouts, and invite colleagues.

Tenancy: every page is declared with `partner_view(perm)`, which reads the one partner permission map
(`portal.pages.permissions.PARTNER_PERMISSION_ROLES`) and sets `request.partner`; every read goes
through portal.pages.partner_selectors scoped to that partner, so another partner's object, or a
customer user's request, is a 404."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from datetime import date
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from billing import selectors as billing_selectors
from billing.reports import partner_statements
from billing.services.quotes import quote_renewal_for_contract
from customers.invitations import invitation_check
from customers.models import InquiryNoteKind, Partner, PartnerMembership
from customers.partner_services import (
    contract_renewal_request,
    deal_register,
    partner_invitation_accept,
    partner_invitation_by_token,
    partner_invitation_create,
    partner_invitation_revoke,
    partner_membership_remove,
)
from customers.services import inquiry_add_note
from portal.core.errors import ApplicationError
from portal.pages import partner_selectors as selectors
from portal.pages.forms import DealRegistrationForm, PartnerInviteForm, RenewalRequestForm
from portal.pages.permissions import PartnerPerm, partner_permissions_of, partner_role_can
from portal.pages.views.common import paginate, require_post

PARTNER_SESSION_KEY = "portal_partner"


class PartnerRequest(HttpRequest):
    """The request a partner page receives: partner_view sets these."""

    partner_membership: PartnerMembership
    partner: Partner
    partner_perms: frozenset[str]
    _partner_memberships: list[PartnerMembership]


def partner_memberships(http_request: HttpRequest) -> list[PartnerMembership]:
    request = cast(PartnerRequest, http_request)
    if not hasattr(request, "_partner_memberships"):
        user = request.user
        request._partner_memberships = (
            list(
                PartnerMembership.objects.filter(user=user, partner__is_active=True)
                .select_related("partner")
                .order_by("partner__name")
            )
            if user.is_authenticated
            else []
        )
    return request._partner_memberships


def current_partner_membership(request: HttpRequest) -> PartnerMembership | None:
    """The partner the user works for now: `?partner=` (one of their own), the one kept in the
    session, else the first."""
    memberships = partner_memberships(request)
    if not memberships:
        return None
    wanted = request.GET.get("partner") or request.session.get(PARTNER_SESSION_KEY)
    chosen = next((m for m in memberships if str(m.partner_id) == str(wanted)), memberships[0])
    if request.session.get(PARTNER_SESSION_KEY) != chosen.partner_id:  # no session write on every page
        request.session[PARTNER_SESSION_KEY] = chosen.partner_id
    return chosen


def partner_view(perm: PartnerPerm, *, methods: Iterable[str] = ("GET",)) -> Callable:
    """Every partner page is declared with this: signed in, a user of an active partner whose role is
    allowed `perm` (PARTNER_PERMISSION_ROLES); anyone else gets a 404, so the area's pages are not
    revealed to customer users. Sets request.partner_membership, request.partner, request.partner_perms."""
    allowed = tuple(methods) + (("HEAD",) if "GET" in methods else ())

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(http_request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request = cast(PartnerRequest, http_request)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            membership = current_partner_membership(request)
            if membership is None or not partner_role_can(membership.role, perm):
                raise Http404
            request.partner_membership = membership
            request.partner = membership.partner
            request.partner_perms = partner_permissions_of(membership.role)
            if request.method not in allowed:
                return HttpResponseNotAllowed(allowed)
            return view(request, *args, **kwargs)

        wrapped.partner_perm = perm  # type: ignore[attr-defined]  # read by the partner crawl test
        return wrapped

    return decorator


def _render(
    request: PartnerRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"partner": request.partner, "partner_perms": request.partner_perms, **context}
    return render(request, template, context, status=status)


# --- overview and book -------------------------------------------------------------------------------


@partner_view(PartnerPerm.VIEW_BOOK)
def overview(request: PartnerRequest) -> HttpResponse:
    return _render(
        request, "portal/partner/overview.html", {"overview": selectors.partner_overview(request.partner)}
    )


@partner_view(PartnerPerm.VIEW_BOOK)
def customer_list(request: PartnerRequest) -> HttpResponse:
    page = paginate(request, selectors.partner_book(request.partner))
    return _render(request, "portal/partner/customers.html", {"book": page.object_list, "page": page})


@partner_view(PartnerPerm.VIEW_BOOK)
def customer_detail(request: PartnerRequest, organization_id: int) -> HttpResponse:
    customer = selectors.partner_customer(request.partner, organization_id)
    return _render(
        request,
        "portal/partner/customer_detail.html",
        {"customer": customer, "renewal_form": RenewalRequestForm()},
    )


def renewal_quote_request(*, user: Any, partner: Partner, contract: Any, note: str) -> tuple[Any, Any]:
    """A partner's renewal-quote request: the inquiry for sales (customers), then the renewal quote
    drafted from the price list (billing's quote_renewal_for_contract; an open one is reused), for
    sales to review and send. When no quote can be drafted (e.g. a contract not in force), the
    inquiry alone stands and sales prepare the quote. Returns (inquiry, quote or None)."""
    inquiry = contract_renewal_request(actor=user, partner=partner, contract=contract, note=note)
    try:
        quote = quote_renewal_for_contract(actor=user, contract=contract)
    except (ApplicationError, ValidationError):
        return inquiry, None
    inquiry_add_note(
        actor=user,
        inquiry=inquiry,
        kind=InquiryNoteKind.SYSTEM,
        body=_("Renewal quote %(number)s drafted; review and send it.") % {"number": quote.number},
    )
    return inquiry, quote


@partner_view(PartnerPerm.REQUEST_RENEWAL, methods=("POST",))
def renewal_request(request: PartnerRequest, number: str) -> HttpResponse:
    contract = selectors.partner_contract(request.partner, number)
    form = RenewalRequestForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        renewal_quote_request(user=request.user, partner=request.partner, contract=contract, note=note)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            _("Sales will send you a renewal quote for %(contract)s.") % {"contract": contract.number},
        )
    return redirect("partner:customer_detail", organization_id=contract.organization_id)


# --- deal registration -----------------------------------------------------------------------------


@partner_view(PartnerPerm.REGISTER_DEALS)
def deal_list(request: PartnerRequest) -> HttpResponse:
    page = paginate(request, selectors.partner_deals(request.partner, status=request.GET.get("status", "")))
    return _render(request, "portal/partner/deal_list.html", {"page": page})


@partner_view(PartnerPerm.REGISTER_DEALS, methods=("GET", "POST"))
def deal_new(request: PartnerRequest) -> HttpResponse:
    form = DealRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        edition = data.pop("edition")
        try:
            deal = deal_register(actor=request.user, partner=request.partner, edition=edition, **data)
        except ValidationError as exc:
            for field_name, errors in exc.message_dict.items():
                form.add_error(field_name if field_name in form.fields else None, errors)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, _("Deal registered; sales will approve or reject it."))
            return redirect("partner:deal_detail", deal_id=deal.pk)
    status = 400 if request.method == "POST" else 200
    return _render(request, "portal/partner/deal_form.html", {"form": form}, status=status)


@partner_view(PartnerPerm.REGISTER_DEALS)
def deal_detail(request: PartnerRequest, deal_id: int) -> HttpResponse:
    return _render(
        request, "portal/partner/deal_detail.html", {"deal": selectors.partner_deal(request.partner, deal_id)}
    )


# --- commissions -----------------------------------------------------------------------------------


@partner_view(PartnerPerm.VIEW_COMMISSIONS)
def commissions(request: PartnerRequest) -> HttpResponse:
    partner = request.partner
    return _render(
        request,
        "portal/partner/commissions.html",
        {
            "months": billing_selectors.partner_commission_months(partner),
            "page": paginate(request, billing_selectors.partner_commission_ledger(partner)),
            "payouts": billing_selectors.partner_payouts(partner)[:24],
        },
    )


STATEMENT_FORMATS = {
    "csv": (partner_statements.statement_csv, "text/csv; charset=utf-8"),
    "xlsx": (
        partner_statements.statement_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "pdf": (partner_statements.statement_pdf, "application/pdf"),
}


@partner_view(PartnerPerm.VIEW_COMMISSIONS)
def statement(request: PartnerRequest, year: int, month: int, fmt: str) -> HttpResponse:
    """The month's commission statement, in the formats the staff exports have."""
    if fmt not in STATEMENT_FORMATS or not (1 <= month <= 12) or not (2000 <= year <= 2100):
        raise Http404
    date_from = date(year, month, 1)
    date_to = date(year, month, calendar.monthrange(year, month)[1])
    report = partner_statements.partner_statement(
        partner=request.partner, date_from=date_from, date_to=date_to
    )
    render_fn, content_type = STATEMENT_FORMATS[fmt]
    response = HttpResponse(render_fn(report), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{partner_statements.statement_filename(report, fmt)}"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- partner users -------------------------------------------------------------------------------


def _team(request: PartnerRequest, form: PartnerInviteForm | None = None, status: int = 200) -> HttpResponse:
    partner = request.partner
    manage = str(PartnerPerm.MANAGE_PARTNER_USERS) in request.partner_perms
    return _render(
        request,
        "portal/partner/team.html",
        {
            "members": selectors.partner_members(partner),
            "invitations": selectors.partner_invitations_pending(partner) if manage else [],
            "invite_form": form or PartnerInviteForm(),
            "manage": manage,
        },
        status=status,
    )


@partner_view(PartnerPerm.MANAGE_PARTNER_USERS, methods=("GET", "POST"))
def team(request: PartnerRequest) -> HttpResponse:
    if request.method != "POST":
        return _team(request)
    form = PartnerInviteForm(request.POST)
    if not form.is_valid():
        return _team(request, form, status=400)
    try:
        invitation = partner_invitation_create(
            actor=request.user,
            partner=request.partner,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except ApplicationError as exc:
        form.add_error("email", exc.detail)
        return _team(request, form, status=400)
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("partner:team")


@partner_view(PartnerPerm.MANAGE_PARTNER_USERS, methods=("GET", "POST"))
def invitation_revoke(request: PartnerRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.partner_invitation(request.partner, invitation_id)
    if (refused := require_post(request)) is not None:
        return refused
    partner_invitation_revoke(actor=request.user, invitation=invitation)
    messages.success(request, _("Invitation to %(email)s withdrawn.") % {"email": invitation.email})
    return redirect("partner:team")


@partner_view(PartnerPerm.MANAGE_PARTNER_USERS, methods=("GET", "POST"))
def member_remove(request: PartnerRequest, membership_id: int) -> HttpResponse:
    membership = selectors.partner_member(request.partner, membership_id)
    if (refused := require_post(request)) is not None:
        return refused
    try:
        partner_membership_remove(actor=request.user, membership=membership)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("%(email)s removed.") % {"email": membership.user.email})
    return redirect("partner:team")


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page a partner invitation link opens: sign in (or sign up) with the invited address, then
    one click joins the partner."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    invitation = partner_invitation_by_token(token)
    try:
        invitation_check(invitation)
    except ApplicationError as exc:
        return render(request, "portal/partner/invitation.html", {"error": exc.detail}, status=exc.status)
    assert invitation is not None
    context: dict[str, Any] = {"invitation": invitation}
    if not request.user.is_authenticated:
        here = request.get_full_path()
        context.update(
            signup_url=f"{reverse('account_signup')}?{urlencode({'email': invitation.email, 'next': here})}",
            login_url=f"{reverse('account_login')}?{urlencode({'next': here})}",
        )
        return render(request, "portal/partner/invitation.html", context)
    try:
        invitation_check(invitation, user=request.user)
    except ApplicationError as exc:
        context["error"] = exc.detail
        return render(request, "portal/partner/invitation.html", context, status=exc.status)
    if request.method == "POST":
        membership = partner_invitation_accept(user=request.user, token=token)
        request.session[PARTNER_SESSION_KEY] = membership.partner_id
        messages.success(
            request, _("You joined the partner area of %(partner)s.") % {"partner": membership.partner.name}
        )
        return redirect("partner:overview")
    return render(request, "portal/partner/invitation.html", context)


def brand_logo(request: HttpRequest, partner_id: int) -> HttpResponseBase:
    """An OEM partner's logo, shown to its customers (public: a logo is no secret)."""
    partner = get_object_or_404(Partner, pk=partner_id)
    if not partner.is_white_label or not partner.brand_logo:
        raise Http404
    response = FileResponse(partner.brand_logo.open("rb"))
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'"  # an SVG runs nothing
    )
    return response
