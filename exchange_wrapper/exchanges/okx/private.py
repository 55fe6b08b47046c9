"""OKX's private side (API v5, spot): its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.

Every answer is ``{"code": "0", "msg": "", "data": [...]}`` with HTTP 200, also when OKX refuses:
an order operation answers ``code`` ``"1"`` (all failed) with the reason in each entry's ``sCode``
and ``sMsg``; a query of an unknown order answers ``code`` ``"51603"``; a rate limit ``"50011"``
(with HTTP 429, or in a 200). :meth:`OkxPrivate.answered` turns those into the HTTP status they mean.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import ZERO, format_decimal, parse_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, TimeInForce
from ...core.pairs import Pair, common_currency
from ..http import Request, Response, retry_after
from ..private import (
    AccountBalances,
    Amendment,
    NotOnExchange,
    PrivateAdapter,
    Quota,
    StreamEvent,
    StreamNotice,
    StreamReply,
    json_request,
)
from ..wire import Fields, expect, load_json
from .public import EXCHANGE, RATE_LIMITED_CODE, OkxAdapter
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: Seconds OKX accepts a signed request after its ``OK-ACCESS-TIMESTAMP`` (older: 50102
#: "Timestamp request expired").
RECV_WINDOW = 30.0
#: Codes (okx.com/docs-v5, "Error Code") meaning the order asked about is not, or no longer, open
#: there: 51603 "Order does not exist", 51400 "Order cancellation failed as the order has been
#: filled, canceled or does not exist", 51401 "Order has been canceled", 51402 "Order has been
#: completed", 51503 "Order modification failed as the order has been filled, canceled or does
#: not exist".
NOT_FOUND_CODES = frozenset({"51603", "51400", "51401", "51402", "51503"})
#: The outcome is unknown: 50001 "Service temporarily unavailable", 50004 "API endpoint request
#: timeout (does not mean that the request was successful or failed, please check the request
#: result)", 50013 "System is busy", 50026 "System error".
UNKNOWN_OUTCOME_CODES = frozenset({"50001", "50004", "50013", "50026"})

#: ``state`` of an order. A market or IOC order's unfilled rest, and a cancelled order that had
#: filled in part, end ``canceled``; ``mmp_canceled`` is a cancel by market maker protection.
STATES = {
    "live": OrderStatus.OPEN,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "mmp_canceled": OrderStatus.CANCELLED,
}
#: xWrap's limit order (time in force, post-only) -> OKX's ``ordType``. Stops are algo orders on
#: OKX (``/api/v5/trade/order-algo``, with their own ids): not placed.
LIMIT_TYPES = {
    (TimeInForce.GTC, False): "limit",
    (TimeInForce.GTC, True): "post_only",
    (TimeInForce.IOC, False): "ioc",
    (TimeInForce.FOK, False): "fok",
}
#: The private websocket's keep-alive: OKX closes a connection that received nothing for 30 s.
PING = "ping"
#: What ``/users/self/verify`` log-ins sign after the time (the websocket's ``login``).
LOGIN_PATH = "GET/users/self/verify"


def signature(secret: str, text: str) -> str:
    """The base64 HMAC-SHA256 of ``text`` keyed with the secret (REST and the websocket's login)."""
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def iso_milliseconds(now: float) -> str:
    """``OK-ACCESS-TIMESTAMP``: UTC in ISO 8601 to the millisecond, ``2020-12-08T09:08:57.715Z``."""
    moment = datetime.fromtimestamp(round(now * 1000) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class OkxPrivate(PrivateAdapter):
    """An OKX spot account (trade mode ``cash``): orders, fills and balances over the signed REST
    API, own orders and balances over the private websocket.

    A signed request carries ``OK-ACCESS-KEY``, ``OK-ACCESS-PASSPHRASE``, ``OK-ACCESS-TIMESTAMP``
    and ``OK-ACCESS-SIGN``, the base64 HMAC-SHA256 of timestamp + method + request path (with its
    query) + body. POSTs send JSON. A placement's or a cancel's answer names the ids only (the
    request was taken): what happened comes on the ``orders`` channel or from a query. Amends are
    in place (``amend-order``: ``newSz``, the exchange order's whole size, and ``newPx``). OKX has
    no cancel-all of a spot instrument: each order is cancelled. Limits are per account (and
    instrument, for the order endpoints) in windows of 2 s; a 429 (code 50011) states no wait.
    """

    name = EXCHANGE
    market_adapter = OkxAdapter
    rest_url = OkxAdapter.rest_url
    stream_url = "wss://ws.okx.com:8443/ws/v5/private"
    stream_path = "/ws/v5/private"
    stream_ping = PING
    # OKX's limits (okx.com/docs-v5, each endpoint's "Rate Limit"): 60 requests in 2 s for placing,
    # cancelling, amending (per instrument), the order and its fills, the open orders; 10 in 2 s for
    # the balances. Taken per account here, which never goes past any per-instrument one.
    quotas = (
        Quota("POST /api/v5/trade/order", "place", 60, 2),
        Quota("POST /api/v5/trade/cancel-order", "cancel", 60, 2),
        Quota("POST /api/v5/trade/amend-order", "amend", 60, 2),
        Quota("GET /api/v5/trade/order", "query", 60, 2),
        Quota("GET /api/v5/trade/fills", "fills", 60, 2),
        Quota("GET /api/v5/trade/orders-pending", "open_orders", 60, 2),
        Quota("GET /api/v5/account/balance", "balances", 10, 2),
    )
    recv_window = RECV_WINDOW
    cancel_reports_order = False  # the request taken, without the filled size: the order is asked about

    # -- limits, time, signing ----------------------------------------------------------------------

    def answered(self, request: Request, response: Response) -> Response:
        """A 200 whose ``code`` is not ``"0"`` becomes 429 (a limit), 503 (outcome unknown), 404 (no
        such order, or no longer open) or 400 (refused), by its code or its entry's ``sCode``."""
        if response.status != 200:
            return response
        code = _code_of(response.body)
        if code is None or code == "0":
            return response
        return replace(response, status=_status_of(code))

    def pause_for(self, response: Response, now: float) -> float | None:
        """A 429 (or code 50011): its ``Retry-After`` where it has one (OKX states none: the default)."""
        if response.status == 429 or _code_of(response.body) == RATE_LIMITED_CODE:
            return retry_after(response.headers.get("retry-after"), now)
        return None

    def error(self, response: Response) -> XWrapError:
        code, message = _error_of(response.body)
        text = f"{message} (code {code})" if code is not None else message
        if response.status >= 500 or code in UNKNOWN_OUTCOME_CODES:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {text}")
        if code in NOT_FOUND_CODES:
            return NotOnExchange(EXCHANGE, response.status, text)
        return ExchangeRejected(EXCHANGE, response.status, text)

    def time_request(self) -> Request:
        return Request("/api/v5/public/time")

    def parse_time(self, body: str) -> float:
        [row] = _data(body, "GET /api/v5/public/time")
        return _milliseconds(Fields(EXCHANGE, "time", row), "ts") / 1000

    def sign(self, request: Request, now: float) -> Request:
        """The query joins the path (it is signed as part of it); the body is signed as sent."""
        timestamp = iso_milliseconds(now)
        path = f"{request.path}?{urlencode(request.params)}" if request.params else request.path
        text = f"{timestamp}{request.method}{path}{request.body or ''}"
        return replace(
            request,
            path=path,
            params={},
            headers={
                **request.headers,
                "OK-ACCESS-KEY": self.credentials.key,
                "OK-ACCESS-SIGN": signature(self.credentials.secret, text),
                "OK-ACCESS-TIMESTAMP": timestamp,
                "OK-ACCESS-PASSPHRASE": self.credentials.passphrase,
            },
        )

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw`` and 26 hex digits of the key, ``r<revision>`` after the first: ``clOrdId`` takes
        letters and digits only, 32 at most."""
        return "xw" + key.hex()[:26] + (f"r{revision}" if revision else "")

    def check(self, order: Order) -> None:
        if order.type.is_stop:
            raise InvalidParameter(
                "type", "market or limit: okx places stops as algo orders, which xWrap does not place", order.type.value
            )
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: okx has no GTD", "GTD")
        if order.post_only and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on okx", order.time_in_force.value)
        if order.type is OrderType.MARKET and order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", "GTC or IOC for a market order on okx", "FOK")

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /api/v5/trade/order`` in trade mode ``cash``: a limit order's ``ordType`` says its
        time in force (:data:`LIMIT_TYPES`); a market order's ``sz`` is in the currency ``tgtCcy``
        names (the quote for an order by funds, else the base)."""
        body: dict[str, Any] = {
            "instId": self.markets.to_symbol(order.pair),
            "tdMode": "cash",
            "clOrdId": client_id,
            "side": order.side.value,
        }
        if order.type is OrderType.MARKET:
            body["ordType"] = "market"
            body["tgtCcy"] = "base_ccy" if order.funds is None else "quote_ccy"
        else:
            body["ordType"] = LIMIT_TYPES[(order.time_in_force, order.post_only)]
            assert order.price is not None
            body["px"] = format_decimal(order.price)
        amount = order.size if order.funds is None else order.funds
        assert amount is not None
        body["sz"] = format_decimal(amount)
        return _private("POST", "/api/v5/trade/order", "place", body)

    def query_request(self, order: Order, client_id: str) -> Request:
        return _private(
            "GET", "/api/v5/trade/order", "query", params={"instId": self._symbol(order), "clOrdId": client_id}
        )

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return _private(
            "GET",
            "/api/v5/trade/fills",
            "fills",
            params={"instType": "SPOT", "instId": self._symbol(order), "ordId": exchange_order_id},
        )

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By the order's id where it is known, else by its client id."""
        target = {"ordId": order.exchange_order_id} if order.exchange_order_id else {"clOrdId": client_id}
        return _private("POST", "/api/v5/trade/cancel-order", "cancel", {"instId": self._symbol(order), **target})

    def cancel_all_request(self, pair: Pair) -> None:
        """OKX cancels spot orders by id only (``cancel-batch-orders`` takes 20 ids): one cancel each."""
        return None

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """``POST /api/v5/trade/amend-order``, in place: ``newSz`` is the exchange order's whole size
        (what it filled included), ``newPx`` the new price. OKX documents no queue rule: a new price
        is taken to requeue the order, a smaller size at the same price to keep its place, as on the
        other exchanges that amend in place."""
        assert order.exchange_order_id is not None and order.size is not None
        body: dict[str, Any] = {"instId": self._symbol(order), "ordId": order.exchange_order_id}
        if size != order.size:
            body["newSz"] = format_decimal(size - base)
        if price != order.price:
            body["newPx"] = format_decimal(price)
        request = _private("POST", "/api/v5/trade/amend-order", "amend", body)
        return Amendment(request, True, client_id, keeps_priority=price == order.price and size <= order.size)

    def open_orders_request(self) -> Request:
        return _private("GET", "/api/v5/trade/orders-pending", "open_orders", params={"instType": "SPOT"})

    def balances_request(self) -> Request:
        return _private("GET", "/api/v5/account/balance", "balances")

    def _symbol(self, order: Order) -> str:
        return self.markets.to_symbol(order.pair)

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """A placement's or a cancel's answer (``ordId`` and ``clOrdId``: the request taken, nothing
        filled yet that it says), or a query's (the order with its ``state`` and ``accFillSz``)."""
        rows = _data(body, f"an order answer on {EXCHANGE}")
        if not rows:
            raise InvalidParameter(f"data of an order answer on {EXCHANGE}", "one order", "an empty list")
        return self._report(rows[0], at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """``GET /api/v5/trade/orders-pending``: the open orders."""
        return [self._report(row, at) for row in _data(body, f"open orders on {EXCHANGE}")]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """``amend-order`` answers the ids only (the amendment is taken; its result comes on the
        ``orders`` channel, or from a query): the order, open."""
        [row] = _data(body, "amend-order")
        fields = Fields(EXCHANGE, "amend-order", row)
        return [OrderReport(fields.text("ordId"), amendment.client_id, OrderStatus.OPEN, ZERO, at)]

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /api/v5/trade/fills``: ``tradeId``, ``fillPx``, ``fillSz``, ``fee`` (negative: charged),
        newest first on the wire; oldest first here, as they happened."""
        fills = []
        for index, raw in enumerate(_data(body, f"fills on {EXCHANGE}")):
            fills.append(self._fill(Fields(EXCHANGE, f"fill {index}", raw), "fee", "feeCcy", "ts"))
        return fills[::-1]

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /api/v5/account/balance``: each currency's ``cashBal`` (available and frozen)."""
        rows = _data(body, f"GET /api/v5/account/balance on {EXCHANGE}")
        totals: dict[str, Decimal] = {}
        for row in rows:
            totals.update(self._balances(Fields(EXCHANGE, "balance", row)))
        return AccountBalances({currency: total for currency, total in totals.items() if total}, at, complete=True)

    def _report(self, raw: object, at: float) -> OrderReport:
        order = Fields(EXCHANGE, raw.get("instId", "order") if isinstance(raw, dict) else "order", raw)
        if not order.has("state"):  # a placement's or a cancel's answer: the ids only
            return OrderReport(order.text("ordId"), order.text("clOrdId"), OrderStatus.OPEN, ZERO, at)
        state = order.text("state")
        if state not in STATES:
            raise InvalidParameter(order.label("state"), "one of " + ", ".join(STATES), state)
        fills: tuple[Fill, ...] = ()
        if order.raw.get("tradeId") and order.raw.get("fillSz") not in (None, "", "0"):  # the orders channel's fill
            fills = (self._fill(order, "fillFee", "fillFeeCcy", "fillTime"),)
        updated = order.raw.get("uTime")
        return OrderReport(
            order.text("ordId"),
            order.text("clOrdId"),
            STATES[state],
            order.decimal("accFillSz") if order.raw.get("accFillSz") else ZERO,
            _milliseconds(order, "uTime") / 1000 if updated else at,
            fills,
        )

    def _fill(self, fields: Fields, fee: str, fee_currency: str, time: str) -> Fill:
        """A trade of ``GET /api/v5/trade/fills`` or of an ``orders`` event: OKX's fee is negative
        when charged (a rebate is positive), xWrap's the other way round."""
        return Fill(
            "",
            fields.text("tradeId"),
            fields.decimal("fillPx", positive=True),
            fields.decimal("fillSz", positive=True),
            -parse_decimal(fields.value(fee), fields.label(fee)),  # signed
            common_currency(EXCHANGE, fields.text(fee_currency)),
            Liquidity.MAKER if fields.text("execType") == "M" else Liquidity.TAKER,
            _milliseconds(fields, time) / 1000,
            {"exchange_order_id": fields.text("ordId")},
        )

    def _balances(self, row: Fields) -> dict[str, Decimal]:
        details = expect(row.value("details"), list, row.label("details"), "a JSON list")
        totals = {}
        for index, raw in enumerate(details):
            detail = Fields(EXCHANGE, "balance", raw, f"details[{index}].")
            totals[common_currency(EXCHANGE, detail.text("ccy"))] = detail.decimal("cashBal")
        return totals

    # -- the stream -------------------------------------------------------------------------------

    def stream_subscribe(self, now: float) -> list[str]:
        """The ``login`` (Unix seconds, ``timestamp + "GET/users/self/verify"`` signed); the
        subscriptions follow its success (:meth:`parse_stream`), as OKX refuses them before."""
        timestamp = str(int(now))
        login = {
            "op": "login",
            "args": [
                {
                    "apiKey": self.credentials.key,
                    "passphrase": self.credentials.passphrase,
                    "timestamp": timestamp,
                    "sign": signature(self.credentials.secret, timestamp + LOGIN_PATH),
                }
            ],
        }
        return [orjson.dumps(login).decode()]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """``orders`` pushes (a fill where ``tradeId`` is set), ``account`` pushes (the currencies
        that changed), the ``login`` answer (its success sends the subscriptions of the ``orders``
        of every spot instrument and of the ``account``), the ``orders`` subscription's
        acknowledgement, ``error`` events (a refused log-in or subscription ends the stream);
        ``pong`` is nothing."""
        if message in ("pong", b"pong"):
            return []
        msg = orjson.loads(message)
        event = msg.get("event")
        if event is None:
            channel = (msg.get("arg") or {}).get("channel")
            if channel == "orders":
                return [self._report(raw, at) for raw in msg.get("data") or []]
            if channel == "account":
                totals: dict[str, Decimal] = {}
                for raw in msg.get("data") or []:
                    totals.update(self._balances(Fields(EXCHANGE, "account", raw)))
                return [AccountBalances(totals, at, complete=False)]
            return []
        if event == "login":
            if msg.get("code") != "0":
                return [StreamNotice(f"login refused: {msg.get('msg', msg)} (code {msg.get('code')})", fatal=True)]
            subscribe = {"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}, {"channel": "account"}]}
            return [StreamReply((orjson.dumps(subscribe).decode(),))]
        if event == "subscribe" and (msg.get("arg") or {}).get("channel") == "orders":
            return [StreamNotice("subscribed to orders and the account")]
        if event == "error":
            return [StreamNotice(f"{msg.get('msg', msg)} (code {msg.get('code')})", fatal=True)]
        return []


def _private(
    method: str, path: str, kind: str, body: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None
) -> Request:
    """A signed request costing one of the quota of ``kind``; ``body`` sent as compact JSON."""
    return json_request(method, path, {kind: 1}, body, params)


def _data(body: str, what: str) -> list:
    """The ``data`` list of a successful answer (:meth:`OkxPrivate.answered` has sorted out the others)."""
    response = Fields(EXCHANGE, what, load_json(body, f"{what} on {EXCHANGE}"))
    return expect(response.value("data"), list, response.label("data"), "a JSON list")


def _milliseconds(fields: Fields, name: str) -> int:
    text = fields.text(name)
    if not text.isdigit():
        raise InvalidParameter(fields.label(name), "a time in milliseconds, as a string of digits", text)
    return int(text)


def _error_of(body: str) -> tuple[str | None, str]:
    """(code, message) of an OKX answer: the first entry's ``sCode`` and ``sMsg`` where the whole
    answer failed with ``code`` 1 or 2, else its ``code`` and ``msg``; (None, the body) for anything
    else."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("code"), str):
        return None, body[:200]
    code, message = raw["code"], str(raw.get("msg", ""))
    entries = raw.get("data")
    if code in ("1", "2") and isinstance(entries, list):
        failed = next((e for e in entries if isinstance(e, dict) and e.get("sCode") not in (None, "0")), None)
        if failed is not None:
            return str(failed["sCode"]), str(failed.get("sMsg", ""))
    return code, message


def _code_of(body: str) -> str | None:
    return _error_of(body)[0]


def _status_of(code: str) -> int:
    if code == RATE_LIMITED_CODE:
        return 429
    if code in UNKNOWN_OUTCOME_CODES:
        return 503
    if code in NOT_FOUND_CODES:
        return 404
    return 400
