"""Finance's invoice admin: drafts are editable, issued documents are read-only; actions call services."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from billing import selectors, services
from billing.admin.common import run_for_each
from billing.exports import CONTENT_TYPES, csv_chunks, write_xlsx
from billing.models import (
    SERIES,
    BillingPeriod,
    DocumentKind,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    OverdueInvoice,
    PaymentAllocation,
    UsageHold,
    default_tax_rate,
)
from billing.services.fapiao import fapiao_export
from billing.templatetags.billing_tags import money
from contracts.models import Contract
from portal.core.actors import actor_user
from portal.core.admin import AuditTimelineInline
from portal.core.admin_reports import ReadOnlyAdminMixin
from portal.core.errors import ApplicationError
from portal.core.i18n import organization_language
from portal.core.services import audit


class PercentInput(forms.TextInput):
    """Shows a stored fraction (0.13) as the percentage people type (13)."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Decimal):
            return f"{(value * 100).normalize():f}"
        return super().format_value(value)


class TaxRatePercentField(forms.CharField):
    """A tax rate typed as a percentage: "13", "13 %", "6.5" or "13％" (full-width); cleaned to the stored
    fraction (0.13). "0.13" means 0.13 %, not 13 %: the field says percent everywhere."""

    widget = PercentInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("tax rate (%)"))
        kwargs.setdefault(
            "help_text", gettext_lazy("In percent: 13 for 13 %. Empty: the category's default.")
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, Decimal):
            return value
        text = str(value or "").strip().replace("％", "%").rstrip("%").strip().replace(",", ".")
        if not text:
            return None
        try:
            percent = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(
                gettext_lazy("Enter the tax rate in percent, a number such as 13 or 6."), code="invalid"
            ) from None
        if not percent.is_finite() or percent < 0 or percent > 100:
            raise forms.ValidationError(
                gettext_lazy("A tax rate is between 0 and 100 percent, e.g. 13."), code="out_of_range"
            )
        fraction = (percent / 100).quantize(Decimal("0.0001"))
        if fraction * 100 != percent:
            raise forms.ValidationError(
                gettext_lazy("A tax rate has at most two decimals in percent, e.g. 6.25."), code="precision"
            )
        return fraction


class InvoiceLineForm(forms.ModelForm):
    tax_rate = TaxRatePercentField()

    class Meta:
        model = InvoiceLine
        fields = ("position", "description", "quantity", "unit", "unit_price", "tax_category", "tax_rate")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("tax_rate") in (None, "") and data.get("tax_category"):
            data["tax_rate"] = default_tax_rate(data["tax_category"])
            self.instance.tax_rate = data["tax_rate"]
        return data


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    form = InvoiceLineForm
    fk_name = "invoice"
    extra = 0
    fields = (
        "position",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "tax_category",
        "tax_rate",
        "net",
        "tax",
        "gross",
    )
    readonly_fields = ("net", "tax", "gross")

    def _editable(self, obj: Invoice | None) -> bool:
        return obj is None or obj.status == InvoiceStatus.DRAFT

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if not self._editable(obj) else self.readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0


class AllocationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentAllocation
    fk_name = "invoice"
    extra = 0
    fields = ("created_at", "payment", "amount", "created_by")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("payments")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("payment", "created_by")


class CreditNoteInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Invoice
    fk_name = "credit_for"
    extra = 0
    fields = ("number", "status", "issue_date", "gross_total", "reason")
    readonly_fields = fields
    verbose_name = pgettext_lazy("billing", "credit note")
    verbose_name_plural = pgettext_lazy("billing", "credit notes")


class InvoiceAdminForm(forms.ModelForm):
    class Meta:
        model = Invoice
        fields = (
            "organization",
            "contract",
            "currency",
            "rate_to_cny",
            "due_date",
            "period_start",
            "period_end",
            "notes",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        contract, organization = data.get("contract"), data.get("organization")
        if contract and organization and contract.organization_id != organization.pk:
            self.add_error("contract", _("The contract belongs to another organization."))
        return data


def queue_invoice_emails(request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
    count = 0
    for invoice in queryset.exclude(status=InvoiceStatus.DRAFT).only("pk"):
        services.invoice_email_queue(invoice=invoice)
        count += 1
    messages.success(request, _("%(count)d email(s) queued.") % {"count": count})


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)


DRAFT_FIELDS = (
    "organization",
    "contract",
    "currency",
    "rate_to_cny",
    "due_date",
    "period_start",
    "period_end",
    "notes",
)
SUMMARY_FIELDS = (
    "number",
    "kind",
    "status",
    "payment_status",
    "issue_date",
    "net_total",
    "tax_total",
    "gross_total",
    "amount_paid",
    "amount_credited",
    "open_balance_display",
    "credit_for",
    "reason",
    "pdf_link",
)
ISSUED_FIELDS = (
    "organization",
    "contract",
    "edition",
    "partner",
    "currency",
    "rate_to_cny",
    "due_date",
    "period_start",
    "period_end",
    "language",
    "seller",
    "buyer",
    "notes",
    "fapiao_number",
    "fapiao_issued_on",
    "issued_at",
    "voided_at",
    "void_reason",
    "sent_at",
    "created_by",
)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    form = InvoiceAdminForm
    list_display = (
        "document",
        "kind",
        "organization",
        "issue_date",
        "due_date",
        "currency",
        "gross_display",
        "open_balance_display",
        "status",
        "payment_status",
    )
    list_filter = (
        "status",
        "payment_status",
        "kind",
        "currency",
        ("partner", admin.RelatedOnlyFieldListFilter),
        ("edition", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "issue_date"
    search_fields = (
        "number",
        "fapiao_number",
        "organization__name",
        "organization__taxpayer_id",
        "contract__number",
    )
    list_select_related = ("organization", "partner", "edition")
    autocomplete_fields = ("organization", "contract")
    inlines = [InvoiceLineInline, AllocationInline, CreditNoteInline, AuditTimelineInline]
    actions = [
        "issue",
        "void",
        "credit",
        "send",
        "export_csv",
        "export_xlsx",
        "export_pdfs",
        "export_fapiao_batch",
    ]
    list_per_page = 100

    # Display ------------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("number"), ordering="number")
    def document(self, obj: Invoice) -> str:
        return str(obj)

    @admin.display(description=pgettext_lazy("billing", "total"), ordering="gross_total")
    def gross_display(self, obj: Invoice) -> str:
        return money(obj.gross_total)

    @admin.display(description=gettext_lazy("open balance"))
    def open_balance_display(self, obj: Invoice) -> str:
        return money(obj.open_balance)

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        if not obj.pk:
            return "—"
        return format_html('<a href="/api/v1/invoices/{}/pdf" target="_blank">{}</a>', obj.pk, _("open PDF"))

    # Read-only once issued ----------------------------------------------------------------------

    def get_inlines(self, request: HttpRequest, obj: Invoice | None = None) -> Any:
        return self.inlines if obj is not None else [InvoiceLineInline]

    def get_fields(self, request: HttpRequest, obj: Invoice | None = None) -> Any:
        if obj is None:
            return DRAFT_FIELDS
        if obj.status == InvoiceStatus.DRAFT:
            return (*DRAFT_FIELDS, *SUMMARY_FIELDS)
        return (*SUMMARY_FIELDS, *ISSUED_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: Invoice | None = None) -> Any:
        if obj is None:
            return ()
        if obj.status == InvoiceStatus.DRAFT:
            return SUMMARY_FIELDS
        return (*SUMMARY_FIELDS, *ISSUED_FIELDS)

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        if obj is not None and obj.status != InvoiceStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # drafts are deleted one by one (issued ones never)
        return actions

    def save_model(self, request: HttpRequest, obj: Invoice, form: Any, change: bool) -> None:
        if obj.pk and obj.status != InvoiceStatus.DRAFT:
            return  # nothing is editable; Invoice.save() would refuse anyway
        if not change:
            obj.kind = DocumentKind.INVOICE
            obj.series = SERIES[DocumentKind.INVOICE]
            obj.created_by = actor_user(request.user)
            obj.language = organization_language(obj.organization)
            obj.partner_id = (
                obj.contract.partner_id if obj.contract is not None else None
            ) or obj.organization.partner_id
        obj.edition_id = obj.contract.edition_id if obj.contract is not None else None
        super().save_model(request, obj, form, change)
        audit(actor=request.user, action="invoice.change" if change else "invoice.create", target=obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.invoice_recalculate(invoice=form.instance)

    def delete_model(self, request: HttpRequest, obj: Invoice) -> None:
        services.invoice_delete(actor=request.user, invoice=obj)

    # Totals per currency of the filtered list ---------------------------------------------------

    def get_urls(self) -> list[Any]:
        return [
            path(
                "for-contract/<int:contract_id>/",
                self.admin_site.admin_view(self.invoice_for_contract_view),
                name="billing_invoice_for_contract",
            ),
            *super().get_urls(),
        ]

    def invoice_for_contract_view(self, request: HttpRequest, contract_id: int) -> HttpResponse:
        """The contract page's "invoice this term" button: the term's invoice (made once; a second press
        opens the same one), as the daily job would make it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        contract = get_object_or_404(Contract, pk=contract_id)
        back = reverse("admin:contracts_contract_change", args=[contract.pk])
        try:
            invoice = services.invoice_for_contract(actor=request.user, contract=contract)
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return redirect(back)
        if invoice is None:
            self.message_user(request, _("Nothing to invoice for this contract."), messages.WARNING)
            return redirect(back)
        self.message_user(request, _("Invoice for %(contract)s ready.") % {"contract": contract.number})
        return redirect("admin:billing_invoice_change", invoice.pk)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["currency_totals"] = selectors.totals_by_currency(context["cl"].queryset)
        return response

    # Actions -------------------------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Issue selected drafts (assign numbers)"))
    def issue(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        drafts = queryset.filter(status=InvoiceStatus.DRAFT).order_by("pk")
        run_for_each(
            request,
            drafts,
            lambda inv: services.invoice_issue(actor=request.user, invoice=inv),
            _("%(count)d invoice(s) issued."),
        )

    def _with_reason(
        self, request: HttpRequest, queryset: QuerySet[Invoice], action: str, title: str, apply: Any
    ) -> HttpResponse | None:
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                apply(form.cleaned_data["reason"])
                return None
        else:
            form = ReasonForm()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "objects": queryset,
            "form": form,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "billing/admin/action_reason.html", context)

    @admin.action(description=gettext_lazy("Void selected invoices (unpaid, no credit notes)"))
    def void(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        issued = queryset.filter(status=InvoiceStatus.ISSUED).order_by("pk")

        def apply(reason: str) -> None:
            run_for_each(
                request,
                issued,
                lambda inv: services.invoice_void(actor=request.user, invoice=inv, reason=reason),
                _("%(count)d document(s) voided."),
            )

        return self._with_reason(request, issued, "void", _("Void invoices"), apply)

    @admin.action(description=gettext_lazy("Credit selected invoices in full (credit note)"))
    def credit(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        issued = queryset.filter(status=InvoiceStatus.ISSUED, kind=DocumentKind.INVOICE).order_by("pk")

        def apply(reason: str) -> None:
            run_for_each(
                request,
                issued,
                lambda inv: services.invoice_credit(actor=request.user, invoice=inv, reason=reason),
                _("%(count)d credit note(s) issued."),
            )

        return self._with_reason(request, issued, "credit", _("Issue credit notes"), apply)

    @admin.action(description=gettext_lazy("Email the PDF to the customer"))
    def send(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        queue_invoice_emails(request, queryset)

    def _export(self, request: HttpRequest, queryset: QuerySet[Invoice], fmt: str) -> HttpResponseBase | None:
        ids = list(queryset.order_by().values_list("pk", flat=True))
        qs = selectors.export_queryset(filters={"ids": ids, "status": list(InvoiceStatus.values)})
        if fmt == "zip" or len(ids) > settings.BILLING_EXPORT_SYNC_MAX_ROWS:
            job = services.export_job_create(
                actor=request.user, format=fmt, filters={"ids": ids, "status": list(InvoiceStatus.values)}
            )
            messages.success(
                request,
                format_html(
                    _('Export started; <a href="{}">follow it here</a> and download it when ready.'),
                    f"../exportjob/{job.pk}/change/",
                ),
            )
            return None
        name = f"invoices-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
        if fmt == "csv":
            response: HttpResponseBase = StreamingHttpResponse(
                csv_chunks(qs), content_type=CONTENT_TYPES["csv"]
            )
        else:
            buffer = io.BytesIO()
            write_xlsx(qs, buffer)
            response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES["xlsx"])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description=gettext_lazy("Export selected as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponseBase | None:
        return self._export(request, queryset, "csv")

    @admin.action(description=gettext_lazy("Export selected as Excel (XLSX)"))
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponseBase | None:
        return self._export(request, queryset, "xlsx")

    @admin.action(description=gettext_lazy("Export paid invoices for 数电票 batch issuance (XLSX)"))
    def export_fapiao_batch(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:

        export = fapiao_export(actor=request.user, invoices=queryset.order_by("number"))
        for invoice, reason in export.skipped.items():
            messages.warning(request, f"{invoice}: {reason}")
        if not export.included:
            messages.info(request, _("None of the selected invoices can be issued as a fapiao now."))
            return None
        response = HttpResponse(export.content, content_type=CONTENT_TYPES["xlsx"])
        name = f"shudianpiao-{timezone.localtime():%Y%m%d-%H%M%S}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description=gettext_lazy("Export selected PDFs as ZIP (background)"))
    def export_pdfs(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponseBase | None:
        return self._export(request, queryset, "zip")


@admin.register(OverdueInvoice)
class OverdueInvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "organization",
        "due_date",
        "days_overdue_display",
        "currency",
        "open_balance_display",
        "payment_status",
        "reminders_sent",
        "last_reminder",
    )
    list_filter = ("currency", "payment_status", ("partner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("number", "organization__name")
    list_select_related = ("organization", "partner")
    date_hierarchy = "due_date"
    ordering = ("due_date", "id")
    actions = ["send"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        from django.db.models import Q

        return (
            Invoice.objects.overdue()
            .annotate(
                reminder_count=Count("reminders", filter=Q(reminders__sent_at__isnull=False)),
                last_reminder_at=Max("reminders__sent_at"),
            )
            .select_related("organization", "partner")
        )

    @admin.display(description=gettext_lazy("days overdue"), ordering="due_date")
    def days_overdue_display(self, obj: Invoice) -> int:
        return obj.days_overdue

    @admin.display(description=gettext_lazy("open balance"))
    def open_balance_display(self, obj: Invoice) -> str:
        return money(obj.open_balance)

    @admin.display(description=gettext_lazy("reminders sent"), ordering="reminder_count")
    def reminders_sent(self, obj: Any) -> int:  # a row of get_queryset(), with its annotations
        return obj.reminder_count

    @admin.display(description=pgettext_lazy("billing", "last reminder"), ordering="last_reminder_at")
    def last_reminder(self, obj: Any) -> Any:  # a row of get_queryset(), with its annotations
        return obj.last_reminder_at

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.view_invoice")

    @admin.action(description=gettext_lazy("Email the PDF to the customer"))
    def send(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        queue_invoice_emails(request, queryset)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ("currency", "rate_to_cny", "valid_from", "source")
    list_filter = ("currency",)
    date_hierarchy = "valid_from"


@admin.register(BillingPeriod)
class BillingPeriodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("contract", "kind", "period_start", "period_end", "invoice", "quantity", "created_at")
    list_filter = ("kind",)
    search_fields = ("contract__number", "invoice__number")
    list_select_related = ("contract", "invoice")
    date_hierarchy = "period_start"


@admin.register(UsageHold)
class UsageHoldAdmin(admin.ModelAdmin):
    list_display = ("contract", "period_start", "created_at", "notified_at", "released_at", "released_by")
    list_filter = (("released_at", admin.EmptyFieldListFilter),)
    search_fields = ("contract__number", "contract__organization__name")
    list_select_related = ("contract", "released_by")
    readonly_fields = (
        "contract",
        "period_start",
        "period_end",
        "details",
        "created_at",
        "notified_at",
        "released_at",
        "released_by",
    )
    actions = ["release"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Release: invoice these months on the next run"))
    def release(self, request: HttpRequest, queryset: QuerySet[UsageHold]) -> None:
        run_for_each(
            request,
            queryset.filter(released_at__isnull=True),
            lambda hold: services.usage_hold_release(actor=request.user, hold=hold),
            _("%(count)d month(s) released."),
        )
