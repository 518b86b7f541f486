"""Payments in admin: record bank transfers, reconcile them against open invoices, review Stripe."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import payments, selectors, services
from billing.admin.common import run_for_each
from billing.models import (
    CheckoutSession,
    DunningReminder,
    ExportJob,
    ExportStatus,
    Invoice,
    PartnerCommission,
    PartnerPayout,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    RefundStatus,
    StripeEvent,
)
from billing.models.payments import unallocated_expression
from billing.services.commissions import payout_record
from billing.templatetags.billing_tags import money
from portal.core.admin import AuditTimelineInline
from portal.core.admin_reports import ReadOnlyAdminMixin
from portal.core.errors import ApplicationError

if TYPE_CHECKING:
    from django.forms import ChoiceField


class PaymentAllocationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentAllocation
    fk_name = "payment"
    extra = 0
    fields = ("invoice", "amount", "created_at", "created_by")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("invoice", "created_by")


class PaymentAddForm(forms.ModelForm):
    match_memo = forms.BooleanField(
        label=gettext_lazy("Allocate to the invoices named in the memo"), required=False, initial=True
    )

    class Meta:
        model = Payment
        fields = (
            "method",
            "amount",
            "currency",
            "received_at",
            "payer_name",
            "payer_account",
            "reference",
            "memo",
            "note",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].initial = PaymentMethod.BANK_TRANSFER
        method = cast("ChoiceField", self.fields["method"])
        pairs: list[Any] = list(method.choices)  # type: ignore[arg-type]  # the model field's (value, label) pairs
        method.choices = [c for c in pairs if c[0] in (PaymentMethod.BANK_TRANSFER, PaymentMethod.OTHER)]

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount is None or amount <= 0:
            raise forms.ValidationError(_("A payment amount must be positive."))
        return amount


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount to refund"),
        max_digits=18,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=gettext_lazy("Empty: the whole payment (what is left of it)."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Append-only: finance adds bank transfers; nothing is edited or deleted (reverse a mistake)."""

    list_display = (
        "received_at",
        "method",
        "kind",
        "amount_display",
        "currency",
        "payer_name",
        "reference",
        "memo",
        "unallocated_display",
    )
    list_filter = ("method", "kind", "currency")
    search_fields = ("payer_name", "reference", "memo", "external_id", "allocations__invoice__number")
    date_hierarchy = "received_at"
    list_select_related = ("created_by",)
    inlines = [PaymentAllocationInline, AuditTimelineInline]
    actions = ["allocate_by_memo", "reverse", "refund_online"]
    readonly_fields = (
        "kind",
        "method",
        "amount",
        "currency",
        "received_at",
        "payer_name",
        "payer_account",
        "reference",
        "memo",
        "external_id",
        "reverses",
        "note",
        "created_by",
        "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(unallocated=unallocated_expression())

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]  # change= passes through **kwargs
        if obj is None:
            kwargs["form"] = PaymentAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return (*PaymentAddForm.Meta.fields, "match_memo")
        return self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        return money(obj.amount)

    @admin.display(description=gettext_lazy("not allocated"), ordering="unallocated")
    def unallocated_display(self, obj: Any) -> str:  # a row of get_queryset(), with its annotations
        return money(obj.unallocated) if obj.unallocated else "—"

    def save_model(self, request: HttpRequest, obj: Payment, form: Any, change: bool) -> None:
        data = form.cleaned_data
        payment = services.payment_record(
            actor=request.user,
            method=data["method"],
            amount=data["amount"],
            currency=data["currency"],
            received_at=data.get("received_at"),
            payer_name=data.get("payer_name", ""),
            payer_account=data.get("payer_account", ""),
            reference=data.get("reference", ""),
            memo=data.get("memo", ""),
            note=data.get("note", ""),
        )
        if data.get("match_memo"):
            allocations = services.payment_allocate_by_memo(actor=request.user, payment=payment)
            for allocation in allocations:
                messages.info(
                    request,
                    _("%(amount)s allocated to %(invoice)s.")
                    % {"amount": money(allocation.amount), "invoice": allocation.invoice},
                )
        obj.pk = obj.id = payment.pk
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None

    @admin.action(description=gettext_lazy("Allocate to the invoices named in the memo"))
    def allocate_by_memo(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        run_for_each(
            request,
            queryset.filter(kind="payment"),
            lambda p: services.payment_allocate_by_memo(actor=request.user, payment=p),
            _("%(count)d payment(s) matched by memo."),
        )

    @admin.action(description=gettext_lazy("Reverse (correct a payment recorded by mistake)"))
    def reverse(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        run_for_each(
            request,
            queryset.filter(kind="payment"),
            lambda p: services.payment_reverse(actor=request.user, payment=p, note=_("reversed in admin")),
            _("%(count)d payment(s) reversed."),
        )

    @admin.action(description=gettext_lazy("Refund through Alipay / WeChat Pay / Stripe…"))
    def refund_online(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        """Asks for an amount and a reason, then refunds each selected online payment through the
        provider that took it (billing.payments); the money leaving is recorded as its own refund row."""

        online = queryset.filter(
            kind="payment", method__in=[PaymentMethod.ALIPAY, PaymentMethod.WECHAT_PAY, PaymentMethod.STRIPE]
        ).order_by("pk")
        form = RefundForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            data = form.cleaned_data

            def refund(payment: Payment) -> None:
                result = payments.payment_refund_online(
                    actor=request.user,
                    payment=payment,
                    amount=data["amount"] or payment.amount,
                    reason=data["reason"],
                )
                messages.info(
                    request,
                    _("%(payment)s: refund %(status)s.")
                    % {"payment": payment, "status": RefundStatus(result.status).label},
                )

            run_for_each(request, online, refund, _("%(count)d refund(s) requested."))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund online payments"),
            "objects": online,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "billing/admin/refund.html", context)

    # Reconciliation --------------------------------------------------------------------------------

    def get_urls(self) -> list:
        urls = super().get_urls()
        view = self.admin_site.admin_view(self.reconcile_view)
        return [path("reconcile/", view, name="billing_payment_reconcile"), *urls]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "reconcile_url": reverse("admin:billing_payment_reconcile")}
        return super().changelist_view(request, extra_context)

    def reconcile_view(self, request: HttpRequest) -> HttpResponse:
        """Bank transfers with money not yet allocated, each with the open invoices its memo names;
        finance confirms a suggestion or types an invoice number and amount."""
        if not request.user.has_perm("billing.add_payment"):
            raise PermissionDenied
        if request.method == "POST":
            self._reconcile_post(request)
            return HttpResponseRedirect(request.get_full_path())
        payments = list(selectors.payments_to_reconcile().select_related("created_by")[:200])
        candidates = selectors.reconciliation_candidates(payments)
        rows = [{"payment": p, "candidates": candidates.get(p.pk, [])} for p in payments]
        open_invoices = Invoice.objects.open().select_related("organization").order_by("due_date", "id")[:200]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reconcile bank transfers"),
            "opts": self.model._meta,
            "rows": rows,
            "open_invoices": open_invoices,
        }
        return TemplateResponse(request, "billing/admin/reconcile.html", context)

    def _reconcile_post(self, request: HttpRequest) -> None:
        try:
            payment = Payment.objects.get(pk=int(request.POST.get("payment", "0")))
        except (Payment.DoesNotExist, ValueError):
            messages.error(request, _("Unknown payment."))
            return
        try:
            if request.POST.get("op") == "memo":
                done = services.payment_allocate_by_memo(actor=request.user, payment=payment)
                messages.success(request, _("%(count)d allocation(s) made.") % {"count": len(done)})
                return
            number = (request.POST.get("invoice") or "").strip().upper()
            invoice = Invoice.objects.filter(number=number).first()
            if invoice is None:
                messages.error(request, _("No invoice numbered %(number)s.") % {"number": number})
                return
            try:
                amount = Decimal(request.POST.get("amount") or "0")
            except InvalidOperation:
                messages.error(request, _("Enter the amount as a number."))
                return
            services.payment_allocate(actor=request.user, payment=payment, invoice=invoice, amount=amount)
            messages.success(
                request,
                _("%(amount)s allocated to %(invoice)s.") % {"amount": money(amount), "invoice": invoice},
            )
        except ApplicationError as exc:
            messages.error(request, exc.detail)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "received_at",
        "type",
        "event_id",
        "stripe_created",
        "processed_at",
        "attempts",
        "outcome",
    )
    list_filter = ("type", ("processed_at", admin.EmptyFieldListFilter), "livemode")
    search_fields = ("event_id", "outcome")
    date_hierarchy = "received_at"
    readonly_fields = (
        "event_id",
        "type",
        "stripe_created",
        "livemode",
        "received_at",
        "processed_at",
        "attempts",
        "outcome",
        "last_error",
        "payload",
    )
    actions = ["reprocess"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Process again (only events not yet applied)"))
    def reprocess(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        run_for_each(
            request,
            queryset.filter(processed_at__isnull=True),
            lambda e: services.stripe_event_process(event_id=e.event_id),
            _("%(count)d event(s) processed."),
        )


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "invoice",
        "attempt",
        "amount",
        "currency",
        "status",
        "stripe_payment_status",
        "expires_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("stripe_id", "invoice__number")
    list_select_related = ("invoice",)
    readonly_fields = (
        "invoice",
        "attempt",
        "idempotency_key",
        "stripe_id",
        "url",
        "amount",
        "currency",
        "status",
        "stripe_payment_status",
        "expires_at",
        "last_event_at",
        "created_at",
    )


@admin.register(DunningReminder)
class DunningReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "invoice",
        "stage_days",
        "sent_at",
        "skipped",
        "recipient",
        "language",
        "last_error",
    )
    list_filter = ("stage_days", "skipped", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("invoice__number", "invoice__organization__name", "recipient")
    list_select_related = ("invoice",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "invoice",
        "stage_days",
        "recipient",
        "language",
        "skipped",
        "created_at",
        "sent_at",
        "last_error",
    )


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "format",
        "status",
        "progress",
        "total",
        "created_by",
        "finished_at",
        "download",
    )
    list_filter = ("status", "format")
    list_select_related = ("created_by",)
    readonly_fields = (
        "format",
        "status",
        "progress",
        "total",
        "done",
        "download",
        "filters",
        "error",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.view_invoice") or super().has_view_permission(request, obj)

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: ExportJob) -> str:
        return f"{obj.progress_percent} %"

    @admin.display(description=gettext_lazy("download"))
    def download(self, obj: ExportJob) -> str:
        from django.utils.html import format_html

        if obj.status != ExportStatus.DONE or not obj.file:
            return "—"
        return format_html('<a href="/api/v1/invoices/exports/{}/download">{}</a>', obj.pk, _("download"))


@admin.register(PartnerCommission)
class PartnerCommissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "partner",
        "invoice",
        "line",
        "base_amount",
        "rate_percent",
        "amount",
        "currency",
        "credit_note",
    )
    list_filter = ("currency", ("partner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("partner__name", "invoice__number")
    list_select_related = ("partner", "invoice", "line", "credit_note")
    date_hierarchy = "created_at"


class PartnerPayoutForm(forms.ModelForm):
    class Meta:
        model = PartnerPayout
        fields = ("partner", "month", "amount", "currency", "paid_on", "reference")

    def clean_month(self) -> Any:
        month = self.cleaned_data["month"]
        return month.replace(day=1) if month else month  # any day of the month names the month


@admin.register(PartnerPayout)
class PartnerPayoutAdmin(admin.ModelAdmin):
    """Finance records what was paid to a partner for a month's commission statement; the partner sees
    it in the partner area. Recorded once, never edited (a wrong one is deleted and recorded again)."""

    form = PartnerPayoutForm
    list_display = ("partner", "month", "amount", "currency", "paid_on", "reference", "recorded_by")
    list_filter = ("currency", ("partner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("partner__name", "reference")
    list_select_related = ("partner", "recorded_by")
    date_hierarchy = "paid_on"
    autocomplete_fields = ("partner",)
    fields = ("partner", "month", "amount", "currency", "paid_on", "reference")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: PartnerPayout, form: Any, change: bool) -> None:
        created = payout_record(
            actor=request.user,
            partner=obj.partner,
            month=obj.month,
            amount=obj.amount,
            currency=obj.currency,
            paid_on=obj.paid_on,
            reference=obj.reference,
        )
        obj.pk = created.pk
