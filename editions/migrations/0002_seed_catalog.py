"""The catalog of DESIGN §2: five editions, nine modules, the CNY price list. Editable in admin afterwards;
this migration only creates rows that are missing, so it never overwrites what sales has changed."""

from decimal import Decimal

from django.db import migrations

MODULES = [
    # code, kind, Chinese, English, order
    ("core", "core", "核心平台", "Core platform", 0),
    ("retail", "vertical", "新零售", "Retail", 10),
    ("vehicle", "vertical", "车载", "Vehicle", 11),
    ("finance", "vertical", "金融", "Finance", 12),
    ("multi_tenant", "enterprise", "多租户", "Multi-tenancy", 20),
    ("sso", "enterprise", "单点登录 SSO/LDAP", "Single sign-on (SSO/LDAP)", 21),
    ("audit", "enterprise", "审计日志", "Audit log", 22),
    ("ha", "enterprise", "高可用部署", "High availability", 23),
    ("analytics", "enterprise", "高级分析和报表", "Advanced analytics", 24),
]
VERTICALS = ["retail", "vehicle", "finance"]
ENTERPRISE = ["multi_tenant", "sso", "audit", "ha", "analytics"]
ALL = ["core", *VERTICALS, *ENTERPRISE]

EDITIONS = [
    {
        "code": "community", "name_zh": "社区版", "name_en": "Community", "sort_order": 0,
        "device_limit": None, "delivery": "public_compose", "support_level": "community",
        "is_commercial": False, "production_deployments": 0, "staging_deployments": 0,
        "included": ["core"], "optional": [],
    },
    {
        "code": "standard", "name_zh": "标准版", "name_en": "Standard", "sort_order": 1,
        "device_limit": 1000, "delivery": "private_image", "support_level": "email_5x8",
        "verticals_of_choice": 1, "production_deployments": 1, "staging_deployments": 1,
        "included": ["core"], "optional": VERTICALS,
    },
    {
        "code": "enterprise", "name_zh": "企业版", "name_en": "Enterprise", "sort_order": 2,
        "device_limit": None, "delivery": "helm_chart", "support_level": "phone_7x24",
        "custom_dev_hours_per_year": 50, "production_deployments": 3, "staging_deployments": 2,
        "included": ALL, "optional": [],
    },
    {
        "code": "source", "name_zh": "源码授权版", "name_en": "Source license", "sort_order": 3,
        "device_limit": None, "delivery": "source_archive", "support_level": "dedicated",
        "requires_nda": True, "production_deployments": 5, "staging_deployments": 5,
        "included": ALL, "optional": [],
    },
    {
        "code": "saas", "name_zh": "SaaS 托管版", "name_en": "SaaS", "sort_order": 4,
        "device_limit": None, "is_metered": True, "delivery": "hosted", "support_level": "online",
        "production_deployments": 1, "staging_deployments": 0,
        "included": ["core", *ENTERPRISE], "optional": VERTICALS,
    },
]

PRICES = [
    # edition, module, kind, term, amount, is_minimum
    ("community", None, "license", "year", "0", False),
    ("standard", None, "subscription", "year", "30000", False),
    ("enterprise", None, "subscription", "year", "150000", True),
    ("source", None, "license", "once", "500000", True),
    ("source", None, "maintenance", "year", "100000", False),
    ("saas", None, "usage", "device_month", "50", False),
]


def seed(apps, schema_editor):
    Module = apps.get_model("editions", "Module")
    Edition = apps.get_model("editions", "Edition")
    Price = apps.get_model("editions", "Price")
    modules = {}
    for code, kind, zh, en, order in MODULES:
        modules[code], _ = Module.objects.get_or_create(
            code=code, defaults={"kind": kind, "name_zh": zh, "name_en": en, "sort_order": order}
        )
    for spec in EDITIONS:
        spec = dict(spec)
        included, optional = spec.pop("included"), spec.pop("optional")
        edition, created = Edition.objects.get_or_create(code=spec.pop("code"), defaults=spec)
        if created:
            edition.included_modules.set([modules[c] for c in included])
            edition.optional_modules.set([modules[c] for c in optional])
    import datetime

    valid_from = datetime.date(2026, 1, 1)
    for edition_code, module_code, kind, term, amount, is_minimum in PRICES:
        Price.objects.get_or_create(
            edition=Edition.objects.get(code=edition_code),
            module=modules[module_code] if module_code else None,
            kind=kind,
            term=term,
            currency="CNY",
            valid_from=valid_from,
            defaults={"amount": Decimal(amount), "is_minimum": is_minimum},
        )


class Migration(migrations.Migration):
    dependencies = [("editions", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
