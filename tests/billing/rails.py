"""Fake Alipay and WeChat Pay servers for the tests: keys generated here, requests and answers signed and
verified exactly as the providers do, notifications built (and encrypted) as they send them. Each fake
replaces the SDK's HTTP layer only (`alipay.urlopen`, `wechatpayv3.core.requests`)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@dataclass
class KeyPair:
    private: Any

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, message: str) -> str:
        signature = self.private.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def verify(self, message: str, signature: str) -> bool:
        try:
            self.private.public_key().verify(
                base64.b64decode(signature), message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:
            return False
        return True


# Alipay --------------------------------------------------------------------------------------------

ALIPAY_APP_ID = "2021000000000001"


def alipay_sign_content(params: dict[str, str]) -> str:
    """Alipay's string to sign: every parameter but sign/sign_type, non-empty, sorted, k=v joined by &."""
    items = sorted(
        (k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v not in ("", None)
    )
    return "&".join(f"{k}={v}" for k, v in items)


def alipay_request_content(params: dict[str, str]) -> str:
    """For requests Alipay signs everything but sign itself (sign_type included)."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


@dataclass
class FakeAlipay:
    """The gateway: checks our request signature with the app public key, answers signed with the
    Alipay key, keeps trades and refunds like Alipay (idempotent on out_request_no)."""

    app_key: KeyPair
    alipay_key: KeyPair
    requests: list[dict[str, str]] = field(default_factory=list)
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: bool = False

    def urlopen(self, url: str, timeout: Any = None) -> _Body:
        params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        assert self.app_key.verify(alipay_request_content(params), params["sign"]), "request signature wrong"
        assert params["app_id"] == ALIPAY_APP_ID and params["sign_type"] == "RSA2"
        self.requests.append(params)
        if self.fail_next:
            self.fail_next = False
            raise OSError("connection reset")
        method = params["method"]
        biz = json.loads(params["biz_content"])
        handler = getattr(self, "_" + method.replace(".", "_"))
        return _Body(self._signed(method.replace(".", "_") + "_response", handler(biz)))

    def _signed(self, response_type: str, inner: dict[str, Any]) -> bytes:
        text = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
        sign = self.alipay_key.sign(text)
        return f'{{"{response_type}":{text},"sign":"{sign}"}}'.encode()

    def _alipay_trade_precreate(self, biz: dict[str, Any]) -> dict[str, Any]:
        number = biz["out_trade_no"]
        self.trades.setdefault(
            number, {"total_amount": biz["total_amount"], "trade_status": "WAIT_BUYER_PAY", "trade_no": ""}
        )
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": number,
            "qr_code": f"https://qr.alipay.com/bax{number}",
        }

    def _alipay_trade_query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz["out_trade_no"])
        if trade is None or not trade["trade_no"]:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": biz["out_trade_no"],
            "trade_no": trade["trade_no"],
            "trade_status": trade["trade_status"],
            "total_amount": trade["total_amount"],
            "buyer_logon_id": "fin***@example.cn",
            "send_pay_date": "2026-03-02 10:00:00",
        }

    def _alipay_trade_close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz["out_trade_no"])
        if trade is not None:
            trade["trade_status"] = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"]}

    def _alipay_trade_refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        key = biz["out_request_no"]
        fund_change = "N" if key in self.refunds else "Y"
        self.refunds.setdefault(key, biz)
        total = sum(float(r["refund_amount"]) for r in self.refunds.values())
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": biz.get("out_trade_no", ""),
            "trade_no": "2026030222001400000001",
            "fund_change": fund_change,
            "refund_fee": f"{total:.2f}",
        }

    def pay(self, out_trade_no: str, trade_no: str, amount: str) -> None:
        """The buyer pays at Alipay (what a query then reports)."""
        self.trades[out_trade_no] = {
            "total_amount": amount,
            "trade_status": "TRADE_SUCCESS",
            "trade_no": trade_no,
        }

    def notification(self, **fields: Any) -> dict[str, str]:
        """An asynchronous notification (trade_status_sync), signed as Alipay signs it."""
        params = {
            "notify_time": "2026-03-02 10:00:05",
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": ALIPAY_APP_ID,
            "auth_app_id": ALIPAY_APP_ID,
            "trade_status": "TRADE_SUCCESS",
            "seller_id": "2088000000000001",
            "buyer_logon_id": "fin***@example.cn",
            "gmt_create": "2026-03-02 09:59:40",
            "gmt_payment": "2026-03-02 10:00:01",
            "subject": "发票",
        }
        params.update({k: str(v) for k, v in fields.items()})
        params["sign"] = self.alipay_key.sign(alipay_sign_content(params))
        params["sign_type"] = "RSA2"
        return params


def form_body(params: dict[str, str]) -> str:
    return urlencode(params)


# WeChat Pay ----------------------------------------------------------------------------------------

WECHAT_MCHID = "1900000109"
WECHAT_APPID = "wxd678efh567hg6787"
WECHAT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
WECHAT_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026030200000000001"
WECHAT_APIV3_KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


class _Response:
    def __init__(self, status: int, text: str, headers: dict[str, str]) -> None:
        self.status_code = status
        self.text = text
        self.content = text.encode()
        self.headers = headers


def wechat_signed_headers(
    key: KeyPair, body: str, *, timestamp: int | None = None, serial: str = WECHAT_PUBLIC_KEY_ID
) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": key.sign(f"{stamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def wechat_encrypt(
    resource: dict[str, Any], *, key: str = WECHAT_APIV3_KEY, associated_data: str = "transaction"
) -> dict[str, str]:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
    ciphertext = AESGCM(key.encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), associated_data.encode()
    )
    return {
        "original_type": associated_data,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


@dataclass
class FakeWechatPay:
    """api.mch.weixin.qq.com: verifies our Authorization signature with the merchant public key and signs
    its answers with the WeChat Pay key (the public key we hold), like API v3 in 公钥模式."""

    merchant_key: KeyPair
    platform_key: KeyPair
    requests: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_status: str = "PROCESSING"

    def _check_authorization(self, method: str, url: str, body: str, headers: dict[str, str]) -> None:
        scheme, _, rest = headers["Authorization"].partition(" ")
        assert scheme == "WECHATPAY2-SHA256-RSA2048"
        parts = dict(p.split("=", 1) for p in rest.split(","))
        parts = {k: v.strip('"') for k, v in parts.items()}
        path = url.split("api.mch.weixin.qq.com", 1)[1]
        message = f"{method}\n{path}\n{parts['timestamp']}\n{parts['nonce_str']}\n{body}\n"
        assert self.merchant_key.verify(message, parts["signature"]), "request signature wrong"
        assert parts["mchid"] == WECHAT_MCHID and parts["serial_no"] == WECHAT_SERIAL
        assert headers["Wechatpay-Serial"] == WECHAT_PUBLIC_KEY_ID

    def _answer(self, status: int, data: dict[str, Any] | None) -> _Response:
        text = json.dumps(data, ensure_ascii=False) if data is not None else ""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            **wechat_signed_headers(self.platform_key, text),
        }
        return _Response(status, text, headers)

    def post(
        self, url: str, json: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> _Response:
        import json as _json

        body = _json.dumps(json) if json is not None else ""
        self._check_authorization("POST", url, body, headers)
        self.requests.append({"method": "POST", "url": url, "json": json})
        if url.endswith("/v3/pay/transactions/native"):
            self.orders.setdefault(json["out_trade_no"], {"request": json, "trade_state": "NOTPAY"})
            return self._answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={json['out_trade_no']}"})
        if url.endswith("/close"):
            return self._answer(204, None)
        if url.endswith("/v3/refund/domestic/refunds"):
            refund = self.refunds.setdefault(
                json["out_refund_no"],
                {
                    "refund_id": f"5030{len(self.refunds) + 1:08d}",
                    "out_refund_no": json["out_refund_no"],
                    "transaction_id": json["transaction_id"],
                    "out_trade_no": "",
                    "status": self.refund_status,
                    "create_time": "2026-03-03T10:00:00+08:00",
                    "amount": {
                        **json["amount"],
                        "payer_total": json["amount"]["total"],
                        "payer_refund": json["amount"]["refund"],
                    },
                },
            )
            return self._answer(200, refund)
        return self._answer(404, {"code": "NOT_FOUND", "message": "not faked"})

    def get(self, url: str, headers: Any = None, **kwargs: Any) -> _Response:
        self._check_authorization("GET", url, "", headers)
        self.requests.append({"method": "GET", "url": url})
        path = urlsplit(url).path
        if "/v3/pay/transactions/out-trade-no/" in path:
            number = path.rsplit("/", 1)[1]
            order = self.orders.get(number)
            if order is None:
                return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            return self._answer(
                200,
                order.get("transaction")
                or {
                    "out_trade_no": number,
                    "trade_state": "NOTPAY",
                    "mchid": WECHAT_MCHID,
                    "appid": WECHAT_APPID,
                    "amount": {"total": order["request"]["amount"]["total"], "currency": "CNY"},
                },
            )
        if "/v3/refund/domestic/refunds/" in path:
            refund = self.refunds.get(path.rsplit("/", 1)[1])
            return self._answer(200, refund) if refund else self._answer(404, {"code": "RESOURCE_NOT_EXISTS"})
        return self._answer(404, {"code": "NOT_FOUND", "message": "not faked"})

    def transaction(
        self, out_trade_no: str, *, transaction_id: str, total_fen: int, **overrides: Any
    ) -> dict[str, Any]:
        data = {
            "mchid": WECHAT_MCHID,
            "appid": WECHAT_APPID,
            "out_trade_no": out_trade_no,
            "transaction_id": transaction_id,
            "trade_type": "NATIVE",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "CMC",
            "attach": "",
            "success_time": "2026-03-02T10:00:01+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {
                "total": total_fen,
                "payer_total": total_fen,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        data.update(overrides)
        return data

    def pay(self, out_trade_no: str, *, transaction_id: str, total_fen: int) -> None:
        self.orders.setdefault(out_trade_no, {"request": {}})["transaction"] = self.transaction(
            out_trade_no, transaction_id=transaction_id, total_fen=total_fen
        )

    def notification(
        self,
        resource: dict[str, Any],
        *,
        event_type: str = "TRANSACTION.SUCCESS",
        apiv3_key: str = WECHAT_APIV3_KEY,
        signing_key: KeyPair | None = None,
        timestamp: int | None = None,
        serial: str = WECHAT_PUBLIC_KEY_ID,
    ) -> tuple[str, dict[str, str]]:
        """(body, headers) of a notification: resource encrypted with the APIv3 key, body signed."""
        kind = "refund" if event_type.startswith("REFUND.") else "transaction"
        body = json.dumps(
            {
                "id": f"EV-2026{secrets.token_hex(8)}",
                "create_time": "2026-03-02T10:00:05+08:00",
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "支付成功" if kind == "transaction" else "退款成功",
                "resource": wechat_encrypt(resource, key=apiv3_key, associated_data=kind),
            },
            ensure_ascii=False,
        )
        headers = wechat_signed_headers(
            signing_key or self.platform_key, body, timestamp=timestamp, serial=serial
        )
        return body, headers


def wechat_request_headers(headers: dict[str, str]) -> dict[str, str]:
    """Django test-client keyword arguments for the notification's HTTP headers."""
    return {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
