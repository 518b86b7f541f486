"""The registry token server (Docker Registry token authentication spec) and the portal pages where
customers manage their registry credentials."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.urls import reverse
from jwt.algorithms import RSAAlgorithm

from editions import registry
from editions.models import RegistryCredential
from editions.services import registry_credential_create
from tests.editions.factories import image_artifact, member

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/registry/token"
KID_RE = re.compile(r"^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$")


def basic(username: str, secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


@pytest.fixture
def images():
    return {
        "enterprise": image_artifact(repository="iot/enterprise", editions=["enterprise", "source"]),
        "standard": image_artifact(repository="iot/standard", editions=["standard"]),
        "community": image_artifact(repository="iot/community", editions=["community"]),
    }


@pytest.fixture
def enterprise_credential(images):
    user = member()
    credential, secret = registry_credential_create(actor=user, organization=user.organization, name="prod")
    return credential, secret


def token_claims(
    client, *, scopes: list[str], auth: dict[str, str] | None = None, service: str = "registry.test"
):
    response = client.get(TOKEN_URL, {"service": service, "scope": scopes}, **(auth or {}))
    assert response.status_code == 200, response.content
    data = response.json()
    claims = jwt.decode(
        data["token"],
        public_key_from_file(),
        algorithms=["RS256"],
        audience=service,
        issuer="backoffice-test",
    )
    return data, claims


def public_key_from_file():
    """The public half of the key file in settings, read independently of the code under test."""
    from django.conf import settings

    with open(settings.REGISTRY_TOKEN_KEY_FILE, "rb") as fh:
        return serialization.load_pem_private_key(fh.read(), password=None).public_key()


def test_grant_is_the_intersection_of_request_and_entitlement(client, enterprise_credential):
    credential, secret = enterprise_credential
    data, claims = token_claims(
        client,
        scopes=[
            "repository:iot/enterprise:pull,push",
            "repository:iot/standard:pull repository:iot/community:pull",
            "registry:catalog:*",
            "repository:iot/enterprise:delete",
        ],
        auth=basic(credential.username, secret),
    )
    assert claims["access"] == [
        {"type": "repository", "name": "iot/enterprise", "actions": ["pull"]},
        {"type": "repository", "name": "iot/community", "actions": ["pull"]},
    ]
    assert data["token"] == data["access_token"]


def test_token_claims_follow_the_spec(client, enterprise_credential):
    credential, secret = enterprise_credential
    data, claims = token_claims(
        client, scopes=["repository:iot/enterprise:pull"], auth=basic(credential.username, secret)
    )
    header = jwt.get_unverified_header(data["token"])

    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    assert KID_RE.match(header["kid"])
    assert header["kid"] == registry.signing_key().kid
    assert claims["iss"] == "backoffice-test"
    assert claims["sub"] == credential.username
    assert claims["aud"] == "registry.test"
    assert claims["exp"] - claims["iat"] == data["expires_in"] == 300
    assert claims["nbf"] <= claims["iat"]
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    issued_at = dt.datetime.fromisoformat(data["issued_at"].replace("Z", "+00:00"))
    assert abs(issued_at.timestamp() - claims["iat"]) <= 1


def test_kid_is_the_libtrust_key_id():
    """SHA-256 of the DER public key, first 240 bits, base32, groups of four (libtrust's KeyID)."""
    public = registry.signing_key().public_key
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    assert len(b32) == 48 and "=" not in b32
    assert registry.libtrust_kid(public) == ":".join(b32[i : i + 4] for i in range(0, 48, 4))


def test_customers_never_get_push_even_when_listed(client, settings, enterprise_credential):
    credential, secret = enterprise_credential
    settings.REGISTRY_PUSH_USERS = [credential.username]
    _data, claims = token_claims(
        client, scopes=["repository:iot/enterprise:push,pull"], auth=basic(credential.username, secret)
    )
    assert claims["access"] == [{"type": "repository", "name": "iot/enterprise", "actions": ["pull"]}]


def test_service_accounts_push_only_when_configured(client, settings, images):
    _credential, secret = registry_credential_create(
        actor=None, organization=None, name="CI", username="ci-publisher"
    )
    scope = ["repository:iot/enterprise:pull,push"]
    _d, claims = token_claims(client, scopes=scope, auth=basic("ci-publisher", secret))
    assert claims["access"] == [{"type": "repository", "name": "iot/enterprise", "actions": ["pull"]}]
    settings.REGISTRY_PUSH_USERS = ["ci-publisher"]
    _d, claims = token_claims(
        client, scopes=[*scope, "registry:catalog:*"], auth=basic("ci-publisher", secret)
    )
    assert claims["access"] == [{"type": "repository", "name": "iot/enterprise", "actions": ["pull", "push"]}]


def test_other_organizations_get_an_empty_grant(client, images):
    user = member(edition_code="standard")
    credential, secret = registry_credential_create(actor=user, organization=user.organization, name="ci")
    _d, claims = token_claims(
        client, scopes=["repository:iot/enterprise:pull"], auth=basic(credential.username, secret)
    )
    assert claims["access"] == []
    _d, claims = token_claims(
        client, scopes=["repository:iot/standard:pull"], auth=basic(credential.username, secret)
    )
    assert claims["access"] == [{"type": "repository", "name": "iot/standard", "actions": ["pull"]}]


def test_anonymous_callers_get_public_images_only(client, images):
    _d, claims = token_claims(
        client, scopes=["repository:iot/community:pull", "repository:iot/enterprise:pull"]
    )
    assert claims["sub"] == ""
    assert claims["access"] == [{"type": "repository", "name": "iot/community", "actions": ["pull"]}]


@pytest.mark.parametrize(
    "auth",
    [
        "wrong-secret",
        "unknown-user",
        "revoked",
        "garbage-header",
        "bearer",
    ],
)
def test_bad_credentials_are_401(client, enterprise_credential, auth):
    credential, secret = enterprise_credential
    headers = {
        "wrong-secret": basic(credential.username, secret + "x"),
        "unknown-user": basic("o999-deadbeef", secret),
        "revoked": basic(credential.username, secret),
        "garbage-header": {"HTTP_AUTHORIZATION": "Basic !!!not-base64"},
        "bearer": {"HTTP_AUTHORIZATION": "Bearer abc"},
    }[auth]
    if auth == "revoked":
        from editions.services import registry_credential_revoke

        registry_credential_revoke(actor=None, credential=credential)
    response = client.get(
        TOKEN_URL, {"service": "registry.test", "scope": "repository:iot/enterprise:pull"}, **headers
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_unknown_service_is_refused(client, enterprise_credential):
    credential, secret = enterprise_credential
    response = client.get(
        TOKEN_URL,
        {"service": "elsewhere", "scope": "repository:iot/enterprise:pull"},
        **basic(credential.username, secret),
    )
    assert response.status_code == 400


def test_last_use_is_recorded(client, enterprise_credential):
    credential, secret = enterprise_credential
    token_claims(client, scopes=[], auth=basic(credential.username, secret))
    credential.refresh_from_db()
    assert credential.last_used_at is not None and credential.last_used_ip == "127.0.0.1"


def test_jwks_and_certificate_carry_the_signing_key(client):
    key = registry.signing_key()
    jwks = client.get("/api/v1/registry/jwks").json()
    assert jwks["keys"][0]["kid"] == key.kid and jwks["keys"][0]["alg"] == "RS256"
    assert RSAAlgorithm.from_jwk(jwks["keys"][0]).public_numbers() == key.public_key.public_numbers()
    pem = client.get("/api/v1/registry/cert.pem").content
    certificate = x509.load_pem_x509_certificate(pem)
    assert certificate.public_key().public_numbers() == key.public_key.public_numbers()
    assert client.get("/api/v1/registry/cert.pem").content == pem  # deterministic


def test_registry_is_off_without_a_key(client, settings):
    settings.REGISTRY_TOKEN_KEY_FILE = ""
    assert client.get(TOKEN_URL, {"service": "registry.test"}).status_code == 503


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("repository:iot/enterprise:pull", [("repository", "iot/enterprise", {"pull"})]),
        (
            "repository:localhost:5000/iot/x:pull,push",
            [("repository", "localhost:5000/iot/x", {"pull", "push"})],
        ),
        ("repository(plugin):iot/p:pull", [("repository", "iot/p", {"pull"})]),
        ("nonsense", []),
        ("repository::pull", []),
        ("repository:iot/x:", []),
    ],
)
def test_scope_grammar(raw, expected):
    assert [(s.type, s.name, set(s.actions)) for s in registry.parse_scopes([raw])] == expected


# --- portal pages ------------------------------------------------------------------------------------


def test_customer_creates_a_credential_and_sees_the_secret_once(client, images):
    user = member()
    client.force_login(user)

    response = client.post(
        reverse("downloads:registry"), {"name": "production cluster", "org": user.organization.pk}
    )

    assert response.status_code == 201
    credential = RegistryCredential.objects.get()
    created_username, secret = response.context["created"][0].username, response.context["created"][1]
    assert credential.username == created_username and credential.organization == user.organization
    assert secret in response.content.decode()
    assert credential.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in credential.secret_hash
    listing = client.get(reverse("downloads:registry")).content.decode()
    assert credential.username in listing and secret not in listing
    assert "iot/enterprise" in listing


def test_customer_revokes_a_credential_and_others_cannot(client, images):
    user = member()
    credential, secret = registry_credential_create(actor=user, organization=user.organization, name="old")
    outsider = member()
    client.force_login(outsider)
    assert client.post(reverse("downloads:registry_revoke", args=[credential.pk])).status_code == 404

    client.force_login(user)
    response = client.post(
        reverse("downloads:registry_revoke", args=[credential.pk]), {"org": user.organization.pk}
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.revoked_at is not None and credential.revoked_by == user
    token = client.get(TOKEN_URL, {"service": "registry.test"}, **basic(credential.username, secret))
    assert token.status_code == 401


def test_billing_members_cannot_see_or_create_credentials(client, images):
    user = member(role="billing")
    client.force_login(user)
    assert client.get(reverse("downloads:registry")).status_code == 404
    assert client.post(reverse("downloads:registry"), {"name": "x"}).status_code == 404
    assert not RegistryCredential.objects.exists()


def test_staff_create_a_service_account_in_admin(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:editions_registrycredential_add"),
        {"name": "CI publisher", "username": "ci-publisher"},
        follow=True,
    )
    assert response.status_code == 200
    credential = RegistryCredential.objects.get()
    assert credential.username == "ci-publisher" and credential.organization is None
    shown = [str(m) for m in response.context["messages"]]
    assert any("rgs_" in m for m in shown)


def test_development_generates_the_key_and_production_requires_it(settings, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from editions.checks import registry_token_key_check

    path = tmp_path / "var" / "registry-token-key.pem"
    settings.REGISTRY_TOKEN_KEY_FILE = str(path)
    settings.DEBUG = False
    assert [e.id for e in registry_token_key_check()] == ["editions.E001"]
    with pytest.raises(ImproperlyConfigured):
        registry.signing_key()

    settings.DEBUG = True
    key = registry.signing_key()
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert key.public_key.key_size == 3072 and KID_RE.match(key.kid)
    settings.DEBUG = False
    assert registry_token_key_check() == []


def test_management_command_prints_what_the_registry_needs():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("registry_token_key", stdout=out)
    assert out.getvalue().startswith("-----BEGIN CERTIFICATE-----")
    out = StringIO()
    call_command("registry_token_key", "--jwks", stdout=out)
    assert registry.signing_key().kid in out.getvalue()
    out = StringIO()
    call_command("registry_token_key", "--config", stdout=out)
    assert "service: registry.test" in out.getvalue() and "issuer: backoffice-test" in out.getvalue()
