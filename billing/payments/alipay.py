"""Alipay (支付宝) directly: 电脑网站支付 (redirect to Alipay's checkout page) and 当面付 precreate (a QR
code the buyer scans with the app), for CNY invoices."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from billing import alipay_gateway as gateway
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
from billing.services.stripe import payment_return_url
from portal.core.actors import Actor

logger = logging.getLogger(__name__)

SUCCESS = NotificationResult(True, "", 200, b"success", "text/plain")


def _answer(accepted: bool, outcome: str, *, duplicate: bool = False) -> NotificationResult:
    # Alipay stops retrying only on the seven characters "success"; anything else means "send again".
    return NotificationResult(
        accepted, outcome, 200, b"success" if accepted else b"failure", "text/plain", duplicate
    )


def _event(state: gateway.TradeState, *, event_id: str) -> online.ProviderEvent:
    if (
        state.refund_fee is not None
        and state.refund_fee > 0
        and (state.out_biz_no or "gmt_refund" in state.raw)
    ):
        kind = "refund"
    elif state.trade_status in gateway.PAID_STATES:
        kind = "payment"
    elif state.trade_status in gateway.CLOSED_STATES:
        kind = "closed"
    else:
        kind = "pending"
    return online.ProviderEvent(
        provider=OnlineProvider.ALIPAY,
        event_id=event_id,
        kind=kind,
        out_trade_no=state.out_trade_no,
        trade_no=state.trade_no,
        amount=state.total_amount,
        currency="CNY",
        app_id=state.app_id,
        expected_app_id=str(settings.ALIPAY_APP_ID),
        occurred_at=state.paid_at if kind == "payment" else timezone.now(),
        payer=state.buyer,
        refund_no=state.out_biz_no,
        refunded_total=state.refund_fee,
        payload=state.raw,
    )


class AlipayProvider:
    code = OnlineProvider.ALIPAY
    method = PaymentMethod.ALIPAY

    def label(self) -> str:
        return pgettext("billing", "Alipay")

    def enabled(self) -> bool:
        return gateway.enabled()

    def currencies(self) -> frozenset[str]:
        return frozenset({"CNY"})

    def channels(self) -> tuple[str, ...]:
        return (OrderChannel.PAGE, OrderChannel.QR)

    def start(self, *, actor: Actor, invoice: Invoice, channel: str | None = None) -> PaymentStart:
        channel = channel or OrderChannel.PAGE
        if channel not in self.channels():
            raise billing_error(
                BillingError.PAYMENT_UNAVAILABLE, _("Online payment is not available."), status=400
            )
        subject = _("Invoice %(number)s") % {"number": invoice.number}

        def create(out_trade_no: str, amount: Decimal, expires_at: Any) -> str:
            if channel == OrderChannel.QR:
                return gateway.precreate(
                    out_trade_no=out_trade_no, amount=amount, subject=subject, expires_at=expires_at
                )
            return gateway.page_pay_url(
                out_trade_no=out_trade_no,
                amount=amount,
                subject=subject,
                return_url=payment_return_url(invoice, "success"),
                expires_at=expires_at,
            )

        order = online.provider_order_open(
            actor=actor,
            invoice=invoice,
            provider=self.code,
            channel=channel,
            create_remote=create,
            close_remote=lambda number: gateway.close(out_trade_no=number),
        )
        return PaymentStart(
            provider=self.code,
            channel=order.channel,
            kind="qr" if order.channel == OrderChannel.QR else "redirect",
            url=order.pay_url,
            amount=order.amount,
            currency=order.currency,
            reference=order.out_trade_no,
            expires_at=order.expires_at,
        )

    def receive_notification(self, *, body: bytes, headers: Mapping[str, str]) -> NotificationResult:
        """The asynchronous notification: a form POST (application/x-www-form-urlencoded, UTF-8)."""
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        state = gateway.verify_notification(form)
        if state is None:
            logger.warning(
                "Alipay notification with a bad signature refused (order %r)", form.get("out_trade_no")
            )
            return _answer(False, "bad signature")
        event_id = form.get("notify_id") or f"{state.trade_no}:{state.trade_status}:{form.get('notify_time')}"
        notification, duplicate = online.provider_event_apply(event=_event(state, event_id=event_id))
        accepted = notification.status != NotificationStatus.REFUSED
        return _answer(accepted, notification.outcome, duplicate=duplicate)

    def refund(self, *, actor: Actor, payment: Payment, amount: Decimal, reason: str = "") -> RefundResult:
        order_no = payment.memo
        if payment.method != PaymentMethod.ALIPAY or not order_no:
            raise billing_error(BillingError.REFUND_NOT_POSSIBLE, _("This payment was not made with Alipay."))
        request = online.provider_refund_create(
            actor=actor, payment=payment, amount=amount, reason=reason, provider=self.code
        )
        return self._submit(actor, request)

    def _submit(self, actor: Actor, request: Any) -> RefundResult:
        # Unreachable: the request stays "requested" and is sent again with the same number later.
        answer = gateway.refund(
            out_trade_no=request.payment.memo,
            amount=request.amount,
            out_request_no=request.out_refund_no,
            reason=request.reason,
        )
        status = RefundStatus.SUCCEEDED if answer.succeeded else RefundStatus.FAILED
        request = online.provider_refund_settle(
            actor=actor, refund=request, status=status, detail=answer.detail
        )
        return RefundResult(status=request.status, detail=answer.detail, refund_id=request.pk)

    def retry_refund(self, *, request: Any) -> RefundResult:
        return self._submit(None, request)

    def query_status(self, *, invoice: Invoice) -> PaymentState:
        order = online.latest_order(invoice, self.code)
        if order is None:
            return PaymentState(self.code, "", "unknown", "no order")
        return self.sync_order(order)

    def sync_order(self, order: Any) -> PaymentState:
        state = gateway.query(out_trade_no=order.out_trade_no)
        order.__class__.objects.filter(pk=order.pk).update(last_synced_at=timezone.now())
        if state is None:
            return PaymentState(self.code, order.out_trade_no, order.status, "not at Alipay yet")
        event = _event(state, event_id=f"query:{state.trade_no or order.out_trade_no}:{state.trade_status}")
        if event.kind == "refund":  # a query answer describes the trade, not a refund
            event.kind = "payment" if state.trade_status in gateway.PAID_STATES else "pending"
        notification, _dup = online.provider_event_apply(event=event)
        order.refresh_from_db()
        return PaymentState(self.code, order.out_trade_no, order.status, notification.outcome)
