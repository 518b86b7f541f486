"""One entitlement (contracts.entitlements): licenses, downloads and support agree on the contract in force
and on what it grants, on the same day.

Before, downloads and new tickets took every *active* contract of the organization (status only), while
licenses walked the renewal chain with start dates and judged the window by dates. They differed when:
- a renewal was activated ahead of its start (downloads gave its editions and modules at once);
- a renewal had taken effect while the contract it renews still waited for the nightly job to expire it
  (downloads gave both: a module dropped at the renewal stayed downloadable);
- a contract's last day had passed before the nightly job ran (downloads went on, licenses were in grace);
- a contract had ended (grace running) and its renewal starts later (downloads gave the renewal's).
They already agreed on a draft renewal (ignored), a contract in grace without renewal (the license runs,
nothing is delivered) and a cancelled one (nothing); those cases are checked too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db.models import Q

from contracts.entitlements import (
    Window,
    contract_in_force,
    entitlement_of,
    features_of,
    organization_entitlement,
)
from contracts.models import Contract, ContractStatus
from editions.models import Artifact, Module
from editions.selectors import artifacts_for, entitlement_for, is_public
from licenses import keys, tokens
from licenses.services import activation_code_create, deployment_activate, license_checkin, licensing
from portal.core.errors import ApplicationError
from support.selectors import contracts_for_new_ticket
from tests.contracts.factories import at
from tests.editions.factories import file_artifact
from tests.factories import ContractFactory, OrganizationFactory, edition

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 6, 15)
NOW = at(TODAY, 11)
_KEYS: dict[str, Any] = {}
_REAL_NEW_PRIVATE_KEY = keys.new_private_key


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> Any:
    def cached(algorithm: str) -> Any:
        if algorithm not in _KEYS:
            _KEYS[algorithm] = _REAL_NEW_PRIVATE_KEY(algorithm)
        return _KEYS[algorithm]

    monkeypatch.setattr(keys, "new_private_key", cached)
    settings.MEDIA_ROOT = tmp_path / "media"
    licensing.entitlement_memo_clear()
    cache.clear()
    yield
    cache.clear()


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def module(code: str) -> Module:
    return Module.objects.get(code=code)


@dataclass
class Scenario:
    organization: Any
    old: Contract  # the contract the deployment was activated under
    renewal: Contract | None = None


def _standard(organization: Any, *, start: dt.date, end: dt.date, vertical: str, **kwargs: Any) -> Contract:
    return ContractFactory(
        organization=organization,
        edition=edition("standard"),
        start_date=start,
        end_date=end,
        grace_days=30,
        modules=[module(vertical)],
        **kwargs,
    )


def renewal_starting_tomorrow(organization: Any) -> Scenario:
    old = _standard(organization, start=day(-364), end=TODAY, vertical="retail")
    renewal = ContractFactory(
        organization=organization,
        edition=edition("enterprise"),
        start_date=day(1),
        end_date=day(365),
        renewal_of=old,
        grace_days=30,
    )
    return Scenario(organization, old, renewal)


def renewal_in_force_before_the_nightly_job(organization: Any) -> Scenario:
    old = _standard(organization, start=day(-355), end=day(10), vertical="retail")
    renewal = _standard(organization, start=day(-1), end=day(363), vertical="vehicle", renewal_of=old)
    return Scenario(organization, old, renewal)


def last_day_passed_before_the_nightly_job(organization: Any) -> Scenario:
    return Scenario(organization, _standard(organization, start=day(-365), end=day(-1), vertical="retail"))


def ended_renewal_starts_later(organization: Any) -> Scenario:
    old = _standard(organization, start=day(-370), end=day(-6), vertical="retail")
    renewal = ContractFactory(
        organization=organization,
        edition=edition("enterprise"),
        start_date=day(3),
        end_date=day(367),
        renewal_of=old,
    )
    return Scenario(organization, old, renewal)


def draft_renewal(organization: Any) -> Scenario:
    old = _standard(organization, start=day(-265), end=day(100), vertical="retail")
    renewal = ContractFactory(
        organization=organization,
        edition=edition("enterprise"),
        status=ContractStatus.DRAFT,
        start_date=day(101),
        end_date=day(465),
        renewal_of=old,
    )
    return Scenario(organization, old, renewal)


def ended_in_grace(organization: Any) -> Scenario:
    return Scenario(organization, _standard(organization, start=day(-370), end=day(-6), vertical="retail"))


def cancelled(organization: Any) -> Scenario:
    return Scenario(organization, _standard(organization, start=day(-100), end=day(265), vertical="retail"))


# (build, status the nightly job has left the old contract in, whether the old rules disagreed)
SCENARIOS: dict[str, tuple[Callable[[Any], Scenario], str, bool]] = {
    "renewal starting tomorrow": (renewal_starting_tomorrow, ContractStatus.ACTIVE, True),
    "renewal in force, old contract not expired yet": (
        renewal_in_force_before_the_nightly_job,
        ContractStatus.ACTIVE,
        True,
    ),
    "last day passed, nightly job not run": (
        last_day_passed_before_the_nightly_job,
        ContractStatus.ACTIVE,
        True,
    ),
    "ended in grace, renewal starts later": (ended_renewal_starts_later, ContractStatus.EXPIRED, True),
    "draft renewal": (draft_renewal, ContractStatus.ACTIVE, False),
    "ended in grace, no renewal": (ended_in_grace, ContractStatus.EXPIRED, False),
    "cancelled": (cancelled, ContractStatus.CANCELLED, False),
}


def _catalog() -> set[Artifact]:
    """One artifact per edition and one per module, plus a public one."""
    artifacts = {
        file_artifact(editions=[code], name=f"{code}.bin") for code in ("standard", "enterprise", "source")
    }
    artifacts |= {file_artifact(modules=[m], name=f"{m.code}.bin") for m in Module.objects.all()}
    artifacts.add(file_artifact(editions=["community"], name="community.bin"))
    return artifacts


def _granting(edition_codes: set[str], feature_codes: set[str]) -> set[Artifact]:
    """The commercial artifacts of these editions and modules."""
    return set(
        Artifact.objects.filter(Q(editions__code__in=edition_codes) | Q(modules__code__in=feature_codes))
        .exclude(editions__is_commercial=False)
        .distinct()
    )


def _downloads(organization: Any) -> set[Artifact]:
    """What the downloads pages and the registry offer, public artifacts aside."""
    return {a for a in artifacts_for(entitlement_for(organization)) if not is_public(a)}


def _old_downloads_rule(organization: Any) -> set[Artifact]:
    """The rule downloads (and new tickets) used before: every active contract, whatever its dates."""
    active = Contract.objects.filter(organization=organization, status=ContractStatus.ACTIVE)
    return _granting({c.edition.code for c in active}, {f for c in active for f in features_of(c)})


def _license_says(token: str) -> tuple[str, set[Artifact], Contract | None]:
    """The check-in's status, what the license it answers with grants, and its contract."""
    try:
        answer = license_checkin(token=token, machine_id="machine-A", device_count=5)
    except ApplicationError as exc:
        return exc.code, set(), None
    claims, _key = tokens.verify(answer.license.token)
    contract = Contract.objects.get(number=claims["contract"])
    granted = _granting({claims["edition"]}, set(claims["features"]))
    return answer.status, granted, contract


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_downloads_licenses_and_support_agree_on_the_same_day(name):
    build, old_status, used_to_differ = SCENARIOS[name]
    _catalog()
    organization = OrganizationFactory()
    scenario = build(organization)
    with time_machine.travel(at(scenario.old.start_date, 10), tick=False):
        _code, plain = activation_code_create(actor=None, contract=scenario.old)
        token = deployment_activate(code=plain, machine_id="machine-A").license.token
    Contract.objects.filter(pk=scenario.old.pk).update(status=old_status)

    with time_machine.travel(NOW, tick=False):
        status, licensed, license_contract = _license_says(token)
        downloads = _downloads(organization)
        tickets = list(contracts_for_new_ticket(organization))
        old_rule = _old_downloads_rule(organization)

    if status in {"valid", "renewed"}:
        assert downloads == licensed and licensed, (name, status)
        assert tickets == [license_contract]
    else:  # grace: the license runs, nothing new is delivered; refused: nothing at all
        assert status in {"grace", "grace_expired", "license_revoked"}, status
        assert downloads == set()
        assert tickets == []
    if used_to_differ:
        assert old_rule != (licensed if status in {"valid", "renewed"} else set()), name


def test_what_each_scenario_comes_to():
    """The answers themselves, for the reader: which contract is in force and in which window."""
    expected = {
        "renewal starting tomorrow": ("old", Window.TERM),
        "renewal in force, old contract not expired yet": ("renewal", Window.TERM),
        "last day passed, nightly job not run": ("old", Window.GRACE),
        "ended in grace, renewal starts later": ("old", Window.GRACE),
        "draft renewal": ("old", Window.TERM),
        "ended in grace, no renewal": ("old", Window.GRACE),
        "cancelled": None,  # nothing in force: a cancelled contract grants nothing
    }
    for name, (build, old_status, _differed) in SCENARIOS.items():
        scenario = build(OrganizationFactory())
        Contract.objects.filter(pk=scenario.old.pk).update(status=old_status)
        with time_machine.travel(NOW, tick=False):
            in_force = organization_entitlement(scenario.organization).in_force
        if expected[name] is None:
            assert in_force == (), name
            continue
        (item,) = in_force
        which, window = expected[name]
        assert item.contract == (scenario.renewal if which == "renewal" else scenario.old), name
        assert item.window == window, name
        assert item.delivers == (window == Window.TERM)
        assert item.licensed == (window != Window.OVER)


def test_what_a_contract_grants():
    contract = ContractFactory(
        edition=edition("standard"), modules=[module("vehicle")], device_limit=None, grace_days=None
    )
    granted = entitlement_of(contract)
    assert granted.edition == "standard"
    assert granted.features == ("core", "vehicle")  # catalog order
    assert granted.module_ids == {module("core").pk, module("vehicle").pk}
    assert granted.device_limit == 1000  # the edition's
    assert granted.grace_days == 14  # LICENSE_GRACE_DAYS
    assert granted.customer == contract.organization.name
    assert not granted.source_code
    assert granted.term_end == at(contract.end_date + dt.timedelta(days=1), 0)
    assert granted.grace_end == granted.term_end + dt.timedelta(days=14)
    assert entitlement_of(ContractFactory(edition=edition("source"))).source_code


def test_an_organization_with_several_chains_gets_the_contract_in_force_of_each(django_assert_num_queries):
    organization = OrganizationFactory()
    first = _standard(organization, start=day(-300), end=day(64), vertical="retail")
    _standard(organization, start=day(65), end=day(430), vertical="vehicle", renewal_of=first)
    other = ContractFactory(organization=organization, edition=edition("enterprise"), end_date=day(200))
    expired = ContractFactory(
        organization=organization, status=ContractStatus.EXPIRED, start_date=day(-800), end_date=day(-435)
    )
    ContractFactory(status=ContractStatus.ACTIVE)  # another organization's
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(3):
        granted = organization_entitlement(organization)
        in_force = [(item.contract, item.window) for item in granted.in_force]
    assert in_force == [(other, Window.TERM), (first, Window.TERM), (expired, Window.OVER)]
    assert granted.contracts == (other, first)
    assert granted.edition_ids == {edition("enterprise").pk, edition("standard").pk}
    assert contract_in_force(first, on=day(65)).renewal_of_id == first.pk


def test_anonymous_visitors_get_nothing_but_public_artifacts():
    assert organization_entitlement(None).in_force == ()
    public = file_artifact(editions=["community"])
    file_artifact(editions=["enterprise"])
    assert set(artifacts_for(entitlement_for(None))) == {public}
