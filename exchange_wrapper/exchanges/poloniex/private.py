"""Poloniex's private side: its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

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
from .public import EXCHANGE, PoloniexAdapter
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: Milliseconds after its ``signTimestamp`` Poloniex refuses a signed request (HTTP 408), sent as
#: the ``recvWindow`` header; a timestamp more than a second ahead of its clock is refused (400).
RECV_WINDOW_MS = 5000
#: Error codes (api-docs.poloniex.com/spot/error-code): 21301 "Order not found", 21304 "Order is
#: filled", 21305 "Order is canceled" (the order asked about is not, or no longer, open there);
#: 500 "Internal System Error", 603 "Internal Request Timeout", 24201 "Service busy. Try again
#: later" (the outcome is unknown).
NOT_FOUND_CODES = frozenset({21301, 21304, 21305})
UNKNOWN_OUTCOME_CODES = frozenset({500, 603, 24201})

#: ``state`` of an order (REST and the ``orders`` channel). ``PENDING_CANCEL`` is a cancel taken
#: but not done; ``PARTIALLY_CANCELED`` a cancelled order that had filled in part.
STATES = {
    "PENDING_NEW": OrderStatus.OPEN,
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "PENDING_CANCEL": OrderStatus.OPEN,
    "PARTIALLY_CANCELED": OrderStatus.CANCELLED,
    "CANCELED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "FAILED": OrderStatus.REJECTED,
}
#: xWrap's order (type, post-only) -> Poloniex's ``type``. Stops are smart orders on Poloniex
#: (``/smartorders``, with their own ids and a triggered order of another id): not placed.
ORDER_TYPES = {
    (OrderType.LIMIT, False): "LIMIT",
    (OrderType.LIMIT, True): "LIMIT_MAKER",
    (OrderType.MARKET, False): "MARKET",
}
#: The private websocket's keep-alive: it ends a session that sends nothing for 30 seconds.
PING = '{"event":"ping"}'


def string_to_sign(method: str, path: str, params: Mapping[str, object], body: str | None, timestamp: int) -> str:
    """``METHOD\\npath\\nparams``: with a body, ``requestBody=<the body as sent>&signTimestamp=<ms>``;
    without, the query parameters and ``signTimestamp`` sorted by name, URL-encoded (a space is
    ``%20``) and joined with ``&``."""
    if body:
        return f"{method}\n{path}\nrequestBody={body}&signTimestamp={timestamp}"
    query = urlencode(sorted({**params, "signTimestamp": timestamp}.items()), quote_via=quote)
    return f"{method}\n{path}\n{query}"


def signature(secret: str, text: str) -> str:
    """The base64 HMAC-SHA256 of ``text`` keyed with the secret (REST and the websocket's auth)."""
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


class PoloniexPrivate(PrivateAdapter):
    """A Poloniex spot account: orders, fills and balances over the signed REST API, own orders
    and balances over the private websocket.

    Every signed request carries the headers ``key``, ``signTimestamp``, ``signature`` and
    ``recvWindow``; POST, PUT and DELETE send their parameters as a JSON body. An order's answer
    names its ids only, and a cancel's says ``PENDING_CANCEL``: what happened comes from the
    ``orders`` channel (``eventType`` place, trade, canceled) or a query. Amends are
    cancel-replaces (``PUT /orders/{id}``: a new order under a new client id, queue priority
    lost). Limits are per endpoint and account, per second (50 for placing, cancelling and
    asking about one order, 10 for the lists, cancel-all and cancel-replace); a 429 pauses calls
    for its Retry-After.
    """

    name = EXCHANGE
    market_adapter = PoloniexAdapter
    rest_url = PoloniexAdapter.rest_url
    stream_url = "wss://ws.poloniex.com/ws/private"
    stream_path = "/ws/private"
    stream_ping = PING
    quotas = (
        Quota("POST /orders", "place", 50, 1),
        Quota("DELETE /orders/{id}", "cancel", 50, 1),
        Quota("GET /orders/{id}", "query", 50, 1),
        Quota("GET /orders/{id}/trades", "fills", 50, 1),
        Quota("GET /accounts/balances", "balances", 50, 1),
        Quota("GET /orders", "open_orders", 10, 1),
        Quota("DELETE /orders", "cancel_all", 10, 1),
        Quota("PUT /orders/{id}", "replace", 10, 1),
    )
    recv_window = RECV_WINDOW_MS / 1000
    cancel_reports_order = False  # PENDING_CANCEL, without the filled size: the order is asked about

    # -- limits, time, signing ----------------------------------------------------------------------

    def pause_for(self, response: Response, now: float) -> float | None:
        """A 429: its ``Retry-After`` where it has one."""
        return retry_after(response.headers.get("retry-after"), now) if response.status == 429 else None

    def error(self, response: Response) -> XWrapError:
        code, message = _error_of(response.body)
        text = f"{message} (code {code})" if code is not None else message
        if response.status >= 500 or code in UNKNOWN_OUTCOME_CODES:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {text}")
        if code in NOT_FOUND_CODES:
            return NotOnExchange(EXCHANGE, response.status, text)
        return ExchangeRejected(EXCHANGE, response.status, text)

    def time_request(self) -> Request:
        return Request("/timestamp")

    def parse_time(self, body: str) -> float:
        return Fields(EXCHANGE, "timestamp", load_json(body, "GET /timestamp")).integer("serverTime") / 1000

    def sign(self, request: Request, now: float) -> Request:
        timestamp = round(now * 1000)
        text = string_to_sign(request.method, request.path, request.params, request.body, timestamp)
        query = urlencode(sorted(request.params.items()), quote_via=quote)
        return replace(
            request,
            path=f"{request.path}?{query}" if query else request.path,
            params={},
            headers={
                **request.headers,
                "key": self.credentials.key,
                "signTimestamp": str(timestamp),
                "signature": signature(self.credentials.secret, text),
                "recvWindow": str(RECV_WINDOW_MS),
            },
        )

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw`` and 32 hex digits of the key (34 characters), ``-<revision>`` after the first:
        within ``clientOrderId``'s ``[A-Za-z0-9_-]``, at most 64 characters (changelog 2023-12-21)."""
        return "xw" + key.hex()[:32] + (f"-{revision}" if revision else "")

    def check(self, order: Order) -> None:
        if order.type.is_stop:
            raise InvalidParameter(
                "type",
                "market or limit: poloniex places stops as smart orders, which xWrap does not place",
                order.type.value,
            )
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: poloniex has no GTD", "GTD")
        if order.post_only and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on poloniex", order.time_in_force.value)
        if order.type is not OrderType.MARKET:
            return
        if order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", "GTC or IOC for a market order on poloniex", "FOK")
        if order.side is Side.BUY and order.funds is None:
            raise InvalidParameter("funds", "a quote amount: poloniex takes a market buy by amount only", missing=True)
        if order.side is Side.SELL and order.funds is not None:
            raise InvalidParameter(
                "funds", "a size: poloniex takes a market sell by quantity only", format_decimal(order.funds)
            )

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /orders``: ``timeInForce`` for a limit order (a limit maker stays GTC, a market
        order takes what it can at once); a market buy by ``amount``."""
        kind = ORDER_TYPES[(order.type, order.post_only)]
        body: dict[str, Any] = {
            "symbol": self.markets.to_symbol(order.pair),
            "side": order.side.value.upper(),
            "type": kind,
        }
        if kind == "LIMIT":
            body["timeInForce"] = order.time_in_force.value
        if order.price is not None and kind != "MARKET":
            body["price"] = format_decimal(order.price)
        if order.funds is not None:
            body["amount"] = format_decimal(order.funds)
        else:
            assert order.size is not None
            body["quantity"] = format_decimal(order.size)
        body["clientOrderId"] = client_id
        return _private("POST", "/orders", "place", body)

    def query_request(self, order: Order, client_id: str) -> Request:
        return _private("GET", f"/orders/cid:{client_id}", "query")

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return _private("GET", f"/orders/{exchange_order_id}/trades", "fills")

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By the order's id where it is known, else by its client id."""
        target = order.exchange_order_id or f"cid:{client_id}"
        return _private("DELETE", f"/orders/{target}", "cancel")

    def cancel_all_request(self, pair: Pair) -> Request:
        return _private("DELETE", "/orders", "cancel_all", {"symbols": [self.markets.to_symbol(pair)]})

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """``PUT /orders/{id}``: Poloniex has no amend in place. The order is cancelled and a new
        one placed for what remains to fill (``quantity``) at ``price`` under ``next_client_id``;
        it keeps the type, side and time in force (``proceedOnFailure`` false: nothing is placed
        if the cancel fails)."""
        assert order.exchange_order_id is not None
        body = {
            "clientOrderId": next_client_id,
            "price": format_decimal(price),
            "quantity": format_decimal(size - order.filled_size),
        }
        return Amendment(_private("PUT", f"/orders/{order.exchange_order_id}", "replace", body), False, next_client_id)

    def open_orders_request(self) -> Request:
        return _private("GET", "/orders", "open_orders", params={"limit": 2000})

    def balances_request(self) -> Request:
        return _private("GET", "/accounts/balances", "balances", params={"accountType": "SPOT"})

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """A placement's answer (``id`` and ``clientOrderId``: open, nothing filled yet), a query's
        (the order with its ``state`` and ``filledQuantity``), a cancel's (``PENDING_CANCEL``)."""
        return self._report(load_json(body, f"an order answer on {EXCHANGE}"), at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """``GET /orders`` (the open orders), ``DELETE /orders`` (one entry per order, its ``code``
        200 where the cancel was taken)."""
        rows = expect(load_json(body, f"an orders answer on {EXCHANGE}"), list, f"orders on {EXCHANGE}", "a JSON list")
        return [self._report(row, at) for row in rows if not (isinstance(row, dict) and row.get("code", 200) != 200)]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """The cancel-replace's answer names the new order only (the replaced one's end comes on
        the stream): its report."""
        return [self.parse_order(body, at)]

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /orders/{id}/trades``: ``id`` is the trade's (the stream's ``tradeId``)."""
        rows = expect(load_json(body, f"trades on {EXCHANGE}"), list, f"trades on {EXCHANGE}", "a JSON list")
        fills = []
        for index, raw in enumerate(rows):
            trade = Fields(EXCHANGE, f"trade {index}", raw)
            fills.append(self._fill(trade, "id", "price", "quantity", "feeAmount", "createTime"))
        return fills

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /accounts/balances``: available plus on hold, per currency of the SPOT account."""
        accounts = expect(
            load_json(body, f"GET /accounts/balances on {EXCHANGE}"), list, f"balances on {EXCHANGE}", "a JSON list"
        )
        totals: dict[str, Decimal] = {}
        for index, raw in enumerate(accounts):
            account = Fields(EXCHANGE, f"account {index}", raw)
            if account.text("accountType") != "SPOT":
                continue
            for row, balance in enumerate(
                expect(account.value("balances"), list, account.label("balances"), "a JSON list")
            ):
                totals.update(self._balance(Fields(EXCHANGE, f"account {index}", balance, f"balances[{row}].")))
        return AccountBalances({currency: total for currency, total in totals.items() if total}, at, complete=True)

    def _report(self, raw: object, at: float) -> OrderReport:
        order = Fields(EXCHANGE, raw.get("symbol", "order") if isinstance(raw, dict) else "order", raw)
        if not order.has("state"):  # a placement's or a cancel-replace's answer: the ids only
            return OrderReport(order.text("id"), order.text("clientOrderId"), OrderStatus.OPEN, ZERO, at)
        time = next((order.integer(name) for name in ("updateTime", "ts") if order.has(name)), None)
        return OrderReport(
            order.text("orderId" if order.has("orderId") else "id"),
            order.text("clientOrderId"),
            _state(order),
            order.decimal("filledQuantity") if order.has("filledQuantity") else ZERO,
            at if time is None else time / 1000,
        )

    def _fill(self, fields: Fields, trade_id: str, price: str, size: str, fee: str, time: str) -> Fill:
        """A trade of a REST answer or an ``orders`` event; the fee in ``feeCurrency`` (what the
        trade brings in, or TRX with its discount), or in what it brings in where none is named."""
        currency = fields.raw.get("feeCurrency")
        if not currency:
            pair = self.markets.to_pair(fields.text("symbol"))
            currency = pair.base if fields.text("side") == "BUY" else pair.quote
        return Fill(
            "",
            fields.text(trade_id),
            fields.decimal(price, positive=True),
            fields.decimal(size, positive=True),
            fields.decimal(fee),
            common_currency(EXCHANGE, currency),
            Liquidity.MAKER if fields.text("matchRole") == "MAKER" else Liquidity.TAKER,
            fields.integer(time) / 1000,
            {"exchange_order_id": fields.text("orderId")},
        )

    def _balance(self, balance: Fields) -> dict[str, Decimal]:
        return {
            common_currency(EXCHANGE, balance.text("currency")): balance.decimal("available") + balance.decimal("hold")
        }

    # -- the stream -------------------------------------------------------------------------------

    def stream_subscribe(self, now: float) -> list[str]:
        """The ``auth`` event (``GET\\n/ws\\nsignTimestamp=<ms>`` signed), then the ``orders``
        channel of every symbol and the ``balances`` channel."""
        timestamp = round(now * 1000)
        auth = {
            "event": "subscribe",
            "channel": ["auth"],
            "params": {
                "key": self.credentials.key,
                "signTimestamp": timestamp,
                "signature": signature(self.credentials.secret, string_to_sign("GET", "/ws", {}, None, timestamp)),
            },
        }
        return [
            orjson.dumps(auth).decode(),
            orjson.dumps({"event": "subscribe", "channel": ["orders"], "symbols": ["all"]}).decode(),
            orjson.dumps({"event": "subscribe", "channel": ["balances"]}).decode(),
        ]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """``orders`` events (a trade's fill where ``eventType`` is trade), ``balances`` (available
        plus hold of the currencies that changed), the ``auth`` answer (a refusal ends the stream),
        the ``orders`` subscription's acknowledgement, ``error`` events; pongs are nothing."""
        msg = orjson.loads(message)
        channel = msg.get("channel")
        if channel == "orders" and "data" in msg:
            return [self._event(Fields(EXCHANGE, raw.get("symbol", "orders"), raw)) for raw in msg["data"]]
        if channel == "balances" and "data" in msg:
            events = [Fields(EXCHANGE, "balances", raw) for raw in msg["data"]]
            totals: dict[str, Decimal] = {}
            for event in events:
                if event.text("accountType") == "SPOT":
                    totals.update(self._balance(event))
            return [
                AccountBalances(totals, max((e.integer("ts") for e in events), default=0) / 1000 or at, complete=False)
            ]
        if channel == "auth":
            data = msg.get("data") or {}
            return (
                []
                if data.get("success") is True
                else [StreamNotice(f"authentication refused: {data.get('message', msg)}", fatal=True)]
            )
        event = msg.get("event")
        if event == "subscribe" and channel == "orders":
            return [StreamNotice("subscribed to orders and balances")]
        if event == "error":
            return [StreamNotice(str(msg.get("message", msg)), fatal=True)]
        return []

    def _event(self, event: Fields) -> OrderReport:
        fills: tuple[Fill, ...] = ()
        if event.text("eventType") == "trade":
            fills = (self._fill(event, "tradeId", "tradePrice", "tradeQty", "tradeFee", "tradeTime"),)
        return OrderReport(
            event.text("orderId"),
            event.text("clientOrderId"),
            _state(event),
            event.decimal("filledQuantity"),
            event.integer("ts") / 1000,
            fills,
        )


def _private(
    method: str, path: str, kind: str, body: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None
) -> Request:
    """A signed request costing one of the quota of ``kind``; ``body`` sent as compact JSON."""
    return json_request(method, path, {kind: 1}, body, params)


def _state(fields: Fields) -> OrderStatus:
    state = fields.text("state")
    if state not in STATES:
        raise InvalidParameter(fields.label("state"), "one of " + ", ".join(STATES), state)
    return STATES[state]


def _error_of(body: str) -> tuple[int | None, str]:
    """(code, message) of ``{"code": 21301, "message": "..."}``; (None, the body) for anything else."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    code = raw.get("code") if isinstance(raw, dict) else None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return code, str(raw.get("message", ""))
    return None, body[:200]
