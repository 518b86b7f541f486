"""Bank statements in admin: upload (bank preset or a column mapping), then confirm proposed matches,
record or ignore what did not match; online orders, notifications and refund requests to review."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.admin.common import run_for_each
from billing.models import (
    BankStatementImport,
    BankStatementLine,
    FapiaoDocument,
    ProviderNotification,
    ProviderOrder,
    ProviderRefund,
    StatementLineStatus,
)
from billing.services import statements as service
from billing.services.fapiao import fapiao_import
from billing.statements import FIELDS, GENERIC, PRESETS
from editions.models import Currency
from portal.core.admin_reports import ReadOnlyAdminMixin
from portal.core.errors import ApplicationError

FIELD_LABELS = {
    "date": gettext_lazy("Date (or date and time) column"),
    "time": gettext_lazy("Time column"),
    "credit": gettext_lazy("Money-in column"),
    "debit": gettext_lazy("Money-out column"),
    "amount": gettext_lazy("Signed amount column (instead of money in/out)"),
    "payer_name": gettext_lazy("Counterparty name column"),
    "payer_account": gettext_lazy("Counterparty account column"),
    "payer_bank": gettext_lazy("Counterparty bank column"),
    "memo": gettext_lazy("Memo column(s), comma separated"),
    "reference": gettext_lazy("Bank serial number column"),
    "currency": gettext_lazy("Currency column"),
}


class StatementUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Statement file (CSV or XLSX)"))
    layout = forms.ChoiceField(
        label=gettext_lazy("Layout"),
        choices=[
            *((code, layout.label) for code, layout in PRESETS.items()),
            (GENERIC, gettext_lazy("Generic column mapping")),
        ],
    )
    currency = forms.ChoiceField(
        label=gettext_lazy("Currency of the account"), choices=Currency.choices, initial="CNY"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in FIELDS:
            self.fields[f"map_{name}"] = forms.CharField(
                label=FIELD_LABELS[name], required=False, max_length=200
            )

    def mapping(self) -> dict[str, Any]:
        data = self.cleaned_data
        result: dict[str, Any] = {}
        for name in FIELDS:
            value = (data.get(f"map_{name}") or "").strip()
            if value:
                result[name] = [v.strip() for v in value.split(",")] if name == "memo" else value
        return result


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class FapiaoImportForm(forms.Form):
    result = forms.FileField(
        label=gettext_lazy("Batch result (XLSX or CSV with 发票流水号 and 发票号码)"), required=False
    )
    files = MultipleFileField(label=gettext_lazy("Fapiao PDFs, or a ZIP of them"), required=False)  # type: ignore[assignment]  # a declared field: the form metaclass moves it off the class

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("result") and not data.get("files"):
            raise forms.ValidationError(_("Choose the result file, PDFs, or both."))
        return data


class StatementLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BankStatementLine
    extra = 0
    fields = ("row_number", "booked_at", "amount", "payer_name", "memo", "status", "reason", "payment")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("payment")


@admin.register(BankStatementImport)
class BankStatementImportAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "file_name",
        "layout",
        "rows",
        "credits",
        "matched",
        "proposed",
        "unmatched",
        "known_rows",
        "imported_by",
    )
    list_filter = ("layout",)
    search_fields = ("file_name", "file_sha256")
    date_hierarchy = "created_at"
    list_select_related = ("imported_by",)
    readonly_fields = (
        "file",
        "file_name",
        "file_sha256",
        "layout",
        "mapping",
        "rows",
        "credits",
        "new_rows",
        "known_rows",
        "matched",
        "proposed",
        "unmatched",
        "imported_by",
        "created_at",
    )
    inlines = [StatementLineInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                statement, created = service.bank_statement_import(
                    actor=request.user,
                    file_name=upload.name,
                    content=upload.read(),
                    layout=form.cleaned_data["layout"],
                    mapping=form.mapping() if form.cleaned_data["layout"] == GENERIC else None,
                    currency=form.cleaned_data["currency"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                if created:
                    messages.success(
                        request,
                        _(
                            "%(new)d new rows: %(matched)d matched, %(proposed)d proposed, %(unmatched)d unmatched; %(known)d already imported."
                        )
                        % {
                            "new": statement.new_rows,
                            "matched": statement.matched,
                            "proposed": statement.proposed,
                            "unmatched": statement.unmatched,
                            "known": statement.known_rows,
                        },
                    )
                else:
                    messages.warning(request, _("This file was imported before; nothing changed."))
                return HttpResponseRedirect(
                    reverse("admin:billing_bankstatementimport_change", args=[statement.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a bank statement"),
            "opts": self.model._meta,
            "form": form,
            "presets": PRESETS,
        }
        return TemplateResponse(request, "billing/admin/statement_upload.html", context)


@admin.register(BankStatementLine)
class BankStatementLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "booked_at",
        "amount",
        "currency",
        "payer_name",
        "memo",
        "status",
        "proposal_display",
        "reason",
        "payment",
    )
    list_filter = ("status", "currency", ("statement", admin.RelatedOnlyFieldListFilter))
    search_fields = ("payer_name", "payer_account", "memo", "reference")
    date_hierarchy = "booked_at"
    list_select_related = ("statement", "payment")
    actions = ["confirm", "record", "ignore"]
    readonly_fields = (
        "statement",
        "row_number",
        "fingerprint",
        "booked_at",
        "amount",
        "currency",
        "payer_name",
        "payer_account",
        "payer_bank",
        "memo",
        "reference",
        "status",
        "proposal_display",
        "reason",
        "payment",
        "decided_by",
        "decided_at",
    )

    @admin.display(description=gettext_lazy("proposed allocation"))
    def proposal_display(self, obj: BankStatementLine) -> str:
        if not obj.proposal:
            return "—"
        return format_html_join(", ", "{} {}", ((p["number"], p["amount"]) for p in obj.proposal))

    @admin.action(description=gettext_lazy("Confirm the proposed matches (record and allocate)"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[BankStatementLine]) -> None:
        run_for_each(
            request,
            queryset.filter(status=StatementLineStatus.PROPOSED).order_by("booked_at", "pk"),
            lambda line: service.statement_line_confirm(actor=request.user, line=line),
            _("%(count)d proposal(s) confirmed."),
        )

    @admin.action(description=gettext_lazy("Record as payments to allocate by hand"))
    def record(self, request: HttpRequest, queryset: QuerySet[BankStatementLine]) -> None:
        done, _failed = run_for_each(
            request,
            queryset.order_by("booked_at", "pk"),
            lambda line: service.statement_line_record(actor=request.user, line=line),
            _("%(count)d row(s) recorded."),
        )
        if done:
            messages.info(
                request,
                format_html(
                    _('Allocate them on the <a href="{}">reconciliation page</a>.'),
                    reverse("admin:billing_payment_reconcile"),
                ),
            )

    @admin.action(description=gettext_lazy("Ignore (not a customer payment)"))
    def ignore(self, request: HttpRequest, queryset: QuerySet[BankStatementLine]) -> None:
        run_for_each(
            request,
            queryset,
            lambda line: service.statement_line_ignore(
                actor=request.user, line=line, reason=_("ignored in admin")
            ),
            _("%(count)d row(s) ignored."),
        )


@admin.register(ProviderOrder)
class ProviderOrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "provider",
        "channel",
        "invoice",
        "out_trade_no",
        "amount",
        "status",
        "trade_no",
        "paid_at",
    )
    list_filter = ("provider", "channel", "status")
    search_fields = ("out_trade_no", "trade_no", "invoice__number")
    list_select_related = ("invoice",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "provider",
        "channel",
        "invoice",
        "attempt",
        "out_trade_no",
        "amount",
        "currency",
        "status",
        "pay_url",
        "trade_no",
        "expires_at",
        "paid_at",
        "last_synced_at",
        "created_at",
    )


@admin.register(ProviderNotification)
class ProviderNotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "received_at",
        "provider",
        "kind",
        "out_trade_no",
        "trade_no",
        "status",
        "outcome",
        "deliveries",
    )
    list_filter = ("provider", "status", "kind")
    search_fields = ("event_id", "out_trade_no", "trade_no", "outcome")
    list_select_related = ("order",)
    date_hierarchy = "received_at"
    readonly_fields = (
        "provider",
        "event_id",
        "kind",
        "out_trade_no",
        "trade_no",
        "order",
        "status",
        "outcome",
        "deliveries",
        "received_at",
        "payload",
    )


@admin.register(ProviderRefund)
class ProviderRefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "provider",
        "payment",
        "out_refund_no",
        "amount",
        "status",
        "refund_payment",
        "requested_by",
        "last_error",
    )
    list_filter = ("provider", "status")
    search_fields = ("out_refund_no", "provider_refund_id", "payment__external_id")
    list_select_related = ("payment", "refund_payment", "requested_by")
    readonly_fields = (
        "provider",
        "payment",
        "out_refund_no",
        "amount",
        "currency",
        "reason",
        "status",
        "provider_refund_id",
        "refund_payment",
        "last_error",
        "requested_by",
        "created_at",
        "updated_at",
    )


@admin.register(FapiaoDocument)
class FapiaoDocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("fapiao_number", "invoice", "issued_on", "pdf_link", "imported_by", "created_at")
    search_fields = ("fapiao_number", "invoice__number", "invoice__organization__name")
    list_select_related = ("invoice", "imported_by")
    date_hierarchy = "created_at"
    readonly_fields = ("invoice", "fapiao_number", "issued_on", "pdf", "imported_by", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("billing.change_invoice")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """Import the platform's batch result (fapiao numbers) and the PDFs (or a ZIP of them)."""

        if not self.has_add_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = FapiaoImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            result = form.cleaned_data.get("result")
            try:
                outcome = fapiao_import(
                    actor=request.user,
                    result=(result.name, result.read()) if result else None,
                    files=[(f.name, f.read()) for f in form.cleaned_data.get("files") or []],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(
                    request,
                    _("%(recorded)d fapiao recorded, %(already)d already known, %(pdfs)d PDF(s) attached.")
                    % {
                        "recorded": len(outcome.recorded),
                        "already": len(outcome.already),
                        "pdfs": outcome.pdfs,
                    },
                )
                for problem in outcome.problems:
                    messages.warning(request, problem)
                return HttpResponseRedirect(reverse("admin:billing_fapiaodocument_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import issued fapiao (数电票)"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "billing/admin/fapiao_import.html", context)

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj: FapiaoDocument) -> str:
        return format_html('<a href="{}">{}</a>', obj.pdf.url, _("download")) if obj.pdf else "—"
