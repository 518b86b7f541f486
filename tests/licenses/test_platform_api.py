"""The platform API (DESIGN §5): check-in statuses, and a hostile-input suite that must always get
a 4xx JSON answer, never a 500."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import override_settings
from django.utils import timezone

from contracts.entitlements import end_of_grace, end_of_term
from contracts.models import ContractStatus
from licenses import tokens
from licenses.models import (
    Deployment,
    License,
    LicenseEvent,
    LicenseEventKind,
    LicenseState,
    SigningKey,
    UsageReport,
)
from licenses.services import (
    activation_code_create,
    activation_code_revoke,
    deployment_activate,
    license_revoke,
    licenses_expire_for_contract,
)
from tests.conftest import requires_postgres
from tests.licenses.factories import activate, active_contract

pytestmark = pytest.mark.django_db

CHECKIN = "/api/v1/platform/checkin"
ACTIVATE = "/api/v1/platform/activate"


def post(client: Any, path: str, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type=extra.pop("content_type", "application/json"), **extra)


def assert_error(response: Any, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if code:
        assert body["code"] == code, body
    return body


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# --- check-in statuses ---------------------------------------------------------------------------------


def test_checkin_valid_keeps_the_same_token_and_records_usage(client, activated):
    token = activated.license.token
    response = post(
        client, CHECKIN, {"license": token, "machine_id": "machine-A", "device_count": 10, "nonce": "abc"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "valid" and body["license"] == token and body["nonce"] == "abc"
    assert body["messages"] == []
    assert dt.datetime.fromisoformat(body["renew_after"]) == activated.license.renew_after
    report = UsageReport.objects.get()
    assert (report.device_count, report.status, report.source_ip) == (10, "valid", "127.0.0.1")
    deployment = Deployment.objects.get()
    assert deployment.last_device_count == 10 and deployment.peak_device_count == 10
    assert deployment.first_checkin_at is not None


def test_token_claims_and_lifetime_follow_design(activated, contract):
    license = activated.license
    claims = claims_of(license.token)
    assert set(claims) == {
        "iss", "sub", "jti", "iat", "exp", "customer", "edition", "features", "machine_id",
        "device_limit", "contract", "entitlement_end", "grace_days",
    }  # fmt: skip
    assert claims["sub"] == str(license.deployment_id) and claims["jti"] == str(license.pk)
    now = timezone.now().timestamp()
    assert now - 330 < claims["iat"] <= now - 290  # back-dated five minutes
    assert claims["exp"] == claims["iat"] + 30 * 86400  # online: iat + 30 days (the term runs longer)
    assert license.renew_after.timestamp() == claims["iat"] + 7 * 86400
    assert claims["grace_days"] == contract.effective_grace_days
    assert "aud" not in claims and "nbf" not in claims
    assert set(jwt.get_unverified_header(license.token)) == {"alg", "typ", "kid"}


def test_exp_is_contract_end_plus_grace_near_the_end_and_offline(db):
    contract = active_contract(days_left=5, grace_days=10)
    license = activate(contract).license
    assert license.expires_at == end_of_grace(contract.end_date, 10)

    from licenses.services import deployment_register

    _deployment, offline = deployment_register(
        actor=None, contract=active_contract(days_left=300), machine_id="air", offline=True
    )
    assert offline.expires_at == end_of_grace(offline.contract.end_date, offline.grace_days)


def test_over_limit_is_recorded_and_the_token_stays(client, db):
    contract = active_contract(edition_code="standard", device_limit=100)
    answer = activate(contract)
    response = post(
        client, CHECKIN, {"license": answer.license.token, "machine_id": "machine-A", "device_count": 150}
    )
    body = response.json()
    assert body["status"] == "over_limit" and body["license"] == answer.license.token
    assert [m["code"] for m in body["messages"]] == ["device_limit_exceeded"]
    post(client, CHECKIN, {"license": answer.license.token, "machine_id": "machine-A", "device_count": 90})
    deployment = Deployment.objects.get()
    assert deployment.peak_device_count == 150 and deployment.last_device_count == 90


def test_expiring_soon_message(client, db):
    answer = activate(active_contract(days_left=20))
    body = post(client, CHECKIN, {"license": answer.license.token, "machine_id": "machine-A"}).json()
    assert body["status"] == "valid"
    assert body["messages"][0]["code"] == "expiring_soon"


def test_token_refreshed_after_renew_after_not_before(client, activated):
    token = activated.license.token
    with time_machine.travel(timezone.now() + dt.timedelta(days=6)):
        assert post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}).json()["license"] == token
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        body = post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}).json()
    assert body["status"] == "valid" and body["license"] != token
    assert License.objects.get(pk=activated.license.pk).state == LicenseState.SUPERSEDED


def test_superseded_token_gets_the_current_one_back(client, activated):
    token = activated.license.token
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        fresh = post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}).json()["license"]
        # The response was lost; the platform presents its old token again.
        body = post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}).json()
    assert body["status"] == "renewed" and body["license"] == fresh
    assert License.objects.filter(state=LicenseState.ACTIVE).count() == 1


def test_changed_modules_or_limits_renew(client, activated, contract):
    token = activated.license.token
    contract.device_limit = 500
    contract.save()  # e.g. corrected in admin; bumps updated_at
    body = post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}).json()
    assert body["status"] == "renewed"
    assert claims_of(body["license"])["device_limit"] == 500


def test_expired_but_genuine_token_recovers_while_the_contract_runs(client, activated):
    token = activated.license.token
    with time_machine.travel(timezone.now() + dt.timedelta(days=40)):
        body = post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}).json()
    assert body["status"] == "valid" and body["license"] != token


def test_grace_then_grace_expired(client, db):
    contract = active_contract(days_left=3, grace_days=14)
    token = activate(contract).license.token
    in_grace = end_of_term(contract.end_date) + dt.timedelta(days=2)
    with time_machine.travel(in_grace):
        body = post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}).json()
        assert body["status"] == "grace"
        assert body["messages"][0]["code"] == "grace_period"
        assert claims_of(body["license"])["exp"] == int(end_of_grace(contract.end_date, 14).timestamp())
    with time_machine.travel(end_of_grace(contract.end_date, 14) + dt.timedelta(hours=1)):
        assert_error(
            post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}), 403, "grace_expired"
        )
    assert License.objects.filter(state=LicenseState.EXPIRED).count() == 1


def test_revoked_license_and_cancelled_contract_are_refused(client, db):
    answer = activate(active_contract())
    license_revoke(actor=None, license=answer.license, reason="fraud")
    assert_error(
        post(client, CHECKIN, {"license": answer.license.token, "machine_id": "machine-A"}),
        403,
        "license_revoked",
    )
    # Re-activating does not bring a revoked license back.
    code = answer.deployment.activation_code
    from licenses.services import activation_code_reveal

    assert_error(
        post(client, ACTIVATE, {"activation_code": activation_code_reveal(code), "machine_id": "machine-A"}),
        403,
        "license_revoked",
    )

    other = activate(active_contract(), machine_id="machine-B")
    from contracts.services import contract_cancel

    contract_cancel(actor=None, contract=other.license.contract, reason="unpaid")
    assert_error(
        post(client, CHECKIN, {"license": other.license.token, "machine_id": "machine-B"}),
        403,
        "license_revoked",
    )
    assert LicenseEvent.objects.filter(kind=LicenseEventKind.CHECKIN_REJECTED).count() == 2


def test_licenses_expire_for_contract(db):
    contract = active_contract(days_left=2, grace_days=3)
    answer = activate(contract)
    from contracts.services import contract_expire

    with time_machine.travel(end_of_term(contract.end_date) + dt.timedelta(days=1)):
        contract_expire(actor=None, contract=contract)
        assert licenses_expire_for_contract(actor=None, contract=contract) == 0  # grace runs
    with time_machine.travel(end_of_grace(contract.end_date, 3) + dt.timedelta(minutes=1)):
        assert licenses_expire_for_contract(actor=None, contract=contract) == 1
        assert licenses_expire_for_contract(actor=None, contract=contract) == 0
    answer.license.refresh_from_db()
    assert answer.license.state == LicenseState.EXPIRED


# --- activation -----------------------------------------------------------------------------------------


def test_activation_errors(client, contract):
    code, plain = activation_code_create(actor=None, contract=contract, max_deployments=1)
    assert_error(
        post(client, ACTIVATE, {"activation_code": "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", "machine_id": "x"}),
        404,
        "activation_code_invalid",
    )
    assert_error(
        post(client, ACTIVATE, {"activation_code": "nonsense", "machine_id": "x"}),
        404,
        "activation_code_invalid",
    )
    assert post(client, ACTIVATE, {"activation_code": plain, "machine_id": "m1"}).status_code == 201
    assert_error(
        post(client, ACTIVATE, {"activation_code": plain, "machine_id": "m2"}),
        409,
        "activation_code_exhausted",
    )
    activation_code_revoke(actor=None, code=code, reason="leaked")
    assert_error(
        post(client, ACTIVATE, {"activation_code": plain, "machine_id": "m3"}), 404, "activation_code_invalid"
    )

    draft = active_contract(status=ContractStatus.DRAFT)
    _c, draft_code = activation_code_create(actor=None, contract=draft)
    assert_error(
        post(client, ACTIVATE, {"activation_code": draft_code, "machine_id": "m4"}), 410, "contract_inactive"
    )


def test_activation_follows_the_renewal_chain(db):
    from contracts.services import contract_activate, contract_expire, contract_renew

    contract = active_contract(days_left=10)
    _code, plain = activation_code_create(actor=None, contract=contract)
    renewal = contract_renew(actor=None, contract=contract)
    with time_machine.travel(end_of_term(contract.end_date) + dt.timedelta(hours=2)):
        contract_expire(actor=None, contract=contract)
        contract_activate(actor=None, contract=renewal)
        answer = deployment_activate(code=plain, machine_id="late-machine")
    assert answer.license.contract_id == renewal.pk


# --- hostile input: always 4xx JSON ----------------------------------------------------------------------


@pytest.fixture
def genuine(activated) -> dict:
    token = activated.license.token
    header_b64, _payload_b64, signature_b64 = token.split(".")
    return {
        "token": token,
        "header": json.loads(base64.urlsafe_b64decode(header_b64 + "==")),
        "claims": claims_of(token),
        "signature": signature_b64,
        "key": SigningKey.objects.get(kid=jwt.get_unverified_header(token)["kid"]),
    }


def _forge(header: dict, claims: dict, signer: Any = None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = signer(signing_input.encode()) if signer else b""
    return f"{signing_input}.{b64(signature)}"


def test_alg_none_is_refused(client, genuine):
    token = _forge({**genuine["header"], "alg": "none"}, genuine["claims"])
    assert_error(post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}), 401, "token_invalid")


def test_hs256_keyed_with_the_public_key_is_refused(client, genuine):
    secret = genuine["key"].public_key_pem.encode()
    token = _forge(
        {**genuine["header"], "alg": "HS256"},
        {**genuine["claims"], "features": ["core", "everything"]},
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    assert_error(post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}), 401, "token_invalid")


def test_unknown_kid_and_foreign_key_are_refused(client, genuine):
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unknown = jwt.encode(
        genuine["claims"], attacker, algorithm="RS256", headers={"kid": "rs-20990101-deadbeef"}
    )
    assert_error(post(client, CHECKIN, {"license": unknown, "machine_id": "machine-A"}), 401, "token_invalid")
    known_kid = jwt.encode(
        genuine["claims"], attacker, algorithm="RS256", headers={"kid": genuine["key"].kid}
    )
    assert_error(
        post(client, CHECKIN, {"license": known_kid, "machine_id": "machine-A"}), 401, "token_invalid"
    )


def test_tampered_payload_is_refused(client, genuine):
    header_b64, _payload, signature = genuine["token"].split(".")
    tampered = {**genuine["claims"], "device_limit": None, "features": ["core", "sso", "ha", "finance"]}
    token = f"{header_b64}.{b64(json.dumps(tampered).encode())}.{signature}"
    assert_error(post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}), 401, "token_invalid")


def test_genuine_signature_with_unknown_jti_is_refused(client, genuine):
    token = tokens.sign({**genuine["claims"], "jti": "999999999"}, genuine["key"])
    assert_error(post(client, CHECKIN, {"license": token, "machine_id": "machine-A"}), 401, "token_invalid")


def test_wrong_machine_is_refused_and_recorded(client, genuine):
    assert_error(
        post(client, CHECKIN, {"license": genuine["token"], "machine_id": "clone"}), 403, "machine_mismatch"
    )
    event = LicenseEvent.objects.get(kind=LicenseEventKind.CHECKIN_REJECTED)
    assert event.reason == "machine_mismatch" and event.source_ip == "127.0.0.1"
    assert UsageReport.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"machine_id": "machine-A"},
        {"license": "x.y.z"},
        {"license": 123, "machine_id": "machine-A"},
        {"license": ["a"], "machine_id": "machine-A"},
        {"license": "TOKEN", "machine_id": 42},
        {"license": "TOKEN", "machine_id": "machine-A", "device_count": "many"},
        {"license": "TOKEN", "machine_id": "machine-A", "device_count": -1},
        {"license": "TOKEN", "machine_id": "machine-A", "device_count": 1.5},
        {"license": "TOKEN", "machine_id": "machine-A", "device_count": True},
        {"license": "TOKEN", "machine_id": "machine-A", "nonce": {"a": 1}},
        {"license": "TOKEN", "machine_id": "m" * 500},
        {"license": "TOKEN", "machine_id": ""},
        {"license": None, "machine_id": None},
        [],
        "just a string",
        123,
        None,
    ],
)
def test_malformed_checkin_bodies_get_422(client, genuine, body):
    if isinstance(body, dict) and body.get("license") == "TOKEN":
        body = {**body, "license": genuine["token"]}
    response = post(client, CHECKIN, json.dumps(body))
    assert 400 <= response.status_code < 500, response.content
    assert_error(response, response.status_code, "invalid_input")


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ("license=abc&machine_id=x", "application/x-www-form-urlencoded"),
        ("\xff\xfe garbage", "application/json"),
        ('{"license": "a.b.c", "machine_id": "x"', "text/plain"),
    ],
)
def test_non_json_bodies_get_4xx_json(client, db, raw, content_type):
    response = client.post(CHECKIN, data=raw, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content
    assert_error(response, response.status_code)


@pytest.mark.parametrize(
    "token",
    ["", "a", "a.b", "a.b.c", "....", "x" * 9000, "eyJhbGciOiJSUzI1NiJ9.e30.", "e30.e30.e30", "😀.😀.😀"],
)
def test_garbage_tokens_are_401_or_422(client, db, token):
    response = post(client, CHECKIN, {"license": token, "machine_id": "machine-A"})
    assert response.status_code in {401, 422}, response.content
    assert_error(response, response.status_code)


def test_oversized_body_is_413_over_real_http(http, db):
    body = json.dumps({"license": "a.b.c", "machine_id": "m", "pad": "x" * 100_000})
    response = http.post(CHECKIN, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    huge = http.post(ACTIVATE, content="x" * 3_000_000, headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"


def test_wrong_methods_and_types_on_activate(client, db):
    assert_error(post(client, ACTIVATE, {"activation_code": 12345, "machine_id": "m"}), 422, "invalid_input")
    assert_error(
        post(client, ACTIVATE, {"activation_code": "A" * 25, "machine_id": "m", "environment": "moon"}),
        422,
        "invalid_input",
    )
    response = client.get(ACTIVATE)
    assert response.status_code == 405


@override_settings(LICENSE_RATE_LIMIT_ADDRESS="3/m")
def test_rate_limited_per_address_with_retry_after(client, activated):
    body = {"license": activated.license.token, "machine_id": "machine-A"}
    for _ in range(3):
        assert post(client, CHECKIN, body).status_code == 200
    response = post(client, CHECKIN, body)
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


@override_settings(LICENSE_RATE_LIMIT_DEPLOYMENT="2/h")
def test_rate_limited_per_deployment(client, activated):
    body = {"license": activated.license.token, "machine_id": "machine-A"}
    assert post(client, CHECKIN, body).status_code == 200
    assert post(client, CHECKIN, body).status_code == 200
    response = post(client, CHECKIN, body)
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) <= 3600


@override_settings(LICENSE_RATE_LIMIT_ACTIVATE="2/m")
def test_activation_guessing_is_rate_limited(client, db):
    for _ in range(2):
        assert post(client, ACTIVATE, {"activation_code": "nope", "machine_id": "m"}).status_code == 404
    assert_error(post(client, ACTIVATE, {"activation_code": "nope", "machine_id": "m"}), 429, "rate_limited")


def test_jwks_is_cacheable_and_public_only(client, activated):
    response = client.get("/api/v1/platform/keys")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=3600"
    (key,) = response.json()["keys"]
    assert key["kid"] == jwt.get_unverified_header(activated.license.token)["kid"]
    assert key["alg"] == "RS256" and key["kty"] == "RSA" and key["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    public = jwt.PyJWK(key).key
    assert jwt.decode(activated.license.token, public, algorithms=["RS256"])["machine_id"] == "machine-A"


def test_ping(client, db):
    response = client.get("/api/v1/platform/ping")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_openapi_documents_the_platform_paths(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/platform/activate", "/api/v1/platform/checkin", "/api/v1/platform/keys"):
        assert path in paths


def test_errors_and_messages_speak_chinese_when_asked(client, db):
    response = post(
        client,
        ACTIVATE,
        {"activation_code": "nope", "machine_id": "m"},
        headers={"Accept-Language": "zh-hans"},
    )
    assert response.json()["detail"] == "该激活码不存在或已被吊销。"
    answer = activate(active_contract(days_left=10))
    body = post(
        client,
        CHECKIN,
        {"license": answer.license.token, "machine_id": "machine-A"},
        headers={"Accept-Language": "zh-hans"},
    ).json()
    assert "合同将于" in body["messages"][0]["detail"]


@requires_postgres
@pytest.mark.parametrize("prepared", [True, False])
def test_a_plain_checkin_is_one_statement(activated, django_assert_num_queries, settings, prepared):
    from licenses.services import license_checkin

    settings.LICENSE_CHECKIN_PREPARED = prepared
    token = activated.license.token
    assert license_checkin(token=token, machine_id="machine-A").status == "valid"  # fills the memo
    with django_assert_num_queries(1):
        answer = license_checkin(token=token, machine_id="machine-A", device_count=3, platform_version="3.3")
    assert answer.status == "valid" and answer.license.token == token
    deployment = Deployment.objects.get()
    assert (deployment.last_device_count, deployment.platform_version) == (3, "3.3")
    assert UsageReport.objects.count() == 2
