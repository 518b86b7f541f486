"""Sales' quote admin: create from the price list, then send, approve a discount, accept on the customer's
behalf, revise or withdraw, all through billing.services.quotes. A quote never changes in place: a change
is a new version (revise)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.admin.common import run_for_each
from billing.models import Quote, QuoteLine, QuoteStatus
from billing.services import quotes as quote_services
from billing.templatetags.billing_tags import money
from portal.core.admin import AuditTimelineInline
from portal.core.errors import ApplicationError


class QuoteLineInline(admin.TabularInline):
    model = QuoteLine
    extra = 0
    can_delete = False
    fields = (
        "position",
        "kind",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "list_amount",
        "discount",
        "net",
        "tax_rate",
        "tax",
        "gross",
        "evidence_shown",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("evidence"))
    def evidence_shown(self, line: QuoteLine) -> str:
        evidence = line.evidence or {}
        if not evidence.get("peak"):
            return "—"
        deployments = format_html_join(
            ", ",
            "#{} {} ({})",
            ((d["id"], d.get("hostname", ""), d["devices"]) for d in evidence["deployments"]),
        )
        return format_html(
            "{} {} · {} {} · {} {}<br>{}",
            _("peak"),
            evidence["peak"],
            _("limit"),
            evidence.get("limit", "—"),
            _("on"),
            evidence["day"],
            deployments,
        )


class QuoteCreateForm(forms.ModelForm):
    uplift_percent = forms.DecimalField(
        label=gettext_lazy("uplift (%)"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=gettext_lazy("Renewals only. Empty: the QUOTE_RENEWAL_UPLIFT_PERCENT setting."),
    )

    class Meta:
        model = Quote
        fields = (
            "organization",
            "kind",
            "contract",
            "edition",
            "currency",
            "device_limit",
            "term_start",
            "term_end",
            "discount_percent",
            "valid_until",
            "notes",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("edition", "term_start", "term_end", "valid_until", "currency"):
            self.fields[name].required = False
        self.fields["edition"].help_text = gettext_lazy("Renewals: the contract's edition.")
        self.fields["term_start"].help_text = gettext_lazy("Empty: today (renewals: the day after the end).")

    def create_quote(self, actor: Any) -> Quote:
        data = self.cleaned_data
        return quote_services.quote_create(
            actor=actor,
            organization=data["organization"],
            kind=data["kind"],
            contract=data.get("contract"),
            edition=data.get("edition"),
            currency=data.get("currency") or None,
            device_limit=data.get("device_limit"),
            term_start=data.get("term_start"),
            term_end=data.get("term_end"),
            discount_percent=data.get("discount_percent"),
            uplift_percent=data.get("uplift_percent"),
            valid_until=data.get("valid_until"),
            notes=data.get("notes") or "",
        )

    def _post_clean(self) -> None:
        # The service's own rules decide; try it in a transaction that is rolled back, so that a refusal
        # shows on the form instead of failing after it was accepted.
        super()._post_clean()
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.create_quote(None)
                transaction.set_rollback(True)
        except ApplicationError as exc:
            self.add_error(None, exc.detail)
        except ValidationError as exc:
            self.add_error(None, exc)


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "organization",
        "kind",
        "status",
        "origin",
        "edition",
        "contract",
        "total_shown",
        "discount_percent",
        "discount_state",
        "valid_until",
        "accepted_at",
    )
    list_filter = ("status", "kind", "origin", "currency", "edition", "valid_until")
    search_fields = ("number", "organization__name", "organization__short_name", "contract__number")
    list_select_related = ("organization", "edition", "contract", "discount_approved_by")
    autocomplete_fields = ("organization", "contract")
    date_hierarchy = "created_at"
    actions = ["send_quotes", "approve_discounts", "accept_on_behalf", "revise_quotes", "withdraw_quotes"]
    readonly_fields = (
        "number",
        "version",
        "previous_version",
        "organization",
        "kind",
        "origin",
        "contract",
        "edition",
        "device_limit",
        "term_start",
        "term_end",
        "currency",
        "status",
        "valid_until",
        "discount_percent",
        "discount_approved_by",
        "discount_approved_at",
        "list_total",
        "discount_total",
        "net_total",
        "tax_total",
        "gross_total",
        "accepted_by",
        "accepted_at",
        "accepted_on_behalf",
        "resulting_contract",
        "invoice",
        "withdraw_reason",
        "created_by",
        "created_at",
        "sent_at",
        "notes",
    )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = QuoteCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return (*QuoteCreateForm.Meta.fields, "uplift_percent")
        return self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return [QuoteLineInline, AuditTimelineInline] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Quote, form: Any, change: bool) -> None:
        if change:
            return  # a quote changes only by a new version (the "revise" action)
        created = form.create_quote(request.user)
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return  # lines and modules are written by the service

    @admin.display(description=gettext_lazy("total"), ordering="gross_total")
    def total_shown(self, quote: Quote) -> str:
        return f"{quote.currency} {money(quote.gross_total)}"

    @admin.display(description=gettext_lazy("discount approval"))
    def discount_state(self, quote: Quote) -> str:
        if quote.needs_discount_approval:
            return str(_("needed"))
        if quote.discount_approved_by_id:
            return str(_("approved by %(user)s") % {"user": quote.discount_approved_by})
        return "—"

    @admin.action(description=gettext_lazy("Send the selected quotes to the customer"))
    def send_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_for_each(
            request,
            queryset,
            lambda q: quote_services.quote_send(actor=request.user, quote=q),
            _("%(count)d quote(s) sent."),
        )

    @admin.action(description=gettext_lazy("Approve the discount (sales manager)"))
    def approve_discounts(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_for_each(
            request,
            queryset,
            lambda q: quote_services.quote_approve_discount(actor=request.user, quote=q),
            _("%(count)d discount(s) approved."),
        )

    @admin.action(description=gettext_lazy("Accept on the customer's behalf (creates contract and invoice)"))
    def accept_on_behalf(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_for_each(
            request,
            queryset,
            lambda q: quote_services.quote_accept(actor=request.user, quote=q, on_behalf=True),
            _("%(count)d quote(s) accepted."),
        )

    @admin.action(description=gettext_lazy("Revise: a new version of the selected quotes"))
    def revise_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_for_each(
            request,
            queryset,
            lambda q: quote_services.quote_revise(actor=request.user, quote=q),
            _("%(count)d quote(s) revised."),
        )

    @admin.action(description=gettext_lazy("Withdraw the selected quotes"))
    def withdraw_quotes(self, request: HttpRequest, queryset: QuerySet[Quote]) -> None:
        run_for_each(
            request,
            queryset.filter(status__in=[QuoteStatus.DRAFT, QuoteStatus.SENT]),
            lambda q: quote_services.quote_withdraw(
                actor=request.user, quote=q, reason=str(_("withdrawn by sales"))
            ),
            _("%(count)d quote(s) withdrawn."),
        )
