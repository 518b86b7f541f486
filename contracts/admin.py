from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Sum
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contracts import reminders, services
from contracts.entitlements import renewal_of
from contracts.models import (
    Contract,
    ContractReminder,
    ContractStatus,
    Trial,
    TrialKind,
    UnreachedReminder,
    milestone_label,
)
from editions.selectors import default_contract_price
from portal.core.admin import AuditTimelineInline
from portal.core.admin_reports import ReadOnlyAdminMixin
from portal.core.errors import ApplicationError
from portal.core.services import audit

READ_ONLY_ONCE_ACTIVE = (
    "organization",
    "edition",
    "start_date",
    "end_date",
    "modules",
    "device_limit",
    "price",
    "currency",
    "partner",
    "custom_dev_hours",
    "grace_days",
)


class ContractAdminForm(forms.ModelForm):
    class Meta:
        model = Contract
        fields = "__all__"  # noqa: DJ007 -- the admin's fieldsets and read-only fields decide what shows

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "price" in self.fields:
            self.fields["price"].required = False
            self.fields["price"].help_text = _("Leave empty to take the price list's value for the term.")
            if self.instance.pk is None and "price" not in (kwargs.get("initial") or {}):
                # The model's default (0) would be saved as a ¥0.00 contract; empty means the price list.
                self.initial["price"] = None

    def clean(self):
        super().clean()
        data = self.cleaned_data
        edition = data.get("edition")
        if edition is not None and "modules" in self.fields:
            probe = Contract(edition=edition)
            try:
                probe.clean_modules(list(data.get("modules") or []))
            except ValidationError as exc:
                self.add_error("modules", exc.message_dict["modules"])
        if (
            "price" in self.fields
            and data.get("price") in (None, "")
            and edition
            and data.get("start_date")
            and data.get("end_date")
        ):
            data["price"] = default_contract_price(
                edition=edition,
                currency=data.get("currency") or "CNY",
                start_date=data["start_date"],
                end_date=data["end_date"],
            )
        return data


class ExpiringFilter(admin.SimpleListFilter):
    title = _("ends within")
    parameter_name = "ends_within"

    def lookups(self, request, model_admin):
        return [("7", _("7 days")), ("30", _("30 days")), ("60", _("60 days")), ("90", _("90 days"))]

    def queryset(self, request, queryset):
        if self.value():
            today = timezone.localdate()
            return queryset.filter(
                status=ContractStatus.ACTIVE,
                end_date__gte=today,
                end_date__lte=today + timedelta(days=int(str(self.value()))),
            )
        return queryset


class ContractReminderInline(admin.TabularInline):
    """The renewal reminders of a contract: read-only history (staff send one with the action)."""

    model = ContractReminder
    extra = 0
    can_delete = False
    fields = (
        "due_on",
        "milestone_display",
        "state",
        "sent_at",
        "recipients",
        "cc",
        "languages",
        "attempts",
        "last_error",
        "requested_by",
    )
    readonly_fields = fields
    ordering = ("-due_on", "-id")
    verbose_name = _("reminder")
    verbose_name_plural = _("renewal reminders")

    @admin.display(description=_("milestone"))
    def milestone_display(self, obj: ContractReminder) -> str:
        return obj.milestone_display

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by")


class RenewForm(forms.Form):
    uplift_percent = forms.DecimalField(
        label=_("price uplift %"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("-100"),
        max_value=Decimal("100"),
        required=False,
        initial=Decimal("0"),
        help_text=_("Applied to the current price (negative for a discount); empty or 0 keeps it."),
    )


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    form = ContractAdminForm
    change_list_template = "contracts/admin/contract_change_list.html"
    list_display = (
        "number",
        "organization",
        "edition",
        "status_badge",
        "start_date",
        "end_date",
        "days_left",
        "price",
        "currency",
        "account_owner",
        "renewal_number",
        "next_reminder",
        "origin",
    )
    list_filter = (
        "status",
        "origin",
        ExpiringFilter,
        "edition",
        "currency",
        "auto_renew",
        "partner",
        "organization__account_owner",
        "organization__industry",
    )
    search_fields = ("number", "organization__name", "organization__taxpayer_id")
    list_select_related = ("organization__account_owner", "edition", "partner", "renewal")
    autocomplete_fields = ("organization", "partner", "renewal_of")
    filter_horizontal = ("modules",)
    date_hierarchy = "end_date"
    readonly_fields = (
        "number",
        "status",
        "activated_at",
        "cancelled_at",
        "cancel_reason",
        "created_by",
        "created_at",
        "next_reminder",
        "origin",
    )
    actions = ["activate", "renew", "send_reminder_now", "cancel"]
    inlines = [ContractReminderInline, AuditTimelineInline]
    fieldsets = (
        (None, {"fields": ("number", "status", "organization", "edition", "modules", "partner")}),
        (
            _("Term"),
            {"fields": ("start_date", "end_date", "auto_renew", "renewal_of", "grace_days", "next_reminder")},
        ),
        (
            _("Commercials"),
            {"fields": ("price", "currency", "device_limit", "custom_dev_hours", "nda_signed_on")},
        ),
        (
            _("Record"),
            {
                "fields": (
                    "notes",
                    "origin",
                    "activated_at",
                    "cancelled_at",
                    "cancel_reason",
                    "created_by",
                    "created_at",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("renewal_of")
            if obj.status != ContractStatus.DRAFT:
                fields.extend(READ_ONLY_ONCE_ACTIVE)
        return fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization__account_owner", "edition", "renewal")
            .prefetch_related(
                Prefetch(
                    "reminders", queryset=ContractReminder.objects.only("id", "contract_id", "milestone")
                )
            )
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Contract) -> str:
        colours = {"draft": "#777", "active": "#1a7f37", "expired": "#b35900", "cancelled": "#a40e26"}
        label = obj.display_status
        colour = "#bf8700" if obj.is_expiring else colours.get(obj.status, "#777")
        return format_html('<strong style="color:{}">{}</strong>', colour, label)

    @admin.display(description=_("days left"), ordering="end_date")
    def days_left(self, obj: Contract) -> int | str:
        if obj.status in {ContractStatus.CANCELLED, ContractStatus.EXPIRED}:
            return "—"
        return obj.days_to_expiry()

    @admin.display(description=_("account owner"), ordering="organization__account_owner__username")
    def account_owner(self, obj: Contract) -> str:
        owner = obj.organization.account_owner
        return owner.get_full_name() or owner.username if owner else "—"

    @admin.display(description=_("renewal"))
    def renewal_number(self, obj: Contract) -> str:
        renewal = getattr(obj, "renewal", None)
        return renewal.number if renewal else "—"

    @admin.display(description=_("next reminder"))
    def next_reminder(self, obj: Contract) -> str:
        if obj.pk is None:
            return "—"
        upcoming = reminders.reminder_next(obj, claimed=[r.milestone for r in obj.reminders.all()])
        if upcoming is None:
            return "—"
        on, milestone = upcoming
        return f"{on:%Y-%m-%d} ({milestone_label(milestone)})"

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
            if obj.custom_dev_hours == 0 and obj.edition.custom_dev_hours_per_year:
                obj.custom_dev_hours = obj.edition.custom_dev_hours_per_year
            services.contract_assign_number(obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        contract = form.instance
        audit(
            actor=request.user,
            action="contract.update" if change else "contract.create",
            target=contract,
            data={"fields": sorted(form.changed_data), "modules": [m.code for m in contract.modules.all()]},
        )

    def _run(self, request, queryset, operation, done_message: str, **kwargs) -> None:
        done = 0
        for contract in queryset:
            try:
                operation(actor=request.user, contract=contract, **kwargs)
                done += 1
            except ValidationError as exc:
                details = "; ".join(" ".join(m) for m in exc.message_dict.values())
                self.message_user(request, f"{contract.number}: {details}", messages.ERROR)
            except ApplicationError as exc:
                self.message_user(request, f"{contract.number}: {exc.detail}", messages.ERROR)
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Activate selected draft contracts"))
    def activate(self, request, queryset) -> None:
        self._run(request, queryset, services.contract_activate, str(_("%(n)d contract(s) activated.")))

    @admin.action(description=_("Create the renewal (next term, as draft)"))
    def renew(self, request, queryset):
        """Asks for the price uplift first (an intermediate page), then creates the drafts."""
        form = RenewForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            uplift = form.cleaned_data["uplift_percent"] or None
            self._run(
                request,
                queryset,
                services.contract_renew,
                str(_("%(n)d renewal(s) ready as drafts.")),
                uplift_percent=uplift,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Renew contracts"),
            "opts": self.model._meta,
            "form": form,
            "contracts": queryset.select_related("organization", "edition", "renewal"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "renew",
        }
        return TemplateResponse(request, "contracts/admin/renew.html", context)

    @admin.action(description=_("Send a renewal reminder now"))
    def send_reminder_now(self, request, queryset) -> None:
        self._run(
            request,
            queryset,
            reminders.reminder_request,
            str(_("%(n)d reminder(s) queued; they show in each contract's reminder history.")),
        )

    # The "renewals due" view -----------------------------------------------------------------------

    def get_urls(self):
        custom = [
            path(
                "renewals-due/",
                self.admin_site.admin_view(self.renewals_due_view),
                name="contracts_contract_renewals_due",
            ),
            path(
                "<path:object_id>/do/<str:operation>/",
                self.admin_site.admin_view(self.object_action_view),
                name="contracts_contract_do",
            ),
        ]
        return custom + super().get_urls()

    # The buttons of the contract page: one contract, the same services as the list actions ---------

    OBJECT_ACTIONS = {
        "activate": (_("Activate"), _("The contract becomes active: its licenses and downloads follow.")),
        "renew": (_("Renew"), _("The next term is created as a draft, priced with the uplift below.")),
        "remind": (
            _("Send a renewal reminder"),
            _("A reminder goes out now to the customer's owners and billing."),
        ),
        "cancel": (_("Cancel"), _("The contract is cancelled; its licenses stop at their next check-in.")),
    }

    def object_actions(self, contract: Contract) -> list[tuple[str, str]]:
        """The operations the contract's state allows, for the buttons of its page."""
        allowed_by_status: dict[str, list[str]] = {
            ContractStatus.DRAFT: ["activate", "cancel"],
            ContractStatus.ACTIVE: ["renew", "remind", "cancel"],
            ContractStatus.EXPIRED: ["renew"],
        }
        allowed = allowed_by_status.get(contract.status, [])
        return [(op, str(self.OBJECT_ACTIONS[op][0])) for op in allowed]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        contract = self.get_object(request, object_id)
        extra = {"object_actions": self.object_actions(contract) if contract else [], **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def object_action_view(self, request, object_id: str, operation: str):
        contract = self.get_object(request, object_id)
        if contract is None or operation not in dict(self.object_actions(contract)):
            raise Http404
        if not self.has_change_permission(request, contract):
            raise PermissionDenied
        form = RenewForm(request.POST or None) if operation == "renew" else None
        if request.method == "POST" and (form is None or form.is_valid()):
            one = Contract.objects.filter(pk=contract.pk)
            run = {
                "activate": (services.contract_activate, _("%(n)d contract(s) activated."), {}),
                "renew": (
                    services.contract_renew,
                    _("%(n)d renewal(s) ready as drafts."),
                    {"uplift_percent": form.cleaned_data["uplift_percent"] or None} if form else {},
                ),
                "remind": (reminders.reminder_request, _("%(n)d reminder(s) queued."), {}),
                "cancel": (
                    services.contract_cancel,
                    _("%(n)d contract(s) cancelled."),
                    {"reason": str(_("Cancelled in admin"))},
                ),
            }
            operation_func, done, kwargs = run[operation]
            self._run(request, one, operation_func, str(done), **kwargs)  # type: ignore[arg-type]  # run's values are (service, message, keyword arguments)
            return redirect("admin:contracts_contract_change", contract.pk)
        title, explanation = self.OBJECT_ACTIONS[operation]
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {contract.number}",
            "opts": self.model._meta,
            "original": contract,
            "explanation": explanation,
            "button": title,
            "form": form,
        }
        return TemplateResponse(request, "contracts/admin/object_action.html", context)

    def renewals_due_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        window = settings.CONTRACT_RENEWALS_DUE_DAYS
        base = Contract.objects.filter(
            status=ContractStatus.ACTIVE, end_date__gte=today, end_date__lte=today + timedelta(days=window)
        )
        owner = request.GET.get("owner", "")
        if owner == "me":
            base = base.filter(organization__account_owner=request.user)
        queryset = (
            base.select_related("organization__account_owner", "edition", "renewal")
            .prefetch_related(
                Prefetch(
                    "reminders",
                    queryset=ContractReminder.objects.only(
                        "id", "contract_id", "milestone", "state", "sent_at"
                    ),
                )
            )
            .order_by("end_date", "pk")
        )
        page = Paginator(queryset, 100).get_page(request.GET.get("page"))
        rows = []
        for contract in page.object_list:
            claimed = list(contract.reminders.all())
            sent = [r for r in claimed if r.sent_at]
            last = max(sent, key=lambda r: r.sent_at) if sent else None
            upcoming = reminders.reminder_next(contract, claimed=[r.milestone for r in claimed], today=today)
            rows.append(
                {
                    "contract": contract,
                    "url": reverse("admin:contracts_contract_change", args=[contract.pk]),
                    "days_left": contract.days_to_expiry(today),
                    "owner": self.account_owner(contract),
                    "renewal": renewal_of(contract),
                    "last_reminder": last,
                    "next_reminder": upcoming,
                }
            )
        totals = base.order_by("currency").values_list("currency").annotate(total=Sum("price"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Renewals due in the next %(days)d days") % {"days": window},
            "opts": self.model._meta,
            "rows": rows,
            "page": page,
            "totals": list(totals),
            "owner": owner,
            "changelist_url": reverse("admin:contracts_contract_changelist"),
        }
        return TemplateResponse(request, "contracts/admin/renewals_due.html", context)

    @admin.action(description=_("Cancel selected contracts"))
    def cancel(self, request, queryset) -> None:
        self._run(
            request,
            queryset,
            services.contract_cancel,
            str(_("%(n)d contract(s) cancelled.")),
            reason=str(_("Cancelled in admin")),
        )


# Trials: sales extend them and grant proofs of concept of any length ------------------------------------


class TrialGrantForm(forms.ModelForm):
    """Granting a trial in admin: a proof of concept of `days` for an organization (any edition)."""

    days = forms.IntegerField(
        label=_("length (days)"), min_value=1, max_value=services.MAX_TRIAL_DAYS, initial=60
    )

    class Meta:
        model = Trial
        fields = ("organization", "edition")


class TrialExtendForm(forms.Form):
    days = forms.IntegerField(
        label=_("days to add"), min_value=1, max_value=services.MAX_TRIAL_DAYS, initial=14
    )


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = (
        "contract",
        "organization",
        "edition",
        "kind",
        "ends_on",
        "extended_days",
        "conversion",
        "created_at",
    )
    list_filter = ("kind", "edition", "conversion")
    search_fields = ("organization__name", "contract__number")
    list_select_related = ("contract", "organization", "edition")
    autocomplete_fields = ("organization",)
    actions = ["extend"]
    readonly_fields = (
        "contract",
        "kind",
        "started_by",
        "created_at",
        "extended_days",
        "conversion",
        "converted_at",
    )

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = TrialGrantForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("organization", "edition", "days")
        return (
            "contract",
            "organization",
            "edition",
            "kind",
            "started_by",
            "created_at",
            "extended_days",
            "conversion",
            "converted_at",
        )

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("organization", "edition") if obj is not None else ())

    @admin.display(description=_("ends on"), ordering="contract__end_date")
    def ends_on(self, obj: Trial):
        return obj.contract.end_date

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        try:
            trial = services.trial_start(
                actor=request.user,
                organization=form.cleaned_data["organization"],
                edition=form.cleaned_data["edition"],
                kind=TrialKind.POC,
                days=form.cleaned_data["days"],
            )
        except (ApplicationError, ValidationError) as exc:
            raise PermissionDenied(str(getattr(exc, "detail", exc))) from exc
        obj.pk = trial.pk
        obj.contract = trial.contract

    @admin.action(description=_("Extend the selected trials"))
    def extend(self, request, queryset):
        form = TrialExtendForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for trial in queryset:
                try:
                    services.trial_extend(actor=request.user, trial=trial, days=form.cleaned_data["days"])
                    done += 1
                except ApplicationError as exc:
                    self.message_user(request, f"{trial.contract.number}: {exc.detail}", messages.ERROR)
            self.message_user(request, _("%(n)d trial(s) extended.") % {"n": done}, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Extend trials"),
            "opts": self.model._meta,
            "form": form,
            "trials": queryset.select_related("contract", "organization"),
            "action": "extend",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "contracts/admin/trial_extend.html", context)


@admin.register(UnreachedReminder)
class UnreachedReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Renewals nobody was told about: each milestone whose reminder reached nobody at the customer, so
    sales can call them; never silently dropped."""

    list_display = (
        "contract_link",
        "organization",
        "account_owner",
        "milestone_shown",
        "due_on",
        "end_date",
        "state",
        "last_error",
    )
    list_filter = ("state", "milestone", "due_on")
    search_fields = ("contract__number", "contract__organization__name")
    list_select_related = ("contract__organization__account_owner",)
    date_hierarchy = "due_on"
    actions = ["send_reminder_now"]

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset: Any = super().get_queryset(request)  # UnreachedReminder.objects
        return queryset.unreached()

    @admin.display(description=_("contract"), ordering="contract__number")
    def contract_link(self, obj: UnreachedReminder) -> str:
        url = reverse("admin:contracts_contract_change", args=[obj.contract_id])
        return format_html('<a href="{}">{}</a>', url, obj.contract.number)

    @admin.display(description=_("organization"), ordering="contract__organization__name")
    def organization(self, obj: UnreachedReminder) -> str:
        return obj.contract.organization.name

    @admin.display(description=_("account owner"))
    def account_owner(self, obj: UnreachedReminder) -> str:
        owner = obj.contract.organization.account_owner
        return (owner.get_full_name() or owner.username) if owner else "—"

    @admin.display(description=_("milestone"), ordering="milestone")
    def milestone_shown(self, obj: UnreachedReminder) -> str:
        return milestone_label(obj.milestone)

    @admin.display(description=_("end date"), ordering="contract__end_date")
    def end_date(self, obj: UnreachedReminder) -> Any:
        return obj.contract.end_date

    @admin.action(description=_("Send a reminder now (after adding a contact)"))
    def send_reminder_now(self, request: HttpRequest, queryset: Any) -> None:
        sent = 0
        for obj in queryset.select_related("contract"):
            try:
                reminders.reminder_request(actor=request.user, contract=obj.contract)
                sent += 1
            except ApplicationError as exc:
                self.message_user(request, f"{obj.contract.number}: {exc.detail}", messages.ERROR)
        if sent:
            self.message_user(request, _("%(n)d reminder(s) queued.") % {"n": sent}, messages.SUCCESS)
