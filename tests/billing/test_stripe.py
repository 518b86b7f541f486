"""Stripe: Checkout through a fake HTTP layer (no network), webhooks signed like Stripe signs them."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import stripe
from django.db import connection

from billing import services
from billing.models import CheckoutSession, CheckoutStatus, Invoice, Payment, PaymentStatus, StripeEvent
from portal.core.errors import ApplicationError
from tests.billing.factories import issued_invoice
from tests.conftest import requires_postgres

D = Decimal
SECRET = "whsec_test_secret"
WEBHOOK = "/api/v1/billing/stripe/webhook"


class FakeStripeHTTP(stripe.HTTPClient):
    """Stripe's HTTP layer replaced: answers like the API, replays idempotency keys like the API."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict] = []
        self.by_key: dict[str, str] = {}
        self.count = 0

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        params = {k: v[0] for k, v in parse_qs(post_data or "").items()}
        self.requests.append({"method": method, "url": url, "headers": dict(headers or {}), "params": params})
        key = (headers or {}).get("Idempotency-Key")
        if url.endswith("/v1/checkout/sessions") and method == "post":
            if key in self.by_key:
                return self.by_key[key], 200, {"Idempotent-Replayed": "true"}
            self.count += 1
            session_id = f"cs_test_{self.count}"
            body = json.dumps(
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                    "status": "open",
                    "payment_status": "unpaid",
                    "amount_total": int(params["line_items[0][price_data][unit_amount]"]),
                    "currency": params["line_items[0][price_data][currency]"],
                    "expires_at": int(time.time()) + 86400,
                    "metadata": {"invoice_id": params["metadata[invoice_id]"]},
                }
            )
            self.by_key[key] = body
            return body, 200, {"Request-Id": f"req_{self.count}"}
        if url.endswith("/expire"):
            session_id = url.rsplit("/", 2)[-2]
            return json.dumps({"id": session_id, "object": "checkout.session", "status": "expired"}), 200, {}
        return json.dumps({"error": {"message": "not faked"}}), 404, {}

    def close(self):
        return None


@pytest.fixture
def fake_stripe(settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    fake = FakeStripeHTTP()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    return fake


def checkout_event(
    invoice,
    *,
    type="checkout.session.completed",
    payment_status="paid",
    created=None,
    event_id=None,
    session="cs_test_1",
    amount=None,
    status="complete",
):
    amount = int((amount if amount is not None else invoice.open_balance) * 100)
    return {
        "id": event_id or f"evt_{type}_{session}_{payment_status}",
        "object": "event",
        "type": type,
        "created": created or int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": session,
                "object": "checkout.session",
                "status": status,
                "payment_status": payment_status,
                "payment_intent": f"pi_{session}",
                "amount_total": amount,
                "currency": invoice.currency.lower(),
                "client_reference_id": str(invoice.pk),
                "metadata": {"invoice_id": str(invoice.pk), "invoice_number": invoice.number},
                "customer_details": {"email": "payer@example.cn", "name": "张三"},
            }
        },
    }


def refund_event(invoice, *, refunded, created=None, event_id=None, session="cs_test_1"):
    return {
        "id": event_id or f"evt_refund_{refunded}",
        "object": "event",
        "type": "charge.refunded",
        "created": created or int(time.time()),
        "data": {
            "object": {
                "id": f"ch_{session}",
                "object": "charge",
                "payment_intent": f"pi_{session}",
                "amount": int(invoice.gross_total * 100),
                "amount_captured": int(invoice.gross_total * 100),
                "amount_refunded": refunded,
                "currency": invoice.currency.lower(),
                "metadata": {"invoice_id": str(invoice.pk)},
            }
        },
    }


def post(client, event, *, secret=SECRET, timestamp=None, tamper=False):
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    if tamper:
        body = body.replace('"livemode": false', '"livemode": true')
    return client.post(WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


# Checkout ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_checkout_session_for_the_open_balance_with_china_methods(fake_stripe):
    invoice = issued_invoice()
    session = services.invoice_checkout_start(actor=None, invoice=invoice)
    (request,) = fake_stripe.requests
    assert request["headers"]["Idempotency-Key"] == f"invoice:{invoice.pk}:checkout"
    params = request["params"]
    assert [params[f"payment_method_types[{i}]"] for i in range(3)] == ["card", "alipay", "wechat_pay"]
    assert params["payment_method_options[wechat_pay][client]"] == "web"
    assert params["line_items[0][price_data][currency]"] == "cny"
    assert params["line_items[0][price_data][unit_amount]"] == "113000"
    assert params["payment_intent_data[metadata][invoice_id]"] == str(invoice.pk)
    assert params["mode"] == "payment" and params["locale"] == "zh"
    assert session.url.startswith("https://checkout.stripe.com/") and session.amount == D("1130.00")
    again = services.invoice_checkout_start(actor=None, invoice=invoice)
    assert again.pk == session.pk and len(fake_stripe.requests) == 1  # reused, no second call


@pytest.mark.django_db
def test_new_balance_gets_a_new_attempt_and_the_old_session_is_closed(fake_stripe):
    invoice = issued_invoice()
    first = services.invoice_checkout_start(actor=None, invoice=invoice)
    services.payment_record(
        actor=None, method="bank_transfer", amount=D("130"), currency="CNY", allocations=[(invoice, D("130"))]
    )
    second = services.invoice_checkout_start(actor=None, invoice=Invoice.objects.get(pk=invoice.pk))
    assert second.attempt == 2 and second.amount == D("1000.00")
    keys = [r["headers"].get("Idempotency-Key") for r in fake_stripe.requests]
    assert keys[:2] == [f"invoice:{invoice.pk}:checkout", f"invoice:{invoice.pk}:checkout:2"]
    assert any(r["url"].endswith(f"/{first.stripe_id}/expire") for r in fake_stripe.requests)
    first.refresh_from_db()
    assert first.status == CheckoutStatus.EXPIRED


@pytest.mark.django_db
def test_crash_after_the_stripe_call_resumes_with_the_same_session(fake_stripe, monkeypatch):
    invoice = issued_invoice()
    original = CheckoutSession.objects.get_or_create
    state = {"crashed": False}

    def crash_once(*args, **kwargs):
        if not state["crashed"]:
            state["crashed"] = True
            raise ConnectionError("database went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(CheckoutSession.objects, "get_or_create", crash_once)
    with pytest.raises(ConnectionError):
        services.invoice_checkout_start(actor=None, invoice=invoice)
    session = services.invoice_checkout_start(actor=None, invoice=invoice)
    assert fake_stripe.count == 1  # Stripe replayed the idempotent request
    assert [r["headers"]["Idempotency-Key"] for r in fake_stripe.requests] == [
        f"invoice:{invoice.pk}:checkout"
    ] * 2
    assert CheckoutSession.objects.get().stripe_id == session.stripe_id == "cs_test_1"


@pytest.mark.django_db
def test_checkout_refused_when_disabled_or_nothing_open(settings, fake_stripe):
    invoice = issued_invoice()
    services.payment_record(
        actor=None,
        method="bank_transfer",
        amount=D("1130"),
        currency="CNY",
        allocations=[(invoice, D("1130"))],
    )
    with pytest.raises(ApplicationError) as exc:
        services.invoice_checkout_start(actor=None, invoice=invoice)
    assert exc.value.code == "invoice_not_payable"
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(ApplicationError) as exc:
        services.invoice_checkout_start(actor=None, invoice=issued_invoice())
    assert exc.value.status == 503


@pytest.mark.django_db
def test_pay_link_redirects_to_checkout(client, fake_stripe):
    invoice = issued_invoice()
    response = client.get(f"/api/v1/billing/pay/{invoice.payment_token}")
    assert response.status_code == 303 and response["Location"].startswith("https://checkout.stripe.com/")
    assert client.get("/api/v1/billing/pay/not-a-token").status_code == 404


# Webhooks ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_valid_webhook_marks_the_invoice_paid_with_a_payment_row(client, fake_stripe):
    invoice = issued_invoice()
    response = post(client, checkout_event(invoice))
    assert response.status_code == 200, response.content
    assert response.json()["duplicate"] is False
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID and invoice.open_balance == 0
    payment = Payment.objects.get()
    assert (
        payment.method == "stripe"
        and payment.amount == D("1130.00")
        and payment.external_id == "pi_cs_test_1"
    )
    assert StripeEvent.objects.get().processed_at is not None


@pytest.mark.django_db
def test_bad_signature_is_400_and_nothing_is_stored(client, fake_stripe):
    invoice = issued_invoice()
    assert post(client, checkout_event(invoice), secret="whsec_wrong").status_code == 400
    assert post(client, checkout_event(invoice), tamper=True).status_code == 400
    response = client.post(WEBHOOK, data=json.dumps(checkout_event(invoice)), content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "signature_invalid"
    assert StripeEvent.objects.count() == 0 and Payment.objects.count() == 0


@pytest.mark.django_db
def test_stale_timestamp_is_rejected(client, fake_stripe):
    invoice = issued_invoice()
    response = post(client, checkout_event(invoice), timestamp=int(time.time()) - 600)
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_replayed_event_is_applied_once(client, fake_stripe):
    invoice = issued_invoice()
    event = checkout_event(invoice)
    assert post(client, event).json()["duplicate"] is False
    second = post(client, event)
    assert second.status_code == 200 and second.json()["duplicate"] is True
    # the same payment in a different event (Stripe sends both completed and async_succeeded)
    post(client, checkout_event(invoice, type="checkout.session.async_payment_succeeded", amount=D("1130")))
    assert StripeEvent.objects.count() == 2 and Payment.objects.count() == 1


@pytest.mark.django_db
def test_out_of_order_delivery(client, fake_stripe):
    invoice = issued_invoice()
    now = int(time.time())
    completed_unpaid = checkout_event(invoice, payment_status="unpaid", created=now - 60, event_id="evt_1")
    succeeded = checkout_event(
        invoice, type="checkout.session.async_payment_succeeded", created=now - 30, event_id="evt_2"
    )
    expired_old = checkout_event(
        invoice,
        type="checkout.session.expired",
        payment_status="unpaid",
        status="expired",
        created=now - 90,
        event_id="evt_0",
    )
    for event in (succeeded, completed_unpaid, expired_old):  # newest first
        assert post(client, event).status_code == 200
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID and Payment.objects.count() == 1
    session = CheckoutSession.objects.get(stripe_id="cs_test_1")  # recreated from the event
    assert session.status == CheckoutStatus.COMPLETE and session.stripe_payment_status == "paid"


@pytest.mark.django_db
def test_refund_before_payment_and_older_refund_events(client, fake_stripe):
    invoice = issued_invoice()
    now = int(time.time())
    assert (
        post(client, refund_event(invoice, refunded=50000, created=now - 10, event_id="evt_r2")).status_code
        == 200
    )
    assert (
        post(client, refund_event(invoice, refunded=30000, created=now - 20, event_id="evt_r1")).status_code
        == 200
    )
    assert post(client, checkout_event(invoice, amount=D("1130"), created=now - 100)).status_code == 200
    payments = {p.kind: p.amount for p in Payment.objects.all()}
    assert payments == {"payment": D("1130.00"), "refund": D("-500.00")}
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("630.00") and invoice.payment_status == PaymentStatus.PARTIAL
    post(client, refund_event(invoice, refunded=113000, event_id="evt_r3"))
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.REFUNDED and invoice.amount_paid == 0


@pytest.mark.django_db
def test_handler_failure_is_500_and_the_stored_event_is_retried(client, fake_stripe, monkeypatch):
    from billing.services import stripe as stripe_service

    invoice = issued_invoice()

    def boom(event):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(stripe_service.HANDLERS, "checkout.session.completed", boom)
    response = post(client, checkout_event(invoice))
    assert response.status_code == 500
    event = StripeEvent.objects.get()
    assert event.processed_at is None and "database hiccup" in event.last_error
    monkeypatch.setitem(
        stripe_service.HANDLERS, "checkout.session.completed", stripe_service._on_checkout_completed
    )
    assert stripe_service.stripe_events_retry(older_than_minutes=0) == 1
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_and_apply_once(fake_stripe):
    invoice = issued_invoice()
    body = json.dumps(checkout_event(invoice))
    header = stripe.WebhookSignature.generate_signature_header(body, SECRET)

    def deliver(_):
        try:
            return services.stripe_webhook_receive(payload=body.encode(), signature=header)[1]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(deliver, range(4)))
    assert created.count(True) == 1
    assert StripeEvent.objects.count() == 1 and Payment.objects.count() == 1
    assert Invoice.objects.get(pk=invoice.pk).payment_status == PaymentStatus.PAID
