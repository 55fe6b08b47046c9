"""Bitfinex (API v2) on loopback, public and private: the authenticated REST API and the
authenticated websocket's channel 0, beside the public websocket of :mod:`tests.simulator.bitfinex`.

REST (``rest_url``): ``GET /v2/conf/pub:list:pair:exchange`` (the capture's); every ``/v2/auth/``
call is a POST with a JSON body, checked as Bitfinex does (``bfx-apikey``, ``bfx-signature`` =
HMAC-SHA384 of ``/api`` + path + ``bfx-nonce`` + body, the nonce above the last one taken): a bad
one is ``["error", 10100, "apikey: digest invalid"]`` with HTTP 500, a small nonce ``["error",
10114, "nonce: small"]``. Orders of a :class:`~.private.SimAccount` (the books as the recording
leaves them are what orders take) are submitted, updated (a new price), cancelled (by id, or cid
and cid_date; many by id, gid or all) and listed (open, history, an order's trades, wallets), all
answered as Bitfinex writes them: notifications ``[MTS, "on-req", null, null, DATA, null,
"SUCCESS", TEXT]``, 32-column order arrays, trade and wallet arrays, JSON numbers. Each endpoint
counts its own calls per fixed window; one too many is ``{"error": "ERR_RATE_LIMIT"}`` (HTTP 429)
and every call is refused for :data:`BLOCK_SECONDS`.

Websocket (``ws_url``): Bitfinex's ``info`` on connecting; ``auth`` (key, payload ``AUTH`` +
nonce, its signature, the nonce above the last one) answers the ``auth`` event and sends ``os``
(open orders) and ``ws`` (wallets), then every change of the account: ``on``, ``ou``/``oc`` (an
order first, as Bitfinex sends them), ``te`` then ``tu`` (its own trade, with the fee), ``wu``
(wallets). Anything else (``conf``, ``subscribe``) goes to the public protocol.

Hooks: ``fail_next`` and ``lose_next`` (:class:`~.private.LoopbackExchange`),
:meth:`~BitfinexExchange.fill`, :meth:`~BitfinexExchange.deposit`, :meth:`~BitfinexExchange.drop_streams`,
``muted`` (the stream's messages are lost).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.bitfinex import bitfinex_protocol
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
)

#: The simulated account's keys (made up, in the length and alphabet of Bitfinex's).
API_KEY = "Lw4vJ9nZKq2eTc7hUy3pRb8sXf1mDa6gNo5iVk0tWjE"
API_SECRET = "Qm8sT2vXw5yZa9bCd3eFg7hJk1lMn4oPq6rSt0uVw2x"
#: Seconds an IP that broke a limit is refused ("blocked for 60 seconds").
BLOCK_SECONDS = 60.0
#: Calls per endpoint per minute (Retrieve Orders states 90; the others are taken as that).
DEFAULT_LIMITS = {
    endpoint: (90, 60.0)
    for endpoint in (
        "w/order/submit",
        "w/order/update",
        "w/order/cancel",
        "w/order/cancel/multi",
        "r/orders",
        "r/orders/hist",
        "r/order/trades",
        "r/wallets",
    )
}
POST_ONLY = 4096
#: Bitfinex's type -> the account's (kind, time in force).
TYPES = {
    "EXCHANGE LIMIT": ("limit", "GTC"),
    "EXCHANGE IOC": ("limit", "IOC"),
    "EXCHANGE FOK": ("limit", "FOK"),
    "EXCHANGE MARKET": ("market", "IOC"),
    "EXCHANGE STOP": ("stop", "GTC"),
    "EXCHANGE STOP LIMIT": ("stop_limit", "GTC"),
}
#: What an order that expired unfilled is called, by its time in force.
EXPIRED = {"IOC": "IOC CANCELED", "FOK": "FILLORKILL CANCELED", "GTC": "CANCELED"}
ERRORS = {  # Refused reasons -> (code, text) of Bitfinex's error array
    "unknown_order": (10001, "Order not found."),
    "insufficient_balance": (10001, "Invalid order: not enough exchange balance"),
    "duplicate_order": (10001, "Invalid order: duplicate cid"),
    "bad_symbol": (10020, "symbol: invalid"),
}
#: /v2/auth/ paths -> (endpoint, path parameters).
ROUTES = [
    (re.compile(pattern), endpoint)
    for pattern, endpoint in (
        (r"^/v2/auth/w/order/(submit|update|cancel|cancel/multi)$", "w/order/{0}"),
        (r"^/v2/auth/r/orders(?:/(?P<symbol>t[A-Z0-9:]+))?/hist$", "r/orders/hist"),
        (r"^/v2/auth/r/orders(?:/(?P<symbol>t[A-Z0-9:]+))?$", "r/orders"),
        (r"^/v2/auth/r/order/(?P<symbol>t[A-Z0-9:]+):(?P<id>\d+)/trades$", "r/order/trades"),
        (r"^/v2/auth/r/wallets$", "r/wallets"),
    )
]
CAPS = {
    name: {"read": 1, "write": int(name == "orders")}
    for name in ("orders", "account", "funding", "history", "wallets", "withdraw", "positions", "ui_withdraw")
}


def js_number(value: Decimal) -> str:
    """A number as Bitfinex's JavaScript writes it: ``1000``, ``0.000025``, ``-2.5e-7``."""
    value = value.normalize()
    if value == value.to_integral_value():
        return str(int(value))
    return format(value, "e" if abs(value) < Decimal("1e-6") else "f")


def dumps(value: Any) -> str:
    """JSON with Decimals as :func:`js_number` numbers."""

    def default(item: object) -> orjson.Fragment:
        if isinstance(item, Decimal):
            return orjson.Fragment(js_number(item))
        raise TypeError(type(item).__name__)

    return orjson.dumps(value, default=default).decode()


def _ms(at: float) -> int:
    return int(at * 1000)


class BitfinexExchange(LoopbackExchange):
    """``async with BitfinexExchange(balances={"BTC": Decimal("0.5")}) as sim`` (Bitfinex's
    currency codes); point the settings' ``rest_url`` at ``sim.rest_url``, ``ws_url`` at
    ``sim.ws_url``. ``limits``: calls per endpoint (``w/order/submit``, ...) per window of seconds.
    ``clock`` is the exchange's. ``calls`` logs every REST call."""

    def __init__(
        self,
        *,
        balances: dict[str, Decimal],
        clock: Callable[[], float] = time.time,
        fee_rate: Decimal = Decimal("0.001"),
        limits: dict[str, tuple[int, float]] | None = None,
    ):
        super().__init__(clock)
        self.market_data = bitfinex_protocol()
        for message in self.market_data.recording:
            self.market_data.advance(message)
        markets, books = {}, {}
        for symbol, book in self.market_data.books.items():
            name = symbol[1:]
            base, quote = name.split(":") if ":" in name else (name[:3], name[3:])
            markets[symbol] = (base, quote, Decimal("0.00000001"))
            books[symbol] = SimBook(
                ((price, Decimal(amount)) for price, (_, _, amount) in book["bids"].items()),
                ((price, -Decimal(amount)) for price, (_, _, amount) in book["asks"].items()),
            )
        self.account = SimAccount(markets, books, balances, fee_rate)
        self.limits = {
            endpoint: FixedWindows(count, seconds)
            for endpoint, (count, seconds) in {**DEFAULT_LIMITS, **(limits or {})}.items()
        }
        self.blocked_until = 0.0
        self.nonce = 0  # the last nonce taken, by a REST call or a log-in alike
        self.refused: list[str] = []  # why calls and log-ins were refused (key, signature, nonce)
        self.streams: set[ServerConnection] = set()
        self.muted = False  # the account's changes are not streamed (lost on the way)
        self.details: dict[int, dict[str, Any]] = {}  # order id -> gid, flags, type name, status text
        self._messages = itertools.count(1)
        self._pushing: set[asyncio.Task] = set()

    @property
    def ws_url(self) -> str:
        return f"{super().ws_url}/ws/2"

    # -- hooks ------------------------------------------------------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the stream says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    async def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside xWrap: the wallet's ``wu``."""
        self.account.deposit(asset, quantity)
        await self._push([0, "wu", self._wallet(asset, f"Deposit ({asset}) #{next(self._messages)}")])

    def order(self, client_id: str) -> SimOrder:
        return self.account.find(client_id=client_id)

    async def drop_streams(self) -> None:
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        if request.method == "GET":
            body = self.market_data.rest_body(request.path)
            return HttpAnswer(200, body) if body is not None else HttpAnswer(404, "Not Found")
        route = self._route(request.path)
        if route is None or request.method != "POST":
            return HttpAnswer(404, "Not Found")
        endpoint, params = route
        at = request.received_at
        if at < self.blocked_until or not self.limits[endpoint].spend(at, 1):
            self.blocked_until = max(self.blocked_until, at + BLOCK_SECONDS)
            return HttpAnswer(429, json.dumps({"error": "ERR_RATE_LIMIT"}))
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        try:
            return self._endpoints[endpoint](self, json.loads(request.body or "{}"), params)
        except Refused as refusal:
            return _error(*ERRORS[refusal.reason])

    def _route(self, path: str) -> tuple[str, dict[str, str]] | None:
        for pattern, endpoint in ROUTES:
            match = pattern.match(path)
            if match:
                return endpoint.format(*match.groups()), {k: v for k, v in match.groupdict().items() if v}
        return None

    def _authenticate(self, request: HttpRequest) -> HttpAnswer | None:
        """Bitfinex's checks of an authenticated call: the key, the signature, then the nonce."""
        headers = request.headers
        nonce = headers.get("bfx-nonce", "")
        expected = hmac.new(
            API_SECRET.encode(), f"/api{request.path}{nonce}{request.body}".encode(), hashlib.sha384
        ).hexdigest()
        if headers.get("bfx-apikey") != API_KEY:
            problem = (10100, "apikey: invalid")
        elif not hmac.compare_digest(expected, headers.get("bfx-signature", "")):
            problem = (10100, "apikey: digest invalid")
        elif not self._take_nonce(nonce):
            problem = (10114, "nonce: small")
        else:
            return None
        self.refused.append(f"{request.path}: {problem[1]}")
        return _error(*problem)

    def _take_nonce(self, nonce: str) -> bool:
        if not nonce.isdigit() or int(nonce) <= self.nonce:
            return False
        self.nonce = int(nonce)
        return True

    # -- endpoints --------------------------------------------------------------------------------

    def _submit(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        symbol, kind_name, amount = body.get("symbol"), body["type"], Decimal(body["amount"])
        if symbol not in self.account.markets:
            raise Refused("bad_symbol")
        kind, time_in_force = TYPES[kind_name]
        price, aux = _decimal(body.get("price")), _decimal(body.get("price_aux_limit"))
        stop = price if kind in ("stop", "stop_limit") else None  # a stop's price is its trigger
        limit = aux if kind == "stop_limit" else None if stop is not None else price
        post_only = bool(body.get("flags", 0) & POST_ONLY)
        fields = dict(
            client_id=str(body.get("cid", "")),
            symbol=symbol,
            side="buy" if amount > 0 else "sell",
            time_in_force=time_in_force,
            quantity=abs(amount),
            stop_price=stop,
            quote_quantity=None,
            price=limit,
            at=self.clock(),
        )
        try:
            executions = self.account.place(kind="limit_maker" if post_only else kind, **fields)
        except Refused as refusal:
            if refusal.reason != "would_take":
                raise
            executions = self._post_only_cancelled(fields)
        order = executions[0].order
        self.details[order.order_id] = {
            "gid": body.get("gid"),
            "flags": body.get("flags", 0),
            "type": kind_name,
            "status": self.details.get(order.order_id, {}).get("status"),
        }
        self._schedule(executions)
        return self._notification("on-req", [self._order_array(order)], "Submitting 1 orders.")

    def _post_only_cancelled(self, fields: dict[str, Any]) -> list[Execution]:
        """Bitfinex takes a post-only order that would take, then cancels it (POSTONLY CANCELED)."""
        order = SimOrder(
            next(self.account._order_ids),
            fields["client_id"],
            fields["symbol"],
            fields["side"],
            "limit_maker",
            "GTC",
            fields["quantity"],
            fields["price"],
            None,
            None,
            fields["at"],
            status="cancelled",
            updated_at=fields["at"],
        )
        self.account.orders[order.order_id] = order
        self.details[order.order_id] = {"status": "POSTONLY CANCELED"}
        return [Execution("cancelled", order)]

    def _update(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        """A new price (``price``; a stop limit's limit is ``price_aux_limit``), the order kept."""
        order = self.account.orders.get(int(body["id"]))
        if order is None or not order.is_open:
            raise Refused("unknown_order")
        account, at = self.account, self.clock()
        account._unlock(order)  # the simulated account reserves by price: a new price moves the reserve
        order.price = _decimal(body.get("price_aux_limit" if order.kind == "stop_limit" else "price")) or order.price
        order.updated_at = at
        executions = [Execution("amended", order)]
        book, step = account.books[order.symbol], account.markets[order.symbol][2]
        if order.kind == "limit_maker" and book.crosses(order.side, order.price):
            order.status = "cancelled"
            self.details[order.order_id]["status"] = "POSTONLY CANCELED"
            executions = [Execution("cancelled", order)]
        elif order.kind == "limit":
            executions += [
                account._trade(order, price, size, maker=False, at=at)
                for price, size in book.take(order.side, order.remaining, None, order.price, step)
            ]
        if order.is_open:
            account._lock(order)
        self._schedule(executions)
        return self._notification("ou-req", self._order_array(order), "Submitting update to exchange limit order.")

    def _cancel(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        if "id" in body:
            order = self.account.orders.get(int(body["id"]))
        else:
            order = next(
                (
                    o
                    for o in reversed(list(self.account.orders.values()))
                    if o.client_id == str(body["cid"])
                    and time.strftime("%Y-%m-%d", time.gmtime(o.created_at)) == body.get("cid_date")
                ),
                None,
            )
        if order is None or not order.is_open:
            raise Refused("unknown_order")
        before = self._order_array(order)
        self._schedule(self.account.cancel(order, self.clock()))
        return self._notification(
            "oc-req", before, f"Submitted for cancellation; waiting for confirmation (ID: {order.order_id})."
        )

    def _cancel_multi(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        ids, groups = set(body.get("id") or ()), set(body.get("gid") or ())
        chosen = [
            o
            for o in self.account.orders.values()
            if o.is_open
            and (body.get("all") == 1 or o.order_id in ids or self.details.get(o.order_id, {}).get("gid") in groups)
        ]
        before = [self._order_array(o) for o in chosen]
        for order in chosen:
            self._schedule(self.account.cancel(order, self.clock()))
        return self._notification("oc_multi-req", before, f"Submitting {len(chosen)} order cancellations.")

    def _orders(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        return HttpAnswer(200, dumps([self._order_array(o) for o in self._listed(body, params, is_open=True)]))

    def _history(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        """Closed orders, the latest updated first, from ``start`` (ms, by update), at most ``limit``."""
        start = body.get("start", 0)
        closed = sorted(
            (o for o in self._listed(body, params, is_open=False) if _ms(o.updated_at) >= start),
            key=lambda o: o.updated_at,
            reverse=True,
        )
        return HttpAnswer(200, dumps([self._order_array(o) for o in closed[: body.get("limit", 25)]]))

    def _listed(self, body: dict[str, Any], params: dict[str, str], *, is_open: bool) -> list[SimOrder]:
        """Open or closed orders, of the path's symbol (if any) and the body's ``id`` list (if any)."""
        ids = set(body.get("id") or ())
        return [
            o
            for o in self.account.orders.values()
            if o.is_open == is_open and params.get("symbol", o.symbol) == o.symbol and (not ids or o.order_id in ids)
        ]

    def _order_trades(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        order = self.account.orders.get(int(params["id"]))
        trades = [t for t in self.account.trades if order is not None and t.order_id == order.order_id]
        return HttpAnswer(200, dumps([self._trade_array(order, t, columns=False) for t in trades]))

    def _wallets(self, body: dict[str, Any], params: dict[str, str]) -> HttpAnswer:
        return HttpAnswer(200, dumps([self._wallet(asset) for asset in self.account.assets()]))

    _endpoints = {
        "w/order/submit": _submit,
        "w/order/update": _update,
        "w/order/cancel": _cancel,
        "w/order/cancel/multi": _cancel_multi,
        "r/orders": _orders,
        "r/orders/hist": _history,
        "r/order/trades": _order_trades,
        "r/wallets": _wallets,
    }

    # -- formats ----------------------------------------------------------------------------------

    def _notification(self, kind: str, data: Any, text: str) -> HttpAnswer:
        return HttpAnswer(200, dumps([_ms(self.clock()), kind, None, None, data, None, "SUCCESS", text]))

    def _order_array(self, order: SimOrder) -> list[Any]:
        """The 32 columns of Retrieve Orders: AMOUNT what remains and AMOUNT_ORIG what was asked,
        signed by the side; a stop's PRICE its trigger, a stop limit's limit in PRICE_AUX_LIMIT."""
        details = self.details.get(order.order_id, {})
        sign = 1 if order.side == "buy" else -1
        original = order.quantity
        remaining = original - order.executed
        price = order.stop_price if order.stop_price is not None else order.price
        aux = order.price if order.kind == "stop_limit" else 0
        flags = details.get("flags", 0)
        return [
            order.order_id,
            details.get("gid"),
            int(order.client_id) if order.client_id else None,
            order.symbol,
            _ms(order.created_at),
            _ms(order.updated_at),
            sign * remaining,
            sign * original,
            details.get("type", "EXCHANGE LIMIT"),
            None,
            None,
            None,
            flags,
            self._status(order, details),
            None,
            None,
            price or 0,
            self._average(order),
            0,
            aux,
            None,
            None,
            None,
            0,
            0,
            None,
            None,
            None,
            "API>BFX",
            None,
            None,
            {"$F7": 1} if flags & POST_ONLY else None,
        ]

    def _status(self, order: SimOrder, details: dict[str, Any]) -> str:
        """``ACTIVE``, ``PARTIALLY FILLED @ AVG(AMOUNT)``, ``EXECUTED @ ...``, ``CANCELED was:
        PARTIALLY FILLED @ ...``, ``IOC CANCELED``, ... (AMOUNT the executed amount, signed)."""
        executed = order.executed if order.side == "buy" else -order.executed
        average = js_number(self._average(order))
        filled = f"PARTIALLY FILLED @ {average}({js_number(executed)})" if order.executed else ""
        if details.get("status"):
            return details["status"]
        if order.status == "new":
            return "ACTIVE"
        if order.status in ("partially_filled", "filled"):
            return filled if order.status == "partially_filled" else filled.replace("PARTIALLY FILLED", "EXECUTED")
        name = "CANCELED" if order.status == "cancelled" else EXPIRED[order.time_in_force]
        return f"{name} was: {filled}" if filled else name

    @staticmethod
    def _average(order: SimOrder) -> Decimal:
        return order.quote_executed / order.executed if order.executed else Decimal(0)

    def _trade_array(self, order: SimOrder, trade: Any, *, columns: bool = True, fee: bool = True) -> list[Any]:
        """An own trade: ``tu`` (``columns``: with the order's type and price) or Order Trades (two
        placeholders there); ``te`` has no fee yet. FEE negative (charged), MAKER 1 or -1."""
        details = self.details.get(order.order_id, {})
        return [
            trade.trade_id,
            order.symbol,
            _ms(trade.at),
            order.order_id,
            trade.quantity if order.side == "buy" else -trade.quantity,
            trade.price,
            details.get("type") if columns else None,
            order.price if columns else None,
            1 if trade.maker else -1,
            -trade.commission if fee else None,
            trade.commission_asset if fee else None,
            int(order.client_id) if order.client_id else None,
        ]

    def _wallet(self, asset: str, description: str | None = None) -> list[Any]:
        return [
            "exchange",
            asset,
            self.account.total(asset),
            0,
            self.account.free.get(asset, Decimal(0)),
            description,
            None,
        ]

    # -- the authenticated websocket --------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        session = self.market_data.session()
        session.greeted = True
        try:
            await ws.send(self.market_data.info)
            async for message in ws:
                request = json.loads(message)
                if request.get("event") == "auth":
                    await self._authenticate_stream(ws, request)
                else:
                    for reply in self.market_data.answer(message, session):
                        await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.streams.discard(ws)

    async def _authenticate_stream(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        nonce = str(request.get("authNonce", ""))
        expected = hmac.new(API_SECRET.encode(), f"AUTH{nonce}".encode(), hashlib.sha384).hexdigest()
        if request.get("apiKey") != API_KEY:
            problem = (10100, "apikey: invalid")
        elif request.get("authPayload") != f"AUTH{nonce}" or not hmac.compare_digest(
            expected, str(request.get("authSig", ""))
        ):
            problem = (10100, "apikey: digest invalid")
        elif not self._take_nonce(nonce):
            problem = (10114, "nonce: small")
        else:
            await ws.send(
                dumps(
                    {
                        "event": "auth",
                        "status": "OK",
                        "chanId": 0,
                        "userId": 1234567,
                        "dms": 0,
                        "auth_id": "a7d2c1e0-6f3b-4c1d-9e8a-5b4c3d2e1f00",
                        "caps": CAPS,
                    }
                )
            )
            await ws.send(dumps([0, "os", [self._order_array(o) for o in self.account.orders.values() if o.is_open]]))
            await ws.send(dumps([0, "ws", [self._wallet(asset) for asset in self.account.assets()]]))
            self.streams.add(ws)
            return
        self.refused.append(f"auth: {problem[1]}")
        await ws.send(dumps({"event": "auth", "status": "FAILED", "chanId": 0, "msg": problem[1], "code": problem[0]}))

    def _schedule(self, executions: list[Execution]) -> None:
        """Push the stream messages of ``executions`` once the answer is on its way."""
        task = asyncio.get_running_loop().create_task(self._publish(executions))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution]) -> None:
        """An order's messages as Bitfinex orders them: the order (``on`` only for one that rests
        untouched; ``ou``, or ``oc`` once finished, for each trade and change) before its trade's
        ``te`` and ``tu``; then the wallets a trade changed."""
        traded = any(e.trade is not None for e in executions)
        for execution in executions:
            order, trade = execution.order, execution.trade
            if execution.kind == "new" and not traded and order.is_open:
                await self._push([0, "on", self._order_array(order)])
            elif execution.kind != "new":
                await self._push([0, "ou" if order.is_open else "oc", self._order_array(order)])
            if trade is not None:
                await self._push([0, "te", self._trade_array(order, trade, fee=False)])
                await self._push([0, "tu", self._trade_array(order, trade)])
        trades = [e for e in executions if e.trade is not None]
        if trades:
            order, trade = trades[-1].order, trades[-1].trade
            base, quote, _ = self.account.markets[order.symbol]
            text = (
                f"Exchange {js_number(trade.quantity)} {base} for {quote} @ {js_number(trade.price)} on BFX "
                f"({js_number(self.account.fee_rate * 100)}%) on wallet exchange"
            )
            for asset in (base, quote):
                await self._push([0, "wu", self._wallet(asset, text)])

    async def _push(self, message: list[Any]) -> None:
        if self.muted:
            return
        text = dumps(message)
        for ws in list(self.streams):
            try:
                await ws.send(text)
            except ConnectionClosed:
                self.streams.discard(ws)


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _error(code: int, text: str) -> HttpAnswer:
    """Bitfinex's refusal: ``["error", CODE, "text"]`` with HTTP 500."""
    return HttpAnswer(500, json.dumps(["error", code, text]))
