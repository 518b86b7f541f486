"""Admin of the billing app (the finance back office)."""

from billing.admin import invoices, orders, payments, quotes, reports, statements  # noqa: F401
