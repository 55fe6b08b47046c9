"""Bybit's private side (API v5, spot, unified trading account): its account, orders and fills
translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import ZERO, format_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
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
    json_request,
)
from ..wire import Fields, expect, load_json
from .public import EXCHANGE, PING, RATE_LIMITED_CODE, BybitAdapter
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: Milliseconds after its ``X-BAPI-TIMESTAMP`` Bybit refuses a signed request (its default, sent as
#: ``X-BAPI-RECV-WINDOW``); a timestamp 1 s or more ahead of its clock is refused too (10002).
RECV_WINDOW_MS = 5000
#: How long after its signing the private stream's ``auth`` may be checked (its ``expires``).
AUTH_EXPIRES_MS = 10_000
#: An HTTP 403 from Bybit is its IP ban ("access too frequent"): "wait for at least 10 minutes".
IP_BAN_SECONDS = 600.0
#: retCodes (bybit-exchange.github.io/docs/v5/error): 110001 and 170213 "Order does not exist"
#: (the UTA and spot wordings); 10016 "Internal system error", 10000 "Server Timeout" and 170146
#: "Order creation timeout" leave the outcome unknown.
NOT_FOUND_CODES = frozenset({110001, 170213})
UNKNOWN_OUTCOME_CODES = frozenset({10000, 10016, 170146})

#: ``orderStatus`` (REST and the ``order`` topic). ``Untriggered``/``Triggered``/``Deactivated``
#: are conditional orders' (xWrap places none, but the account may hold some).
STATES = {
    "New": OrderStatus.OPEN,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Untriggered": OrderStatus.OPEN,
    "Triggered": OrderStatus.OPEN,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
    "Deactivated": OrderStatus.CANCELLED,
}
#: xWrap's time in force -> Bybit's ``timeInForce`` (a post-only order's is ``PostOnly``).
TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
#: Open orders a ``GET /v5/order/realtime`` page lists at most.
OPEN_ORDERS_PAGE = 50


def signature(secret: str, timestamp: int, key: str, recv_window: int, payload: str) -> str:
    """The hex HMAC-SHA256, keyed with the secret, of ``timestamp + key + recv_window + payload``:
    the payload is the query string as sent (GET) or the JSON body as sent (POST)."""
    text = f"{timestamp}{key}{recv_window}{payload}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def stream_signature(secret: str, expires: int) -> str:
    """The private websocket's ``auth``: the hex HMAC-SHA256 of ``GET/realtime<expires>``."""
    return hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()


class BybitPrivate(PrivateAdapter):
    """A Bybit unified trading account's spot orders, fills and balances over the signed REST API
    v5, and its ``order``, ``execution`` and ``wallet`` topics over the private websocket.

    Every signed request carries ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW``
    and ``X-BAPI-SIGN``; POSTs send JSON bodies. Every answer is an HTTP 200 whose ``retCode`` says
    how it went (:meth:`answered` gives it the HTTP status it means). An order's client id is its
    ``orderLinkId``; a placement's and a cancel's answers name the ids only: what happened comes on
    the stream or from a query. A limit order is amended in place (``/v5/order/amend``). Limits
    are per UID and endpoint, per second (placing and cancelling 20, amending 10, queries 50); the
    retCode 10006 pauses calls until ``X-Bapi-Limit-Reset-Timestamp``.
    """

    name = EXCHANGE
    market_adapter = BybitAdapter
    rest_url = BybitAdapter.rest_url
    stream_url = "wss://stream.bybit.com/v5/private"
    stream_path = "/v5/private"
    stream_ping = PING
    stream_ping_interval = 20.0  # "send the ping heartbeat packet every 20 seconds"
    # The spot rows of Bybit's rate-limit table for a unified account (per UID and second).
    quotas = (
        Quota("/v5/order/create", "place", 20, 1),
        Quota("/v5/order/amend", "amend", 10, 1),
        Quota("/v5/order/cancel", "cancel", 20, 1),
        Quota("/v5/order/cancel-all", "cancel_all", 20, 1),
        Quota("/v5/order/realtime", "query", 50, 1),
        Quota("/v5/order/history", "history", 50, 1),
        Quota("/v5/execution/list", "fills", 50, 1),
        Quota("/v5/account/wallet-balance", "balances", 50, 1),
    )
    recv_window = RECV_WINDOW_MS / 1000
    cancel_reports_order = False  # a cancel's answer names the ids only: the order is asked about

    # -- limits, time, signing ----------------------------------------------------------------------

    def answered(self, request: Request, response: Response) -> Response:
        """An HTTP 200 whose ``retCode`` is not 0 becomes 429 (10006), 503 (outcome unknown), 404
        (no such order) or 400; a query by ``orderLinkId`` that lists no order becomes 404."""
        if response.status != 200:
            return response
        code = _code_of(response.body)[0]
        if code is None or code == 0:
            if "orderLinkId" in request.params and not _listed(response.body):
                return replace(response, status=404)
            return response
        if code == RATE_LIMITED_CODE:
            return replace(response, status=429)
        if code in UNKNOWN_OUTCOME_CODES:
            return replace(response, status=503)
        return replace(response, status=404 if code in NOT_FOUND_CODES else 400)

    def pause_for(self, response: Response, now: float) -> float | None:
        """retCode 10006: until ``X-Bapi-Limit-Reset-Timestamp`` (milliseconds); an HTTP 429 without
        it: its Retry-After; HTTP 403, Bybit's IP ban: ten minutes."""
        if response.status == 403:
            return IP_BAN_SECONDS
        if response.status != 429:
            return None
        reset = response.headers.get("x-bapi-limit-reset-timestamp", "")
        if not reset.isdigit():  # a 429 of a proxy, or of the websocket's handshake
            return retry_after(response.headers.get("retry-after"), now)
        return max(int(reset) / 1000 - now, 0.0)

    def error(self, response: Response) -> XWrapError:
        code, message = _code_of(response.body)
        text = f"{message} (retCode {code})" if code is not None else f"HTTP {response.status}: {response.body[:200]}"
        if response.status >= 500:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: {text}")
        if response.status == 404:
            return NotOnExchange(EXCHANGE, 200, text if code else "no order with this orderLinkId")
        return ExchangeRejected(EXCHANGE, 200 if code is not None else response.status, text)

    def time_request(self) -> Request:
        return Request("/v5/market/time")

    def parse_time(self, body: str) -> float:
        result = _result(body, "GET /v5/market/time")
        nanoseconds = result.text("timeNano")
        if not nanoseconds.isdigit():
            raise InvalidParameter(result.label("timeNano"), "nanoseconds, as a string of digits", nanoseconds)
        return int(nanoseconds) / 1_000_000_000

    def sign(self, request: Request, now: float) -> Request:
        """The query string (GET) or the body (POST), signed as sent, with the key, the time and
        the receive window in the headers."""
        timestamp = round(now * 1000)
        query = urlencode(list(request.params.items()))
        payload = request.body if request.method == "POST" else query
        return replace(
            request,
            path=f"{request.path}?{query}" if query else request.path,
            params={},
            headers={
                **request.headers,
                "X-BAPI-API-KEY": self.credentials.key,
                "X-BAPI-TIMESTAMP": str(timestamp),
                "X-BAPI-RECV-WINDOW": str(RECV_WINDOW_MS),
                "X-BAPI-SIGN": signature(
                    self.credentials.secret, timestamp, self.credentials.key, RECV_WINDOW_MS, payload or ""
                ),
            },
        )

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw`` and 30 hex digits of the key (32 characters), ``-<revision>`` after the first:
        within ``orderLinkId``'s rules (letters, digits, ``-`` and ``_``, at most 36 characters)."""
        return "xw" + key.hex()[:30] + (f"-{revision}" if revision else "")

    def check(self, order: Order) -> None:
        """Bybit spot takes limit orders (GTC, IOC, FOK, or post-only: ``PostOnly`` is then their
        time in force) and market orders (IOC by nature) by base size or by quote amount (its
        ``marketUnit``). Its conditional (stop) orders are not placed, nor GTD."""
        if order.type.is_stop:
            raise InvalidParameter(
                "type", "market or limit: xWrap does not place bybit's conditional orders", order.type.value
            )
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: bybit has no GTD", "GTD")
        if order.post_only and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter(
                "time_in_force", "GTC for a post-only order on bybit (PostOnly is its time in force)",
                order.time_in_force.value,
            )  # fmt: skip
        if order.type is OrderType.MARKET and order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", "GTC or IOC for a market order on bybit (it is IOC)", "FOK")
        if order.type is OrderType.LIMIT and order.funds is not None:
            raise InvalidParameter("funds", "a size: bybit takes limit orders by quantity", format_decimal(order.funds))

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /v5/order/create``: a limit order with its ``timeInForce``; a market order with
        its ``marketUnit`` (``baseCoin`` for a size, ``quoteCoin`` for an amount to spend or get)."""
        body: dict[str, Any] = {
            "category": "spot",
            "symbol": self.markets.to_symbol(order.pair),
            "side": "Buy" if order.side is Side.BUY else "Sell",
            "orderType": "Limit" if order.type is OrderType.LIMIT else "Market",
        }
        if order.type is OrderType.MARKET:
            body["marketUnit"] = "quoteCoin" if order.funds is not None else "baseCoin"
        amount = order.funds if order.funds is not None else order.size
        assert amount is not None
        body["qty"] = format_decimal(amount)
        if order.type is OrderType.LIMIT:
            assert order.price is not None
            body["price"] = format_decimal(order.price)
            body["timeInForce"] = "PostOnly" if order.post_only else TIME_IN_FORCE[order.time_in_force]
        body["orderLinkId"] = client_id
        return _post("/v5/order/create", "place", body)

    def query_request(self, order: Order, client_id: str) -> Request:
        """``GET /v5/order/realtime`` by ``orderLinkId``: open orders and those closed lately."""
        return _get("/v5/order/realtime", "query", {"category": "spot", "orderLinkId": client_id})

    def query_fallback(self, order: Order, client_id: str) -> Request:
        """``GET /v5/order/history`` by ``orderLinkId``: the closed orders the realtime list no
        longer keeps."""
        return _get("/v5/order/history", "history", {"category": "spot", "orderLinkId": client_id})

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return _get("/v5/execution/list", "fills", {"category": "spot", "orderId": exchange_order_id})

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """``POST /v5/order/cancel`` by the order's id where it is known, else by its ``orderLinkId``."""
        body = {"category": "spot", "symbol": self.markets.to_symbol(order.pair)}
        body.update({"orderId": order.exchange_order_id} if order.exchange_order_id else {"orderLinkId": client_id})
        return _post("/v5/order/cancel", "cancel", body)

    def cancel_all_request(self, pair: Pair) -> Request:
        return _post("/v5/order/cancel-all", "cancel_all", {"category": "spot", "symbol": self.markets.to_symbol(pair)})

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """``POST /v5/order/amend``: the order's whole ``qty`` after the change and its ``price``, in
        place (its ids kept). A smaller or equal size at the same price keeps its queue place; a
        new price sends it to the back."""
        assert order.exchange_order_id is not None and order.size is not None
        body = {"category": "spot", "symbol": self.markets.to_symbol(order.pair), "orderId": order.exchange_order_id}
        if size != order.size:
            body["qty"] = format_decimal(size - base)
        if price != order.price:
            body["price"] = format_decimal(price)
        request = _post("/v5/order/amend", "amend", body)
        return Amendment(request, True, client_id, keeps_priority=price == order.price and size <= order.size)

    def open_orders_request(self) -> Request:
        """``GET /v5/order/realtime``, open orders only: the first page of 50 (the followed orders it
        leaves out are queried one by one)."""
        return _get("/v5/order/realtime", "query", {"category": "spot", "openOnly": 0, "limit": OPEN_ORDERS_PAGE})

    def balances_request(self) -> Request:
        return _get("/v5/account/wallet-balance", "balances", {"accountType": "UNIFIED"})

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """A placement's or a cancel's answer (``orderId`` and ``orderLinkId``: open, nothing filled
        that it says), or a query's (the first order of its ``list``)."""
        result = _result(body, "an order answer")
        if result.has("list"):
            orders = expect(result.value("list"), list, result.label("list"), "a JSON list")
            if not orders:
                raise InvalidParameter(result.label("list"), "the order asked about", orders)
            return self._report(Fields(EXCHANGE, "order", orders[0]), at)
        return OrderReport(result.text("orderId"), result.text("orderLinkId"), OrderStatus.OPEN, ZERO, at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """The open orders of ``GET /v5/order/realtime``. A cancel-all's answer lists the ids of the
        orders it cancels, without their state: none here (each cancel comes on the stream)."""
        result = _result(body, "an orders answer")
        rows = expect(result.value("list"), list, result.label("list"), "a JSON list")
        return [self._report(Fields(EXCHANGE, "order", row), at) for row in rows if "orderStatus" in row]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """The amend's answer names the order's ids: the order, open (its state comes on the stream)."""
        result = _result(body, "POST /v5/order/amend")
        return [OrderReport(result.text("orderId"), amendment.client_id, OrderStatus.OPEN, ZERO, at)]

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /v5/execution/list``: the trades (``execType`` Trade) of the order, oldest first (the
        list is newest first)."""
        result = _result(body, "GET /v5/execution/list")
        rows = expect(result.value("list"), list, result.label("list"), "a JSON list")
        executions = [Fields(EXCHANGE, f"execution {index}", row) for index, row in enumerate(rows)]
        return [self._fill(execution) for execution in reversed(executions) if execution.text("execType") == "Trade"]

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED``: each coin's ``walletBalance``
        (what is locked in open orders included)."""
        result = _result(body, "GET /v5/account/wallet-balance")
        accounts = expect(result.value("list"), list, result.label("list"), "a JSON list")
        totals: dict[str, Decimal] = {}
        for index, raw in enumerate(accounts):
            totals.update(self._coins(Fields(EXCHANGE, f"account {index}", raw)))
        return AccountBalances({currency: total for currency, total in totals.items() if total}, at, complete=True)

    def _report(self, order: Fields, at: float) -> OrderReport:
        status = order.text("orderStatus")
        if status not in STATES:
            raise InvalidParameter(order.label("orderStatus"), "one of " + ", ".join(STATES), status)
        reason = order.raw.get("rejectReason", "")
        return OrderReport(
            order.text("orderId"),
            order.text("orderLinkId"),
            STATES[status],
            order.decimal("cumExecQty"),
            order.milliseconds("updatedTime") / 1000 if order.has("updatedTime") else at,
            reason="" if reason in ("", "EC_NoError") else str(reason),
        )

    def _fill(self, execution: Fields) -> Fill:
        """One execution; the fee in ``feeCurrency`` where named, else in what the trade brings in
        (Bybit's spot rule without a fee coin: the base buying, the quote selling)."""
        currency = execution.raw.get("feeCurrency")
        if not currency:
            pair = self.markets.to_pair(execution.text("symbol"))
            currency = pair.base if execution.text("side") == "Buy" else pair.quote
        return Fill(
            "",
            execution.text("execId"),
            execution.decimal("execPrice", positive=True),
            execution.decimal("execQty", positive=True),
            execution.decimal("execFee"),
            common_currency(EXCHANGE, currency),
            Liquidity.MAKER if execution.value("isMaker") is True else Liquidity.TAKER,
            execution.milliseconds("execTime") / 1000,
            {"exchange_order_id": execution.text("orderId")},
        )

    def _coins(self, account: Fields) -> dict[str, Decimal]:
        coins = expect(account.value("coin"), list, account.label("coin"), "a JSON list")
        return {
            common_currency(EXCHANGE, coin.text("coin")): coin.decimal("walletBalance")
            for coin in (Fields(EXCHANGE, account.symbol, raw, f"coin[{row}].") for row, raw in enumerate(coins))
        }

    # -- the stream -------------------------------------------------------------------------------

    def stream_subscribe(self, now: float) -> list[str]:
        """``auth`` (the key, an ``expires`` in milliseconds and its signature), then the spot
        ``order`` and ``execution`` topics and the ``wallet``."""
        expires = round(now * 1000) + AUTH_EXPIRES_MS
        key, secret = self.credentials.key, self.credentials.secret
        return [
            orjson.dumps({"op": "auth", "args": [key, expires, stream_signature(secret, expires)]}).decode(),
            orjson.dumps({"op": "subscribe", "args": ["order.spot", "execution.spot", "wallet"]}).decode(),
        ]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """``order`` messages (the order's state and what it filled), ``execution`` ones (its
        trades, as fills), ``wallet`` (the balances of the coins it lists); the answers to
        ``auth`` and ``subscribe`` (a refusal ends the stream); pongs are nothing."""
        msg = orjson.loads(message)
        topic = str(msg.get("topic", "")).partition(".")[0]
        if topic == "order":
            orders = [Fields(EXCHANGE, raw.get("symbol", "order"), raw) for raw in msg["data"]]
            return [self._report(order, at) for order in orders if order.raw.get("category", "spot") == "spot"]
        if topic == "execution":
            executions = [Fields(EXCHANGE, raw.get("symbol", "execution"), raw) for raw in msg["data"]]
            return [
                OrderReport(
                    execution.text("orderId"),
                    execution.text("orderLinkId"),
                    OrderStatus.OPEN,  # what the order stands at comes on the order topic
                    ZERO,
                    execution.milliseconds("execTime") / 1000,
                    (self._fill(execution),),
                )
                for execution in executions
                if execution.raw.get("category", "spot") == "spot" and execution.text("execType") == "Trade"
            ]
        if topic == "wallet":
            totals: dict[str, Decimal] = {}
            for index, raw in enumerate(msg["data"]):
                totals.update(self._coins(Fields(EXCHANGE, f"wallet {index}", raw)))
            return [AccountBalances(totals, int(msg.get("creationTime", 0)) / 1000 or at, complete=False)]
        op = msg.get("op")
        if op in ("auth", "subscribe") and msg.get("success") is not True:
            return [StreamNotice(f"{op} refused: {msg.get('ret_msg', msg)}", fatal=True)]
        if op == "subscribe":
            return [StreamNotice("subscribed to order, execution and wallet")]
        return []


def _get(path: str, kind: str, params: Mapping[str, Any]) -> Request:
    """A signed GET costing one of the quota of ``kind``; the query signed as it is sent."""
    return Request(path, dict(params), costs={kind: 1})


def _post(path: str, kind: str, body: Mapping[str, Any]) -> Request:
    """A signed POST costing one of the quota of ``kind``, ``body`` sent (and signed) as compact JSON."""
    return json_request("POST", path, {kind: 1}, body)


def _result(body: str, what: str) -> Fields:
    """The ``result`` of a successful answer (:meth:`BybitPrivate.answered` let through only those)."""
    response = Fields(EXCHANGE, what, load_json(body, f"{what} on {EXCHANGE}"))
    return response.nested("result")


def _listed(body: str) -> bool:
    """Whether a query's answer lists an order."""
    try:
        result = orjson.loads(body).get("result") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return True
    return bool(result.get("list", True)) if isinstance(result, dict) else True


def _code_of(body: str) -> tuple[int | None, str]:
    """(retCode, retMsg) of a Bybit answer; (None, the body) for anything else."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    code = raw.get("retCode") if isinstance(raw, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        return code, str(raw.get("retMsg", ""))
    return None, body[:200]
