"""Contract rules, through the services that admin and the API share."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contracts import services
from contracts.entitlements import features_of
from contracts.models import Contract, ContractStatus
from editions.models import Module
from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from tests.factories import OrganizationFactory, UserFactory, edition

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def create(code="standard", modules=("retail",), **kwargs):
    defaults = {
        "actor": UserFactory(is_staff=True),
        "organization": OrganizationFactory(),
        "edition": edition(code),
        "start_date": TODAY,
        "end_date": TODAY + datetime.timedelta(days=364),
        "modules": list(Module.objects.filter(code__in=modules)),
    }
    defaults.update(kwargs)
    return services.contract_create(**defaults)


def test_create_numbers_prices_and_audits():
    first, second = create(), create()
    year = TODAY.year
    assert first.number == f"CT-{year}-000001"
    assert second.number == f"CT-{year}-000002"
    assert first.status == ContractStatus.DRAFT
    assert first.price == Decimal("30000.00")  # from the price list
    assert features_of(first) == ("core", "retail")
    assert AuditEvent.objects.filter(action="contract.create", target_id=str(first.pk)).exists()


def test_source_price_is_license_plus_maintenance():
    contract = create("source", modules=(), nda_signed_on=TODAY)
    assert contract.price == Decimal("600000.00")


def test_end_must_be_after_start():
    with pytest.raises(ValidationError) as excinfo:
        create(end_date=TODAY)
    assert "end_date" in excinfo.value.message_dict
    assert Contract.objects.count() == 0


def test_modules_must_be_offered_by_the_edition():
    with pytest.raises(ValidationError) as excinfo:
        create("community", modules=("sso",))
    assert "sso" in str(excinfo.value)


def test_standard_takes_one_vertical_of_choice():
    with pytest.raises(ValidationError):
        create(modules=("retail", "vehicle"))
    draft = create(modules=())
    with pytest.raises(ValidationError) as excinfo:
        services.contract_activate(actor=None, contract=draft)
    assert "modules" in excinfo.value.message_dict


def test_source_contract_needs_nda_before_activation():
    contract = create("source", modules=())
    with pytest.raises(ValidationError) as excinfo:
        services.contract_activate(actor=None, contract=contract)
    assert "nda_signed_on" in excinfo.value.message_dict
    contract = services.contract_update(actor=None, contract=contract, nda_signed_on=TODAY)
    assert services.contract_activate(actor=None, contract=contract).status == ContractStatus.ACTIVE


def test_transitions_are_checked():
    contract = services.contract_activate(actor=None, contract=create())
    with pytest.raises(ApplicationError) as excinfo:
        services.contract_activate(actor=None, contract=contract)
    assert excinfo.value.status == 409
    services.contract_cancel(actor=None, contract=contract, reason="customer left")
    with pytest.raises(ApplicationError):
        services.contract_renew(actor=None, contract=Contract.objects.get(pk=contract.pk))


def test_active_contract_cannot_be_edited_but_nda_and_notes_can():
    contract = services.contract_activate(actor=None, contract=create())
    with pytest.raises(ApplicationError) as excinfo:
        services.contract_update(actor=None, contract=contract, price=Decimal("1"))
    assert excinfo.value.code == "contract_not_draft"
    services.contract_update(actor=None, contract=contract, notes="called on Monday")


def test_renew_copies_terms_applies_uplift_and_is_idempotent():
    contract = services.contract_activate(
        actor=None,
        contract=create(
            start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2026, 12, 31), device_limit=500
        ),
    )
    renewal = services.contract_renew(actor=None, contract=contract, uplift_percent=Decimal("5"))
    assert renewal.status == ContractStatus.DRAFT
    assert renewal.renewal_of == contract
    assert (renewal.start_date, renewal.end_date) == (datetime.date(2027, 1, 1), datetime.date(2027, 12, 31))
    assert renewal.price == Decimal("31500.00")
    assert renewal.device_limit == 500
    assert [m.code for m in renewal.modules.all()] == ["retail"]
    assert services.contract_renew(actor=None, contract=contract) == renewal


def test_source_renewal_carries_maintenance_only():
    contract = create("source", modules=(), nda_signed_on=TODAY)
    contract = services.contract_activate(actor=None, contract=contract)
    renewal = services.contract_renew(actor=None, contract=contract)
    assert renewal.price == Decimal("100000.00")


def test_device_limit_defaults_to_the_edition():
    assert create().effective_device_limit == 1000
    assert create(device_limit=2500).effective_device_limit == 2500
    assert create("enterprise", modules=()).effective_device_limit is None
