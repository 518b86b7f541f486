"""Demo data: a staff superuser, a customer user, a dozen organizations with contracts of every
edition. Idempotent: running it again changes nothing and prints the same logins."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from contracts import services as contract_services
from contracts.models import Contract, ContractStatus
from customers.models import Contact, Membership, Organization, Partner, Role
from editions.models import Edition, Module
from editions.selectors import default_contract_price
from portal.demo.operations import seed_operations

STAFF = ("admin", "admin@vendor.example", "demo-admin-2026")
CUSTOMER = ("customer@example.com", "demo-customer-2026")

PARTNERS = [("华信集成 Huaxin Integration", "oem"), ("源创科技 Yuanchuang Tech", "source")]

# name, industry, size, region, partner index, [(edition, start offset days, term days, modules, extra)]
ORGANIZATIONS = [
    ("上海智联零售有限公司", "retail", "medium", "上海", None, [("standard", -200, 365, ["retail"], {})]),
    (
        "深圳速达物流股份有限公司",
        "logistics",
        "large",
        "广东",
        None,
        [("enterprise", -340, 365, [], {"auto_renew": True})],
    ),
    ("北京安信银行科技有限公司", "finance", "large", "北京", 1, [("source", -30, 365, [], {"nda": True})]),
    ("杭州绿能电力有限公司", "energy", "large", "浙江", None, [("enterprise", -100, 730, [], {})]),
    (
        "成都天府车联网科技有限公司",
        "vehicle",
        "medium",
        "四川",
        0,
        [("standard", -358, 365, ["vehicle"], {})],
    ),
    (
        "武汉光谷智造有限公司",
        "manufacturing",
        "medium",
        "湖北",
        None,
        [("standard", -420, 365, ["retail"], {"expired": True})],
    ),
    ("广州云端农业科技有限公司", "agriculture", "small", "广东", None, [("saas", -60, 365, ["retail"], {})]),
    ("南京市智慧城市运营中心", "government", "large", "江苏", None, [("enterprise", -300, 365, [], {})]),
    (
        "Nordlicht Mobility GmbH",
        "vehicle",
        "medium",
        "Bavaria",
        None,
        [("enterprise", -10, 365, [], {"currency": "USD"})],
    ),
    (
        "苏州精工医疗器械有限公司",
        "healthcare",
        "small",
        "江苏",
        0,
        [("standard", -5, 365, ["finance"], {"draft": True})],
    ),
    (
        "西安启明教育科技有限公司",
        "education",
        "micro",
        "陕西",
        None,
        [("community", -90, 3650, [], {"community": True})],
    ),
    ("青岛海港冷链物流有限公司", "logistics", "medium", "山东", None, [("saas", -200, 365, [], {})]),
]


class Command(BaseCommand):
    help = "Create demo users, organizations and contracts (idempotent) and print the logins."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            admin_user, customer = self._people_and_contracts()
        seed_operations(staff=admin_user, customer=customer, out=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"  Back office: /admin/   email {STAFF[1]} / password {STAFF[2]}\n"
            f"  Portal:      /         email {CUSTOMER[0]} / password {CUSTOMER[1]}\n"
            f"  Organizations: {Organization.objects.count()}, contracts: {Contract.objects.count()}"
        )

    def _people_and_contracts(self):
        User = get_user_model()
        admin_user, created = User.objects.get_or_create(
            username=STAFF[0], defaults={"email": STAFF[1], "is_staff": True, "is_superuser": True}
        )
        if created:
            admin_user.set_password(STAFF[2])
            admin_user.save()
        self._verified_email(admin_user)

        customer, created = User.objects.get_or_create(
            username="customer", defaults={"email": CUSTOMER[0], "first_name": "王", "last_name": "经理"}
        )
        if created:
            customer.set_password(CUSTOMER[1])
            customer.save()
        self._verified_email(customer)

        partners = [
            Partner.objects.get_or_create(
                name=name, defaults={"kind": kind, "contact_email": f"channel@{kind}.example"}
            )[0]
            for name, kind in PARTNERS
        ]
        today = timezone.localdate()
        for index, (name, industry, size, region, partner_index, contracts) in enumerate(ORGANIZATIONS):
            organization, org_created = Organization.objects.get_or_create(
                name=name,
                defaults={
                    "industry": industry,
                    "size": size,
                    "region": region,
                    "country": "DE" if "GmbH" in name else "CN",
                    "account_owner": admin_user,
                    "partner": partners[partner_index] if partner_index is not None else None,
                    "invoice_title": name,
                    "registered_address": f"{region} 示范路 {index + 1} 号",
                    "registered_phone": f"021-5555{index:04d}",
                    "bank_name": "中国工商银行",
                    "bank_account": f"6222 0000 0000 {index:04d}",
                    "billing_email": f"finance{index}@customer.example",
                    "is_community": any(extra.get("community") for *_x, extra in contracts),  # type: ignore[attr-defined]  # ORGANIZATIONS rows end with their contracts' tuples
                },
            )
            if org_created:
                Contact.objects.create(
                    organization=organization,
                    name="联系人 " + str(index + 1),
                    email=f"contact{index}@customer.example",
                    phone=f"138000000{index:02d}",
                    title="IT 经理",
                    is_primary=True,
                )
            if index == 0:
                Membership.objects.get_or_create(
                    organization=organization, user=customer, defaults={"role": Role.OWNER}
                )
            if organization.contracts.exists():
                continue
            for edition_code, start_offset, term_days, module_codes, extra in contracts:  # type: ignore[attr-defined]  # ORGANIZATIONS rows end with their contracts' tuples
                if extra.get("community"):
                    continue  # community is free and needs no contract
                self._contract(
                    admin_user,
                    organization,
                    edition_code,
                    today,
                    start_offset,
                    term_days,
                    module_codes,
                    extra,
                )

        return admin_user, customer

    def _verified_email(self, user) -> None:
        from allauth.account.models import EmailAddress

        EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )

    def _contract(
        self, actor, organization, edition_code, today, start_offset, term_days, module_codes, extra
    ):
        edition = Edition.objects.get(code=edition_code)
        start = today + timedelta(days=start_offset)
        end = start + timedelta(days=term_days - 1)
        currency = extra.get("currency", "CNY")
        # The price list as it stands today: a contract that started before the current prices took
        # effect would otherwise find none and be priced at zero.
        price = default_contract_price(
            edition=edition, currency=currency, start_date=today, end_date=today + (end - start)
        )
        contract = contract_services.contract_create(
            actor=actor,
            organization=organization,
            edition=edition,
            start_date=start,
            end_date=end,
            modules=list(Module.objects.filter(code__in=module_codes)),
            currency=currency,
            price=price or (Decimal("23000") if currency == "USD" else None),
            auto_renew=extra.get("auto_renew", False),
            nda_signed_on=start - timedelta(days=14) if extra.get("nda") else None,
            partner=organization.partner,
        )
        if extra.get("draft"):
            return contract
        if extra.get("expired"):
            # History, not a live operation: an old contract that ran its term and ended.
            Contract.objects.filter(pk=contract.pk).update(
                status=ContractStatus.ACTIVE, activated_at=timezone.now() - timedelta(days=-start_offset)
            )
            return contract_services.contract_expire(actor=None, contract=contract)
        return contract_services.contract_activate(actor=actor, contract=contract)
