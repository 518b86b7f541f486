"""The Content-Security-Policy in a real browser (Debian's chromium): the admin, the portal, the API docs
and the public pages work under it and the browser reports no violation (issue 20, finding 5).

Violations are collected twice: the `securitypolicyviolation` events of each document (an init script,
which Playwright injects outside the page's policy) and chromium's console errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from customers.models import Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class Watched:
    """A browser page that remembers every CSP violation and console error of every document it shows."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.page = context.new_page()
        self.console: list[str] = []
        self.violations: list[str] = []
        context.add_init_script(RECORD_VIOLATIONS)
        self.page.on(
            "console",
            lambda message: (
                self.console.append(f"{self.page.url}: {message.text}") if message.type == "error" else None
            ),
        )

    def collect(self) -> None:
        self.violations += [f"{self.page.url}: {v}" for v in self.page.evaluate("window.__csp || []")]

    def goto(self, url: str) -> Any:
        response = self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        self.collect()
        return response

    def assert_clean(self) -> None:
        self.collect()
        csp_console = [line for line in self.console if "Content Security Policy" in line]
        assert self.violations == [] and csp_console == [], (self.violations, csp_console)


def stripe_checkout(settings: Any, monkeypatch: Any) -> None:
    """Stripe on, its API answered at the seam with a Checkout session on checkout.stripe.com."""
    from billing import stripe_gateway

    settings.STRIPE_SECRET_KEY = "sk_test_csp"
    monkeypatch.setattr(
        stripe_gateway,
        "create_checkout_session",
        lambda **kw: stripe_gateway.CheckoutSessionData(
            id="cs_test_csp",
            url="https://checkout.stripe.com/c/pay/cs_test_csp",
            status="open",
            payment_status="unpaid",
            amount_total=kw["amount_minor"],
            currency=kw["currency"],
            expires_at=timezone.now() + dt.timedelta(hours=24),
        ),
    )


def _logged_in(browser: Any, live_server: Any, client: Any, user: Any) -> Watched:
    client.force_login(user)
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return Watched(context)


def test_the_admin_works_under_the_policy(browser, live_server, client):
    from tests.portal.portal_helpers import enterprise_org

    _organization, contract = enterprise_org(name="华东零售集团")
    watched = _logged_in(
        browser, live_server, client, UserFactory(username="root", is_staff=True, is_superuser=True)
    )
    page = watched.page
    watched.goto("/admin/")
    assert page.locator("#site-name").is_visible()
    # The change form with its autocomplete widgets (select2 building its dropdown), date shortcuts
    # and related-object popups: all scripts from /static/admin/.
    watched.goto("/admin/contracts/contract/add/")
    page.locator("#id_organization + .select2 .select2-selection").click()
    page.locator(".select2-search__field").fill("华东")
    page.locator(".select2-results__option", has_text="华东零售集团").first.wait_for()
    page.keyboard.press("Escape")
    watched.goto(f"/admin/contracts/contract/{contract.pk}/change/")
    watched.goto("/admin/contracts/contract/?q=CT")
    watched.goto("/admin/contracts/contract/renewals-due/")
    watched.assert_clean()
    watched.context.close()


def test_a_portal_page_with_scripts_works_under_the_policy(
    browser, live_server, client, settings, monkeypatch
):
    """The downloads page's organization switch (it had an inline onchange handler), the copy buttons,
    the language switch, and "Pay online", whose form is answered by a redirect to Stripe Checkout."""
    from tests.portal.portal_helpers import enterprise_org, issued_invoice, member

    stripe_checkout(settings, monkeypatch)
    first, _contract = enterprise_org(name="Acme Robotics")
    second, _other = enterprise_org(name="Acme Logistics")
    invoice = issued_invoice(first, "1200.00")
    user = member(first, Role.OWNER)
    member_of_second = member(second, Role.OWNER)
    member_of_second.memberships.update(user=user)  # the same person in two organizations
    watched = _logged_in(browser, live_server, client, user)
    page = watched.page

    watched.goto("/")  # two organizations: the portal asks which one first
    with page.expect_navigation():
        page.locator("form", has_text="Acme Robotics").get_by_role("button", name="Choose").click()
    watched.goto("/invoices/")
    with page.expect_navigation():
        page.get_by_role("link", name="Pay online").first.click()
    assert page.url.endswith(f"/invoices/{invoice.pk}/pay/")
    # Stripe is not reachable from tests (and Playwright cannot route a redirect's next hop): that the
    # browser went out to resolve checkout.stripe.com shows the policy let the redirect through.
    with page.expect_event(
        "requestfailed", lambda r: r.url.startswith("https://checkout.stripe.com/")
    ) as failed:
        page.locator("button[data-provider=stripe]").first.click()
    assert failed.value.url == "https://checkout.stripe.com/c/pay/cs_test_csp"
    assert "ERR_BLOCKED_BY_CSP" not in (failed.value.failure or "")
    page.wait_for_url("chrome-error://**")  # the browser's "cannot reach" page

    watched.goto("/downloads/")
    with page.expect_navigation():  # no button: portal.js submits on change (was an inline onchange)
        page.locator("#org-switch").select_option(label="Acme Logistics")
    assert "org=" in page.url
    watched.collect()

    watched.goto("/")
    with page.expect_navigation():
        page.locator("#language-select").select_option("zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    watched.assert_clean()
    watched.context.close()


def test_the_api_docs_and_public_pages_work_under_the_policy(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    watched = Watched(context)
    page = watched.page
    watched.goto("/api/v1/docs")
    page.locator(".opblock").first.wait_for()  # Swagger UI rendered the operations from openapi.json
    assert page.locator(".opblock").count() > 30
    watched.goto("/contact/")
    # The page's own <style> (with the nonce) applied: the form is narrowed to 46rem.
    rem = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert page.locator(".inquiry").evaluate("e => getComputedStyle(e).maxWidth") == f"{46 * rem:g}px"
    watched.goto("/api/v1/billing/pay/no-such-token")
    assert page.locator("body").evaluate("e => getComputedStyle(e).maxWidth") != "none"  # its <style> applied
    # Logging in through allauth's form, then its authenticator-app set-up, whose QR code is a data: image.
    user = UserFactory(email="wang.fang@example.cn")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    watched.goto("/accounts/login/")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill("correct-horse-battery")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    watched.goto("/accounts/2fa/totp/activate/")
    if page.locator("input[name=password]").count():  # allauth asks for the password again first
        page.locator("input[name=password]").fill("correct-horse-battery")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").first.click()
    assert page.locator("img[src^='data:']").first.evaluate("img => img.naturalWidth") > 0
    watched.assert_clean()
    context.close()


def test_without_the_payment_origin_the_browser_refuses_the_redirect(
    browser, live_server, client, settings, monkeypatch
):
    """The control of the test above: the same page with Stripe's origin taken out of its form-action
    (rewritten on the way to the browser) is refused by chromium, so the test above can fail."""
    from tests.portal.portal_helpers import enterprise_org, issued_invoice, member

    stripe_checkout(settings, monkeypatch)
    organization, _contract = enterprise_org()
    invoice = issued_invoice(organization, "800.00")
    watched = _logged_in(browser, live_server, client, member(organization, Role.OWNER))
    page = watched.page

    def without_stripe(route: Any) -> None:
        response = route.fetch(max_redirects=0)  # the policy of the page itself, not of its redirect
        policy = response.headers["content-security-policy"]
        assert " https://checkout.stripe.com" in policy
        headers = {
            **response.headers,
            "content-security-policy": policy.replace(" https://checkout.stripe.com", ""),
        }
        route.fulfill(response=response, headers=headers)

    page.route(f"**/invoices/{invoice.pk}/pay/", without_stripe)
    watched.goto(f"/invoices/{invoice.pk}/pay/")
    with page.expect_console_message(lambda m: "form-action" in m.text):
        page.locator("button[data-provider=stripe]").first.click()
    assert any("Content Security Policy" in line and "form-action" in line for line in watched.console)
    watched.context.close()
