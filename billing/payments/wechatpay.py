"""WeChat Pay (微信支付) API v3 directly: Native payment (a QR code scanned with WeChat) for CNY invoices."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing import wechatpay_gateway as gateway
from billing.errors import BillingError, billing_error
from billing.models import (
    Invoice,
    NotificationStatus,
    OnlineProvider,
    OrderChannel,
    Payment,
    PaymentMethod,
    RefundStatus,
)
from billing.payments.base import NotificationResult, PaymentStart, PaymentState, RefundResult
from billing.services import online
from portal.core.actors import Actor

logger = logging.getLogger(__name__)

REFUND_STATES = {
    "SUCCESS": RefundStatus.SUCCEEDED,
    "PROCESSING": RefundStatus.PENDING,
    "CLOSED": RefundStatus.FAILED,
    "ABNORMAL": RefundStatus.FAILED,
}


def _answer(accepted: bool, outcome: str, *, duplicate: bool = False) -> NotificationResult:
    # API v3: 2xx with no body means received; otherwise 4xx/5xx with {"code": "FAIL", "message": …}.
    if accepted:
        return NotificationResult(True, outcome, 204, b"", "application/json", duplicate)
    body = json.dumps({"code": "FAIL", "message": outcome[:100]}, ensure_ascii=False).encode()
    return NotificationResult(False, outcome, 400, body, "application/json", duplicate)


def _transaction_event(tx: gateway.Transaction, *, event_id: str) -> online.ProviderEvent:
    if tx.trade_state in gateway.PAID_STATES_QUERY:
        kind = "payment"
    elif tx.trade_state in gateway.CLOSED_STATES:
        kind = "closed"
    else:
        kind = "pending"
    return online.ProviderEvent(
        provider=OnlineProvider.WECHATPAY,
        event_id=event_id,
        kind=kind,
        out_trade_no=tx.out_trade_no,
        trade_no=tx.transaction_id,
        amount=tx.total,
        currency=tx.currency,
        app_id=tx.appid,
        expected_app_id=str(settings.WECHATPAY_APPID),
        merchant_id=tx.mchid,
        expected_merchant_id=str(settings.WECHATPAY_MCHID),
        occurred_at=tx.paid_at if kind == "payment" else timezone.now(),
        payer=tx.payer,
        payload=tx.raw,
    )


def _refund_event(state: gateway.RefundState, *, event_id: str) -> online.ProviderEvent:
    return online.ProviderEvent(
        provider=OnlineProvider.WECHATPAY,
        event_id=event_id,
        kind="refund",
        out_trade_no=state.out_trade_no,
        trade_no=state.transaction_id,
        amount=None,
        currency="CNY",
        app_id=str(settings.WECHATPAY_APPID),  # refund resources carry no appid; the merchant is checked
        expected_app_id=str(settings.WECHATPAY_APPID),
        merchant_id=state.mchid,
        expected_merchant_id=str(settings.WECHATPAY_MCHID),
        occurred_at=state.at,
        refund_no=state.out_refund_no,
        refund_amount=state.refund,
        refund_id=state.refund_id,
        refund_succeeded=state.status == "SUCCESS",
        payload=state.raw,
    )


class WechatPayProvider:
    code = OnlineProvider.WECHATPAY
    method = PaymentMethod.WECHAT_PAY

    def label(self) -> str:
        return pgettext("billing", "WeChat Pay")

    def enabled(self) -> bool:
        return gateway.enabled()

    def currencies(self) -> frozenset[str]:
        return frozenset({"CNY"})

    def channels(self) -> tuple[str, ...]:
        return (OrderChannel.QR,)

    def start(self, *, actor: Actor, invoice: Invoice, channel: str | None = None) -> PaymentStart:
        if channel not in (None, OrderChannel.QR):
            raise billing_error(
                BillingError.PAYMENT_UNAVAILABLE, _("Online payment is not available."), status=400
            )
        description = _("Invoice %(number)s") % {"number": invoice.number}
        order = online.provider_order_open(
            actor=actor,
            invoice=invoice,
            provider=self.code,
            channel=OrderChannel.QR,
            create_remote=lambda number, amount, expires_at: gateway.native_pay(
                out_trade_no=number, amount=amount, description=description, expires_at=expires_at
            ),
            close_remote=lambda number: gateway.close(out_trade_no=number),
        )
        return PaymentStart(
            provider=self.code,
            channel=OrderChannel.QR,
            kind="qr",
            url=order.pay_url,
            amount=order.amount,
            currency=order.currency,
            reference=order.out_trade_no,
            expires_at=order.expires_at,
        )

    def receive_notification(self, *, body: bytes, headers: Mapping[str, str]) -> NotificationResult:
        notification = gateway.verify_notification(dict(headers), body)
        if notification is None:
            logger.warning("WeChat Pay notification refused: bad signature, stale or undecryptable")
            return _answer(False, "signature invalid")
        if notification.transaction is not None:
            event = _transaction_event(notification.transaction, event_id=notification.id)
        elif notification.refund is not None:
            event = _refund_event(notification.refund, event_id=notification.id)
        else:
            logger.info(
                "WeChat Pay notification %s of type %s ignored", notification.id, notification.event_type
            )
            return _answer(True, f"ignored {notification.event_type}")
        event.payload = notification.raw  # the envelope (id, event_type) with the decrypted resource
        stored, duplicate = online.provider_event_apply(event=event)
        return _answer(stored.status != NotificationStatus.REFUSED, stored.outcome, duplicate=duplicate)

    def refund(self, *, actor: Actor, payment: Payment, amount: Decimal, reason: str = "") -> RefundResult:
        if payment.method != PaymentMethod.WECHAT_PAY or not (payment.external_id or "").startswith(
            "wechatpay:"
        ):
            raise billing_error(
                BillingError.REFUND_NOT_POSSIBLE, _("This payment was not made with WeChat Pay.")
            )
        request = online.provider_refund_create(
            actor=actor, payment=payment, amount=amount, reason=reason, provider=self.code
        )
        return self._submit(actor, request)

    def _submit(self, actor: Actor, request: Any) -> RefundResult:
        payment = request.payment
        state = gateway.refund(
            transaction_id=payment.external_id.split(":", 1)[1],
            out_refund_no=request.out_refund_no,
            amount=request.amount,
            total=payment.amount,
            reason=request.reason,
        )
        return self._settle(actor, request, state)

    def _settle(self, actor: Actor, request: Any, state: gateway.RefundState) -> RefundResult:
        status = REFUND_STATES.get(state.status, RefundStatus.PENDING)
        request = online.provider_refund_settle(
            actor=actor,
            refund=request,
            status=status,
            provider_refund_id=state.refund_id,
            detail=f"WeChat Pay refund {state.status}",
            at=state.at,
        )
        return RefundResult(status=request.status, detail=state.status, refund_id=request.pk)

    def retry_refund(self, *, request: Any) -> RefundResult:
        if request.status == RefundStatus.PENDING:
            state = gateway.query_refund(out_refund_no=request.out_refund_no)
            if state is None:
                return RefundResult(
                    status=request.status, detail="unknown at WeChat Pay", refund_id=request.pk
                )
            return self._settle(None, request, state)
        return self._submit(None, request)

    def query_status(self, *, invoice: Invoice) -> PaymentState:
        order = online.latest_order(invoice, self.code)
        if order is None:
            return PaymentState(self.code, "", "unknown", "no order")
        return self.sync_order(order)

    def sync_order(self, order: Any) -> PaymentState:
        tx = gateway.query(out_trade_no=order.out_trade_no)
        order.__class__.objects.filter(pk=order.pk).update(last_synced_at=timezone.now())
        if tx is None:
            return PaymentState(self.code, order.out_trade_no, order.status, "not at WeChat Pay yet")
        event = _transaction_event(
            tx, event_id=f"query:{tx.transaction_id or order.out_trade_no}:{tx.trade_state}"
        )
        stored, _dup = online.provider_event_apply(event=event)
        order.refresh_from_db()
        return PaymentState(self.code, order.out_trade_no, order.status, stored.outcome)
