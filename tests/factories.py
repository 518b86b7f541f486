"""factory_boy factories for the foundation apps. Other apps keep theirs in tests/<app>/factories.py."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from contracts.models import Contract, ContractStatus
from customers.models import Membership, Organization, Partner, Role
from editions.models import Edition


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")
    kind = "oem"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n} Co., Ltd.")
    industry = "manufacturing"
    country = "CN"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


def edition(code: str) -> Edition:
    """Editions come from the data migration; tests look them up rather than create them."""
    return Edition.objects.get(code=code)


class ContractFactory(factory.django.DjangoModelFactory):
    """A contract row built directly (no service), for tests that need many quickly; use
    contracts.services.contract_create to test the business rules themselves."""

    class Meta:
        model = Contract
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"CT-TEST-{n:06d}")
    organization = factory.SubFactory(OrganizationFactory)
    edition = factory.LazyFunction(lambda: edition("enterprise"))
    status = ContractStatus.ACTIVE
    start_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=100))
    end_date = factory.LazyAttribute(lambda o: o.start_date + datetime.timedelta(days=365))
    price = Decimal("150000.00")
    currency = "CNY"
    activated_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def modules(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.modules.set(extracted)
