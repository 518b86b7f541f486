"""The one module that talks to WeChat Pay API v3 (wechatpayv3). Everything else calls these functions.

Requests are signed with the merchant's API private key; answers and notifications are verified with the
WeChat Pay public key (公钥模式: its id, PUB_KEY_ID_…, is the Wechatpay-Serial they carry), and the
notification's resource is decrypted with AES-256-GCM under the APIv3 key. The SDK sends its requests
with `wechatpayv3.core.requests`: tests replace that one name (the HTTP layer) and sign answers and
notifications with a key pair they generate.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.money import from_minor_units, to_minor_units

logger = logging.getLogger(__name__)

NOTIFY_PATH = "/api/v1/billing/wechatpay/notify"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat Pay's guidance: refuse notifications whose timestamp is more than five minutes off.
NOTIFICATION_TOLERANCE_SECONDS = 300
PAID_STATES = {"SUCCESS"}
# REFUND: paid, then (partly) refunded; still a payment that happened.
PAID_STATES_QUERY = {"SUCCESS", "REFUND"}
CLOSED_STATES = {"CLOSED", "REVOKED", "PAYERROR"}

_client_cache: tuple[tuple, Any] | None = None


@dataclass(frozen=True)
class Transaction:
    """A decrypted transaction (payment notification or query answer)."""

    out_trade_no: str
    transaction_id: str
    trade_state: str
    total: Decimal | None
    currency: str
    appid: str
    mchid: str
    paid_at: datetime | None
    payer: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class RefundState:
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str
    status: str
    refund: Decimal | None
    mchid: str
    at: datetime | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class Notification:
    id: str
    event_type: str
    transaction: Transaction | None
    refund: RefundState | None
    raw: dict[str, Any]


def enabled() -> bool:
    return all(
        getattr(settings, name)
        for name in (
            "WECHATPAY_MCHID",
            "WECHATPAY_APPID",
            "WECHATPAY_APIV3_KEY",
            "WECHATPAY_PRIVATE_KEY_FILE",
            "WECHATPAY_CERT_SERIAL_NO",
            "WECHATPAY_PUBLIC_KEY_FILE",
            "WECHATPAY_PUBLIC_KEY_ID",
        )
    )


def _client() -> Any:
    global _client_cache
    from wechatpayv3 import WeChatPay, WeChatPayType

    key = (
        settings.WECHATPAY_MCHID,
        settings.WECHATPAY_APPID,
        settings.WECHATPAY_APIV3_KEY,
        settings.WECHATPAY_PRIVATE_KEY_FILE,
        settings.WECHATPAY_CERT_SERIAL_NO,
        settings.WECHATPAY_PUBLIC_KEY_FILE,
        settings.WECHATPAY_PUBLIC_KEY_ID,
    )
    if _client_cache is None or _client_cache[0] != key:
        client = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=settings.WECHATPAY_MCHID,
            private_key=Path(settings.WECHATPAY_PRIVATE_KEY_FILE).read_text(encoding="utf-8"),
            cert_serial_no=settings.WECHATPAY_CERT_SERIAL_NO,
            appid=settings.WECHATPAY_APPID,
            apiv3_key=settings.WECHATPAY_APIV3_KEY,
            notify_url=f"{settings.SITE_URL}{NOTIFY_PATH}",
            timeout=(5, 15),
            public_key=Path(settings.WECHATPAY_PUBLIC_KEY_FILE).read_text(encoding="utf-8"),
            public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
        )
        _client_cache = (key, client)
    return _client_cache[1]


def _failure(detail: Any) -> Exception:
    logger.warning("WeChat Pay call failed: %s", detail)
    return billing_error(
        BillingError.PROVIDER_ERROR,
        _("The payment provider could not be reached; try again shortly."),
        status=502,
    )


def _request(method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """Call the SDK; it verifies the answer's signature (raising when it is wrong)."""
    try:
        code, body = getattr(_client(), method)(**kwargs)
    except Exception as exc:  # (requests errors, bad signatures: the SDK raises Exception)
        raise _failure(exc) from exc
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    return code, data


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _money(value: Any, currency: str = "CNY") -> Decimal | None:
    return from_minor_units(int(value), currency) if value is not None else None


def _transaction(data: dict[str, Any]) -> Transaction:
    amount = data.get("amount") or {}
    currency = str(amount.get("currency") or "CNY").upper()
    return Transaction(
        out_trade_no=str(data.get("out_trade_no") or ""),
        transaction_id=str(data.get("transaction_id") or ""),
        trade_state=str(data.get("trade_state") or ""),
        total=_money(amount.get("total"), currency),
        currency=currency,
        appid=str(data.get("appid") or ""),
        mchid=str(data.get("mchid") or ""),
        paid_at=_time(data.get("success_time")),
        payer=str((data.get("payer") or {}).get("openid") or ""),
        raw=data,
    )


def _refund(data: dict[str, Any]) -> RefundState:
    amount = data.get("amount") or {}
    return RefundState(
        out_trade_no=str(data.get("out_trade_no") or ""),
        transaction_id=str(data.get("transaction_id") or ""),
        out_refund_no=str(data.get("out_refund_no") or ""),
        refund_id=str(data.get("refund_id") or ""),
        status=str(data.get("refund_status") or data.get("status") or ""),
        refund=_money(amount.get("refund"), str(amount.get("currency") or "CNY")),
        mchid=str(data.get("mchid") or settings.WECHATPAY_MCHID),
        at=_time(data.get("success_time") or data.get("create_time")),
        raw=data,
    )


def native_pay(*, out_trade_no: str, amount: Decimal, description: str, expires_at: datetime) -> str:
    """Native payment: the code_url (weixin://wxpay/bizpayurl?pr=…) shown as a QR code."""
    from wechatpayv3 import WeChatPayType

    code, data = _request(
        "pay",
        description=description[:127],
        out_trade_no=out_trade_no,
        amount={"total": to_minor_units(amount, "CNY"), "currency": "CNY"},
        time_expire=timezone.localtime(expires_at).isoformat(timespec="seconds"),
        pay_type=WeChatPayType.NATIVE,
    )
    if code != 200 or not data.get("code_url"):
        raise _failure(f"native pay {code} {data.get('code')}")
    return str(data["code_url"])


def query(*, out_trade_no: str) -> Transaction | None:
    code, data = _request("query", out_trade_no=out_trade_no)
    if code == 404 or data.get("code") == "ORDER_NOT_EXIST":
        return None
    if code != 200:
        raise _failure(f"query {code} {data.get('code')}")
    return _transaction(data)


def close(*, out_trade_no: str) -> None:
    try:
        _request("close", out_trade_no=out_trade_no)
    except Exception as exc:  # (closing is advisory; a later payment is still recorded)
        logger.info("could not close WeChat Pay order %s: %s", out_trade_no, exc)


def refund(
    *, transaction_id: str, out_refund_no: str, amount: Decimal, total: Decimal, reason: str
) -> RefundState:
    """申请退款; repeating the same out_refund_no returns the same refund."""
    code, data = _request(
        "refund",
        out_refund_no=out_refund_no,
        amount={
            "refund": to_minor_units(amount, "CNY"),
            "total": to_minor_units(total, "CNY"),
            "currency": "CNY",
        },
        transaction_id=transaction_id,
        reason=reason[:80] or None,
    )
    if code not in (200, 201):
        raise _failure(f"refund {code} {data.get('code')} {data.get('message')}")
    return _refund(data)


def query_refund(*, out_refund_no: str) -> RefundState | None:
    code, data = _request("query_refund", out_refund_no=out_refund_no)
    if code == 404:
        return None
    if code != 200:
        raise _failure(f"refund query {code} {data.get('code')}")
    return _refund(data)


def verify_notification(
    headers: dict[str, str], body: bytes, *, now: float | None = None
) -> Notification | None:
    """A genuine, fresh notification with its resource decrypted; None when forged, stale or signed with
    a key we do not hold (the SDK would fetch platform certificates for an unknown serial: we refuse)."""
    if headers.get("Wechatpay-Signature-Type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
        return None
    if headers.get("Wechatpay-Serial") != settings.WECHATPAY_PUBLIC_KEY_ID:
        logger.warning("WeChat Pay notification signed by unknown key %r", headers.get("Wechatpay-Serial"))
        return None
    try:
        stamp = int(headers.get("Wechatpay-Timestamp") or "")
    except ValueError:
        return None
    if abs((now if now is not None else time.time()) - stamp) > NOTIFICATION_TOLERANCE_SECONDS:
        logger.warning("WeChat Pay notification timestamp %s outside the tolerance", stamp)
        return None
    try:
        text = body.decode("utf-8")
        result = _client().callback(
            {
                "Wechatpay-Signature": headers.get("Wechatpay-Signature", ""),
                "Wechatpay-Timestamp": headers.get("Wechatpay-Timestamp", ""),
                "Wechatpay-Nonce": headers.get("Wechatpay-Nonce", ""),
                "Wechatpay-Serial": headers.get("Wechatpay-Serial", ""),
                "Wechatpay-Signature-Type": headers.get("Wechatpay-Signature-Type", SIGNATURE_TYPE),
            },
            text,
        )
    except Exception as exc:  # (bad JSON or unsupported algorithm: not a genuine notification)
        logger.info("WeChat Pay notification could not be read: %s", exc)
        return None
    if not result or not isinstance(result.get("resource"), dict):
        return None  # bad signature, or the resource did not decrypt under our APIv3 key
    resource = result["resource"]
    event_type = str(result.get("event_type") or "")
    transaction = _transaction(resource) if event_type.startswith("TRANSACTION.") else None
    refund_state = _refund(resource) if event_type.startswith("REFUND.") else None
    return Notification(
        id=str(result.get("id") or ""),
        event_type=event_type,
        transaction=transaction,
        refund=refund_state,
        raw={**result, "resource": resource},
    )
