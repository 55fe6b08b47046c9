"""Luno on loopback, public and private: the REST API with its basic-authenticated endpoints and
the market stream of :mod:`tests.simulator.luno`.

REST (``rest_url``): the public answers of :mod:`tests.simulator.luno` (markets, candles); the
private endpoints check HTTP basic authentication (the key id and secret of
:mod:`tests.simulator.luno`: Luno's documented example key) and the account's calls per window
(300 a minute, as Luno publishes: a 429 ``ErrTooManyRequests`` past it), then place (``POST
/api/1/postorder``, ``POST /api/1/marketorder``: a form with ``client_order_id``, ``timestamp`` and
``ttl``; a client id used before is a 409), cancel (``POST /api/1/stoporder``) and find (``GET
/api/exchange/3/order`` by ``id`` or ``client_order_id``) orders of a
:class:`~.private.SimAccount` (market orders take from the recorded book of the market), and
answer the open orders (``GET /api/exchange/2/listorders``), the account's trades on a market
(``GET /api/1/listtrades``, oldest first from ``since``) and the balances (``GET /api/1/balance``:
``balance`` the whole, ``reserved`` the part held by open orders), in Luno's shapes (luno-go's
generated types of its API reference). Luno has no private stream: everything is asked.

WebSocket (``ws_url``): ``/api/1/stream/<market>`` speaks the market stream of
:mod:`tests.simulator.luno` (the key first, then the market's state; nothing streamed after).

Made up where Luno documents no answer (the shape, ``{"error", "error_code"}``, is its own): the
``error`` texts, and the codes of a wrong key (``ErrUnauthorised``, 401), of a client id used
before (``ErrDuplicateClientOrderID``, 409), of a placement past its ``ttl``
(``ErrRequestExpired``, 400) and of a cancel of an order no longer open (``ErrOrderNotFound``,
404, as for an unknown one). Luno documents that a post-only order which would trade at once is
cancelled: it is placed, then cancelled.

Hooks: ``fail_next`` (answer the next calls with e.g. a 429), ``lose_next`` (execute the next
call, then close the connection without an answer), ``delay_next``, :meth:`LunoExchange.fill`,
:meth:`LunoExchange.deposit`.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.luno import API_KEY, API_SECRET, MARKETS_PATH, luno_protocol
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

#: Luno's published limit of an account's API calls: 300 a minute.
CALLS_PER_WINDOW = 300
WINDOW_SECONDS = 60.0
#: Ids as Luno writes them: orders are 15 letters and digits starting ``BX`` (the documentation's
#: ``BXMC2CJ7HNB88U4``); trades are numbered by their ``sequence`` in the market.
ORDER_ID_PREFIX = "BXMC2CJ7HN"
ACCOUNT_ID_BASE = 318463
ERRORS = {  # Refused reasons -> (HTTP status, error_code, error) as Luno answers them
    "duplicate_order": (409, "ErrDuplicateClientOrderID", "Client order ID has already been used"),
    "insufficient_balance": (400, "ErrInsufficientBalance", "Insufficient balance"),
    "unknown_order": (404, "ErrOrderNotFound", "Order not found"),
}
SIDES = {"BID": "buy", "ASK": "sell", "BUY": "buy", "SELL": "sell"}
LIMIT_SIDES = {"buy": "BID", "sell": "ASK"}


def amount(value: Decimal | None) -> str:
    """Luno writes amounts as decimal strings ("0.01", "1750000", "0")."""
    return format(value.normalize(), "f") if value else "0"


def wire_id(order: SimOrder) -> str:
    return f"{ORDER_ID_PREFIX}{order.order_id:05d}"


def _ms(at: float) -> int:
    return int(at * 1000)


class LunoExchange(LoopbackExchange):
    """``async with LunoExchange(balances={"ZAR": Decimal(1000)}) as sim``; point the settings'
    ``rest_url`` at ``sim.rest_url`` and ``ws_url`` at ``sim.ws_url``.

    ``clock`` is the exchange's (Unix seconds); ``window`` the seconds over which the account's
    :data:`CALLS_PER_WINDOW` calls are counted (a test may shorten Luno's minute); ``calls`` logs
    every REST call; ``refusals`` the rate-limit refusals it answered.
    """

    def __init__(
        self,
        *,
        balances: dict[str, Decimal],
        clock: Callable[[], float] = time.time,
        fee_rate: Decimal = Decimal("0.001"),
        window: float = WINDOW_SECONDS,
    ):
        super().__init__(clock)
        self.market_data = protocol = luno_protocol()
        for message in protocol.recording:  # the books as the recording opens them
            if "asks" not in protocol.parsed[message] and protocol.books:
                break
            protocol.advance(message)
        markets, books = {}, {}
        for market in json.loads(protocol.rest[MARKETS_PATH])["markets"]:
            book = protocol.books.get(market["market_id"])
            if book is not None:
                step = Decimal(1).scaleb(-market["volume_scale"])
                markets[market["market_id"]] = (market["base_currency"], market["counter_currency"], step)
                books[market["market_id"]] = SimBook(_levels(book.orders["bids"]), _levels(book.orders["asks"]))
        self.account = SimAccount(markets, books, balances, fee_rate)
        self.window = FixedWindows(CALLS_PER_WINDOW, window)
        self.refusals: list[float] = []
        self.authorization = "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()

    # -- hooks ------------------------------------------------------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker (Luno tells nobody: it is asked)."""
        self.account.fill(order, quantity, self.clock(), price)

    async def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside (a deposit)."""
        self.account.deposit(asset, quantity)

    def local(self, order_id: str) -> SimOrder:
        """The order of a Luno order id."""
        return self.account.orders[int(order_id.removeprefix(ORDER_ID_PREFIX))]

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        handler = self._endpoints.get(f"{request.method} {request.path}")
        if handler is None:
            found = self.market_data.rest_answer(request.path + (f"?{request.query}" if request.query else ""))
            return HttpAnswer(*found) if found is not None else _error(404, "ErrNotFound", "Not found")
        if not hmac.compare_digest(request.headers.get("authorization", ""), self.authorization):
            return _error(401, "ErrUnauthorised", "Unauthorised")
        if not self.window.spend(request.received_at, 1):
            self.refusals.append(request.received_at)
            return _error(429, "ErrTooManyRequests", "Too many requests")
        try:
            return handler(self, request)
        except Refused as refused:
            return _error(*ERRORS[refused.reason])

    # -- endpoints --------------------------------------------------------------------------------

    def _post_order(self, request: HttpRequest) -> HttpAnswer:
        """A limit order (``BID``/``ASK``), post-only or with a time in force, or a stop-limit."""
        form = request.params
        expired = self._expired(form)
        if expired is not None:
            return expired
        side, price = SIDES[form["type"]], Decimal(form["price"])
        stop = Decimal(form["stop_price"]) if form.get("stop_price") else None
        post_only = form.get("post_only") == "true"
        if post_only and self.account.books[form["pair"]].crosses(side, price):
            return self._post_only_cancelled(form, side, price)
        executions = self._place(
            form,
            side,
            "stop_limit" if stop is not None else "limit_maker" if post_only else "limit",
            form.get("time_in_force", "GTC"),
            quantity=Decimal(form["volume"]),
            price=price,
            stop_price=stop,
        )
        return HttpAnswer(200, json.dumps({"order_id": wire_id(executions[0].order)}))

    def _market_order(self, request: HttpRequest) -> HttpAnswer:
        """A market order: a ``BUY`` by ``counter_volume`` (what to spend) or a ``SELL`` by ``base_volume``."""
        form = request.params
        expired = self._expired(form)
        if expired is not None:
            return expired
        executions = self._place(
            form,
            SIDES[form["type"]],
            "market",
            "IOC",
            quantity=Decimal(form["base_volume"]) if form.get("base_volume") else None,
            quote_quantity=Decimal(form["counter_volume"]) if form.get("counter_volume") else None,
        )
        return HttpAnswer(200, json.dumps({"order_id": wire_id(executions[0].order)}))

    def _stop_order(self, request: HttpRequest) -> HttpAnswer:
        order = self._find({"id": request.params.get("order_id", "")})
        self.account.cancel(order, self.clock())  # an order no longer open: unknown_order
        return HttpAnswer(200, json.dumps({"success": True}))

    def _get_order(self, request: HttpRequest) -> HttpAnswer:
        return HttpAnswer(200, json.dumps(self._order_json(self._find(request.params))))

    def _list_orders(self, request: HttpRequest) -> HttpAnswer:
        query = request.params
        closed = query.get("closed") == "true"
        orders = [o for o in self.account.orders.values() if closed or o.is_open]
        orders = [o for o in reversed(orders) if query.get("pair") in (None, o.symbol)]  # newest first
        limit = int(query.get("limit", 100))
        return HttpAnswer(200, json.dumps({"orders": [self._order_json(o) for o in orders[:limit]] or None}))

    def _list_trades(self, request: HttpRequest) -> HttpAnswer:
        query = request.params
        since = int(query.get("since", 0))
        limit = int(query.get("limit", 100))
        trades = [
            self._trade_json(self.account.orders[t.order_id], t)
            for t in self.account.trades
            if self.account.orders[t.order_id].symbol == query["pair"] and _ms(t.at) >= since
        ]
        return HttpAnswer(200, json.dumps({"trades": trades[:limit] or None}))

    def _balance(self, request: HttpRequest) -> HttpAnswer:
        account = self.account
        rows = [
            {
                "account_id": str(ACCOUNT_ID_BASE + index),
                "asset": asset,
                "balance": amount(account.total(asset)),
                "reserved": amount(account.locked.get(asset)),
                "unconfirmed": "0",
                "name": f"{asset} Account",
            }
            for index, asset in enumerate(account.assets())
        ]
        return HttpAnswer(200, json.dumps({"balance": rows}))

    _endpoints = {
        "POST /api/1/postorder": _post_order,
        "POST /api/1/marketorder": _market_order,
        "POST /api/1/stoporder": _stop_order,
        "GET /api/exchange/3/order": _get_order,
        "GET /api/exchange/2/listorders": _list_orders,
        "GET /api/1/listtrades": _list_trades,
        "GET /api/1/balance": _balance,
    }

    def _expired(self, form: dict[str, str]) -> HttpAnswer | None:
        """A placement that arrives after its ``timestamp`` plus ``ttl`` is refused, unexecuted."""
        if "timestamp" in form and _ms(self.clock()) > int(form["timestamp"]) + int(form.get("ttl", 10_000)):
            return _error(400, "ErrRequestExpired", "Request has expired")
        return None

    def _place(
        self,
        form: dict[str, str],
        side: str,
        kind: str,
        time_in_force: str,
        *,
        quantity: Decimal | None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        quote_quantity: Decimal | None = None,
    ) -> list[Execution]:
        client_id = form.get("client_order_id", "")
        if client_id and any(o.client_id == client_id for o in self.account.orders.values()):
            raise Refused("duplicate_order")  # Luno takes a client id once, whatever became of its order
        return self.account.place(
            client_id=client_id,
            symbol=form["pair"],
            side=side,
            kind=kind,
            time_in_force=time_in_force,
            quantity=quantity,
            price=price,
            stop_price=stop_price,
            quote_quantity=quote_quantity,
            at=self.clock(),
        )

    def _post_only_cancelled(self, form: dict[str, str], side: str, price: Decimal) -> HttpAnswer:
        """A post-only order that would trade at once: placed, then cancelled."""
        account, now, client_id = self.account, self.clock(), form.get("client_order_id", "")
        if client_id and any(o.client_id == client_id for o in account.orders.values()):
            raise Refused("duplicate_order")
        order = SimOrder(
            next(account._order_ids), client_id, form["pair"], side, "limit_maker", "GTC",
            Decimal(form["volume"]), price, None, None, now, status="cancelled", updated_at=now,
        )  # fmt: skip
        account.orders[order.order_id] = order
        return HttpAnswer(200, json.dumps({"order_id": wire_id(order)}))

    def _find(self, where: dict[str, str]) -> SimOrder:
        """By Luno's ``id`` (or ``order_id``), else by ``client_order_id``."""
        order_id = where.get("id") or where.get("order_id")
        if order_id:
            if not order_id.startswith(ORDER_ID_PREFIX) or not order_id[len(ORDER_ID_PREFIX) :].isdigit():
                raise Refused("unknown_order")
            return self.account.find(int(order_id.removeprefix(ORDER_ID_PREFIX)))
        return self.account.find(client_id=where.get("client_order_id", ""))

    def _order_json(self, order: SimOrder) -> dict[str, Any]:
        """An order as ``GET /api/exchange/3/order`` and ``listorders`` write it: ``AWAITING`` (a stop
        not triggered), ``PENDING`` (in the book), ``COMPLETE`` (filled, cancelled or expired)."""
        base, quote, _ = self.account.markets[order.symbol]
        fees = [t for t in self.account.trades if t.order_id == order.order_id]
        fee_base = sum((t.commission for t in fees if t.commission_asset == base), Decimal(0))
        fee_counter = sum((t.commission for t in fees if t.commission_asset == quote), Decimal(0))
        if order.is_open:
            status = "AWAITING" if order.kind == "stop_limit" else "PENDING"
        else:
            status = "COMPLETE"
        return {
            "base": amount(order.executed),
            "client_order_id": order.client_id,
            "completed_timestamp": 0 if order.is_open else _ms(order.updated_at),
            "counter": amount(order.quote_executed),
            "creation_timestamp": _ms(order.created_at),
            "expiration_timestamp": _ms(order.updated_at) if order.status in ("cancelled", "expired") else 0,
            "fee_base": amount(fee_base),
            "fee_counter": amount(fee_counter),
            "limit_price": amount(order.price),
            "limit_volume": amount(order.quantity),
            "order_id": wire_id(order),
            "pair": order.symbol,
            "side": order.side.upper(),
            "status": status,
            "stop_direction": "RELATIVE_LAST_TRADE" if order.stop_price is not None else "",
            "stop_price": amount(order.stop_price),
            "time_in_force": order.time_in_force,
            "type": {"market": "MARKET", "stop_limit": "STOP_LIMIT"}.get(order.kind, "LIMIT"),
        }

    def _trade_json(self, order: SimOrder, trade: Trade) -> dict[str, Any]:
        """One of the account's trades: ``is_buy`` says whether the taker bought."""
        base, _, _ = self.account.markets[order.symbol]
        counter = trade.price * trade.quantity
        return {
            "base": amount(trade.quantity),
            "counter": amount(counter),
            "fee_base": amount(trade.commission if trade.commission_asset == base else None),
            "fee_counter": amount(trade.commission if trade.commission_asset != base else None),
            "is_buy": (order.side == "buy") != trade.maker,
            "order_id": wire_id(order),
            "client_order_id": order.client_id,
            "pair": order.symbol,
            "price": amount(trade.price),
            "sequence": trade.trade_id,
            "timestamp": _ms(trade.at),
            "type": LIMIT_SIDES[order.side],
            "volume": amount(trade.quantity),
        }

    # -- the market stream ------------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        session = self.market_data.session_for(ws.request.path if ws.request is not None else "")
        try:
            async for message in ws:
                for reply in self.market_data.answer(str(message), session):
                    await ws.send(reply)
        except ConnectionClosed:
            pass


def _levels(orders: dict[str, dict[str, str]]) -> list[tuple[Decimal, Decimal]]:
    """A side's orders summed per price (a book to take from: Luno's book is one of orders)."""
    levels: dict[Decimal, Decimal] = {}
    for order in orders.values():
        price = Decimal(order["price"])
        levels[price] = levels.get(price, Decimal(0)) + Decimal(order["volume"])
    return list(levels.items())


def _error(status: int, code: str, message: str) -> HttpAnswer:
    return HttpAnswer(status, json.dumps({"error": message, "error_code": code}))
