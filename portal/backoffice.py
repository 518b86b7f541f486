"""The back office's admin site: the index and the sidebar grouped by the job staff come to do (sales,
finance, support, licensing, catalog), with the technical tables last, and a translated title.

Installed instead of `django.contrib.admin` (see INSTALLED_APPS), so `admin.site` is this site and
every app registers its models as usual. A model is placed by the list below, else by its app."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin import helpers as admin_helpers
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.utils import display_for_field as _django_display_for_field
from django.db.models import CharField, JSONField
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.core.display import code_label, details_html

# (key, title, models in the order staff look for them). Listed models come first in their section.
SECTIONS: list[tuple[str, Any, list[str]]] = [
    (
        "sales",
        pgettext_lazy("admin section", "Sales"),
        [
            "customers.Organization",
            "customers.Inquiry",
            "contracts.Contract",
            "billing.Quote",
            "customers.DealRegistration",
            "customers.Invitation",
            "customers.Membership",
            "customers.Partner",
            "customers.ContractRevenueShare",
            "customers.RevenueDashboard",
        ],
    ),
    (
        "finance",
        pgettext_lazy("admin section", "Finance"),
        [
            "billing.Invoice",
            "billing.OverdueInvoice",
            "billing.Payment",
            "billing.DunningReminder",
            "billing.UsageHold",
            "billing.PartnerCommission",
            "billing.ExchangeRate",
            "billing.ExportJob",
        ],
    ),
    (
        "support",
        pgettext_lazy("admin section", "Support"),
        [
            "support.Ticket",
            "support.InboundMail",
            "support.Macro",
            "support.KbArticle",
            "support.KbCategory",
            "support.TimeEntry",
            "support.HoursBucket",
            "support.SupportReport",
            "support.SupportEconomicsReport",
        ],
    ),
    (
        "licensing",
        pgettext_lazy("admin section", "Licenses and deployments"),
        ["licenses.Deployment", "licenses.License", "licenses.ActivationCode", "licenses.UsageReport"],
    ),
    (
        "catalog",
        pgettext_lazy("admin section", "Catalog and downloads"),
        ["editions.Edition", "editions.Module", "editions.Price", "editions.Release", "editions.Artifact"],
    ),
    ("system", pgettext_lazy("admin section", "System"), []),
]
# Where a model not listed above goes: its app's section, else System.
APP_SECTIONS = {
    "customers": "sales",
    "contracts": "sales",
    "billing": "finance",
    "support": "support",
    "licenses": "licensing",
    "editions": "catalog",
}
# Technical tables of the business apps that belong with the system's, not with daily work.
SYSTEM_MODELS = {
    "billing.StripeEvent",
    "billing.CheckoutSession",
    "billing.BillingPeriod",
    "licenses.SigningKey",
    "support.SlaNotification",
}


def section_of(app_label: str, object_name: str) -> str:
    key = f"{app_label}.{object_name}"
    if key in SYSTEM_MODELS:
        return "system"
    for section, _title, models in SECTIONS:
        if key in models:
            return section
    return APP_SECTIONS.get(app_label, "system")


# Models of other packages whose names are plain strings (no catalog can translate them): named here.
MODEL_NAMES = {
    "mfa.Authenticator": _("Authenticators (two-factor)"),
    "usersessions.UserSession": _("User sessions"),
}


class BackOfficeSite(AdminSite):
    site_header = _("IoT platform back office")
    site_title = _("IoT platform back office")
    index_title = _("Back office")

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None:  # an app's own page keeps Django's grouping
            return apps
        order = {section: position for position, (section, _title, _models) in enumerate(SECTIONS)}
        listed = {model: position for _s, _t, models in SECTIONS for position, model in enumerate(models)}
        grouped: dict[str, list[dict[str, Any]]] = {section: [] for section in order}
        for app in apps:
            for model in app["models"]:
                key = f"{app['app_label']}.{model['object_name']}"
                named = {"name": MODEL_NAMES[key]} if key in MODEL_NAMES else {}
                grouped[section_of(app["app_label"], model["object_name"])].append(
                    {**model, "app_label": app["app_label"], **named}
                )
        index_url = reverse("admin:index", current_app=self.name)
        sections = []
        for section, title, _models in SECTIONS:
            models = sorted(
                grouped[section],
                key=lambda m: (
                    listed.get(f"{m['app_label']}.{m['object_name']}", len(listed)),
                    str(m["name"]),
                ),
            )
            if models:
                sections.append(
                    {
                        "name": title,
                        "app_label": section,
                        "app_url": f"{index_url}#{section}",
                        "has_module_perms": True,
                        "models": models,
                    }
                )
        return sorted(sections, key=lambda s: order[s["app_label"]])


def display_for_field(value: Any, field: Any, empty_value_display: str, avoid_link: bool = False) -> Any:
    """Django's display of a read-only value or a changelist cell, with business codes by their label:
    a JSON detail as labelled lines (not raw JSON), an audit action (`invoice.issue`) by its words."""
    if isinstance(field, JSONField) and value not in (None, "", [], {}):
        return details_html(value)
    if isinstance(field, CharField) and not field.choices and isinstance(value, str) and value:
        label = code_label(value) if "." in value else value
        if label != value:
            return label
    return _django_display_for_field(value, field, empty_value_display, avoid_link=avoid_link)


class BackOfficeAdminConfig(AdminConfig):
    default_site = "portal.backoffice.BackOfficeSite"

    def ready(self) -> None:
        super().ready()
        # The one seam where the admin turns a stored value into text (read-only fields and list cells).
        admin_helpers.display_for_field = display_for_field  # type: ignore[attr-defined]  # imported there, not in the stubs
        admin_list.display_for_field = display_for_field  # type: ignore[attr-defined]  # as above
