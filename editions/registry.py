"""The registry token server's key material and token format (Docker Registry token authentication).

The private key is a PEM file named by REGISTRY_TOKEN_KEY_FILE (in DEBUG generated into var/ when
missing); it never touches the database. The registry trusts it through `auth.token.rootcertbundle` (a
self-signed certificate of the key, `certificate_pem()`), or `auth.token.jwks` on newer registries
(`jwks()`). Tokens carry the libtrust key ID as `kid`, which is how distribution 2.x looks the key up in
the certificate bundle; the JWKS uses the same `kid`, so one token verifies on old and new registries.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import RSAAlgorithm

RSA_KEY_BITS = 3072
ALGORITHM = "RS256"


# --- key material -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey = field(repr=False)
    kid: str

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()


_cache: dict[tuple[str, float], SigningKey] = {}
_lock = threading.Lock()


def is_configured() -> bool:
    return bool(settings.REGISTRY_TOKEN_KEY_FILE)


def libtrust_kid(public_key: Any) -> str:
    """libtrust's key ID: SHA-256 of the DER SubjectPublicKeyInfo, truncated to 240 bits, base32 without
    padding, in 12 groups of 4 joined by ':' (what distribution 2.x expects in `kid`)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def generate_key_file(path: Path) -> None:
    """Write a new RSA private key (PKCS#8 PEM, mode 0600), refusing to overwrite an existing file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def signing_key() -> SigningKey:
    """The registry signing key, loaded once per process (reloaded when the file changes)."""
    if not is_configured():
        raise ImproperlyConfigured("REGISTRY_TOKEN_KEY_FILE is not set; the registry token server is off.")
    path = Path(settings.REGISTRY_TOKEN_KEY_FILE)
    if not path.exists() and settings.DEBUG:
        with contextlib.suppress(FileExistsError):  # another process generated it first
            generate_key_file(path)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise ImproperlyConfigured(f"REGISTRY_TOKEN_KEY_FILE {path} cannot be read: {exc}") from None
    cached = _cache.get((str(path), mtime))
    if cached is not None:
        return cached
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured("REGISTRY_TOKEN_KEY_FILE must hold an RSA private key (RS256).")
    key = SigningKey(private_key=private_key, kid=libtrust_kid(private_key.public_key()))
    with _lock:
        _cache.clear()
        _cache[(str(path), mtime)] = key
    return key


def jwks() -> dict[str, Any]:
    key = signing_key()
    data = dict(RSAAlgorithm.to_jwk(key.public_key, as_dict=True))
    data.update({"kid": key.kid, "alg": ALGORITHM, "use": "sig"})
    return {"keys": [data]}


def certificate_pem() -> str:
    """A self-signed certificate of the signing key, for the registry's `rootcertbundle`. Deterministic
    (fixed validity, serial derived from the key; PKCS#1 v1.5 signatures are deterministic), so every
    process and every call serves the same bundle."""
    key = signing_key()
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, settings.REGISTRY_ISSUER[:64] or "registry-token")]
    )
    der = key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    serial = int.from_bytes(hashlib.sha256(der).digest()[:16], "big") | 1
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key)
        .serial_number(serial)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2099, 12, 31, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key.private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


# --- scopes -----------------------------------------------------------------------------------------

_TYPE_RE = re.compile(r"^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$")
MAX_SCOPES = 20


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: frozenset[str]


def parse_scopes(values: list[str]) -> list[Scope]:
    """`resourcetype[(class)]:resourcename:action[,action]`, space-separated and/or repeated. The name
    may itself contain ':' (a registry host with a port), so the type is the first field and the actions
    the last. Malformed scopes are dropped: they simply grant nothing."""
    scopes: list[Scope] = []
    for value in values:
        for item in value.split():
            if len(scopes) >= MAX_SCOPES:
                return scopes
            head, sep, rest = item.partition(":")
            name, sep2, actions = rest.rpartition(":")
            match = _TYPE_RE.match(head)
            if not (sep and sep2 and name and match and len(name) <= 255):
                continue
            wanted = frozenset(a for a in actions.split(",") if a)
            if wanted:
                scopes.append(Scope(type=match.group(1), name=name, actions=wanted))
    return scopes


# --- tokens -----------------------------------------------------------------------------------------


def sign_token(
    *, subject: str, audience: str, access: list[dict[str, Any]], now: dt.datetime
) -> tuple[str, int]:
    """A bearer token for the registry; returns (token, expires_in seconds)."""
    key = signing_key()
    ttl = max(60, int(settings.REGISTRY_TOKEN_TTL))
    issued = int(now.timestamp())
    claims = {
        "iss": settings.REGISTRY_ISSUER,
        "sub": subject,
        "aud": audience,  # a string: distribution 2.x decodes `aud` as a single string
        "exp": issued + ttl,
        "nbf": issued,
        "iat": issued,
        "jti": secrets.token_urlsafe(16),
        "access": access,
    }
    token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})
    return token, ttl
