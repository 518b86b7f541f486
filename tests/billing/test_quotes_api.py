"""Quotes over the integration API (real HTTP): create, PDF read back, send, accept, withdraw, the
renewal quote of a contract, errors as documented JSON, read tokens refused."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Quote
from contracts.services import contract_activate, contract_create
from editions.models import Module
from tests.billing.factories import chinese_organization
from tests.billing.pdfutil import needs_pdftotext, pdf_text
from tests.conftest import bearer
from tests.factories import edition

pytestmark = pytest.mark.django_db(transaction=True)


def standard_contract(org):
    today = dt.date.today()
    contract = contract_create(
        actor=None,
        organization=org,
        edition=edition("standard"),
        start_date=today - dt.timedelta(days=300),
        end_date=today + dt.timedelta(days=64),
        modules=[Module.objects.get(code="retail")],
    )
    return contract_activate(actor=None, contract=contract)


@needs_pdftotext
def test_create_pdf_send_accept_over_http(http, write_token):
    org = chinese_organization()
    response = http.post(
        "/api/v1/quotes",
        json={"organization": org.pk, "kind": "new", "edition": "standard", "discount_percent": "5"},
        headers=bearer(write_token),
    )
    assert response.status_code == 201, response.text
    quote = response.json()
    assert quote["status"] == "draft" and quote["number"].startswith("QUO-") and quote["version"] == 1
    assert Decimal(quote["net_total"]) == Decimal("28500.00") and quote["discount_approved"] is True

    pdf = http.get(f"/api/v1/quotes/{quote['id']}/pdf", headers=bearer(write_token))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "报价单 / Quote" in text and quote["number"] in text and "32,205.00" in text

    sent = http.post(f"/api/v1/quotes/{quote['id']}/send", headers=bearer(write_token))
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    accepted = http.post(f"/api/v1/quotes/{quote['id']}/accept", json={}, headers=bearer(write_token))
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "accepted" and body["accepted_on_behalf"] is True
    assert body["resulting_contract"].startswith("CT-") and body["invoice"].startswith("INV-")

    again = http.post(f"/api/v1/quotes/{quote['id']}/withdraw", headers=bearer(write_token))
    assert again.status_code == 409 and again.json()["code"] == "quote_invalid_transition"
    listed = http.get("/api/v1/quotes", params={"organization": org.pk}, headers=bearer(write_token)).json()
    assert listed["count"] == 1


def test_renewal_quote_endpoint_and_errors(http, write_token, read_token):
    org = chinese_organization()
    contract = standard_contract(org)
    created = http.post(
        f"/api/v1/contracts/{contract.number}/renewal-quote",
        json={"uplift_percent": "3"},
        headers=bearer(write_token),
    )
    assert created.status_code == 201, created.text
    lines = created.json()["lines"]
    assert [line["kind"] for line in lines] == ["edition", "uplift"]
    assert Decimal(lines[1]["net"]) == Decimal("900.00")
    repeated = http.post(f"/api/v1/contracts/{contract.pk}/renewal-quote", headers=bearer(write_token))
    assert repeated.status_code == 200 and repeated.json()["id"] == created.json()["id"]

    assert http.post("/api/v1/contracts/999999/renewal-quote", headers=bearer(write_token)).status_code == 404
    assert http.get("/api/v1/quotes/999999", headers=bearer(write_token)).status_code == 404
    refused = http.post(
        "/api/v1/quotes", json={"organization": org.pk, "kind": "renewal"}, headers=bearer(write_token)
    )
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_input"
    bad = http.post(
        "/api/v1/quotes",
        json={"organization": org.pk, "kind": "new", "edition": "standard", "discount_percent": "150"},
        headers=bearer(write_token),
    )
    assert bad.status_code == 422
    big = http.post(
        "/api/v1/quotes",
        json={"organization": org.pk, "kind": "new", "edition": "standard", "discount_percent": "20"},
        headers=bearer(write_token),
    ).json()
    unapproved = http.post(f"/api/v1/quotes/{big['id']}/send", headers=bearer(write_token))
    assert unapproved.status_code == 409 and unapproved.json()["code"] == "quote_discount_not_approved"
    read_only = http.post(f"/api/v1/quotes/{big['id']}/withdraw", headers=bearer(read_token))
    assert read_only.status_code == 403
    assert Quote.objects.get(pk=big["id"]).status == "draft"
    schema = http.get("/api/v1/openapi.json").json()
    responses = schema["paths"]["/api/v1/quotes/{quote_id}/accept"]["post"]["responses"]
    assert {"200", "400", "403", "404", "409"} <= set(responses)
