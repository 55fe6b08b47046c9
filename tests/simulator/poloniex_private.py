"""Poloniex spot (API v3) on loopback, public and private: the REST API with its signed endpoints,
the private websocket's ``orders`` and ``balances`` channels, and the public websocket.

REST (``rest_url``): ``GET /markets`` (the capture's) and ``GET /timestamp``; the signed endpoints
check the ``key`` header, the base64 HMAC-SHA256 of ``METHOD\\npath\\nparams`` (the query and
``signTimestamp`` sorted and URL-encoded, or ``requestBody=<body>&signTimestamp=<ms>``), and the
time (more than a second ahead: 400; older than ``recvWindow``: 408), then place
(``POST /orders``), query (``GET /orders/{id}`` or ``/orders/cid:{clientOrderId}``), cancel
(``DELETE`` the same, or ``DELETE /orders`` for every order of the symbols), cancel-replace
(``PUT /orders/{id}``) orders of a :class:`~.private.SimAccount` (market orders take from the
recorded book of the symbol), and answer the open orders, an order's trades and the balances,
in Poloniex's formats. Every call is counted per endpoint and second against the documented
limits (a 429 when over) and logged.

WebSocket (``ws_url`` is ``/ws/public``): ``/ws/public`` speaks the market-data protocol of
:mod:`tests.simulator.poloniex` (acks and book snapshots, nothing streamed); ``/ws/private``
answers ``auth`` (signature of ``GET\\n/ws\\nsignTimestamp=<ms>`` checked), the ``orders`` and
``balances`` subscriptions and pings, then pushes an ``orders`` event (``eventType`` place,
trade, canceled) for every change of an order and a ``balances`` event for the currencies it
moved.

Made up where Poloniex documents no answer (the shapes are its own): the bodies of an
authentication failure (401), of the time checks (400, 408) and of a 429; a post-only order that
would take is refused with 601 "Invalid Parameter"; ``balances`` events name their cause
``place_order`` (as documented), ``match_order``, ``cancel_order`` or ``deposit``.

Hooks: ``fail_next`` (answer the next calls with e.g. a 429), ``lose_next`` (execute the next
call, then close the connection without an answer), :meth:`PoloniexExchange.fill`,
:meth:`PoloniexExchange.deposit`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.poloniex import poloniex_protocol
from tests.simulator.private import (
    Execution,
    FixedWindows,
    HttpAnswer,
    HttpRequest,
    LoopbackExchange,
    Refused,
    SimAccount,
    SimBook,
    SimOrder,
    Trade,
)

#: The simulated account's keys, in the shape of Poloniex's (no published example key exists).
API_KEY = "A3B7K2QX-99F4M1ZC-84TR6W0D-7NH5E2JL"
API_SECRET = "5d1c9e0b7a34f6e28c1b0d9a7f3e6c5b4a2918d7e6f5c4b3a2918f7e6d5c4b3a29"
#: Ids as Poloniex writes them: orders and the account's trade pages are 17-digit numbers (the
#: documentation's ``32471407854219264``, ``32164924331503616``, account ``60018450912695040``).
ORDER_ID_BASE = 32471407854218000
PAGE_ID_BASE = 32164924331500000
ACCOUNT_ID = "60018450912695040"
USER_ID = 1843021
#: The documented limits per endpoint and account, per second (non-resource-intensive 50,
#: resource-intensive 10), by the names the adapter's quotas use.
LIMITS = {
    "POST /orders": 50,
    "DELETE /orders/{id}": 50,
    "GET /orders/{id}": 50,
    "GET /orders/{id}/trades": 50,
    "GET /accounts/balances": 50,
    "GET /orders": 10,
    "DELETE /orders": 10,
    "PUT /orders/{id}": 10,
}
ERRORS = {  # Refused reasons -> (HTTP status, code, message) as Poloniex answers them
    "duplicate_order": (400, 21312, "Client orderId already exists"),
    "insufficient_balance": (400, 21709, "Low available balance"),
    "unknown_order": (400, 21301, "Order not found"),
    "would_take": (400, 601, "Invalid Parameter"),
}
TYPES = {"LIMIT": "limit", "LIMIT_MAKER": "limit_maker", "MARKET": "market"}
TYPE_NAMES = {kind: name for name, kind in TYPES.items()}
EVENT_TYPES = {"new": "place", "trade": "trade", "cancelled": "canceled", "expired": "canceled"}
BALANCE_EVENTS = {"new": "place_order", "trade": "match_order", "cancelled": "cancel_order", "expired": "cancel_order"}
_ORDER_PATH = re.compile(r"^/orders/(?P<ref>cid:[A-Za-z0-9_-]+|\d+)(?P<trades>/trades)?$")


def amount(value: Decimal | None) -> str:
    """Poloniex writes amounts plainly, without trailing zeros ("0.58", "1000", "0")."""
    return format(value.normalize(), "f") if value else "0"


def wire_id(order: SimOrder) -> str:
    return str(ORDER_ID_BASE + order.order_id)


def _ms(at: float) -> int:
    return int(at * 1000)


def _sign(text: str) -> str:
    return base64.b64encode(hmac.new(API_SECRET.encode(), text.encode(), hashlib.sha256).digest()).decode()


class PoloniexExchange(LoopbackExchange):
    """``async with PoloniexExchange(balances={"USDT": Decimal(1000)}) as sim``; point the
    settings' ``rest_url`` at ``sim.rest_url`` and ``ws_url`` at ``sim.ws_url``.

    ``clock`` is the exchange's (Unix seconds); ``calls`` logs every REST call; ``refusals`` the
    rate-limit refusals it answered.
    """

    def __init__(
        self,
        *,
        balances: dict[str, Decimal],
        clock: Callable[[], float] = time.time,
        fee_rate: Decimal = Decimal("0.00145"),
    ):
        super().__init__(clock)
        self.market_data = protocol = poloniex_protocol()
        for message in protocol.recording:  # the books as the recording opens them
            if protocol.parsed[message].get("action") == "update":
                break
            protocol.advance(message)
        markets, books = {}, {}
        for market in json.loads(protocol.rest["/markets"]):
            symbol = market["symbol"]
            if symbol in protocol.books:
                step = Decimal(1).scaleb(-market["symbolTradeLimit"]["quantityScale"])
                markets[symbol] = (market["baseCurrencyName"], market["quoteCurrencyName"], step)
                sides = protocol.books[symbol].sides
                books[symbol] = SimBook(
                    ((p, Decimal(q)) for p, (_, q) in sides["bids"].items()),
                    ((p, Decimal(q)) for p, (_, q) in sides["asks"].items()),
                )
        self.account = SimAccount(markets, books, balances, fee_rate)
        self.windows = {endpoint: FixedWindows(limit, 1) for endpoint, limit in LIMITS.items()}
        self.refusals: list[tuple[float, str]] = []
        self.streams: dict[ServerConnection, set[str]] = {}  # authenticated connections -> their channels
        self._balance_ids = itertools.count(60018450912695041)
        self._pushing: set[asyncio.Task] = set()

    @property
    def ws_url(self) -> str:
        """The public websocket's (``/ws/public``); the private one is ``/ws/private`` there."""
        return super().ws_url + "/ws/public"

    # -- hooks ------------------------------------------------------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the stream says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    async def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside (a deposit): a ``balances`` event."""
        self.account.deposit(asset, quantity)
        await self._push("balances", [self._balance_event(asset, "deposit")])

    def order(self, client_id: str) -> SimOrder:
        return self.account.find(client_id=client_id)

    def local(self, order_id: str) -> SimOrder:
        """The order of a Poloniex order id."""
        return self.account.orders[int(order_id) - ORDER_ID_BASE]

    async def drop_streams(self) -> None:
        """Close every private websocket connection (the events meanwhile are lost)."""
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        if request.method == "GET" and request.path == "/markets":
            return HttpAnswer(200, self.market_data.rest["/markets"])
        if request.method == "GET" and request.path == "/timestamp":
            return HttpAnswer(200, json.dumps({"serverTime": _ms(self.clock())}))
        endpoint, ref, handler = self._route(request.method, request.path)
        if handler is None:
            return _error(404, 404, "Not Found")
        problem = self._authenticate(request)
        if problem is not None:
            return problem
        if not self.windows[endpoint].spend(request.received_at, 1):
            self.refusals.append((request.received_at, endpoint))
            return _error(429, 429, "Too many requests")
        try:
            return handler(self, request, ref)
        except _Finished as finished:
            return _error(400, finished.code, finished.message)
        except Refused as refused:
            return _error(*ERRORS[refused.reason])

    def _route(self, method: str, path: str) -> tuple[str, str, Any]:
        """(the endpoint's name, the order reference in the path, its handler)."""
        if path in ("/orders", "/accounts/balances"):
            endpoint = f"{method} {path}"
            return endpoint, "", self._endpoints.get(endpoint)
        match = _ORDER_PATH.match(path)
        if match is None:
            return "", "", None
        endpoint = f"{method} /orders/{{id}}" + ("/trades" if match["trades"] else "")
        return endpoint, match["ref"], self._endpoints.get(endpoint)

    def _authenticate(self, request: HttpRequest) -> HttpAnswer | None:
        """Poloniex's checks of a signed request: the key, the signature, the time."""
        headers = request.headers
        if headers.get("key") != API_KEY:
            return _error(401, 401, "Invalid Apikey")
        timestamp = headers.get("signtimestamp", "")
        if not timestamp.isdigit():
            return _error(400, 602, "Missing Required Parameters")
        if request.body:
            params = f"requestBody={request.body}&signTimestamp={timestamp}"
        else:
            params = urlencode(
                sorted([*parse_qsl(request.query, keep_blank_values=True), ("signTimestamp", timestamp)]),
                quote_via=quote,
            )
        expected = _sign(f"{request.method}\n{request.path}\n{params}")
        if not hmac.compare_digest(expected, headers.get("signature", "")):
            return _error(401, 401, "Signature verification failed")
        server = self.clock() * 1000
        if int(timestamp) > server + 1000:
            return _error(400, 400, "signTimestamp is more than 1 second from poloniex system time")
        window = headers.get("recvwindow")
        if window is not None and server - int(timestamp) > int(window):
            return _error(408, 408, "Request timeout as recvWindow threshold has been breached")
        return None

    # -- endpoints --------------------------------------------------------------------------------

    def _new_order(self, request: HttpRequest, ref: str) -> HttpAnswer:
        body = json.loads(request.body)
        executions = self._place(
            body, body.get("clientOrderId", ""), body["symbol"], body["side"].lower(), TYPES[body.get("type", "MARKET")]
        )
        order = executions[0].order
        self._schedule(executions)
        return HttpAnswer(200, json.dumps({"id": wire_id(order), "clientOrderId": order.client_id}))

    def _place(self, body: dict[str, Any], client_id: str, symbol: str, side: str, kind: str) -> list[Execution]:
        return self.account.place(
            client_id=client_id,
            symbol=symbol,
            side=side,
            kind=kind,
            time_in_force=body.get("timeInForce", "GTC"),
            quantity=_decimal(body.get("quantity")),
            price=_decimal(body.get("price")),
            stop_price=None,
            quote_quantity=_decimal(body.get("amount")),
            at=self.clock(),
        )

    def _open_orders(self, request: HttpRequest, ref: str) -> HttpAnswer:
        symbol = dict(parse_qsl(request.query)).get("symbol")
        return HttpAnswer(
            200,
            json.dumps(
                [self._order_json(o) for o in self.account.orders.values() if o.is_open and symbol in (None, o.symbol)]
            ),
        )

    def _query_order(self, request: HttpRequest, ref: str) -> HttpAnswer:
        return HttpAnswer(200, json.dumps(self._order_json(self._find(ref))))

    def _cancel_order(self, request: HttpRequest, ref: str) -> HttpAnswer:
        order = self._open(ref)
        self._schedule(self.account.cancel(order, self.clock()))
        return HttpAnswer(200, json.dumps(self._cancel_json(order)))

    def _cancel_all(self, request: HttpRequest, ref: str) -> HttpAnswer:
        symbols = (json.loads(request.body) if request.body else {}).get("symbols") or []
        answers = []
        for order in [o for o in self.account.orders.values() if o.is_open and (not symbols or o.symbol in symbols)]:
            self._schedule(self.account.cancel(order, self.clock()))
            answers.append(self._cancel_json(order))
        return HttpAnswer(200, json.dumps(answers))

    def _replace(self, request: HttpRequest, ref: str) -> HttpAnswer:
        """Cancel the order, then place one with the same symbol, side and type and the body's
        price, quantity and time in force (the old ones where not given)."""
        old = self._open(ref)
        body = json.loads(request.body)
        cancelled = self.account.cancel(old, self.clock())
        body = {"timeInForce": old.time_in_force, "quantity": amount(old.quantity), "price": amount(old.price), **body}
        try:
            executions = self._place(body, body.get("clientOrderId", ""), old.symbol, old.side, old.kind)
        except Refused:
            self._schedule(cancelled)
            raise
        self._schedule(cancelled + executions)
        order = executions[0].order
        return HttpAnswer(200, json.dumps({"id": wire_id(order), "clientOrderId": order.client_id}))

    def _trades(self, request: HttpRequest, ref: str) -> HttpAnswer:
        order = self._find(ref)
        return HttpAnswer(
            200, json.dumps([self._trade_json(order, t) for t in self.account.trades if t.order_id == order.order_id])
        )

    def _balances(self, request: HttpRequest, ref: str) -> HttpAnswer:
        account = self.account
        return HttpAnswer(
            200,
            json.dumps(
                [
                    {
                        "accountId": ACCOUNT_ID,
                        "accountType": "SPOT",
                        "balances": [
                            {
                                "currencyId": str(214 + index),
                                "currency": asset,
                                "available": amount(account.free.get(asset)),
                                "hold": amount(account.locked.get(asset)),
                            }
                            for index, asset in enumerate(account.assets())
                        ],
                    }
                ]
            ),
        )

    _endpoints = {
        "POST /orders": _new_order,
        "GET /orders": _open_orders,
        "DELETE /orders": _cancel_all,
        "GET /orders/{id}": _query_order,
        "DELETE /orders/{id}": _cancel_order,
        "PUT /orders/{id}": _replace,
        "GET /orders/{id}/trades": _trades,
        "GET /accounts/balances": _balances,
    }

    def _find(self, ref: str) -> SimOrder:
        if ref.startswith("cid:"):
            return self.account.find(client_id=ref[4:])
        return self.account.find(int(ref) - ORDER_ID_BASE)

    def _open(self, ref: str) -> SimOrder:
        """The open order of ``ref``: one filled or cancelled already is 21304 or 21305."""
        order = self._find(ref)
        if order.status == "filled":
            raise _Finished(21304, "Order is filled")
        if not order.is_open:
            raise _Finished(21305, "Order is canceled")
        return order

    def _order_json(self, order: SimOrder) -> dict[str, Any]:
        """An order as ``GET /orders`` and ``GET /orders/{id}`` write it."""
        average = order.quote_executed / order.executed if order.executed else None
        return {
            "id": wire_id(order),
            "clientOrderId": order.client_id,
            "symbol": order.symbol,
            "state": _state(order, order.executed),
            "accountType": "SPOT",
            "side": order.side.upper(),
            "type": TYPE_NAMES[order.kind],
            "timeInForce": order.time_in_force,
            "quantity": amount(order.quantity),
            "price": amount(order.price),
            "avgPrice": amount(average),
            "amount": amount(order.quote_quantity),
            "filledQuantity": amount(order.executed),
            "filledAmount": amount(order.quote_executed),
            "createTime": _ms(order.created_at),
            "updateTime": _ms(order.updated_at),
        }

    def _cancel_json(self, order: SimOrder) -> dict[str, Any]:
        return {
            "orderId": wire_id(order),
            "clientOrderId": order.client_id,
            "state": "PENDING_CANCEL",
            "code": 200,
            "message": "",
        }

    def _trade_json(self, order: SimOrder, trade: Trade) -> dict[str, Any]:
        return {
            "id": str(trade.trade_id),
            "symbol": order.symbol,
            "accountType": "SPOT",
            "orderId": wire_id(order),
            "side": order.side.upper(),
            "type": TYPE_NAMES[order.kind],
            "matchRole": "MAKER" if trade.maker else "TAKER",
            "createTime": _ms(trade.at),
            "price": amount(trade.price),
            "quantity": amount(trade.quantity),
            "amount": amount(trade.price * trade.quantity),
            "feeCurrency": trade.commission_asset,
            "feeAmount": amount(trade.commission),
            "pageId": str(PAGE_ID_BASE + trade.trade_id),
            "clientOrderId": order.client_id,
        }

    # -- the websockets ---------------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        session = self.market_data.session()
        try:
            async for message in ws:
                if path == "/ws/public":
                    for reply in self.market_data.answer(message, session):
                        await ws.send(reply)
                elif path == "/ws/private":
                    for reply in self._private_answer(ws, json.loads(message)):
                        await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            self.streams.pop(ws, None)

    def _private_answer(self, ws: ServerConnection, request: dict[str, Any]) -> list[dict[str, Any]]:
        event, channels = request.get("event"), request.get("channel") or []
        if event == "ping":
            return [{"event": "pong"}]
        if event != "subscribe":
            return [{"event": "error", "message": f"Invalid event value {json.dumps(event)}"}]
        if channels == ["auth"]:
            params = request.get("params") or {}
            expected = _sign(f"GET\n/ws\nsignTimestamp={params.get('signTimestamp')}")
            now = _ms(self.clock())
            if params.get("key") != API_KEY or not hmac.compare_digest(expected, str(params.get("signature", ""))):
                return [{"data": {"success": False, "message": "Authentication failed!", "ts": now}, "channel": "auth"}]
            self.streams[ws] = set()
            return [{"data": {"success": True, "ts": now}, "channel": "auth"}]
        if ws not in self.streams:
            return [{"event": "error", "message": "user is not authenticated"}]
        replies = []
        for channel in channels:
            if channel not in ("orders", "balances"):
                replies.append({"event": "error", "message": f'Invalid channel value ["{channel}"]'})
                continue
            self.streams[ws].add(channel)
            replies.append(
                {
                    "event": "subscribe",
                    "channel": channel,
                    **({"symbols": request.get("symbols", ["all"])} if channel == "orders" else {}),
                }
            )
        return replies

    def _schedule(self, executions: list[Execution]) -> None:
        """Push the events of ``executions`` once the answer is on its way (they race, as on
        Poloniex)."""
        task = asyncio.get_running_loop().create_task(self._publish(executions))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution]) -> None:
        """One ``orders`` event per execution (each with the order's fills so far at that point),
        then a ``balances`` event for the two currencies of the symbol."""
        if not executions:
            return
        order = executions[0].order
        filled = order.executed - sum((e.trade.quantity for e in executions if e.trade is not None), Decimal(0))
        quote = order.quote_executed - sum(
            (e.trade.price * e.trade.quantity for e in executions if e.trade is not None), Decimal(0)
        )
        events = []
        for execution in executions:
            if execution.trade is not None:
                filled += execution.trade.quantity
                quote += execution.trade.price * execution.trade.quantity
            events.append(self._order_event(execution, filled, quote))
        await self._push("orders", events)
        base, quote_asset, _ = self.account.markets[order.symbol]
        kind = BALANCE_EVENTS[executions[-1].kind]
        await self._push("balances", [self._balance_event(base, kind), self._balance_event(quote_asset, kind)])

    def _order_event(self, execution: Execution, filled: Decimal, quote: Decimal) -> dict[str, Any]:
        order, trade, now = execution.order, execution.trade, _ms(self.clock())
        if execution.kind == "trade":
            state = "FILLED" if order.quantity is not None and filled >= order.quantity else "PARTIALLY_FILLED"
        elif execution.kind == "new":
            state = "NEW"
        else:
            state = _state(order, filled)
        return {
            "symbol": order.symbol,
            "type": TYPE_NAMES[order.kind],
            "quantity": amount(order.quantity),
            "orderId": wire_id(order),
            "tradeFee": amount(trade.commission if trade else None),
            "clientOrderId": order.client_id,
            "accountType": "SPOT",
            "feeCurrency": trade.commission_asset if trade else "",
            "eventType": EVENT_TYPES[execution.kind],
            "source": "API",
            "side": order.side.upper(),
            "filledQuantity": amount(filled),
            "filledAmount": amount(quote),
            "matchRole": "TAKER" if trade and not trade.maker else "MAKER",
            "state": state,
            "tradeTime": _ms(trade.at) if trade else 0,
            "tradeAmount": amount(trade.price * trade.quantity if trade else None),
            "orderAmount": amount(order.quote_quantity),
            "createTime": _ms(order.created_at),
            "price": amount(order.price),
            "tradeQty": amount(trade.quantity if trade else None),
            "tradePrice": amount(trade.price if trade else None),
            "tradeId": str(trade.trade_id) if trade else "0",
            "ts": now,
        }

    def _balance_event(self, asset: str, kind: str) -> dict[str, Any]:
        now = _ms(self.clock())
        return {
            "changeTime": now,
            "accountId": ACCOUNT_ID,
            "accountType": "SPOT",
            "eventType": kind,
            "available": amount(self.account.free.get(asset)),
            "currency": asset,
            "id": next(self._balance_ids),
            "userId": USER_ID,
            "hold": amount(self.account.locked.get(asset)),
            "ts": now,
        }

    async def _push(self, channel: str, data: list[dict[str, Any]]) -> None:
        message = json.dumps({"channel": channel, "data": data})
        for ws, channels in list(self.streams.items()):
            if channel in channels:
                try:
                    await ws.send(message)
                except ConnectionClosed:
                    self.streams.pop(ws, None)


class _Finished(Refused):
    """A cancel of an order no longer open: Poloniex names why (filled, or cancelled)."""

    def __init__(self, code: int, message: str):
        super().__init__("finished")
        self.code, self.message = code, message


def _state(order: SimOrder, filled: Decimal) -> str:
    """An order's ``state`` once ``filled`` of it has."""
    if order.status == "cancelled":
        return "PARTIALLY_CANCELED" if filled else "CANCELED"
    return {
        "new": "NEW",
        "partially_filled": "PARTIALLY_FILLED",
        "filled": "FILLED",
        "expired": "EXPIRED",
        "rejected": "REJECTED",
    }[order.status]


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> HttpAnswer:
    return HttpAnswer(status, json.dumps({"code": code, "message": message}), headers or {})
