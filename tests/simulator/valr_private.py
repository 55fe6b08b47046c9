"""VALR (spot) on loopback, public and private: the REST API with its signed endpoints, the account
websocket, and the trade websocket.

REST (``rest_url``): ``GET /v1/public/pairs`` (the capture's) and ``GET /v1/public/time``; the signed
endpoints check ``X-VALR-API-KEY``, the HMAC-SHA512 ``X-VALR-SIGNATURE`` of timestamp, verb, path
with query and body, and the ``X-VALR-TIMESTAMP``, then place (``POST /v1/orders/limit``,
``/v1/orders/market``: ``202 {"id": ...}``), query (``GET /v1/orders/{pair}/customerorderid/{id}``),
cancel (``DELETE /v1/orders/order``: ``202``, nothing in the body; ``DELETE /v1/orders/{pair}``:
the ids of the orders it cancels) orders of a :class:`~.private.SimAccount` (market orders and
crossing limits take from the recorded book of the pair), and answer the open orders, the pair's
trade history and the balances, in VALR's formats. A placement VALR cannot do is accepted (202)
and then ``Failed`` with its reason, as VALR does. Fees are VALR's: a maker pays in what its order
gives (the quote of a buy, the base of a sell), a taker in what it gets. Every call is counted
against the documented limits (2,000 a minute per key; per second 400 new orders, 450 cancels):
over one, a 429 with ``x-valr-ratelimited: true``. Every call is logged.

WebSocket: ``ws_url`` is ``/ws/trade``, the market-data protocol of :mod:`tests.simulator.valr`;
``/ws/account`` answers ``AUTHENTICATE`` (the signature of ``GET /ws/account`` checked),
``SUBSCRIBE`` to ``ORDER_STATUS_UPDATE`` and ``PING``, then pushes an ``ORDER_STATUS_UPDATE`` for
every change of an order, ``NEW_ACCOUNT_TRADE`` for its trades, and ``BALANCE_UPDATE`` for the
currencies it moved.

Made up where VALR documents no answer (the shapes are its own): the answers to a bad key or
signature (401), to a timestamp more than 30 s old (400), to an unknown order (404), to a call over
a limit (429, with a ``Retry-After`` where a test gives one), the ``AUTHENTICATED`` and
``SUBSCRIBED`` acknowledgements of the account websocket, and the ``failedReason`` texts.

Hooks: ``fail_next``, ``lose_next``, ``delay_next``, ``refuse_streams``, :meth:`ValrExchange.fill`,
:meth:`ValrExchange.deposit`, :meth:`ValrExchange.drop_streams`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import parse_qsl

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

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
from tests.simulator.valr import PAIRS_PATH, valr_protocol

#: The account's keys: VALR's published signing example's (docs.valr.com, "Authentication").
API_KEY = "4961b74efac86b25cce8fbe4c9811c4c7a787b7a5996660afcc2e287ad864363"
API_SECRET = "4961b74efac86b25cce8fbe4c9811c4c7a787b7a5996660afcc2e287ad864363"
#: VALR's spot fees on pairs quoted in rand, tier 1: maker 0.180 %, taker 0.350 %.
MAKER_FEE, TAKER_FEE = Decimal("0.0018"), Decimal("0.0035")
MAX_AGE = 30  # seconds a signed request's timestamp may be old (made up)
LIMITS = {"requests": (2000, 60), "place": (400, 1), "cancel": (450, 1)}
FAILURES = {  # Refused reasons -> VALR's failedReason
    "duplicate_order": "Non-unique customerOrderId",
    "insufficient_balance": "Insufficient Balance",
    "would_take": "Post only cancelled as it would have filled",
}
_STATUS_PATH = re.compile(r"^/v1/orders/(?P<pair>[A-Z0-9]+)/customerorderid/(?P<cid>[A-Za-z0-9-]+)$")
_TRADES_PATH = re.compile(r"^/v1/account/(?P<pair>[A-Z0-9]+)/tradehistory$")
_CANCEL_ALL_PATH = re.compile(r"^/v1/orders/(?P<pair>[A-Z0-9]+)$")


def amount(value: Decimal | None) -> str:
    """VALR writes amounts plainly, without trailing zeros ("0.58", "1000", "0")."""
    return format(value.normalize(), "f") if value else "0"


def iso(at: float) -> str:
    """A time as VALR writes it (``2024-09-27T12:01:00.000Z``)."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def wire_id(number: int) -> str:
    """An order's or trade's id as VALR writes them: a UUID (version 7, time-ordered, on the wire)."""
    return str(uuid.UUID(int=(0x0198 << 112) | number))


def _sign(timestamp: str, verb: str, path: str, body: str) -> str:
    return hmac.new(API_SECRET.encode(), f"{timestamp}{verb}{path}{body}".encode(), hashlib.sha512).hexdigest()


class ValrAccount(SimAccount):
    """The account with VALR's fees: a maker pays in what its order gives, a taker in what it gets."""

    def __init__(self, *args: Any, taker_rate: Decimal, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.taker_rate = taker_rate

    def _trade(self, order: SimOrder, price: Decimal, quantity: Decimal, *, maker: bool, at: float) -> Execution:
        base, quote, _ = self.markets[order.symbol]
        value = price * quantity
        buy = order.side == "buy"
        gives, given, gets, got = (quote, value, base, quantity) if buy else (base, quantity, quote, value)
        fee_currency = gives if maker else gets
        rate = self.fee_rate if maker else self.taker_rate
        fee = ((value if fee_currency == quote else quantity) * rate).quantize(self.fee_step, rounding=ROUND_DOWN)
        self._move(gives, given + (fee if fee_currency == gives else 0), self.free, None)
        self.free[gets] = self.free.get(gets, Decimal(0)) + got - (fee if fee_currency == gets else 0)
        trade = Trade(next(self._trade_ids), order.order_id, price, quantity, fee, fee_currency, maker, at)
        self.trades.append(trade)
        order.executed += quantity
        order.quote_executed += value
        order.updated_at = at
        done = order.quantity is not None and order.executed >= order.quantity
        order.status = "filled" if done else "partially_filled"
        return Execution("trade", order, trade)


class ValrExchange(LoopbackExchange):
    """``async with ValrExchange(balances={"USDC": Decimal(1000)}) as sim``; point the settings'
    ``rest_url`` at ``sim.rest_url`` and ``ws_url`` at ``sim.ws_url``.

    ``clock`` is the exchange's (Unix seconds); ``calls`` logs every REST call; ``refusals`` the
    rate-limit refusals it answered; ``failed`` the placements accepted and then refused, by client id.
    """

    def __init__(self, *, balances: dict[str, Decimal], clock: Callable[[], float] = time.time):
        super().__init__(clock)
        self.market_data = protocol = valr_protocol()
        for message in protocol.recording:  # the books as the recording opens them
            if protocol.parsed[message].get("type") == "OB_L1_DIFF":
                break
            protocol.advance(message)
        markets, books = {}, {}
        for pair in json.loads(protocol.rest[PAIRS_PATH]):
            symbol = pair["symbol"]
            if symbol in protocol.books:
                step = Decimal(1).scaleb(-int(pair["baseDecimalPlaces"]))
                markets[symbol] = (pair["baseCurrency"], pair["quoteCurrency"], step)
                sides = protocol.books[symbol].sides
                books[symbol] = SimBook(
                    ((price, Decimal(level[1])) for price, level in sides["b"].items()),
                    ((price, Decimal(level[1])) for price, level in sides["a"].items()),
                )
        self.account = ValrAccount(markets, books, balances, MAKER_FEE, taker_rate=TAKER_FEE)
        self.windows = {kind: FixedWindows(*limit) for kind, limit in LIMITS.items()}
        self.refusals: list[tuple[float, str]] = []
        self.failed: dict[str, dict[str, Any]] = {}
        self.streams: dict[ServerConnection, bool] = {}  # authenticated connections -> subscribed to orders
        self._failed_ids = iter(range(900_000, 10**9))
        self._pushing: set[asyncio.Task] = set()

    @property
    def ws_url(self) -> str:
        """The trade websocket's (``/ws/trade``); the account's is ``/ws/account`` there."""
        return super().ws_url + "/ws/trade"

    # -- hooks ------------------------------------------------------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the stream says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    async def deposit(self, currency: str, quantity: Decimal) -> None:
        """Money arrives from outside (a deposit): a ``BALANCE_UPDATE``."""
        self.account.deposit(currency, quantity)
        await self._push([self._balance_update(currency)])

    def order(self, exchange_order_id: str) -> SimOrder:
        """The order of a VALR order id."""
        return self.account.orders[uuid.UUID(exchange_order_id).int & ((1 << 112) - 1)]

    async def drop_streams(self) -> None:
        """Close every account websocket connection (the events meanwhile are lost)."""
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        if request.method == "GET" and request.path == PAIRS_PATH:
            return HttpAnswer(200, self.market_data.rest[PAIRS_PATH])
        if request.method == "GET" and request.path == "/v1/public/time":
            now = self.clock()
            return HttpAnswer(200, json.dumps({"epochTime": int(now), "time": iso(now)}))
        handler, kind, match = self._route(request.method, request.path)
        if handler is None:
            return _error(404, -1, "Not Found")
        problem = self._authenticate(request)
        if problem is not None:
            return problem
        for spent in ("requests", kind):
            if spent and not self.windows[spent].spend(request.received_at, 1):
                self.refusals.append((request.received_at, spent))
                return _error(429, -21, "Rate limit exceeded", {"x-valr-ratelimited": "true"})
        try:
            return handler(self, request, match)
        except Refused:
            return _error(404, -14, "Order not found")

    def _route(self, method: str, path: str) -> tuple[Any, str, re.Match | None]:
        """(the handler, the per-second quota it spends, the path's match)."""
        fixed = {
            ("POST", "/v1/orders/limit"): (ValrExchange._new_order, "place"),
            ("POST", "/v1/orders/market"): (ValrExchange._new_order, "place"),
            ("DELETE", "/v1/orders/order"): (ValrExchange._cancel_order, "cancel"),
            ("GET", "/v1/orders/open"): (ValrExchange._open_orders, ""),
            ("GET", "/v1/account/balances"): (ValrExchange._balances, ""),
        }
        if (method, path) in fixed:
            handler, kind = fixed[method, path]
            return handler, kind, None
        for verb, pattern, handler, kind in (
            ("GET", _STATUS_PATH, ValrExchange._query_order, ""),
            ("GET", _TRADES_PATH, ValrExchange._trades, ""),
            ("DELETE", _CANCEL_ALL_PATH, ValrExchange._cancel_all, "cancel"),
        ):
            match = pattern.match(path)
            if method == verb and match is not None:
                return handler, kind, match
        return None, "", None

    def _authenticate(self, request: HttpRequest) -> HttpAnswer | None:
        """VALR's checks of a signed request: the key, the signature, the time."""
        headers = request.headers
        if headers.get("x-valr-api-key") != API_KEY:
            return _error(401, -11, "API key not found")
        timestamp = headers.get("x-valr-timestamp", "")
        path = f"{request.path}?{request.query}" if request.query else request.path
        expected = _sign(timestamp, request.method, path, request.body)
        if not hmac.compare_digest(expected, headers.get("x-valr-signature", "")):
            return _error(401, -11, "Request has an invalid signature")
        if not timestamp.isdigit() or self.clock() * 1000 - int(timestamp) > MAX_AGE * 1000:
            return _error(400, -93, "Request has expired")
        return None

    # -- endpoints --------------------------------------------------------------------------------

    def _new_order(self, request: HttpRequest, match: re.Match | None) -> HttpAnswer:
        body = json.loads(request.body)
        client_id, symbol, side = body.get("customerOrderId", ""), body["pair"], body["side"].lower()
        market = request.path.endswith("/market")
        kind = "market" if market else ("limit_maker" if body.get("postOnly") else "limit")
        try:
            executions = self.account.place(
                client_id=client_id,
                symbol=symbol,
                side=side,
                kind=kind,
                time_in_force="IOC" if market else body.get("timeInForce", "GTC"),
                quantity=_decimal(body.get("baseAmount" if market else "quantity")),
                price=_decimal(body.get("price")),
                stop_price=None,
                quote_quantity=_decimal(body.get("quoteAmount")),
                at=self.clock(),
            )
        except Refused as refused:  # accepted, then failed: VALR refuses after its 202
            failed = self._failed(body, kind, FAILURES[refused.reason])
            self._schedule_messages([{"type": "ORDER_STATUS_UPDATE", "data": failed}])
            return HttpAnswer(202, json.dumps({"id": failed["orderId"]}))
        self._schedule(executions)
        return HttpAnswer(202, json.dumps({"id": wire_id(executions[0].order.order_id)}))

    def _failed(self, body: dict[str, Any], kind: str, reason: str) -> dict[str, Any]:
        now = iso(self.clock())
        quantity = body.get("quantity") or body.get("baseAmount") or "0"
        failed = {
            "orderId": wire_id(next(self._failed_ids)),
            "orderStatusType": "Failed",
            "currencyPair": body["pair"],
            "originalPrice": body.get("price", "0"),
            "remainingQuantity": quantity,
            "originalQuantity": quantity,
            "orderSide": body["side"].lower(),
            "orderType": {"limit_maker": "post-only limit"}.get(kind, kind),
            "failedReason": reason,
            "orderUpdatedAt": now,
            "orderCreatedAt": now,
            "customerOrderId": body.get("customerOrderId", ""),
            "timeInForce": body.get("timeInForce", "GTC"),
        }
        if failed["customerOrderId"] not in self.failed:  # a duplicate's refusal keeps the first order's name
            self.failed[failed["customerOrderId"]] = failed
        return failed

    def _query_order(self, request: HttpRequest, match: re.Match | None) -> HttpAnswer:
        assert match is not None
        try:
            order = self.account.find(client_id=match["cid"])
        except Refused:
            if match["cid"] in self.failed:
                return HttpAnswer(200, json.dumps(self.failed[match["cid"]]))
            raise
        if order.symbol != match["pair"]:
            raise Refused("unknown_order")
        return HttpAnswer(200, json.dumps(self._status(order)))

    def _cancel_order(self, request: HttpRequest, match: re.Match | None) -> HttpAnswer:
        """Accepted whatever it names; an open order of it is cancelled (the stream says so)."""
        body = json.loads(request.body)
        try:
            if "orderId" in body:
                order = self.order(body["orderId"])
            else:
                order = self.account.find(client_id=body["customerOrderId"])
        except (Refused, KeyError, ValueError):
            return HttpAnswer(202, "")
        if order.is_open and order.symbol == body.get("pair"):
            self._schedule(self.account.cancel(order, self.clock()))
        return HttpAnswer(202, "")

    def _cancel_all(self, request: HttpRequest, match: re.Match | None) -> HttpAnswer:
        assert match is not None
        cancelled = []
        for order in [o for o in self.account.orders.values() if o.is_open and o.symbol == match["pair"]]:
            self._schedule(self.account.cancel(order, self.clock()))
            cancelled.append({"orderId": wire_id(order.order_id)})
        return HttpAnswer(200, json.dumps(cancelled))

    def _open_orders(self, request: HttpRequest, match: re.Match | None) -> HttpAnswer:
        return HttpAnswer(
            200, json.dumps([self._open_json(order) for order in self.account.orders.values() if order.is_open])
        )

    def _trades(self, request: HttpRequest, match: re.Match | None) -> HttpAnswer:
        """The pair's last ``limit`` trades of the account (100 at most), newest first."""
        assert match is not None
        limit = min(int(dict(parse_qsl(request.query)).get("limit", 100)), 100)
        trades = [t for t in self.account.trades if self.account.orders[t.order_id].symbol == match["pair"]]
        return HttpAnswer(200, json.dumps([self._trade_json(t) for t in reversed(trades[-limit:])]))

    def _balances(self, request: HttpRequest, match: re.Match | None) -> HttpAnswer:
        account = self.account
        return HttpAnswer(
            200,
            json.dumps(
                [
                    {
                        "currency": currency,
                        "available": amount(account.free.get(currency)),
                        "reserved": amount(account.locked.get(currency)),
                        "total": amount(account.total(currency)),
                        "updatedAt": iso(self.clock()),
                    }
                    for currency in account.assets()
                ]
            ),
        )

    # -- formats ----------------------------------------------------------------------------------

    def _status(self, order: SimOrder) -> dict[str, Any]:
        """An order as the status query and ``ORDER_STATUS_UPDATE`` write it."""
        return {
            "orderId": wire_id(order.order_id),
            "orderStatusType": _state(order),
            "currencyPair": order.symbol,
            "originalPrice": amount(order.price),
            "remainingQuantity": amount(order.remaining if order.quantity is not None else None),
            "originalQuantity": amount(order.quantity),
            "orderSide": order.side,
            "orderType": {"limit_maker": "post-only limit"}.get(order.kind, order.kind),
            "failedReason": "",
            "orderUpdatedAt": iso(order.updated_at),
            "orderCreatedAt": iso(order.created_at),
            "customerOrderId": order.client_id,
            "timeInForce": order.time_in_force,
        }

    def _open_json(self, order: SimOrder) -> dict[str, Any]:
        filled = order.executed / order.quantity * 100 if order.quantity else Decimal(0)
        return {
            "orderId": wire_id(order.order_id),
            "side": order.side,
            "remainingQuantity": amount(order.remaining),
            "price": amount(order.price),
            "currencyPair": order.symbol,
            "createdAt": iso(order.created_at),
            "originalQuantity": amount(order.quantity),
            "filledPercentage": f"{filled:.2f}",
            "customerOrderId": order.client_id,
            "updatedAt": iso(order.updated_at),
            "status": _state(order),
            "type": {"limit_maker": "post-only limit"}.get(order.kind, order.kind),
            "timeInForce": order.time_in_force,
        }

    def _trade_json(self, trade: Trade) -> dict[str, Any]:
        order = self.account.orders[trade.order_id]
        return {
            "price": amount(trade.price),
            "quantity": amount(trade.quantity),
            "currencyPair": order.symbol,
            "tradedAt": iso(trade.at),
            "side": order.side,
            "sequenceId": 1368928567986636000 + trade.trade_id,
            "id": wire_id(10**8 + trade.trade_id),
            "orderId": wire_id(order.order_id),
            "fee": amount(trade.commission),
            "feeCurrency": trade.commission_asset,
        }

    def _balance_update(self, currency: str) -> dict[str, Any]:
        account = self.account
        return {
            "type": "BALANCE_UPDATE",
            "data": {
                "currency": {"id": 1, "shortName": currency, "longName": currency, "decimalPlaces": 8},
                "available": amount(account.free.get(currency)),
                "reserved": amount(account.locked.get(currency)),
                "total": amount(account.total(currency)),
                "updatedAt": iso(self.clock()),
                "lendReserved": "0",
                "borrowCollateralReserved": "0",
                "borrowedAmount": "0",
            },
        }

    # -- the websockets ---------------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        session = self.market_data.session()
        try:
            async for message in ws:
                if path == "/ws/trade":
                    for reply in self.market_data.answer(message, session):
                        await ws.send(reply)
                elif path == "/ws/account":
                    for reply in self._account_answer(ws, json.loads(message)):
                        await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            self.streams.pop(ws, None)

    def _account_answer(self, ws: ServerConnection, request: dict[str, Any]) -> list[dict[str, Any]]:
        kind = request.get("type")
        if kind == "PING":
            return [{"type": "PONG"}]
        if kind == "AUTHENTICATE":
            payload = request.get("payload") or {}
            expected = _sign(str(payload.get("timestamp")), "GET", "/ws/account", "")
            if payload.get("apiKey") != API_KEY or not hmac.compare_digest(expected, str(payload.get("signature"))):
                return [{"type": "UNAUTHORIZED", "message": "Authentication failed"}]
            self.streams[ws] = False
            return [{"type": "AUTHENTICATED"}]
        if ws not in self.streams:
            return [{"type": "UNAUTHORIZED", "message": "Not authenticated"}]
        if kind == "SUBSCRIBE":
            events = [s.get("event") for s in request.get("subscriptions", [])]
            if events != ["ORDER_STATUS_UPDATE"]:
                return [{"type": "ERROR", "message": f"Invalid subscription {events}"}]
            self.streams[ws] = True
            return [{"type": "SUBSCRIBED", "message": "ORDER_STATUS_UPDATE"}]
        return [{"type": "ERROR", "message": f"Invalid message type {kind}"}]

    def _schedule(self, executions: list[Execution]) -> None:
        """Push the events of ``executions`` once the answer is on its way (they race, as on VALR)."""
        self._schedule_messages(self._messages(executions))

    def _schedule_messages(self, messages: list[dict[str, Any]]) -> None:
        task = asyncio.get_running_loop().create_task(self._push(messages))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution]) -> None:
        await self._push(self._messages(executions))

    def _messages(self, executions: list[Execution]) -> list[dict[str, Any]]:
        """Per execution: a ``NEW_ACCOUNT_TRADE`` for a trade, and the order's status; then a
        ``BALANCE_UPDATE`` of the pair's two currencies."""
        if not executions:
            return []
        order = executions[0].order
        remaining = order.quantity - order.executed if order.quantity is not None else None
        remaining_then = (
            remaining + sum((e.trade.quantity for e in executions if e.trade), Decimal(0))
            if remaining is not None
            else None
        )
        messages = []
        for execution in executions:
            status = self._status(order)
            if execution.trade is not None:
                trade = execution.trade
                messages.append(
                    {
                        "type": "NEW_ACCOUNT_TRADE",
                        "currencyPairSymbol": order.symbol,
                        "data": {k: v for k, v in self._trade_json(trade).items() if k != "sequenceId"},
                    }
                )
                if remaining_then is not None:
                    remaining_then -= trade.quantity
            if remaining_then is not None:
                status["remainingQuantity"] = amount(remaining_then)
                if execution.kind in ("new", "trade"):
                    status["orderStatusType"] = (
                        "Placed"
                        if remaining_then == order.quantity
                        else "Filled"
                        if not remaining_then
                        else "Partially Filled"
                    )
            messages.append({"type": "ORDER_STATUS_UPDATE", "data": status})
        base, quote, _ = self.account.markets[order.symbol]
        return messages + [self._balance_update(base), self._balance_update(quote)]

    async def _push(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            text = json.dumps(message)
            for ws, subscribed in list(self.streams.items()):
                if message["type"] == "ORDER_STATUS_UPDATE" and not subscribed:
                    continue
                try:
                    await ws.send(text)
                except ConnectionClosed:
                    self.streams.pop(ws, None)


def _state(order: SimOrder) -> str:
    """An order's ``orderStatusType``."""
    if order.status == "new":
        return "Placed"
    return {
        "partially_filled": "Partially Filled",
        "filled": "Filled",
        "cancelled": "Cancelled",
        "expired": "Cancelled" if order.executed else "Expired",
        "rejected": "Failed",
    }[order.status]


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> HttpAnswer:
    return HttpAnswer(status, json.dumps({"code": code, "message": message}), headers or {})
