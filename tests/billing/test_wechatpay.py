"""WeChat Pay API v3 directly: Native QR through a fake api.mch.weixin.qq.com (wechatpayv3's requests
replaced), notifications encrypted (AES-256-GCM, APIv3 key) and signed as WeChat does, refunds."""

import time
from decimal import Decimal

import pytest
import wechatpayv3.core

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
from tests.billing.factories import issued_invoice
from tests.billing.rails import (
    WECHAT_APIV3_KEY,
    WECHAT_APPID,
    WECHAT_MCHID,
    WECHAT_PUBLIC_KEY_ID,
    WECHAT_SERIAL,
    FakeWechatPay,
    KeyPair,
    wechat_request_headers,
)

pytestmark = pytest.mark.django_db
D = Decimal
NOTIFY = "/api/v1/billing/wechatpay/notify"


@pytest.fixture(scope="module")
def keys():
    return KeyPair.generate(), KeyPair.generate()  # the merchant's API key pair, WeChat Pay's key pair


@pytest.fixture
def fake_wechat(settings, tmp_path, monkeypatch, keys):
    merchant_key, platform_key = keys
    (tmp_path / "apiclient_key.pem").write_text(merchant_key.private_pem())
    (tmp_path / "pub_key.pem").write_text(platform_key.public_pem())
    settings.WECHATPAY_MCHID = WECHAT_MCHID
    settings.WECHATPAY_APPID = WECHAT_APPID
    settings.WECHATPAY_APIV3_KEY = WECHAT_APIV3_KEY
    settings.WECHATPAY_PRIVATE_KEY_FILE = str(tmp_path / "apiclient_key.pem")
    settings.WECHATPAY_CERT_SERIAL_NO = WECHAT_SERIAL
    settings.WECHATPAY_PUBLIC_KEY_FILE = str(tmp_path / "pub_key.pem")
    settings.WECHATPAY_PUBLIC_KEY_ID = WECHAT_PUBLIC_KEY_ID
    settings.ALIPAY_APP_ID = ""
    settings.STRIPE_SECRET_KEY = ""
    fake = FakeWechatPay(merchant_key=merchant_key, platform_key=platform_key)
    monkeypatch.setattr(wechatpayv3.core, "requests", fake)
    return fake


def native_order(invoice):
    start = payments.invoice_payment_start(actor=None, invoice=invoice)
    return ProviderOrder.objects.get(out_trade_no=start.reference), start


def notify(client, body, headers):
    return client.post(NOTIFY, data=body, content_type="application/json", **wechat_request_headers(headers))


def test_native_payment_gives_a_code_url_signed_request(fake_wechat):
    invoice = issued_invoice()  # 1,130.00
    order, start = native_order(invoice)
    assert start.provider == "wechatpay" and start.kind == "qr"
    assert start.url == f"weixin://wxpay/bizpayurl?pr={order.out_trade_no}"
    sent = fake_wechat.requests[0]["json"]
    assert sent["amount"] == {"total": 113000, "currency": "CNY"}
    assert sent["mchid"] == WECHAT_MCHID and sent["appid"] == WECHAT_APPID
    assert sent["notify_url"].endswith(NOTIFY)


def test_encrypted_signed_notification_is_verified_decrypted_and_applied_once(client, fake_wechat):
    invoice = issued_invoice()
    order, _ = native_order(invoice)
    resource = fake_wechat.transaction(
        order.out_trade_no, transaction_id="4200000001202603020000000001", total_fen=113000
    )
    body, headers = fake_wechat.notification(resource)
    response = notify(client, body, headers)
    assert response.status_code == 204, response.content
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID
    payment = Payment.objects.get()
    assert payment.method == "wechat_pay" and payment.amount == D("1130.00")
    assert payment.external_id == "wechatpay:4200000001202603020000000001"
    stored = ProviderNotification.objects.get()
    assert stored.payload["resource"]["trade_state"] == "SUCCESS"  # decrypted

    assert notify(client, body, headers).status_code == 204  # replay: acknowledged, not applied again
    body2, headers2 = fake_wechat.notification(resource)  # a second delivery under a new id
    assert notify(client, body2, headers2).status_code == 204
    assert Payment.objects.count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.parametrize(
    "tamper",
    ["other_signer", "wrong_apiv3_key", "stale", "unknown_serial", "edited_body"],
)
def test_forged_stale_or_undecryptable_notifications_change_nothing(client, fake_wechat, tamper):
    invoice = issued_invoice()
    order, _ = native_order(invoice)
    resource = fake_wechat.transaction(order.out_trade_no, transaction_id="42000000099", total_fen=113000)
    kwargs = {
        "other_signer": {"signing_key": KeyPair.generate()},
        "wrong_apiv3_key": {"apiv3_key": "0" * 32},
        "stale": {"timestamp": int(time.time()) - 3600},
        "unknown_serial": {"serial": "PUB_KEY_ID_SOMEONE_ELSE"},
        "edited_body": {},
    }[tamper]
    body, headers = fake_wechat.notification(resource, **kwargs)
    if tamper == "edited_body":
        body = body.replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS ")
    response = notify(client, body, headers)
    assert response.status_code == 400 and response.json()["code"] == "FAIL"
    assert not Payment.objects.exists() and not ProviderNotification.objects.exists()


def test_wrong_amount_or_merchant_is_refused(client, fake_wechat):
    invoice = issued_invoice()
    order, _ = native_order(invoice)
    cheap = fake_wechat.transaction(order.out_trade_no, transaction_id="42001", total_fen=100)
    other = fake_wechat.transaction(
        order.out_trade_no, transaction_id="42002", total_fen=113000, mchid="1900000999"
    )
    for resource in (cheap, other):
        body, headers = fake_wechat.notification(resource)
        assert notify(client, body, headers).status_code == 400
    assert not Payment.objects.exists()
    assert ProviderNotification.objects.filter(status=NotificationStatus.REFUSED).count() == 2


def test_query_applies_a_lost_notification(fake_wechat):
    invoice = issued_invoice()
    order, _ = native_order(invoice)
    provider = payments.get("wechatpay")
    assert provider.query_status(invoice=invoice).status == "open"
    fake_wechat.pay(order.out_trade_no, transaction_id="42000777", total_fen=113000)
    assert provider.query_status(invoice=invoice).status == "paid"
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID and Payment.objects.count() == 1


def test_refund_processing_then_confirmed_by_notification(client, fake_wechat):
    invoice = issued_invoice()
    order, _ = native_order(invoice)
    body, headers = fake_wechat.notification(
        fake_wechat.transaction(order.out_trade_no, transaction_id="42000555", total_fen=113000)
    )
    notify(client, body, headers)
    payment = Payment.objects.get()

    result = payments.payment_refund_online(actor=None, payment=payment, amount=D("300"), reason="退一个模块")
    assert result.status == RefundStatus.PENDING
    request = ProviderRefund.objects.get()
    assert fake_wechat.refunds[request.out_refund_no]["amount"]["refund"] == 30000
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()  # no money left yet

    refund_resource = {
        "mchid": WECHAT_MCHID,
        "transaction_id": "42000555",
        "out_trade_no": order.out_trade_no,
        "refund_id": fake_wechat.refunds[request.out_refund_no]["refund_id"],
        "out_refund_no": request.out_refund_no,
        "refund_status": "SUCCESS",
        "success_time": "2026-03-03T10:05:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 113000, "refund": 30000, "payer_total": 113000, "payer_refund": 30000},
    }
    body, headers = fake_wechat.notification(refund_resource, event_type="REFUND.SUCCESS")
    assert notify(client, body, headers).status_code == 204
    assert notify(client, body, headers).status_code == 204  # replay
    refund = Payment.objects.get(kind=PaymentKind.REFUND)
    assert refund.amount == D("-300.00") and refund.reverses == payment
    request.refresh_from_db()
    assert request.status == RefundStatus.SUCCEEDED and request.refund_payment == refund
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("830.00") and invoice.payment_status == PaymentStatus.PARTIAL


def test_refund_answered_success_at_once_is_recorded_and_sync_finishes_pending(client, fake_wechat):
    from billing.tasks import provider_payments_sync

    invoice = issued_invoice()
    order, _ = native_order(invoice)
    body, headers = fake_wechat.notification(
        fake_wechat.transaction(order.out_trade_no, transaction_id="42000666", total_fen=113000)
    )
    notify(client, body, headers)
    payment = Payment.objects.get()
    payments.payment_refund_online(actor=None, payment=payment, amount=D("100"))
    request = ProviderRefund.objects.get()
    assert request.status == RefundStatus.PENDING
    fake_wechat.refunds[request.out_refund_no]["status"] = "SUCCESS"  # done at WeChat; notification lost
    provider_payments_sync()
    request.refresh_from_db()
    assert request.status == RefundStatus.SUCCEEDED
    assert Payment.objects.get(kind=PaymentKind.REFUND).amount == D("-100.00")

    fake_wechat.refund_status = "SUCCESS"
    payments.payment_refund_online(actor=None, payment=payment, amount=D("1030"))
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.REFUNDED


def test_pay_link_opened_in_wechat_shows_the_native_qr(client, fake_wechat):
    invoice = issued_invoice()
    page = client.get(
        f"/api/v1/billing/pay/{invoice.payment_token}", HTTP_USER_AGENT="Mozilla/5.0 MicroMessenger/8.0"
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-provider="wechatpay"' in text and 'src="data:image/svg+xml;base64,' in text
