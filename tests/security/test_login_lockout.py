"""The login lockout (issue 20, finding 6): failed logins are limited per account *and* address, with
a higher ceiling per address; a refused attempt is a 429 page in the user's language; nobody can keep
an account's owner out from their own address, and one person's typos behind a shared address do not
lock out their colleagues. Rate limits are on here (tests run with ACCOUNT_RATE_LIMITS = False)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings as project_settings
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
OFFICE = "203.0.113.10"  # one NAT address for a whole office
HOME = "198.51.100.7"
ELSEWHERE = "192.0.2.99"


@pytest.fixture(autouse=True)
def production_limits(settings: Any) -> None:
    """The project's limits (portal/settings.py), which the test settings switch off."""
    from portal import settings as project

    settings.ACCOUNT_RATE_LIMITS = project.ACCOUNT_RATE_LIMITS
    cache.clear()
    yield
    cache.clear()


def verified_user(**fields: Any) -> Any:
    user = UserFactory(**fields)
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def attempt(address: str, email: str, password: str = PASSWORD, language: str = "en") -> Any:
    """One login POST from `address`, in a fresh browser (its own cookies)."""
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[project_settings.LANGUAGE_COOKIE_NAME] = language
    return client.post(reverse("account_login"), {"login": email, "password": password})


def logged_in(response: Any) -> bool:
    return response.status_code == 302 and response.url != reverse("account_login")


def test_five_wrong_passwords_lock_the_account_at_that_address_with_a_429_page():
    alice = verified_user(email="alice@acme.example")
    for _ in range(5):
        response = attempt(HOME, alice.email, "wrong-password")
        assert (
            response.status_code == 200
            and "password you specified are not correct" in response.content.decode()
        )
    refused = attempt(HOME, alice.email, "wrong-password")
    assert refused.status_code == 429  # was 200 with a form error
    body = refused.content.decode()
    assert "Too many attempts" in body and reverse("account_reset_password") in body
    assert "Content-Security-Policy" in refused.headers
    # at that address the lock holds for the right password too: it is what stops the guessing there
    assert attempt(HOME, alice.email).status_code == 429


def test_the_429_page_is_translated():
    alice = verified_user(email="alice@acme.example")
    for _ in range(5):
        attempt(HOME, alice.email, "wrong-password", language="zh-hans")
    refused = attempt(HOME, alice.email, "wrong-password", language="zh-hans")
    assert refused.status_code == 429
    body = refused.content.decode()
    assert '<html lang="zh-hans">' in body
    assert "尝试次数过多" in body and "Too many attempts" not in body


def test_an_attacker_cannot_keep_the_owner_out_from_the_owners_own_address():
    """Was: five wrong passwords from anywhere refused the right one from everywhere."""
    alice = verified_user(email="alice@acme.example")
    for address in (ELSEWHERE, "192.0.2.100", "192.0.2.101"):
        for _ in range(6):
            attempt(address, alice.email, "wrong-password")
    assert attempt(ELSEWHERE, alice.email).status_code == 429
    assert logged_in(attempt(HOME, alice.email))


def test_one_persons_typos_do_not_lock_out_their_colleagues_behind_the_same_nat():
    """Was: ten failures from an address in a minute locked every account behind it."""
    alice, bob, carol = (verified_user(email=f"{n}@acme.example") for n in ("alice", "bob", "carol"))
    for _ in range(12):
        attempt(OFFICE, alice.email, "wrong-password")
    assert attempt(OFFICE, alice.email).status_code == 429
    assert logged_in(attempt(OFFICE, bob.email))
    for _ in range(4):
        attempt(OFFICE, carol.email, "typo")
    assert logged_in(attempt(OFFICE, carol.email))


def test_many_accounts_guessed_from_one_address_hit_the_address_ceiling():
    victims = [verified_user(email=f"user{i}@example.cn") for i in range(8)]
    ceiling = int(re.search(r"(\d+)/\w+/ip", project_settings.ACCOUNT_RATE_LIMITS["login_failed"]).group(1))
    failures = 0
    while failures < ceiling:
        for victim in victims:
            if failures < ceiling:
                assert attempt(ELSEWHERE, victim.email, f"guess-{failures}").status_code == 200
                failures += 1
    fresh = verified_user(email="fresh@example.cn")
    assert attempt(ELSEWHERE, fresh.email, "guess").status_code == 429
    assert logged_in(attempt(HOME, fresh.email))  # the ceiling is the address's, not the accounts'


def test_the_lock_ends_with_its_window():
    alice = verified_user(email="alice@acme.example")
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False) as clock:
        for _ in range(6):
            attempt(HOME, alice.email, "wrong-password")
        assert attempt(HOME, alice.email).status_code == 429
        clock.shift(14 * 60)
        assert attempt(HOME, alice.email).status_code == 429
        clock.shift(2 * 60)
        assert logged_in(attempt(HOME, alice.email))


def test_a_password_reset_lifts_the_lock_at_the_address_it_came_from(django_capture_on_commit_callbacks):
    alice = verified_user(email="alice@acme.example")
    for _ in range(6):
        attempt(HOME, alice.email, "wrong-password")
    assert attempt(HOME, alice.email).status_code == 429

    browser = Client(REMOTE_ADDR=HOME)
    with django_capture_on_commit_callbacks(execute=True):  # the mail is an outbox job
        browser.post(reverse("account_reset_password"), {"email": alice.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    form = browser.get(link, follow=True)
    new_password = "Fresh-Tea-In-Hangzhou-7"
    done = browser.post(form.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    assert done.status_code == 302
    assert logged_in(attempt(HOME, alice.email, new_password))


def test_a_successful_login_does_not_erase_the_failures_before_it():
    """allauth rolls back only the successful attempt, so a guesser cannot interleave own logins."""
    alice = verified_user(email="alice@acme.example")
    for _ in range(4):
        attempt(HOME, alice.email, "wrong-password")
    assert logged_in(attempt(HOME, alice.email))
    attempt(HOME, alice.email, "wrong-password")
    assert attempt(HOME, alice.email).status_code == 429
