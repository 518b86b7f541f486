"""Models of the billing app (DESIGN §3): invoices, credit notes, payments, usage guards, exports."""

from django.utils.translation import gettext_lazy as _

from billing.models.invoices import (
    DEFAULT_TAX_RATES,
    INVOICE_TRANSITIONS,
    PAYMENT_STATUS_TRANSITIONS,
    SERIES,
    BillingKind,
    BillingPeriod,
    ContractBillingState,
    DocumentKind,
    ExchangeRate,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentStatus,
    TaxCategory,
    UsageHold,
    category_for_rate,
    default_tax_rate,
)
from billing.models.online import (
    ORDER_STATUS_RANK,
    NotificationStatus,
    OnlineProvider,
    OrderChannel,
    OrderStatus,
    ProviderNotification,
    ProviderOrder,
    ProviderRefund,
    RefundStatus,
)
from billing.models.operations import (
    DunningReminder,
    ExportFormat,
    ExportJob,
    ExportStatus,
    PartnerCommission,
    PartnerPayout,
)
from billing.models.orders import ModuleOrder, ModuleOrderState
from billing.models.payments import (
    CheckoutSession,
    CheckoutStatus,
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentMethod,
    StripeEvent,
)
from billing.models.quotes import (
    OPEN_QUOTE_STATUSES,
    QUOTE_SERIES,
    QUOTE_TRANSITIONS,
    Quote,
    QuoteKind,
    QuoteLine,
    QuoteLineKind,
    QuoteOrigin,
    QuoteStatus,
)
from billing.models.statements import (
    BankStatementImport,
    BankStatementLine,
    FapiaoDocument,
    StatementLineStatus,
)


class OverdueInvoice(Invoice):
    """Admin's list of issued invoices past their due date with money still open."""

    class Meta:
        proxy = True
        verbose_name = _("overdue invoice")
        verbose_name_plural = _("overdue invoices")


__all__ = [
    "DEFAULT_TAX_RATES",
    "INVOICE_TRANSITIONS",
    "OPEN_QUOTE_STATUSES",
    "ORDER_STATUS_RANK",
    "PAYMENT_STATUS_TRANSITIONS",
    "QUOTE_SERIES",
    "QUOTE_TRANSITIONS",
    "SERIES",
    "BankStatementImport",
    "BankStatementLine",
    "BillingKind",
    "BillingPeriod",
    "CheckoutSession",
    "CheckoutStatus",
    "ContractBillingState",
    "DocumentKind",
    "DunningReminder",
    "ExchangeRate",
    "ExportFormat",
    "ExportJob",
    "ExportStatus",
    "FapiaoDocument",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "ModuleOrder",
    "ModuleOrderState",
    "NotificationStatus",
    "OnlineProvider",
    "OrderChannel",
    "OrderStatus",
    "OverdueInvoice",
    "PartnerCommission",
    "PartnerPayout",
    "Payment",
    "PaymentAllocation",
    "PaymentKind",
    "PaymentMethod",
    "PaymentStatus",
    "ProviderNotification",
    "ProviderOrder",
    "ProviderRefund",
    "Quote",
    "QuoteKind",
    "QuoteLine",
    "QuoteLineKind",
    "QuoteOrigin",
    "QuoteStatus",
    "RefundStatus",
    "StatementLineStatus",
    "StripeEvent",
    "TaxCategory",
    "UsageHold",
    "category_for_rate",
    "default_tax_rate",
]
