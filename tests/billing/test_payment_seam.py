"""The provider seam: which rails an invoice is offered, the customer's choice, Stripe behind the seam
(its checkout unchanged, refunds asked of Stripe and recorded when its webhook reports them)."""

import json
from decimal import Decimal

import pytest
import stripe

from billing import payments, services
from billing.models import Payment, ProviderRefund, RefundStatus
from portal.core.errors import ApplicationError
from tests.billing.factories import issued_invoice
from tests.billing.test_stripe import SECRET, FakeStripeHTTP, checkout_event, post

pytestmark = pytest.mark.django_db
D = Decimal


class FakeStripeWithRefunds(FakeStripeHTTP):
    def request(self, method, url, headers, post_data=None, *, _usage=None):
        if url.endswith("/v1/refunds") and method == "post":
            from urllib.parse import parse_qs

            params = {k: v[0] for k, v in parse_qs(post_data or "").items()}
            self.requests.append(
                {"method": method, "url": url, "headers": dict(headers or {}), "params": params}
            )
            body = {"id": "re_1", "object": "refund", "status": "succeeded", "amount": int(params["amount"])}
            return json.dumps(body), 200, {}
        return super().request(method, url, headers, post_data, _usage=_usage)


@pytest.fixture
def stripe_only(settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.ALIPAY_APP_ID = ""
    settings.WECHATPAY_MCHID = ""
    fake = FakeStripeWithRefunds()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    return fake


def test_rails_offered_by_currency_and_choice(stripe_only, settings):
    cny, usd = issued_invoice(), issued_invoice(currency="USD")
    settings.BILLING_DEFAULT_RATES_TO_CNY = {"USD": "7.10"}
    assert [p.code for p in payments.available_for(cny)] == ["stripe"]
    settings.ALIPAY_APP_ID, settings.ALIPAY_APP_PRIVATE_KEY_FILE, settings.ALIPAY_PUBLIC_KEY_FILE = (
        "1",
        "/k",
        "/p",
    )
    assert [p.code for p in payments.available_for(cny)] == ["alipay", "stripe"]
    assert [p.code for p in payments.available_for(usd)] == ["stripe"]
    assert payments.choose(cny).code == "alipay" and payments.choose(cny, "stripe").code == "stripe"
    with pytest.raises(ApplicationError) as exc:
        payments.choose(usd, "alipay")
    assert exc.value.status == 400
    settings.STRIPE_SECRET_KEY = ""
    settings.ALIPAY_APP_ID = ""
    with pytest.raises(ApplicationError) as exc:
        payments.choose(cny)
    assert exc.value.code == "online_payment_unavailable" and exc.value.status == 503


def test_stripe_behind_the_seam_checkout_and_refund(client, stripe_only):
    invoice = issued_invoice()
    start = payments.invoice_payment_start(actor=None, invoice=invoice)
    assert (
        start.provider == "stripe"
        and start.kind == "redirect"
        and start.url.startswith("https://checkout.stripe.com/")
    )
    post(client, checkout_event(invoice))
    payment = Payment.objects.get()
    with pytest.raises(ApplicationError):
        services.payment_refund(actor=None, invoice=invoice, amount=D("0"))
    result = payments.payment_refund_online(actor=None, payment=payment, amount=D("130"))
    assert result.status == RefundStatus.PENDING  # recorded when charge.refunded arrives
    sent = stripe_only.requests[-1]
    assert sent["params"] == {"payment_intent": "pi_cs_test_1", "amount": "13000"}
    assert sent["headers"]["Idempotency-Key"] == f"refund:{ProviderRefund.objects.get().out_refund_no}"
    assert Payment.objects.count() == 1
