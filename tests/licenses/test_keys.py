"""Signing keys: encrypted at rest, never shown; rotation keeps old licenses verifying and renewing;
the JWKS publishes a retired key until the last license it signed has expired."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from licenses import keys, selectors
from licenses.models import KeyAlgorithm, KeyState, License, SigningKey
from licenses.services import signing_key_create, signing_key_rotate
from tests.licenses.factories import activate, active_contract

pytestmark = pytest.mark.django_db


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_private_key_is_never_stored_or_shown_in_plaintext(rsa_key, admin_client):
    private_pem = keys.private_key_pem(keys.signing_key_object(rsa_key))
    assert b"PRIVATE KEY" in private_pem
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM licenses_signingkey")
        row_text = repr(cursor.fetchall())
    assert "PRIVATE KEY" not in row_text and private_pem[40:80].decode() not in row_text
    assert "PRIVATE" not in repr(rsa_key) and "PRIVATE" not in str(rsa_key)
    page = admin_client.get(f"/admin/licenses/signingkey/{rsa_key.pk}/change/").content.decode()
    assert "PUBLIC KEY" in page and "PRIVATE" not in page and "private_key" not in page
    listing = admin_client.get("/admin/licenses/signingkey/").content.decode()
    assert rsa_key.kid in listing and "PRIVATE" not in listing
    assert admin_client.get("/admin/licenses/signingkey/add/").status_code == 403


def test_wrong_encryption_key_fails_loudly_without_echoing_material(rsa_key, settings):
    keys.clear_cache()
    settings.LICENSE_KEY_ENCRYPTION_KEY = "bm90LXRoZS1yaWdodC1rZXktYXQtYWxsLTEyMzQ1Njc="
    with pytest.raises(RuntimeError, match="LICENSE_KEY_ENCRYPTION_KEY") as info:
        keys.signing_key_object(rsa_key)
    assert "PRIVATE" not in str(info.value)


def test_reencrypt_with_a_new_encryption_key(rsa_key, settings):
    from cryptography.fernet import Fernet

    old = settings.LICENSE_KEY_ENCRYPTION_KEY
    new = Fernet.generate_key().decode()
    settings.LICENSE_KEY_ENCRYPTION_KEY = f"{new},{old}"
    call_command("license_keys", "reencrypt")
    settings.LICENSE_KEY_ENCRYPTION_KEY = new
    keys.clear_cache()
    assert keys.signing_key_object(SigningKey.objects.get(pk=rsa_key.pk)) is not None


def test_first_key_is_created_lazily_when_issuing(db):
    assert not SigningKey.objects.exists()
    license = activate(active_contract()).license
    key = SigningKey.objects.get()
    assert key.state == KeyState.ACTIVE and key.algorithm == "RS256"
    assert _kid(license.token) == key.kid
    assert keys.signing_key_object(key).key_size == 3072


def test_rotation_old_licenses_verify_and_renew_new_ones_use_the_new_key(client):
    contract = active_contract(days_left=300)
    old_answer = activate(contract, machine_id="old-machine")
    old_key = SigningKey.objects.get()
    new_key = signing_key_rotate(actor=None)
    old_key.refresh_from_db()
    assert old_key.state == KeyState.RETIRED and old_key.retired_at is not None
    assert new_key.state == KeyState.ACTIVE and new_key.kid != old_key.kid

    # New licenses use the new key.
    new_answer = activate(contract, machine_id="new-machine")
    assert _kid(new_answer.license.token) == new_key.kid

    # The old license still verifies with the old public key and still checks in.
    old_token = old_answer.license.token
    assert jwt.decode(old_token, old_key.public_key_pem, algorithms=["RS256"])["machine_id"] == "old-machine"
    body = client.post(
        "/api/v1/platform/checkin",
        {"license": old_token, "machine_id": "old-machine"},
        content_type="application/json",
    ).json()
    assert body["status"] == "valid" and body["license"] == old_token

    # Both keys are published.
    kids = {k["kid"] for k in client.get("/api/v1/platform/keys").json()["keys"]}
    assert kids == {old_key.kid, new_key.kid}

    # At its refresh the old license renews onto the new key.
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        body = client.post(
            "/api/v1/platform/checkin",
            {"license": old_token, "machine_id": "old-machine"},
            content_type="application/json",
        ).json()
        assert _kid(body["license"]) == new_key.kid
        jwt.decode(body["license"], new_key.public_key_pem, algorithms=["RS256"])

    # The old key stays published until the last license it signed has expired, then drops out.
    last_exp = License.objects.filter(signing_key=old_key).latest("expires_at").expires_at
    assert old_key.kid in {k.kid for k in selectors.keys_publishable(now=last_exp - dt.timedelta(seconds=1))}
    assert old_key.kid not in {
        k.kid for k in selectors.keys_publishable(now=last_exp + dt.timedelta(seconds=1))
    }


def test_staged_next_key_is_published_before_it_signs(db):
    activate(active_contract())
    active = SigningKey.objects.get()
    staged = signing_key_create(actor=None, next_key=True)
    assert {k.kid for k in selectors.keys_publishable()} == {active.kid, staged.kid}
    assert _kid(activate(active_contract(), machine_id="m2").license.token) == active.kid
    rotated = signing_key_rotate(actor=None)
    assert rotated.pk == staged.pk and rotated.state == KeyState.ACTIVE
    assert _kid(activate(active_contract(), machine_id="m3").license.token) == staged.kid


def test_eddsa_key_for_newer_platforms(client):
    contract = active_contract()
    from licenses.services import deployment_register

    deployment, license = deployment_register(
        actor=None, contract=contract, machine_id="ed-machine", license_algorithm=KeyAlgorithm.EDDSA
    )
    header = jwt.get_unverified_header(license.token)
    assert header["alg"] == "EdDSA"
    key = SigningKey.objects.get(kid=header["kid"])
    assert jwt.decode(license.token, key.public_key_pem, algorithms=["EdDSA"])["sub"] == str(deployment.pk)
    jwk = next(k for k in client.get("/api/v1/platform/keys").json()["keys"] if k["kid"] == key.kid)
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
    body = client.post(
        "/api/v1/platform/checkin",
        {"license": license.token, "machine_id": "ed-machine"},
        content_type="application/json",
    ).json()
    assert body["status"] == "valid"
    # The RS256 verifier of old platforms refuses it rather than accepting anything.
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(license.token, key.public_key_pem, algorithms=["RS256"])


def test_commands_create_export_rotate(tmp_path, capsys, db):
    call_command("license_keys", "create", "--if-missing")
    call_command("license_keys", "create", "--if-missing")
    assert SigningKey.objects.count() == 1
    call_command("license_keys", "export")
    out = capsys.readouterr().out
    assert "BEGIN PUBLIC KEY" in out and "PRIVATE" not in out
    call_command("license_keys", "rotate")
    call_command("license_keys", "export", "--out", str(tmp_path))
    jwks = json.loads((tmp_path / "jwks.json").read_text())
    assert len(jwks["keys"]) == 1  # the retired key signed nothing, so it is no longer published
    active = SigningKey.objects.get(state=KeyState.ACTIVE)
    assert (tmp_path / "public_key.pem").read_text() == active.public_key_pem
    assert (tmp_path / f"{active.kid}.pem").exists()
    call_command("license_keys", "list")
    assert active.kid in capsys.readouterr().out
