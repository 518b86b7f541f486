"""The Content-Security-Policy (issue 20, finding 5): on every page, strict for scripts, the nonce only
where a template used it, the payment page's origin only on the page whose form goes there; and a guard
over every served template so an inline script or event handler cannot come back unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from portal.core.csp import LazyNonce, build_policy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def _assert_strict(policy: dict[str, list[str]]) -> None:
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"][0] == "'self'"
    for directive in ("script-src", "style-src"):
        sources = policy[directive]
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, directive
        assert all(s == "'self'" or s.startswith("'nonce-") for s in sources), (directive, sources)
    everything = " ".join(" ".join(v) for v in policy.values())
    assert "http:" not in everything and "https:" not in everything.replace("https://checkout.stripe.com", "")
    assert "*" not in everything


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",  # allauth
        "/accounts/signup/",
        "/admin/login/",  # the admin's login goes through allauth
        "/contact/",  # public, with a nonce'd <style>
        "/api/v1/docs",  # Swagger UI
        "/no-such-page/",  # 404
    ],
)
def test_every_page_has_the_strict_policy(client, path):
    response = client.get(path, follow=True)
    _assert_strict(_policy(response))


def test_admin_and_portal_pages_have_it_too(client):
    from tests.portal.portal_helpers import enterprise_org, member

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for path in ["/admin/", "/admin/contracts/contract/", "/admin/contracts/contract/add/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_strict(_policy(response))
    organization, _contract = enterprise_org()
    client.force_login(member(organization))
    for name in ["home", "portal:invoices", "downloads:index", "portal:organization"]:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        _assert_strict(_policy(response))


def test_the_nonce_is_sent_only_when_a_page_uses_it_and_changes_every_time(client):
    first, second = client.get("/contact/"), client.get("/contact/")
    nonces = []
    for response in (first, second):
        policy = _policy(response)
        nonce = next(s for s in policy["style-src"] if s.startswith("'nonce-"))[len("'nonce-") : -1]
        assert f'<style nonce="{nonce}">' in response.content.decode()
        assert f"'nonce-{nonce}'" in policy["script-src"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 24
    login = _policy(client.get("/accounts/login/"))
    assert login["script-src"] == ["'self'"] and login["style-src"] == ["'self'"]


def test_the_api_docs_load_swagger_from_this_server_not_a_cdn(client):
    body = client.get("/api/v1/docs").content.decode()
    assert "cdn." not in body and "unpkg" not in body and "jsdelivr" not in body
    assert "/static/ninja/swagger-ui-bundle.js" in body and "/static/ninja/swagger-ui-init.js" in body


def test_only_the_pay_page_may_post_to_the_payment_rails(client, settings):
    from tests.billing.factories import issued_invoice
    from tests.portal.portal_helpers import enterprise_org, member

    organization, _contract = enterprise_org()
    client.force_login(member(organization))
    invoice = issued_invoice(organization)
    pay = _policy(client.get(reverse("portal:invoice_pay", kwargs={"invoice_id": invoice.pk})))
    assert pay["form-action"] == ["'self'", *settings.SECURE_CSP_PAYMENT_ORIGINS]
    assert "https://checkout.stripe.com" in pay["form-action"]
    assert _policy(client.get(reverse("portal:invoices")))["form-action"] == ["'self'"]
    assert _policy(client.get(reverse("home")))["form-action"] == ["'self'"]


def test_json_and_files_go_without_it_svg_and_error_pages_with_it(client):
    # JSON is not a document a browser runs scripts in; the check-in's fast path and its full route
    # must answer alike (tests/licenses/test_fastpath.py compares their headers).
    assert "Content-Security-Policy" not in client.get("/api/v1/platform/ping").headers
    assert "Content-Security-Policy" not in client.get("/api/v1/organizations").headers  # 401 JSON
    assert "Content-Security-Policy" in client.get("/static/portal/favicon.svg").headers
    assert "Content-Security-Policy" in client.get("/api/v1/billing/pay/unknown").headers  # HTML 404


def test_report_only_sends_the_same_policy_under_the_other_header(client, settings):
    settings.SECURE_CSP_REPORT_ONLY = True
    response = client.get("/accounts/login/")
    assert "Content-Security-Policy" not in response.headers
    assert "default-src 'self'" in response.headers["Content-Security-Policy-Report-Only"]


def test_build_policy_merges_a_views_additions_and_drops_an_unused_nonce():
    nonce = LazyNonce()
    directives = {
        "script-src": ["'self'", "'nonce'"],
        "form-action": ["'self'"],
        "upgrade-insecure-requests": [],
    }
    policy = build_policy(directives, nonce=nonce, extra={"form-action": ["https://pay.example", "'self'"]})
    assert policy == "script-src 'self'; form-action 'self' https://pay.example; upgrade-insecure-requests"
    used = str(nonce)
    assert f"script-src 'self' 'nonce-{used}'" in build_policy(directives, nonce=nonce, extra=None)


# --- the templates --------------------------------------------------------------------------------------

# Rendered for mail clients or WeasyPrint, never served to a browser under the policy.
NOT_PAGES = re.compile(r"(/email/|_pdf\.html$|\.txt$)")
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b[^>]*>", re.I)


def _served_templates() -> list[Path]:
    folders = [
        ROOT / "templates",
        *sorted(ROOT.glob("*/templates")),
        *sorted(ROOT.glob("portal/*/templates")),
    ]
    return [
        path
        for folder in folders
        for path in sorted(folder.rglob("*.html"))
        if ".venv" not in path.parts and not NOT_PAGES.search(path.as_posix())
    ]


def test_no_served_template_has_an_inline_script_handler_or_style_element_without_the_nonce():
    """Scripts belong in static files; an inline <script> or <style> needs nonce="{{ csp_nonce }}",
    and inline event handlers (onclick=…) cannot be allowed by a nonce at all (use data-* + static JS)."""
    templates = _served_templates()
    assert len(templates) > 40
    offenders = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, STYLE_ELEMENT):
            for tag in pattern.findall(text):
                if 'nonce="{{ csp_nonce }}"' not in tag:
                    offenders.append(f"{path.relative_to(ROOT)}: {tag}")
        offenders += [f"{path.relative_to(ROOT)}: {m}" for m in EVENT_HANDLER.findall(text)]
    assert offenders == []
