"""Billing test data: Chinese customers with invoicing data, drafts and issued invoices via services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing import services
from billing.models import Invoice
from billing.services import LineSpec
from customers.models import Organization
from tests.factories import OrganizationFactory

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body17: str = "91310115MA1H7G2K3") -> str:
    """A unified social credit code with a correct check character."""
    total = sum(_ALPHABET.index(ch) * w for ch, w in zip(body17, _WEIGHTS, strict=True))
    return body17 + _ALPHABET[(31 - total % 31) % 31]


def chinese_organization(**kwargs: Any) -> Organization:
    defaults = {
        "name": "上海智联物联网科技有限公司",
        "country": "CN",
        "taxpayer_id": uscc(),
        "invoice_title": "上海智联物联网科技有限公司",
        "registered_address": "上海市徐汇区漕河泾开发区 88 号",
        "registered_phone": "021-6400 1234",
        "bank_name": "中国工商银行上海漕河泾支行",
        "bank_account": "1001 2345 6789 0123",
        "fapiao_type": "special",
        "billing_email": "finance@zhilian.example.cn",
    }
    defaults.update(kwargs)
    return OrganizationFactory(**defaults)


def foreign_organization(**kwargs: Any) -> Organization:
    defaults = {"name": "Acme Devices GmbH", "country": "DE", "billing_email": "ap@acme.example"}
    defaults.update(kwargs)
    return OrganizationFactory(**defaults)


def line(
    description: str = "IoT platform license",
    quantity: str = "1",
    unit_price: str = "1000",
    tax_rate: str | None = "0.13",
    **kw: Any,
) -> LineSpec:
    return LineSpec(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        tax_rate=Decimal(tax_rate) if tax_rate is not None else None,
        **kw,
    )


def draft_invoice(
    organization: Organization | None = None,
    *,
    currency: str = "CNY",
    lines: list[LineSpec] | None = None,
    **kw: Any,
) -> Invoice:
    return services.invoice_create(
        actor=None,
        organization=organization or chinese_organization(),
        currency=currency,
        lines=lines or [line()],
        **kw,
    )


def issued_invoice(organization: Organization | None = None, **kw: Any) -> Invoice:
    invoice = draft_invoice(organization, **kw)
    return services.invoice_issue(actor=None, invoice=invoice)
