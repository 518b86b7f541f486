"""Alipay directly: page pay and precreate QR through a fake gateway (the SDK's urlopen replaced), signed
notifications applied once, forged/replayed/mismatched ones refused, refunds from admin."""

import logging
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import alipay
import pytest
from django.urls import reverse

from billing import payments
from billing.models import (
    NotificationStatus,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    ProviderNotification,
    ProviderOrder,
    ProviderRefund,
    RefundStatus,
)
from portal.core.errors import ApplicationError
from tests.billing.factories import issued_invoice
from tests.billing.rails import ALIPAY_APP_ID, FakeAlipay, KeyPair, alipay_request_content, form_body

pytestmark = pytest.mark.django_db
D = Decimal
NOTIFY = "/api/v1/billing/alipay/notify"


@pytest.fixture(scope="module")
def keys():
    return KeyPair.generate(), KeyPair.generate()  # the app's pair, Alipay's pair


@pytest.fixture
def fake_alipay(settings, tmp_path, monkeypatch, keys):
    app_key, alipay_key = keys
    (tmp_path / "app.pem").write_text(app_key.private_pem())
    (tmp_path / "alipay.pem").write_text(alipay_key.public_pem())
    settings.ALIPAY_APP_ID = ALIPAY_APP_ID
    settings.ALIPAY_APP_PRIVATE_KEY_FILE = str(tmp_path / "app.pem")
    settings.ALIPAY_PUBLIC_KEY_FILE = str(tmp_path / "alipay.pem")
    settings.ALIPAY_SANDBOX = True
    settings.STRIPE_SECRET_KEY = ""
    fake = FakeAlipay(app_key=app_key, alipay_key=alipay_key)
    monkeypatch.setattr(alipay, "urlopen", fake.urlopen)
    return fake


def notify(client, params):
    return client.post(NOTIFY, data=form_body(params), content_type="application/x-www-form-urlencoded")


def qr_order(invoice):
    start = payments.invoice_payment_start(actor=None, invoice=invoice, provider="alipay", channel="qr")
    return ProviderOrder.objects.get(out_trade_no=start.reference), start


def test_page_pay_is_a_signed_redirect_to_alipay(fake_alipay):
    invoice = issued_invoice()  # 1,130.00
    start = payments.invoice_payment_start(actor=None, invoice=invoice, provider="alipay")
    assert start.kind == "redirect" and start.url.startswith(
        "https://openapi-sandbox.dl.alipaydev.com/gateway.do?"
    )
    params = dict(parse_qsl(urlsplit(start.url).query))
    assert params["method"] == "alipay.trade.page.pay" and params["sign_type"] == "RSA2"
    assert fake_alipay.app_key.verify(alipay_request_content(params), params["sign"])  # as Alipay checks it
    assert '"total_amount":"1130.00"' in params["biz_content"] and start.reference in params["biz_content"]
    assert params["notify_url"].endswith(NOTIFY)
    assert fake_alipay.requests == []  # page pay needs no server call


def test_precreate_qr_is_reused_for_the_same_amount(fake_alipay):
    invoice = issued_invoice()
    order, start = qr_order(invoice)
    assert start.kind == "qr" and start.url == f"https://qr.alipay.com/bax{order.out_trade_no}"
    assert order.amount == D("1130.00") and order.status == OrderStatus.OPEN
    again, _ = qr_order(invoice)
    assert again.pk == order.pk and len(fake_alipay.requests) == 1


def test_signed_notification_marks_paid_once_and_replay_changes_nothing(client, fake_alipay):
    invoice = issued_invoice()
    order, _ = qr_order(invoice)
    params = fake_alipay.notification(
        out_trade_no=order.out_trade_no, trade_no="2026030222001400000001", total_amount="1130.00"
    )
    response = notify(client, params)
    assert response.status_code == 200 and response.content == b"success"
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID and invoice.open_balance == 0
    payment = Payment.objects.get()
    assert payment.method == "alipay" and payment.amount == D("1130.00")
    assert payment.external_id == "alipay:2026030222001400000001"

    replay = notify(client, params)
    assert replay.content == b"success"  # Alipay must stop retrying
    finished = fake_alipay.notification(
        out_trade_no=order.out_trade_no,
        trade_no="2026030222001400000001",
        total_amount="1130.00",
        trade_status="TRADE_FINISHED",
    )
    assert notify(client, finished).content == b"success"
    assert Payment.objects.count() == 1
    assert ProviderNotification.objects.get(event_id=params["notify_id"]).deliveries == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.trade_no == "2026030222001400000001"


def test_bad_signature_changes_nothing(client, fake_alipay, caplog):
    invoice = issued_invoice()
    order, _ = qr_order(invoice)
    params = fake_alipay.notification(out_trade_no=order.out_trade_no, trade_no="T1", total_amount="1130.00")
    params["total_amount"] = "1.00"  # tampered after signing
    with caplog.at_level(logging.WARNING):
        response = notify(client, params)
    assert response.content == b"failure"
    forged = dict(params, sign=KeyPair.generate().sign("x"))
    assert notify(client, forged).content == b"failure"
    assert not Payment.objects.exists() and not ProviderNotification.objects.exists()
    assert "bad signature" in caplog.text
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.UNPAID


def test_wrong_amount_or_app_id_is_refused_and_logged(client, fake_alipay, caplog):
    invoice = issued_invoice()
    order, _ = qr_order(invoice)
    wrong_amount = fake_alipay.notification(
        out_trade_no=order.out_trade_no, trade_no="T1", total_amount="1.13"
    )
    other_app = fake_alipay.notification(
        out_trade_no=order.out_trade_no, trade_no="T2", total_amount="1130.00", app_id="2021999999999999"
    )
    unknown = fake_alipay.notification(out_trade_no="NOPE-A1", trade_no="T3", total_amount="1130.00")
    with caplog.at_level(logging.WARNING):
        for params in (wrong_amount, other_app, unknown):
            assert notify(client, params).content == b"failure"
    assert not Payment.objects.exists()
    refused = ProviderNotification.objects.filter(status=NotificationStatus.REFUSED)
    assert refused.count() == 3
    assert "differs from the order" in refused.get(trade_no="T1").outcome
    assert "is not ours" in refused.get(trade_no="T2").outcome
    assert "refused" in caplog.text
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.UNPAID


def test_out_of_order_notifications_never_reopen_a_paid_order(client, fake_alipay):
    invoice = issued_invoice()
    order, _ = qr_order(invoice)
    paid = fake_alipay.notification(out_trade_no=order.out_trade_no, trade_no="T9", total_amount="1130.00")
    waiting = fake_alipay.notification(
        out_trade_no=order.out_trade_no, trade_no="T9", total_amount="1130.00", trade_status="WAIT_BUYER_PAY"
    )
    closed = fake_alipay.notification(
        out_trade_no=order.out_trade_no, trade_no="T9", total_amount="1130.00", trade_status="TRADE_CLOSED"
    )
    for params in (paid, waiting, closed):
        assert notify(client, params).content == b"success"
    order.refresh_from_db()
    invoice.refresh_from_db()
    assert order.status == OrderStatus.PAID and invoice.payment_status == PaymentStatus.PAID
    assert Payment.objects.count() == 1


def test_query_applies_a_payment_whose_notification_was_lost(fake_alipay):
    invoice = issued_invoice()
    order, _ = qr_order(invoice)
    provider = payments.get("alipay")
    assert provider.query_status(invoice=invoice).status == "open"  # not scanned yet
    fake_alipay.pay(order.out_trade_no, "T77", "1130.00")
    state = provider.query_status(invoice=invoice)
    assert state.status == "paid"
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID
    provider.query_status(invoice=invoice)
    assert Payment.objects.count() == 1


def test_a_new_amount_closes_the_outdated_order(fake_alipay):
    from billing import services

    invoice = issued_invoice()
    first, _ = qr_order(invoice)
    services.payment_record(
        actor=None, method="bank_transfer", amount=D("130"), currency="CNY", allocations=[(invoice, D("130"))]
    )
    invoice.refresh_from_db()
    second, start = qr_order(invoice)
    assert second.attempt == 2 and start.amount == D("1000.00")
    first.refresh_from_db()
    assert first.status == OrderStatus.CLOSED
    assert fake_alipay.trades[first.out_trade_no]["trade_status"] == "TRADE_CLOSED"


def _paid_invoice(client, fake_alipay):
    invoice = issued_invoice()
    order, _ = qr_order(invoice)
    notify(
        client,
        fake_alipay.notification(out_trade_no=order.out_trade_no, trade_no="T5", total_amount="1130.00"),
    )
    return invoice, Payment.objects.get()


def test_refund_from_admin_records_its_own_row(admin_client, client, fake_alipay):
    invoice, payment = _paid_invoice(client, fake_alipay)
    url = reverse("admin:billing_payment_changelist")
    form = admin_client.post(
        url, {"action": "refund_online", "_selected_action": [payment.pk]}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert form.status_code == 200 and "Refund" in form.content.decode()
    response = admin_client.post(
        url,
        {
            "action": "refund_online",
            "_selected_action": [payment.pk],
            "apply": "1",
            "amount": "130.00",
            "reason": "少开一个模块",
        },
        follow=True,
    )
    assert response.status_code == 200
    refund = Payment.objects.get(kind=PaymentKind.REFUND)
    assert refund.amount == D("-130.00") and refund.reverses == payment and refund.method == "alipay"
    request = ProviderRefund.objects.get()
    assert request.status == RefundStatus.SUCCEEDED and request.refund_payment == refund
    assert fake_alipay.requests[-1]["method"] == "alipay.trade.refund"
    payment.refresh_from_db()
    assert payment.amount == D("1130.00")  # append-only: the payment row is untouched
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("1000.00") and invoice.payment_status == PaymentStatus.PARTIAL

    with pytest.raises(ApplicationError) as exc:
        payments.payment_refund_online(actor=None, payment=payment, amount=D("1000.01"))
    assert exc.value.code == "refund_not_possible"
    payments.payment_refund_online(actor=None, payment=payment, amount=D("1000.00"))
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.REFUNDED and invoice.amount_paid == 0


def test_refund_notification_after_an_api_refund_records_nothing_more(client, fake_alipay):
    _invoice, payment = _paid_invoice(client, fake_alipay)
    payments.payment_refund_online(actor=None, payment=payment, amount=D("100"))
    request = ProviderRefund.objects.get()
    params = fake_alipay.notification(
        out_trade_no=payment.memo,
        trade_no="T5",
        total_amount="1130.00",
        refund_fee="100.00",
        out_biz_no=request.out_refund_no,
        gmt_refund="2026-03-03 10:00:00.000",
    )
    assert notify(client, params).content == b"success"
    assert Payment.objects.filter(kind=PaymentKind.REFUND).count() == 1


def test_pay_link_and_portal_pay_page_lead_to_alipay(client, fake_alipay):
    from customers.models import Role
    from tests.portal.portal_helpers import member

    invoice = issued_invoice()
    response = client.get(f"/api/v1/billing/pay/{invoice.payment_token}")
    assert response.status_code == 303 and "alipay.trade.page.pay" in response["Location"]
    in_app = client.get(
        f"/api/v1/billing/pay/{invoice.payment_token}", HTTP_USER_AGENT="Mozilla/5.0 AlipayClient/10.5"
    )
    assert in_app.status_code == 303 and in_app["Location"].startswith("https://qr.alipay.com/")

    client.force_login(member(invoice.organization, Role.BILLING))
    url = reverse("portal:invoice_pay", kwargs={"invoice_id": invoice.pk})
    page = client.get(url).content.decode()
    assert 'data-provider="alipay" data-channel="qr"' in page and 'data-channel="page"' in page
    shown = client.post(url, {"provider": "alipay", "channel": "qr"}).content.decode()
    assert 'src="data:image/svg+xml;base64,' in shown and 'data-provider="alipay"' in shown


def test_invoice_pdf_qr_leads_to_the_configured_rail(fake_alipay):
    from billing.pdf import render_invoice_html

    html = render_invoice_html(issued_invoice())  # a Chinese customer's invoice is in Chinese
    assert "/api/v1/billing/pay/" in html and "支付宝" in html and 'src="data:image/svg+xml;base64,' in html
