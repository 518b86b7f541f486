"""The data migration creates the catalog of DESIGN §2 exactly."""

from decimal import Decimal

import pytest

from editions.models import Edition, Module, Price

pytestmark = pytest.mark.django_db

VERTICALS = {"retail", "vehicle", "finance"}
ENTERPRISE = {"multi_tenant", "sso", "audit", "ha", "analytics"}


def test_modules_are_the_feature_codes_of_the_license():
    assert set(Module.objects.values_list("code", flat=True)) == {"core"} | VERTICALS | ENTERPRISE
    assert set(Module.objects.filter(kind="vertical").values_list("code", flat=True)) == VERTICALS


@pytest.mark.parametrize(
    ("code", "device_limit", "included", "optional", "delivery", "support"),
    [
        ("community", None, {"core"}, set(), "public_compose", "community"),
        ("standard", 1000, {"core"}, VERTICALS, "private_image", "email_5x8"),
        ("enterprise", None, {"core"} | VERTICALS | ENTERPRISE, set(), "helm_chart", "phone_7x24"),
        ("source", None, {"core"} | VERTICALS | ENTERPRISE, set(), "source_archive", "dedicated"),
        ("saas", None, {"core"} | ENTERPRISE, VERTICALS, "hosted", "online"),
    ],
)
def test_editions(code, device_limit, included, optional, delivery, support):
    edition = Edition.objects.get(code=code)
    assert edition.device_limit == device_limit
    assert {m.code for m in edition.included_modules.all()} == included
    assert {m.code for m in edition.optional_modules.all()} == optional
    assert edition.delivery == delivery
    assert edition.support_level == support


def test_edition_rules():
    assert Edition.objects.get(code="standard").verticals_of_choice == 1
    assert Edition.objects.get(code="enterprise").custom_dev_hours_per_year == 50
    assert Edition.objects.get(code="source").requires_nda is True
    assert Edition.objects.get(code="saas").is_metered is True
    assert Edition.objects.get(code="community").is_commercial is False


def test_bilingual_names():
    from django.utils import translation

    edition = Edition.objects.get(code="source")
    with translation.override("zh-hans"):
        assert str(edition) == "源码授权版"
    with translation.override("en"):
        assert str(edition) == "Source license"


@pytest.mark.parametrize(
    ("edition", "kind", "term", "amount", "is_minimum"),
    [
        ("community", "license", "year", "0", False),
        ("standard", "subscription", "year", "30000", False),
        ("enterprise", "subscription", "year", "150000", True),
        ("source", "license", "once", "500000", True),
        ("source", "maintenance", "year", "100000", False),
        ("saas", "usage", "device_month", "50", False),
    ],
)
def test_price_list(edition, kind, term, amount, is_minimum):
    price = Price.objects.get(
        edition__code=edition, kind=kind, term=term, currency="CNY", module__isnull=True
    )
    assert price.amount == Decimal(amount)
    assert price.is_minimum is is_minimum
