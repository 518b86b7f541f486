"""The login lockout policy (issue 20, finding 6), on allauth's rate limits (ACCOUNT_RATE_LIMITS):

- failed logins are counted per account *and* address ("key" = e-mail + client address): five wrong
  passwords for an account from one address lock that account at that address only, for the window;
- a higher ceiling per address over all accounts (many accounts guessed from one place), high enough
  that one person's typos behind a shared NAT or office proxy do not lock out their colleagues;
- no lock of an account over all addresses: anyone who knows an e-mail address could otherwise keep its
  owner out from everywhere. The owner's correct password from their own address always works.
- a refused attempt answers 429 with a translated page (templates/429.html), not a form error.

docs/SECURITY.md has the figures and the trade-off. Behind reverse proxies set ALLAUTH_TRUSTED_PROXY_COUNT
so the address is the client's, not the proxy's.
"""

from __future__ import annotations

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from portal.pages.accounts import AccountAdapter as MailingAccountAdapter


class AccountAdapter(MailingAccountAdapter):
    """allauth's adapter for the portal: the lockout below, and mail through the outbox (its base)."""

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys failed logins by account alone; the address makes the lock one attacker's own.
        # The same key is cleared after a password reset from that address.
        return (
            f"{super()._get_login_attempts_cache_key(request, **credentials)}@{self.get_client_ip(request)}"
        )

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:  # its one refusal: too many failed attempts (per key or per address)
            raise ImmediateHttpResponse(respond_429(request)) from None
