from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.factories import ContractFactory, MembershipFactory, UserFactory, edition

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def china_calendar_source(request: pytest.FixtureRequest, catalog_after_flush: None) -> None:
    """After a flush the seed of 0002 recreates the 5x8 calendar with the 2026 rows; 0004 then turns it
    into the chinesecalendar-backed calendar it is after migrating."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    if transactional or {"transactional_db", "live_server", "http"} & set(request.fixturenames):
        import importlib

        from django.apps import apps

        importlib.import_module("support.migrations.0004_china_calendar_from_chinesecalendar").seed(
            apps, None
        )


@pytest.fixture(autouse=True)
def support_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.support.urls"


@pytest.fixture(autouse=True)
def english_pages(client: Any) -> None:
    """Pages are asserted in English (the portal defaults to zh-hans); e-mails follow the recipient."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def member(db: Any) -> Any:
    """A customer user in an organization with an active Standard contract (5x8 SLA)."""
    membership = MembershipFactory(user=UserFactory(email="alice@customer.example"))
    return membership.user


@pytest.fixture
def organization(member: Any) -> Any:
    return member.memberships.get().organization


@pytest.fixture
def standard_contract(organization: Any) -> Any:
    return ContractFactory(organization=organization, edition=edition("standard"), custom_dev_hours=0)


@pytest.fixture
def enterprise_contract(organization: Any) -> Any:
    return ContractFactory(organization=organization, edition=edition("enterprise"), custom_dev_hours=50)


@pytest.fixture
def community_contract(organization: Any) -> Any:
    return ContractFactory(organization=organization, edition=edition("community"), price=0)


@pytest.fixture
def agent(db: Any) -> Any:
    return UserFactory(username="agent", email="agent@vendor.example", is_staff=True)


@pytest.fixture
def outsider(db: Any) -> Any:
    """A member of another organization."""
    return MembershipFactory(user=UserFactory(email="mallory@other.example")).user


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)
