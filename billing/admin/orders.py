"""Admin of the modules bought online mid-term (their invoice, state and who ordered)."""

from __future__ import annotations

from django.contrib import admin

from billing.models import ModuleOrder


@admin.register(ModuleOrder)
class ModuleOrderAdmin(admin.ModelAdmin):
    list_display = (
        "contract",
        "module",
        "amount",
        "invoice",
        "state",
        "ordered_by",
        "created_at",
        "applied_at",
    )
    list_filter = ("state", "module")
    search_fields = ("contract__number", "contract__organization__name", "invoice__number")
    list_select_related = ("contract", "module", "invoice", "ordered_by")
    readonly_fields = (
        "contract",
        "module",
        "invoice",
        "amount",
        "state",
        "ordered_by",
        "created_at",
        "applied_at",
    )

    def has_add_permission(self, request) -> bool:  # orders are placed in the portal
        return False
