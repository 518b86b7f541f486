from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from editions.models import Edition, Module, Price


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0
    fields = ("kind", "term", "module", "currency", "amount", "is_minimum", "valid_from")
    autocomplete_fields = ("module",)


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "kind", "sort_order")
    list_filter = ("kind",)
    search_fields = ("code", "name_zh", "name_en")
    ordering = ("sort_order", "code")


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "device_limit_display",
        "delivery",
        "support_level",
        "requires_nda",
        "custom_dev_hours_per_year",
        "purchase_path",
        "trial_days",
        "is_active",
    )
    list_filter = ("is_active", "purchase_path", "delivery", "support_level", "requires_nda")
    search_fields = ("code", "name_zh", "name_en")
    filter_horizontal = ("included_modules", "optional_modules")
    inlines = [PriceInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "code",
                    "name_zh",
                    "name_en",
                    "is_active",
                    "is_commercial",
                    "sold_without_negotiation",
                    "sort_order",
                )
            },
        ),
        (
            _("Modules"),
            {"fields": ("included_modules", "optional_modules", "verticals_of_choice")},
        ),
        (
            _("Limits and delivery"),
            {
                "fields": (
                    "device_limit",
                    "is_metered",
                    "delivery",
                    "support_level",
                    "requires_nda",
                    "custom_dev_hours_per_year",
                    "production_deployments",
                    "staging_deployments",
                )
            },
        ),
        (
            _("Pricing page"),
            {"fields": ("purchase_path", "trial_days", "audience_zh", "audience_en")},
        ),
    )

    @admin.display(description=_("device limit"), ordering="device_limit")
    def device_limit_display(self, obj: Edition) -> str:
        if obj.is_metered:
            return str(_("metered"))
        return f"{obj.device_limit:,}" if obj.device_limit is not None else str(_("unlimited"))


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("edition", "module", "kind", "term", "amount", "currency", "is_minimum", "valid_from")
    list_filter = ("edition", "kind", "term", "currency")
    list_select_related = ("edition", "module")
    autocomplete_fields = ("module",)
    date_hierarchy = "valid_from"
