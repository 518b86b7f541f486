"""The one module that talks to Alipay (python-alipay-sdk). Everything else calls these functions.

Requests are signed with the app's private key (RSA2); Alipay's answers and notifications are verified
with the Alipay public key. The SDK sends its requests with `alipay.urlopen`: tests replace that one
name (the HTTP layer) and sign answers and notifications with a key pair they generate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error

logger = logging.getLogger(__name__)

NOTIFY_PATH = "/api/v1/billing/alipay/notify"
# trade_status values (alipay.trade.query and the asynchronous notification)
PAID_STATES = {"TRADE_SUCCESS", "TRADE_FINISHED"}
CLOSED_STATES = {"TRADE_CLOSED"}

_client_cache: tuple[tuple, Any] | None = None


@dataclass(frozen=True)
class TradeState:
    """What Alipay says about one trade, from a verified notification or query answer."""

    out_trade_no: str
    trade_no: str
    trade_status: str
    total_amount: Decimal | None
    app_id: str
    paid_at: datetime | None
    buyer: str
    refund_fee: Decimal | None
    out_biz_no: str
    raw: dict[str, Any]


def enabled() -> bool:
    return bool(
        settings.ALIPAY_APP_ID and settings.ALIPAY_APP_PRIVATE_KEY_FILE and settings.ALIPAY_PUBLIC_KEY_FILE
    )


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _client() -> Any:
    """One SDK client per configuration (keys are read when the configuration changes)."""
    global _client_cache
    from alipay import AliPay
    from alipay.utils import AliPayConfig

    key = (
        settings.ALIPAY_APP_ID,
        settings.ALIPAY_APP_PRIVATE_KEY_FILE,
        settings.ALIPAY_PUBLIC_KEY_FILE,
        bool(settings.ALIPAY_SANDBOX),
    )
    if _client_cache is None or _client_cache[0] != key:
        client = AliPay(
            appid=settings.ALIPAY_APP_ID,
            app_notify_url=f"{settings.SITE_URL}{NOTIFY_PATH}",
            app_private_key_string=_read(settings.ALIPAY_APP_PRIVATE_KEY_FILE),
            alipay_public_key_string=_read(settings.ALIPAY_PUBLIC_KEY_FILE),
            sign_type="RSA2",
            debug=bool(settings.ALIPAY_SANDBOX),
            config=AliPayConfig(timeout=15),
        )
        _client_cache = (key, client)
    return _client_cache[1]


def _failure(exc: Exception) -> Exception:
    logger.warning("Alipay call failed: %s", exc)
    return billing_error(
        BillingError.PROVIDER_ERROR,
        _("The payment provider could not be reached; try again shortly."),
        status=502,
    )


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except ArithmeticError:
        return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        naive = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return timezone.make_aware(naive, timezone.get_default_timezone())  # Alipay's clock is Beijing time


def _state(data: dict[str, Any]) -> TradeState:
    return TradeState(
        out_trade_no=str(data.get("out_trade_no") or ""),
        trade_no=str(data.get("trade_no") or ""),
        trade_status=str(data.get("trade_status") or ""),
        total_amount=_amount(data.get("total_amount")),
        app_id=str(data.get("app_id") or data.get("auth_app_id") or ""),
        paid_at=_time(data.get("gmt_payment") or data.get("send_pay_date")),
        buyer=str(data.get("buyer_logon_id") or data.get("buyer_id") or ""),
        refund_fee=_amount(data.get("refund_fee")),
        out_biz_no=str(data.get("out_biz_no") or ""),
        raw=dict(data),
    )


def _call(method: str, **kwargs: Any) -> dict[str, Any]:
    from alipay.exceptions import AliPayException, AliPayValidationError

    try:
        return getattr(_client(), method)(**kwargs)
    except AliPayValidationError as exc:
        logger.warning("Alipay answer with an invalid signature (%s)", method)
        raise _failure(exc) from exc
    except (AliPayException, OSError, ValueError) as exc:
        raise _failure(exc) from exc


def page_pay_url(
    *, out_trade_no: str, amount: Decimal, subject: str, return_url: str, expires_at: datetime
) -> str:
    """电脑网站支付: the signed URL of Alipay's checkout page (no call is made until the buyer opens it)."""
    query = _client().api_alipay_trade_page_pay(
        subject=subject,
        out_trade_no=out_trade_no,
        total_amount=f"{amount:.2f}",
        return_url=return_url,
        time_expire=timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M:%S"),
    )
    return f"{_client()._gateway}?{query}"


def precreate(*, out_trade_no: str, amount: Decimal, subject: str, expires_at: datetime) -> str:
    """当面付 precreate: the QR content (https://qr.alipay.com/…) the buyer scans with the Alipay app."""
    answer = _call(
        "api_alipay_trade_precreate",
        subject=subject,
        out_trade_no=out_trade_no,
        total_amount=f"{amount:.2f}",
        time_expire=timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M:%S"),
    )
    if answer.get("code") != "10000" or not answer.get("qr_code"):
        raise _failure(RuntimeError(f"precreate {answer.get('code')} {answer.get('sub_code')}"))
    return str(answer["qr_code"])


def query(*, out_trade_no: str) -> TradeState | None:
    """The trade as Alipay knows it; None when Alipay has no such trade yet (not scanned / not opened)."""
    answer = _call("api_alipay_trade_query", out_trade_no=out_trade_no)
    if answer.get("code") != "10000":
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return None
        raise _failure(RuntimeError(f"query {answer.get('code')} {answer.get('sub_code')}"))
    answer.setdefault("app_id", settings.ALIPAY_APP_ID)  # answers are signed for our app; no app_id field
    return _state(answer)


def close(*, out_trade_no: str) -> None:
    """Close a superseded order so the buyer cannot pay an outdated amount; best effort."""
    try:
        _call("api_alipay_trade_close", out_trade_no=out_trade_no)
    except Exception as exc:  # (closing is advisory; a later payment is still recorded)
        logger.info("could not close Alipay order %s: %s", out_trade_no, exc)


@dataclass(frozen=True)
class RefundAnswer:
    succeeded: bool
    refund_fee: Decimal | None
    detail: str


def refund(*, out_trade_no: str, amount: Decimal, out_request_no: str, reason: str) -> RefundAnswer:
    """alipay.trade.refund; repeating the same out_request_no is idempotent at Alipay."""
    answer = _call(
        "api_alipay_trade_refund",
        refund_amount=f"{amount:.2f}",
        out_trade_no=out_trade_no,
        out_request_no=out_request_no,
        refund_reason=reason[:256],
    )
    ok = answer.get("code") == "10000"
    return RefundAnswer(
        succeeded=ok,  # fund_change "N" answers a repeated request: the refund was already made
        refund_fee=_amount(answer.get("refund_fee")),
        detail=f"{answer.get('code')} {answer.get('sub_code', '')} {answer.get('sub_msg', '')}".strip(),
    )


def verify_notification(form: dict[str, str]) -> TradeState | None:
    """The trade state of a genuine asynchronous notification, None when the signature is wrong.

    Alipay signs every parameter except sign and sign_type, sorted by name, `k=v` joined with `&`, with
    empty values left out (its own SDKs skip them), RSA2 (SHA256withRSA)."""
    data = {k: v for k, v in form.items() if k != "sign" and v not in (None, "")}
    signature = form.get("sign") or ""
    if not signature or data.get("sign_type", "RSA2") != "RSA2":
        return None
    try:
        genuine = _client().verify(dict(data), signature)
    except Exception as exc:  # (malformed base64 or key: treat as forged)
        logger.info("Alipay notification signature could not be checked: %s", exc)
        genuine = False
    return _state(data) if genuine else None
