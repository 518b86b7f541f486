"""Integration API over real HTTP (httpx against the live server): invoices, exports, webhook, auth."""

import csv
import io
import json
import time
from decimal import Decimal

import pytest
import stripe
from django.test import Client
from openpyxl import load_workbook

from billing.models import Invoice
from tests.billing.factories import chinese_organization
from tests.billing.pdfutil import needs_pdftotext, pdf_text
from tests.conftest import bearer
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def create(http, token, org, **extra):
    body = {
        "organization": org.pk,
        "currency": "CNY",
        "lines": [
            {"description": "企业版软件许可", "quantity": "1", "unit_price": "10000.005", "tax_rate": "0.13"},
            {"description": "实施服务", "quantity": "2.5", "unit_price": "800", "tax_rate": "0.06"},
        ],
        **extra,
    }
    return http.post("/api/v1/invoices", json=body, headers=bearer(token))


@needs_pdftotext
def test_draft_issue_pdf_credit_void_over_http(http, write_token):
    org = chinese_organization()
    response = create(http, write_token, org)
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["status"] == "draft" and draft["number"] is None
    # amounts come back as decimal strings, unit prices with their six places
    assert draft["net_total"] == "12000.01" and draft["lines"][0]["unit_price"] == "10000.005000"
    assert D(draft["net_total"]) == D("12000.01") and D(draft["tax_total"]) == D("1420.00")
    assert [D(line["gross"]) for line in draft["lines"]] == [D("11300.01"), D("2120.00")]
    assert draft["lines"][0]["tax_category"] == "software_license"

    issued = http.post(f"/api/v1/invoices/{draft['id']}/issue", headers=bearer(write_token)).json()
    assert issued["status"] == "issued" and issued["number"].startswith("INV-")
    assert issued["buyer"]["taxpayer_id"] == org.taxpayer_id

    pdf = http.get(f"/api/v1/invoices/{draft['id']}/pdf", headers=bearer(write_token))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert issued["number"] in text and "企业版软件许可" in text and "上海智联物联网科技有限公司" in text

    credit = http.post(
        f"/api/v1/invoices/{draft['id']}/credit", json={"reason": "重复开票"}, headers=bearer(write_token)
    )
    assert credit.status_code == 201 and credit.json()["number"].startswith("CN-")
    assert credit.json()["credit_for"] == issued["number"] and D(credit.json()["gross_total"]) == -D(
        issued["gross_total"]
    )

    other = create(http, write_token, org).json()
    http.post(f"/api/v1/invoices/{other['id']}/issue", headers=bearer(write_token))
    voided = http.post(
        f"/api/v1/invoices/{other['id']}/void", json={"reason": "wrong"}, headers=bearer(write_token)
    )
    assert voided.json()["status"] == "void"
    refused = http.post(f"/api/v1/invoices/{other['id']}/issue", headers=bearer(write_token))
    assert refused.status_code == 409 and refused.json()["code"] == "invoice_invalid_transition"

    listed = http.get("/api/v1/invoices", params={"kind": "credit_note"}, headers=bearer(write_token)).json()
    assert listed["count"] == 1 and listed["items"][0]["number"] == credit.json()["number"]

    deletable = create(http, write_token, org).json()
    assert http.delete(f"/api/v1/invoices/{deletable['id']}", headers=bearer(write_token)).status_code == 204
    gone = http.delete(f"/api/v1/invoices/{draft['id']}", headers=bearer(write_token))
    assert gone.status_code == 409 and gone.json()["code"] == "invoice_not_draft"


def test_bad_input_never_500(http, write_token):
    org = chinese_organization()
    bad_rate = create(
        http,
        write_token,
        org,
        lines=[{"description": "x", "quantity": "1", "unit_price": "1", "tax_rate": "1.5"}],
    )
    assert bad_rate.status_code == 422 and bad_rate.json()["code"] == "invalid_input"
    bad_number = create(
        http,
        write_token,
        org,
        lines=[{"description": "x", "quantity": "abc", "unit_price": "1", "tax_rate": "0.06"}],
    )
    assert bad_number.status_code == 422
    unknown = http.post(
        "/api/v1/invoices",
        json={
            "organization": 999999,
            "currency": "CNY",
            "lines": [{"description": "x", "quantity": "1", "unit_price": "1", "tax_rate": "0"}],
        },
        headers=bearer(write_token),
    )
    assert unknown.status_code == 400
    assert http.get("/api/v1/invoices/999999", headers=bearer(write_token)).status_code == 404


def test_exports_over_http(http, write_token, settings):
    org = chinese_organization()
    ids = [create(http, write_token, org).json()["id"] for _ in range(3)]
    for invoice_id in ids:
        http.post(f"/api/v1/invoices/{invoice_id}/issue", headers=bearer(write_token))
    today = time.strftime("%Y-%m-%d")
    params = {"format": "csv", "from": today, "to": today}
    response = http.get(
        "/api/v1/invoices/export",
        params=params,
        headers={**bearer(write_token), "Accept-Language": "zh-hans"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert (
        len(rows) == 3 and rows[0]["客户"] == "上海智联物联网科技有限公司"
    )  # headers in the finance user's language
    english = {**bearer(write_token), "Accept-Language": "en"}
    xlsx = http.get("/api/v1/invoices/export", params={"format": "xlsx", "from": today}, headers=english)
    workbook = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert len(list(workbook["Invoices"].values)) == 4 and len(list(workbook["Lines"].values)) == 7
    empty = http.get(
        "/api/v1/invoices/export",
        params={"format": "csv", "from": "2000-01-01", "to": "2000-12-31"},
        headers=bearer(write_token),
    )
    assert len(list(csv.reader(io.StringIO(empty.content.decode("utf-8-sig"))))) == 1


def test_large_export_becomes_a_job(http, write_token, settings):
    settings.BILLING_EXPORT_SYNC_MAX_ROWS = 1
    org = chinese_organization()
    for _ in range(2):
        invoice_id = create(http, write_token, org).json()["id"]
        http.post(f"/api/v1/invoices/{invoice_id}/issue", headers=bearer(write_token))
    started = http.get("/api/v1/invoices/export", params={"format": "csv"}, headers=bearer(write_token))
    assert started.status_code == 202
    job = started.json()
    for _ in range(50):
        job = http.get(f"/api/v1/invoices/exports/{job['id']}", headers=bearer(write_token)).json()
        if job["status"] == "done":
            break
        time.sleep(0.1)
    assert job["status"] == "done" and job["progress_percent"] == 100
    download = http.get(job["download_url"], headers=bearer(write_token))
    assert len(list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))) == 2


def test_read_token_cannot_write_and_customers_are_refused(http, read_token, write_token):
    org = chinese_organization()
    assert create(http, read_token, org).status_code == 403
    assert http.get("/api/v1/invoices", headers=bearer(read_token)).status_code == 200
    invoice_id = create(http, write_token, org).json()["id"]
    assert http.post(f"/api/v1/invoices/{invoice_id}/issue", headers=bearer(read_token)).status_code == 403
    assert http.get("/api/v1/invoices").status_code == 401

    customer = UserFactory(email="buyer@zhilian.example.cn")
    MembershipFactory(user=customer, organization=org)
    browser = Client()
    browser.force_login(customer)
    http.cookies.set("sessionid", browser.cookies["sessionid"].value)
    response = http.get("/api/v1/invoices")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert http.get(f"/api/v1/invoices/{invoice_id}/pdf").status_code == 403


def test_signed_webhook_over_http(http, settings, write_token):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_live"
    org = chinese_organization()
    invoice_id = create(http, write_token, org).json()["id"]
    issued = http.post(f"/api/v1/invoices/{invoice_id}/issue", headers=bearer(write_token)).json()
    event = {
        "id": "evt_http_1",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "cs_http",
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": "pi_http",
                "amount_total": int(D(issued["gross_total"]) * 100),
                "currency": "cny",
                "metadata": {"invoice_id": str(invoice_id)},
            }
        },
    }
    body = json.dumps(event)
    headers = {
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body, "whsec_live"),
        "Content-Type": "application/json",
    }
    assert http.post("/api/v1/billing/stripe/webhook", content=body, headers=headers).status_code == 200
    assert http.post("/api/v1/billing/stripe/webhook", content=body + " ", headers=headers).status_code == 400
    assert Invoice.objects.get(pk=invoice_id).payment_status == "paid"
