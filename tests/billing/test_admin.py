"""Finance admin: filters and per-currency totals without N+1, read-only issued invoices, actions,
bank-transfer entry and reconciliation."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, InvoiceStatus, Payment, PaymentAllocation
from tests.billing.factories import chinese_organization, draft_invoice, foreign_organization, issued_invoice
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db
D = Decimal
CHANGELIST = "/admin/billing/invoice/"


@pytest.fixture(autouse=True)
def _rates(settings):
    settings.BILLING_DEFAULT_RATES_TO_CNY = {"USD": "7.10"}
    settings.BILLING_SEND_ON_ISSUE = False


def make(n):
    partner = PartnerFactory()
    for i in range(n):
        org = chinese_organization(partner=partner) if i % 2 else foreign_organization()
        issued_invoice(org, currency="CNY" if i % 2 else "USD")


def test_changelist_filters_and_totals_per_currency(admin_client):
    make(4)
    draft_invoice()
    response = admin_client.get(CHANGELIST, {"status__exact": "issued"})
    assert response.status_code == 200
    totals = {row["currency"]: row for row in response.context["currency_totals"]}
    assert totals["CNY"]["count"] == 2 and totals["CNY"]["gross"] == D("2260.00")
    assert totals["USD"]["count"] == 2 and totals["USD"]["open"] == D("2260.00")
    assert "筛选结果合计" in response.content.decode()  # admin speaks the staff member's language
    for params in (
        {"currency__exact": "USD"},
        {"payment_status__exact": "unpaid"},
        {"kind__exact": "invoice"},
        {"q": "INV-"},
    ):
        assert admin_client.get(CHANGELIST, params).status_code == 200


def test_changelist_query_count_does_not_grow_with_rows(admin_client):
    make(3)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(CHANGELIST)
        # allauth's session tracking reads and writes the user now and then; unrelated to the rows shown
        noise = ("usersession", "SAVEPOINT", '"auth_user"', "django_session")
        return len([q for q in queries.captured_queries if not any(n in q["sql"] for n in noise)])

    few = count()
    make(20)
    assert count() == few
    for url in (
        "/admin/billing/payment/",
        "/admin/billing/overdueinvoice/",
        "/admin/billing/partnercommission/",
    ):
        assert admin_client.get(url).status_code == 200


def test_issued_invoice_is_read_only_in_admin(admin_client):
    draft = draft_invoice()
    page = admin_client.get(f"{CHANGELIST}{draft.pk}/change/").content.decode()
    assert 'name="currency"' in page and 'name="lines-0-unit_price"' in page
    invoice = issued_invoice()
    page = admin_client.get(f"{CHANGELIST}{invoice.pk}/change/").content.decode()
    assert 'name="currency"' not in page and 'name="lines-0-unit_price"' not in page
    assert admin_client.get(f"{CHANGELIST}{invoice.pk}/delete/").status_code == 403
    admin_client.post(f"{CHANGELIST}{invoice.pk}/change/", {"currency": "USD", "notes": "changed"})
    invoice.refresh_from_db()
    assert invoice.currency == "CNY" and invoice.notes == ""


def test_admin_creates_a_draft_with_lines(admin_client):
    org = chinese_organization()
    data = {
        "organization": org.pk,
        "currency": "CNY",
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-position": "1",
        "lines-0-description": "定制开发",
        "lines-0-quantity": "10",
        "lines-0-unit": "小时",
        "lines-0-unit_price": "1500",
        "lines-0-tax_category": "custom_development",
        "lines-0-tax_rate": "",
    }
    response = admin_client.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    invoice = Invoice.objects.get()
    assert invoice.status == InvoiceStatus.DRAFT and invoice.series == "INV"
    assert invoice.gross_total == D("15900.00")
    assert invoice.lines.get().tax_rate == D("0.06")


def test_tax_rate_is_typed_in_percent(admin_client):
    org = chinese_organization()
    data = {
        "organization": org.pk,
        "currency": "CNY",
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-position": "1",
        "lines-0-description": "License",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "1000",
        "lines-0-tax_category": "software_license",
    }
    for typed, error in (("113", "between 0 and 100"), ("thirteen", "in percent"), ("6.125", "two decimals")):
        response = admin_client.post(
            f"{CHANGELIST}add/", {**data, "lines-0-tax_rate": typed}, headers={"accept-language": "en"}
        )
        assert response.status_code == 200 and error in response.content.decode(), typed
    assert not Invoice.objects.exists()
    response = admin_client.post(f"{CHANGELIST}add/", {**data, "lines-0-tax_rate": "13 %"})
    assert response.status_code == 302, response.content.decode()[:3000]
    invoice = Invoice.objects.get()
    assert invoice.lines.get().tax_rate == D("0.13") and invoice.gross_total == D("1130.00")
    page = admin_client.get(f"{CHANGELIST}{invoice.pk}/change/").content.decode()
    assert 'value="13"' in page  # shown back as the percentage typed


def test_actions_issue_void_credit_export(admin_client):
    drafts = [draft_invoice() for _ in range(2)]
    admin_client.post(CHANGELIST, {"action": "issue", ACTION_CHECKBOX_NAME: [d.pk for d in drafts]})
    assert set(Invoice.objects.values_list("status", flat=True)) == {"issued"}
    first, second = (Invoice.objects.get(pk=d.pk) for d in drafts)

    confirm = admin_client.post(CHANGELIST, {"action": "void", ACTION_CHECKBOX_NAME: [first.pk]})
    assert confirm.status_code == 200 and "原因" in confirm.content.decode()
    admin_client.post(
        CHANGELIST, {"action": "void", ACTION_CHECKBOX_NAME: [first.pk], "apply": "1", "reason": "duplicate"}
    )
    first.refresh_from_db()
    assert first.status == "void" and first.void_reason == "duplicate"

    admin_client.post(
        CHANGELIST,
        {"action": "credit", ACTION_CHECKBOX_NAME: [second.pk], "apply": "1", "reason": "discount"},
    )
    assert second.credit_notes.get().reason == "discount"

    export = admin_client.post(
        CHANGELIST, {"action": "export_csv", ACTION_CHECKBOX_NAME: [first.pk, second.pk]}
    )
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert first.number in body and second.number in body

    xlsx = admin_client.post(CHANGELIST, {"action": "export_xlsx", ACTION_CHECKBOX_NAME: [second.pk]})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_bank_transfer_entry_matches_the_memo_and_reconciliation(admin_client):
    invoice = issued_invoice()
    other = issued_invoice()
    response = admin_client.post(
        "/admin/billing/payment/add/",
        {
            "method": "bank_transfer",
            "amount": "1500.00",
            "currency": "CNY",
            "received_at_0": datetime.date.today().isoformat(),
            "received_at_1": "10:00:00",
            "payer_name": "上海智联物联网科技有限公司",
            "payer_account": "1001",
            "reference": "B123",
            "memo": f"付款 {invoice.number}",
            "note": "",
            "match_memo": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    payment = Payment.objects.get()
    assert PaymentAllocation.objects.get().invoice == invoice
    page = admin_client.get("/admin/billing/payment/reconcile/")
    assert page.status_code == 200 and "370.00" in page.content.decode()
    admin_client.post(
        "/admin/billing/payment/reconcile/", {"payment": payment.pk, "invoice": other.number, "amount": "370"}
    )
    other.refresh_from_db()
    assert other.amount_paid == D("370.00") and other.payment_status == "partial"
    assert admin_client.get(f"/admin/billing/payment/{payment.pk}/delete/").status_code == 403
