"""Fixtures of the licenses tests. Generating 3072-bit RSA keys is slow, so a small pool is made
once per session and handed out in turn (each key still gets its own random kid)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.core.cache import cache

from licenses import keys
from licenses.models import KeyAlgorithm

_POOL: dict[str, list[Any]] = {}
_COUNTER = itertools.count()


def _pooled_private_key(algorithm: str) -> Any:
    pool = _POOL.setdefault(algorithm, [])
    if len(pool) < 3:
        pool.append(_REAL_NEW_PRIVATE_KEY(algorithm))
        return pool[-1]
    return pool[next(_COUNTER) % len(pool)]


_REAL_NEW_PRIVATE_KEY = keys.new_private_key


@pytest.fixture(autouse=True)
def _fast_keys_and_clean_cache(monkeypatch: pytest.MonkeyPatch) -> Any:
    from licenses.services import licensing

    monkeypatch.setattr(keys, "new_private_key", _pooled_private_key)
    licensing.entitlement_memo_clear()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rsa_key(db: Any) -> Any:
    from licenses.services import signing_key_for_issuing

    return signing_key_for_issuing(KeyAlgorithm.RS256)


@pytest.fixture
def contract(db: Any) -> Any:
    from tests.licenses.factories import active_contract

    return active_contract()


@pytest.fixture
def code(contract: Any) -> str:
    from licenses.services import activation_code_create

    _code, plain = activation_code_create(actor=None, contract=contract)
    return plain


@pytest.fixture
def activated(contract: Any, code: str) -> Any:
    """A deployment activated through the service; returns the PlatformAnswer."""
    from licenses.services import deployment_activate

    return deployment_activate(code=code, machine_id="machine-A", hostname="iot-1")
