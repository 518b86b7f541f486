"""Integration API authentication and scopes, over real HTTP (DESIGN §5b)."""

import pytest

from portal.core.models import ApiToken
from portal.core.services import api_token_revoke
from tests.conftest import bearer
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

NEW_ORG = {"name": "Scope Test Ltd.", "industry": "retail", "country": "CN"}


def test_anonymous_gets_401_with_json_reason(http):
    response = http.get("/api/v1/organizations")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_read_token_reads_but_cannot_write(http, read_token):
    assert http.get("/api/v1/organizations", headers=bearer(read_token)).status_code == 200
    response = http.post("/api/v1/organizations", json=NEW_ORG, headers=bearer(read_token))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_write_token_writes(http, write_token):
    response = http.post("/api/v1/organizations", json=NEW_ORG, headers=bearer(write_token))
    assert response.status_code == 201, response.text


def test_token_is_stored_hashed_and_records_use(http, write_token):
    token = ApiToken.objects.get()
    assert write_token not in (token.token_hash, token.token_prefix)
    assert token.token_hash == ApiToken.hash_secret(write_token)
    http.get("/api/v1/organizations", headers=bearer(write_token))
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_and_unknown_tokens_are_refused(http, write_token):
    api_token_revoke(token=ApiToken.objects.get())
    assert http.get("/api/v1/organizations", headers=bearer(write_token)).status_code == 401
    assert http.get("/api/v1/organizations", headers=bearer("bo_not-a-token")).status_code == 401


def test_customer_session_gets_403(http, live_server):
    member = MembershipFactory()
    http.cookies.update(_session_cookie(member.user))
    for path in ("/api/v1/organizations", "/api/v1/contracts"):
        response = http.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden"


def test_staff_session_may_read(http, staff_user):
    http.cookies.update(_session_cookie(staff_user))
    assert http.get("/api/v1/organizations").status_code == 200


def test_tokens_of_non_staff_users_are_refused(http):
    from portal.core.services import api_token_create

    member = MembershipFactory()
    _token, secret = api_token_create(user=member.user, name="sneaky", write=True)
    assert http.get("/api/v1/organizations", headers=bearer(secret)).status_code == 403


def test_create_api_token_command_prints_a_working_token(http, staff_user):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_token", staff_user.username, "--write", stdout=out, stderr=StringIO())
    secret = out.getvalue().strip()
    assert ApiToken.objects.get().scope == "write"
    assert http.post("/api/v1/organizations", json=NEW_ORG, headers=bearer(secret)).status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/organizations"),
        ("get", "/api/v1/licenses"),
        ("get", "/api/v1/invoices"),
        ("get", "/api/v1/licenses/1/key"),
        ("post", "/api/v1/organizations"),
    ],
)
def test_staff_session_without_two_factor_is_refused_where_admin_requires_it(
    http, staff_user, settings, method, path
):
    """Issue 20, finding 1: a password-only staff session reached staff data through the API."""
    settings.PORTAL_STAFF_MFA_REQUIRED = True
    cookies = _session_cookie(staff_user)
    http.cookies.update(cookies)
    headers = {}
    if method == "post":  # a valid CSRF pair, as the admin's pages would give the browser
        http.cookies.set("csrftoken", "c" * 32)
        headers = {"X-CSRFToken": "c" * 32}
    response = getattr(http, method)(
        path, **({"json": NEW_ORG, "headers": headers} if method == "post" else {})
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "mfa_required"


def test_staff_session_with_two_factor_and_tokens_are_unaffected(http, staff_user, write_token, settings):
    from tests.portal.portal_helpers import give_totp

    settings.PORTAL_STAFF_MFA_REQUIRED = True
    assert http.get("/api/v1/organizations", headers=bearer(write_token)).status_code == 200
    give_totp(staff_user)
    http.cookies.update(_session_cookie(staff_user))
    assert http.get("/api/v1/organizations").status_code == 200


def _session_cookie(user) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
