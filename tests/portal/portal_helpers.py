"""Shared set-up of the portal tests: fast signing keys, organizations with contracts and members,
TOTP for owners who must have it. Import the fixtures into a test module to use them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import struct
import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.utils import timezone

from customers.models import Role
from licenses import keys
from licenses.services import activation_code_create, deployment_activate
from tests.factories import ContractFactory, MembershipFactory, OrganizationFactory, UserFactory, edition

_POOL: dict[str, list[Any]] = {}
_COUNTER = itertools.count()
_REAL_NEW_PRIVATE_KEY = keys.new_private_key


def _pooled_private_key(algorithm: str) -> Any:
    pool = _POOL.setdefault(algorithm, [])
    if len(pool) < 2:
        pool.append(_REAL_NEW_PRIVATE_KEY(algorithm))
        return pool[-1]
    return pool[next(_COUNTER) % len(pool)]


@pytest.fixture(autouse=True)
def fast_keys(monkeypatch: pytest.MonkeyPatch) -> Any:
    """RSA 3072 keys take seconds to make; reuse a couple per session (each still gets its own kid)."""
    monkeypatch.setattr(keys, "new_private_key", _pooled_private_key)
    cache.clear()
    yield
    cache.clear()


def totp_code(secret: str, at: float | None = None, period: int = 30, digits: int = 6) -> str:
    """RFC 6238 (HMAC-SHA1), as an authenticator app computes it."""
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(
        base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1
    ).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{value:0{digits}d}"


def give_totp(user: Any) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def member(organization: Any, role: str = Role.OWNER, *, totp: bool | None = None, **user_fields: Any) -> Any:
    """A user with a membership; owners get TOTP unless told otherwise (their contract may need it)."""
    user = UserFactory(**user_fields)
    MembershipFactory(organization=organization, user=user, role=role)
    if totp if totp is not None else role == Role.OWNER:
        give_totp(user)
    return user


def enterprise_org(
    *, name: str = "", days_left: int = 200, device_limit: int | None = None, **kwargs: Any
) -> Any:
    """An organization with one active enterprise contract; returns (organization, contract)."""
    organization = OrganizationFactory(**({"name": name} if name else {}))
    today = timezone.localdate()
    contract = ContractFactory(
        organization=organization,
        edition=edition(kwargs.pop("edition_code", "enterprise")),
        start_date=today - dt.timedelta(days=100),
        end_date=today + dt.timedelta(days=days_left),
        device_limit=device_limit,
        **kwargs,
    )
    return organization, contract


def activated_deployment(contract: Any, machine_id: str = "machine-A", **kwargs: Any) -> Any:
    """A deployment activated by the platform with a fresh code; returns the PlatformAnswer."""
    _code, plain = activation_code_create(actor=None, contract=contract)
    return deployment_activate(code=plain, machine_id=machine_id, **kwargs)


def has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def issued_invoice(
    organization: Any, amount: str = "1000.00", *, currency: str = "CNY", contract: Any = None
) -> Any:
    """An issued invoice of one line (6 % VAT) through billing's services."""
    from decimal import Decimal

    from billing.services.invoices import LineSpec, invoice_create, invoice_issue

    invoice = invoice_create(
        actor=None,
        organization=organization,
        currency=currency,
        contract=contract,
        lines=[
            LineSpec(
                description="Annual subscription",
                quantity=Decimal("1"),
                unit_price=Decimal(amount),
                tax_rate=Decimal("0.06"),
            )
        ],
    )
    return invoice_issue(actor=None, invoice=invoice)


@pytest.fixture
def client(client: Any) -> Any:
    """pytest-django's client, asking for English pages (assertions are in English)."""
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
