"""Helpers of the back office's read-only admins and report pages (admin views mounted through
ModelAdmin.get_urls): no add, change or delete for records machines write and for reports, the admin
context, the model's view permission, query strings for the download links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For append-only and machine-written records, and for report pages: viewable, never added,
    edited or deleted in admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline[Any, Any]):
    """Related records listed on a page, read-only and without links of their own."""

    extra = 0
    can_delete = False
    show_change_link = False


class DatePicker(forms.DateInput):
    """A report's date field as the browser's date picker, its value always in ISO 8601 (what
    <input type="date"> reads, whatever the language's date format)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def report_context(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, title: str, **extra: Any
) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "app_label": model_admin.model._meta.app_label,
        **extra,
    }


def require_view_permission(model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> None:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied


def with_params(request: HttpRequest, **params: str) -> str:
    """The request's query string with these parameters set."""
    query = request.GET.copy()
    for key, value in params.items():
        query[key] = value
    return "?" + query.urlencode()


def query_string(base: dict[str, str], **extra: str) -> str:
    return "?" + urlencode({**base, **extra})
