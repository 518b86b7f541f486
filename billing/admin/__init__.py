"""Admin of the billing app (the finance back office)."""

from billing.admin import invoices, payments, quotes, statements  # noqa: F401
