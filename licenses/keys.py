"""Key material: generation, encryption at rest, JWK export and a per-process cache of loaded keys.

Loading a PEM and decrypting a Fernet token costs far more than verifying a signature, so each
process keeps the key objects it has used, by `kid`. Keys are never deleted (licenses protect them)
and their material never changes, so the cache needs no invalidation; only the key's *state* can
change, and the check-in path does not depend on it (a retired key still verifies).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.conf import settings
from django.utils import timezone
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from licenses.models import KeyAlgorithm, SigningKey

RSA_KEY_BITS = 3072


def fernet() -> MultiFernet:
    """LICENSE_KEY_ENCRYPTION_KEY may list several keys, comma-separated: the first encrypts, all
    decrypt (so the at-rest key can be rotated with `license_keys reencrypt`)."""
    raw = settings.LICENSE_KEY_ENCRYPTION_KEY
    keys = [k.strip() for k in str(raw).split(",") if k.strip()]
    if not keys:
        raise RuntimeError("LICENSE_KEY_ENCRYPTION_KEY is empty")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(data: bytes) -> bytes:
    return fernet().encrypt(data)


def decrypt(token: bytes | memoryview) -> bytes:
    try:
        return fernet().decrypt(bytes(token))
    except InvalidToken:
        # Say which setting is wrong without echoing any material.
        raise RuntimeError(
            "Cannot decrypt license key material: LICENSE_KEY_ENCRYPTION_KEY does not match the key "
            "it was encrypted with."
        ) from None


def new_private_key(algorithm: str) -> Any:
    if algorithm == KeyAlgorithm.RS256:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    if algorithm == KeyAlgorithm.EDDSA:
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported algorithm {algorithm!r}")


def new_kid(algorithm: str) -> str:
    prefix = "rs" if algorithm == KeyAlgorithm.RS256 else "ed"
    return f"{prefix}-{timezone.now():%Y%m%d}-{secrets.token_hex(4)}"


def private_key_pem(private_key: Any) -> bytes:
    return private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_key_pem(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(
            encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def jwk(key: SigningKey) -> dict[str, Any]:
    """The public JWK of a key, with kid/alg/use so a verifier can pin the algorithm."""
    public = loaded(key).public_key
    if key.algorithm == KeyAlgorithm.RS256:
        data = dict(RSAAlgorithm.to_jwk(public, as_dict=True))
    else:
        data = dict(OKPAlgorithm.to_jwk(public, as_dict=True))
    data.update({"kid": key.kid, "alg": key.algorithm, "use": "sig"})
    return data


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    algorithm: str
    public_key: Any

    def __repr__(self) -> str:
        return f"<LoadedKey {self.kid} {self.algorithm}>"


_public_cache: dict[str, LoadedKey] = {}
_private_cache: dict[str, Any] = {}
_lock = threading.Lock()


def loaded(key: SigningKey) -> LoadedKey:
    cached = _public_cache.get(key.kid)
    if cached is None:
        cached = LoadedKey(
            kid=key.kid,
            algorithm=key.algorithm,
            public_key=serialization.load_pem_public_key(key.public_key_pem.encode()),
        )
        with _lock:
            _public_cache[key.kid] = cached
    return cached


def verifying_key(kid: str) -> LoadedKey | None:
    """The public key named by a token's `kid`, from this process's cache or the database."""
    if not isinstance(kid, str) or not kid or len(kid) > 40:
        return None
    cached = _public_cache.get(kid)
    if cached is not None:
        return cached
    key = SigningKey.objects.filter(kid=kid).only("kid", "algorithm", "public_key_pem").first()
    return loaded(key) if key is not None else None


def signing_key_object(key: SigningKey) -> Any:
    """The decrypted private key object, kept in memory of this process only."""
    cached = _private_cache.get(key.kid)
    if cached is None:
        if not key.private_key_encrypted:
            key = SigningKey.objects.get(pk=key.pk)
        cached = serialization.load_pem_private_key(decrypt(key.private_key_encrypted), password=None)
        with _lock:
            _private_cache[key.kid] = cached
    return cached


def clear_cache() -> None:
    with _lock:
        _public_cache.clear()
        _private_cache.clear()
