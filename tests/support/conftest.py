from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.factories import ContractFactory, MembershipFactory, UserFactory, edition

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
