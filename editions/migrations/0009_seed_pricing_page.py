"""Fills the pricing page's catalog data from seed 000 (定位, how each edition is bought, 30-day trials of
Standard and Enterprise) and completes the price list: USD lines next to the CNY ones, the SaaS
industry-module fee (¥/month, seed: "¥50/设备/月 + 行业模块费") and the fee of a further vertical module on a
Standard contract (¥/year). The seed gives no USD amounts nor module-fee amounts: these are the
defaults sales edits in admin. Only empty fields and missing lines are filled, never what sales changed."""

import datetime
from decimal import Decimal

from django.db import migrations

PAGE = {
    # code: (purchase path, trial days, audience zh, audience en) — seed 000 定位 and 客户分类和策略
    "community": (
        "download",
        None,
        "开发者和小微企业:免费开源,自己部署",
        "Developers and small teams: free and open source, self-hosted",
    ),
    "standard": (
        "self_service",
        30,
        "中小企业:Docker 镜像私有化部署,含 1 个行业模块",
        "Small and mid-sized companies: private Docker deployment with one industry module",
    ),
    "enterprise": (
        "sales",
        30,
        "大中型企业和受监管行业:Kubernetes 部署,全部功能,7x24 支持",
        "Large enterprises and regulated industries: Kubernetes, every feature, 7x24 support",
    ),
    "source": (
        "sales",
        None,
        "集成商、ISV 和政企:源码交付(签署 NDA),或 OEM 渠道合作",
        "Integrators, ISVs and government: source code under NDA, or an OEM partnership",
    ),
    "saas": (
        "saas_signup",
        None,
        "没有运维团队的企业:托管服务,按设备按月付费,随时扩容",
        "Companies without an operations team: hosted, billed per device and month",
    ),
}

VALID_FROM = datetime.date(2026, 1, 1)
VERTICALS = ["retail", "vehicle", "finance"]
# edition, module, kind, term, currency, amount, is_minimum
PRICES = [
    ("community", None, "license", "year", "USD", "0", False),
    ("standard", None, "subscription", "year", "USD", "4200", False),
    ("enterprise", None, "subscription", "year", "USD", "21000", True),
    ("source", None, "license", "once", "USD", "70000", True),
    ("source", None, "maintenance", "year", "USD", "14000", False),
    ("saas", None, "usage", "device_month", "USD", "7", False),
    *[("saas", code, "module_fee", "month", "CNY", "2000", False) for code in VERTICALS],
    *[("saas", code, "module_fee", "month", "USD", "280", False) for code in VERTICALS],
    *[("standard", code, "module_fee", "year", "CNY", "10000", False) for code in VERTICALS],
    *[("standard", code, "module_fee", "year", "USD", "1400", False) for code in VERTICALS],
]


def seed(apps, schema_editor):
    Edition = apps.get_model("editions", "Edition")
    Module = apps.get_model("editions", "Module")
    Price = apps.get_model("editions", "Price")
    for code, (path, trial_days, zh, en) in PAGE.items():
        edition = Edition.objects.filter(code=code).first()
        if edition is None:
            continue
        if not edition.audience_zh:
            edition.audience_zh = zh
        if not edition.audience_en:
            edition.audience_en = en
        if edition.purchase_path == "sales" and path != "sales":
            edition.purchase_path = path
        if edition.trial_days is None:
            edition.trial_days = trial_days
        edition.save(update_fields=["audience_zh", "audience_en", "purchase_path", "trial_days"])
    for edition_code, module_code, kind, term, currency, amount, is_minimum in PRICES:
        edition = Edition.objects.filter(code=edition_code).first()
        module = Module.objects.filter(code=module_code).first() if module_code else None
        if edition is None or (module_code and module is None):
            continue
        if Price.objects.filter(edition=edition, module=module, kind=kind, term=term, currency=currency).exists():
            continue
        Price.objects.create(
            edition=edition,
            module=module,
            kind=kind,
            term=term,
            currency=currency,
            valid_from=VALID_FROM,
            amount=Decimal(amount),
            is_minimum=is_minimum,
        )


class Migration(migrations.Migration):
    dependencies = [("editions", "0008_pricing_page_fields")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
