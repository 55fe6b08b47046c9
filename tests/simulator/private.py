"""What every private-exchange simulator shares: an HTTP server that can lose answers, an account
with balances and orders matched against a book model, and a log of calls to count per window.

An exchange's private protocol (``tests/simulator/<name>_private.py``) speaks the wire format:
signatures, endpoints, answers, errors, the authenticated stream. It keeps a :class:`SimAccount`
and asks it to place, fill and cancel orders; the account returns the :class:`Execution` values
each change made, which the protocol turns into its stream messages.

:class:`HttpServer` is a plain HTTP/1.1 server on asyncio (the websockets server used for market
data answers GET only): every method, bodies, headers, and a handler that may answer nothing
(the connection closes after the request was executed: a lost answer).
"""

from __future__ import annotations

import asyncio
import http
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import serve

ZERO = Decimal(0)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: str  # the raw query string (signatures are over it)
    body: str
    headers: dict[str, str]  # names in lower case
    received_at: float

    @property
    def params(self) -> dict[str, str]:
        """Query and form body parameters together (the query's win, as on Binance)."""
        form = dict(parse_qsl(self.body, keep_blank_values=True)) if self.body else {}
        return {**form, **dict(parse_qsl(self.query, keep_blank_values=True))}


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[HttpRequest], Awaitable[HttpAnswer | None]]


class HttpServer:
    """Serves ``handler`` on 127.0.0.1 (a free port): ``async with HttpServer(handler) as server``,
    then ``server.url``. A handler answering None closes the connection without a word. Requests
    are stamped with ``clock`` (the exchange's time)."""

    def __init__(self, handler: Handler, clock: Callable[[], float] = time.time):
        self.handler, self.clock = handler, clock
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = (await reader.readexactly(int(headers.get("content-length", 0)))).decode()
            parts = urlsplit(target)
            answer = await self.handler(HttpRequest(method, parts.path, parts.query, body, headers, self.clock()))
            if answer is not None:
                data = answer.body.encode()
                head_out = [
                    f"HTTP/1.1 {answer.status} {http.HTTPStatus(answer.status).phrase}",
                    "Content-Type: application/json",
                    f"Content-Length: {len(data)}",
                    "Connection: close",
                    *(f"{name}: {value}" for name, value in answer.headers.items()),
                ]
                writer.write("\r\n".join(head_out).encode() + b"\r\n\r\n" + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class LoopbackExchange:
    """What every private-exchange simulator shares: its REST on an :class:`HttpServer` and its
    websocket server on 127.0.0.1 (``async with``, then ``rest_url`` and ``ws_url``), every call
    logged (``calls``), answers made to fail (:meth:`fail_next`), calls executed without an
    answer (:meth:`lose_next`) or answered late (:meth:`delay_next`), websocket handshakes logged
    (``handshakes``) and refused (:meth:`refuse_streams`). A subclass implements
    ``_answer(request)`` (None: no answer) and ``_websocket(connection)``."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.calls = CallLog()
        self.handshakes: list[tuple[float, str]] = []  # (time, path) of every websocket handshake
        self._failures: list[HttpAnswer] = []
        self._losing: list[tuple[str, str]] = []
        self._delaying: list[tuple[str, str, float]] = []
        self._refusal: tuple[int, dict[str, str]] | None = None
        self._http = HttpServer(self._handle, clock)
        self._ws: Any = None

    async def __aenter__(self) -> Any:
        await self._http.__aenter__()
        self._ws = await serve(self._websocket, "127.0.0.1", 0, ping_interval=None, process_request=self._handshake)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ws.close()
        await self._ws.wait_closed()
        await self._http.__aexit__(*exc)

    @property
    def rest_url(self) -> str:
        return self._http.url

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._ws.sockets[0].getsockname()[1]}"

    def fail_next(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` REST calls with ``status`` (unexecuted)."""
        self._failures += [HttpAnswer(status, json.dumps(body), headers or {})] * times

    def lose_next(self, method: str, path: str) -> None:
        """Execute the next ``method path`` call, then close its connection without an answer."""
        self._losing.append((method, path))

    def delay_next(self, method: str, path: str, seconds: float) -> None:
        """Execute the next ``method path`` call at once (its stream messages go out), and answer
        it ``seconds`` later (real time)."""
        self._delaying.append((method, path, seconds))

    def refuse_streams(self, status: int = 503, headers: dict[str, str] | None = None) -> None:
        """Refuse every new websocket connection with an HTTP ``status`` (those open stay open:
        :meth:`drop_streams` ends the private ones), until :meth:`accept_streams`."""
        self._refusal = (status, headers or {})

    def accept_streams(self) -> None:
        self._refusal = None

    async def _handle(self, request: HttpRequest) -> HttpAnswer | None:
        self.calls.add(request)
        if self._failures:
            return self._failures.pop(0)
        answer = self._answer(request)
        if (request.method, request.path) in self._losing:
            self._losing.remove((request.method, request.path))
            return None
        delay = next((d for d in self._delaying if d[:2] == (request.method, request.path)), None)
        if delay is not None:
            self._delaying.remove(delay)
            await asyncio.sleep(delay[2])
        return answer

    def _handshake(self, connection: Any, request: Any) -> Any:
        self.handshakes.append((self.clock(), request.path))
        if self._refusal is None:
            return None
        status, headers = self._refusal
        response = connection.respond(status, f"{http.HTTPStatus(status).phrase}\n")
        for name, value in headers.items():
            response.headers[name] = value
        return response

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        raise NotImplementedError

    async def _websocket(self, connection: Any) -> None:
        raise NotImplementedError


class CallLog:
    """Every call received: (time, method, path), to count per fixed window of the exchange's clock."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, str]] = []

    def add(self, request: HttpRequest) -> None:
        self.calls.append((request.received_at, request.method, request.path))

    def count(self, method: str, path: str) -> int:
        return sum(1 for _, m, p in self.calls if (m, p) == (method, path))

    def most_in_window(self, seconds: float, method: str, path: str) -> int:
        """The most calls of ``method path`` in one window of ``seconds`` (windows start at
        multiples of ``seconds``, as the exchange counts them)."""
        counts: dict[int, int] = {}
        for at, m, p in self.calls:
            if (m, p) == (method, path):
                window = int(at // seconds)
                counts[window] = counts.get(window, 0) + 1
        return max(counts.values(), default=0)


class FixedWindows:
    """One exchange limit counted the exchange's way: ``limit`` per window of ``seconds``."""

    def __init__(self, limit: float, seconds: float):
        self.limit, self.seconds = limit, seconds
        self.window, self.used = -1, 0.0

    def spend(self, at: float, amount: float) -> bool:
        """Count ``amount`` at ``at``; False when the window is over its limit then."""
        window = int(at // self.seconds)
        if window != self.window:
            self.window, self.used = window, 0.0
        self.used += amount
        return self.used <= self.limit


# -- the account --------------------------------------------------------------------------------------


@dataclass
class SimOrder:
    """One order on the simulated exchange, in exchange-neutral words."""

    order_id: int
    client_id: str
    symbol: str
    side: str  # buy, sell
    kind: str  # limit, market, limit_maker, stop, stop_limit
    time_in_force: str  # GTC, IOC, FOK
    quantity: Decimal | None  # base quantity (None: a market order by quote amount)
    price: Decimal | None
    stop_price: Decimal | None
    quote_quantity: Decimal | None
    created_at: float
    status: str = "new"  # new, partially_filled, filled, cancelled, expired, rejected
    executed: Decimal = ZERO
    quote_executed: Decimal = ZERO
    updated_at: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.status in ("new", "partially_filled")

    @property
    def remaining(self) -> Decimal:
        assert self.quantity is not None
        return self.quantity - self.executed


@dataclass(frozen=True)
class Trade:
    trade_id: int
    order_id: int
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    at: float


@dataclass(frozen=True)
class Execution:
    """One change of an order: ``kind`` new, trade (with ``trade``), cancelled, expired, rejected,
    amended; the order as it stands after it."""

    kind: str
    order: SimOrder
    trade: Trade | None = None


class Refused(Exception):
    """The exchange refuses a request: ``reason`` is a key the protocol maps to its error."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SimBook:
    """A book to take from: price -> quantity per side (the taker's view)."""

    def __init__(self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]):
        self.sides = {"buy": dict(asks), "sell": dict(bids)}  # what a buy and a sell take from

    def best(self, side: str) -> Decimal | None:
        levels = self.sides[side]
        return (min(levels) if side == "buy" else max(levels)) if levels else None

    def crosses(self, side: str, price: Decimal) -> bool:
        best = self.best(side)
        return best is not None and (price >= best if side == "buy" else price <= best)

    def take(
        self, side: str, quantity: Decimal | None, quote: Decimal | None, limit: Decimal | None, step: Decimal
    ) -> list[tuple[Decimal, Decimal]]:
        """Take best price first up to ``quantity`` (or ``quote`` to spend), not past ``limit``."""
        levels, taken, left_quantity, left_quote = self.sides[side], [], quantity, quote
        for price in sorted(levels, reverse=(side == "sell")):
            if limit is not None and (price > limit if side == "buy" else price < limit):
                break
            size = levels[price]
            if left_quantity is not None:
                size = min(size, left_quantity)
            if left_quote is not None:
                size = min(size, (left_quote / price // step) * step)
            if size <= 0:
                break
            taken.append((price, size))
            levels[price] -= size
            if not levels[price]:
                del levels[price]
            if left_quantity is not None:
                left_quantity -= size
            if left_quote is not None:
                left_quote -= size * price
        return taken

    def cost(self, side: str, quantity: Decimal) -> Decimal:
        """What taking ``quantity`` would cost now (the book unchanged)."""
        cost, left = ZERO, quantity
        for price in sorted(self.sides[side], reverse=(side == "sell")):
            size = min(self.sides[side][price], left)
            cost, left = cost + size * price, left - size
            if not left:
                break
        return cost

    def available(self, side: str, limit: Decimal | None) -> Decimal:
        return sum(
            (
                size
                for price, size in self.sides[side].items()
                if limit is None or (price <= limit if side == "buy" else price >= limit)
            ),
            ZERO,
        )


class SimAccount:
    """Balances (free, locked) per asset and the orders of one account on symbols of ``markets``
    (symbol -> (base, quote, step)), matched against ``books`` (symbol -> :class:`SimBook`).
    Fees are ``fee_rate`` of what each trade brings in (the received asset, as Binance without BNB),
    rounded down to ``fee_step`` (the asset's precision, what the exchange books)."""

    def __init__(
        self,
        markets: dict[str, tuple[str, str, Decimal]],
        books: dict[str, SimBook],
        balances: dict[str, Decimal],
        fee_rate: Decimal = Decimal("0.001"),
        fee_step: Decimal = Decimal("0.00000001"),
    ):
        self.markets, self.books, self.fee_rate, self.fee_step = markets, books, fee_rate, fee_step
        self.free = dict(balances)
        self.locked: dict[str, Decimal] = {}
        self.orders: dict[int, SimOrder] = {}
        self.trades: list[Trade] = []
        self._order_ids = itertools.count(1001)
        self._trade_ids = itertools.count(5001)

    # balances

    def total(self, asset: str) -> Decimal:
        return self.free.get(asset, ZERO) + self.locked.get(asset, ZERO)

    def assets(self) -> list[str]:
        return sorted(a for a in set(self.free) | set(self.locked) if self.total(a))

    def deposit(self, asset: str, amount: Decimal) -> None:
        """Money arriving from outside (a deposit, a transfer): what reconciliation must see."""
        self.free[asset] = self.free.get(asset, ZERO) + amount

    def _move(self, asset: str, amount: Decimal, source: dict[str, Decimal], target: dict[str, Decimal] | None) -> None:
        if source.get(asset, ZERO) < amount:
            raise Refused("insufficient_balance")
        source[asset] = source.get(asset, ZERO) - amount
        if target is not None:
            target[asset] = target.get(asset, ZERO) + amount

    # orders

    def find(self, order_id: int | None = None, client_id: str | None = None) -> SimOrder:
        """By id, or the latest order with that client id; :class:`Refused` ``unknown_order``."""
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and (client_id is None or order.client_id == client_id):
                return order
        elif client_id is not None:
            for order in reversed(list(self.orders.values())):
                if order.client_id == client_id:
                    return order
        raise Refused("unknown_order")

    def place(
        self,
        *,
        client_id: str,
        symbol: str,
        side: str,
        kind: str,
        time_in_force: str,
        quantity: Decimal | None,
        price: Decimal | None,
        stop_price: Decimal | None,
        quote_quantity: Decimal | None,
        at: float,
    ) -> list[Execution]:
        """A new order: taken against the book where it crosses (IOC and FOK never rest, a
        limit-maker that would take is refused), the rest locked and resting; stops rest untriggered."""
        if any(o.client_id == client_id and o.is_open for o in self.orders.values()):
            raise Refused("duplicate_order")
        base, quote, step = self.markets[symbol]
        book = self.books[symbol]
        if kind == "limit_maker" and book.crosses(side, price):
            raise Refused("would_take")
        order = SimOrder(
            next(self._order_ids),
            client_id,
            symbol,
            side,
            kind,
            time_in_force,
            quantity,
            price,
            stop_price,
            quote_quantity,
            at,
            updated_at=at,
        )
        asset = quote if side == "buy" else base
        if side == "sell":
            need = quantity
        elif kind == "market":
            need = quote_quantity if quantity is None else book.cost(side, quantity)
        else:
            need = quantity * (price or stop_price)
        if need is not None and self.free.get(asset, ZERO) < need:
            raise Refused("insufficient_balance")
        if time_in_force == "FOK" and quantity is not None and book.available(side, price) < quantity:
            order.status = "expired"
            self.orders[order.order_id] = order
            return [Execution("new", order), Execution("expired", order)]
        self.orders[order.order_id] = order
        executions = [Execution("new", order)]
        if kind in ("stop", "stop_limit"):
            self._lock(order)
            return executions
        taking = kind == "market" or (kind == "limit" and book.crosses(side, price))
        if taking:
            for level_price, size in book.take(side, quantity, quote_quantity, price, step):
                executions.append(self._trade(order, level_price, size, maker=False, at=at))
        if order.is_open and (kind == "market" or time_in_force in ("IOC", "FOK")):
            order.status = "expired"
            executions.append(Execution("expired", order))
        elif order.is_open:
            self._lock(order)
        return executions

    def fill(self, order: SimOrder, quantity: Decimal, at: float, price: Decimal | None = None) -> list[Execution]:
        """A resting order trades ``quantity`` as the maker (at its price unless ``price``)."""
        assert order.is_open and quantity <= order.remaining
        self._unlock(order)
        execution = self._trade(order, price or order.price, quantity, maker=True, at=at)
        if order.is_open:
            self._lock(order)
        return [execution]

    def cancel(self, order: SimOrder, at: float) -> list[Execution]:
        if not order.is_open:
            raise Refused("unknown_order")
        self._unlock(order)
        order.status, order.updated_at = "cancelled", at
        return [Execution("cancelled", order)]

    def amend(self, order: SimOrder, quantity: Decimal, client_id: str, at: float) -> list[Execution]:
        """Reduce a resting order's quantity in place (it keeps its id and its queue place)."""
        if not order.is_open:
            raise Refused("unknown_order")
        if not order.executed < quantity < order.quantity:
            raise Refused("bad_quantity")
        self._unlock(order)
        order.quantity, order.client_id, order.updated_at = quantity, client_id, at
        self._lock(order)
        return [Execution("amended", order)]

    def _trade(self, order: SimOrder, price: Decimal, quantity: Decimal, *, maker: bool, at: float) -> Execution:
        base, quote, _ = self.markets[order.symbol]
        value = price * quantity
        paid, paid_amount, got, got_amount = (
            (quote, value, base, quantity) if order.side == "buy" else (base, quantity, quote, value)
        )
        commission = (got_amount * self.fee_rate).quantize(self.fee_step, rounding=ROUND_DOWN)
        self._move(paid, paid_amount, self.free, None)
        self.free[got] = self.free.get(got, ZERO) + got_amount - commission
        trade = Trade(next(self._trade_ids), order.order_id, price, quantity, commission, got, maker, at)
        self.trades.append(trade)
        order.executed += quantity
        order.quote_executed += value
        order.updated_at = at
        done = order.quantity is not None and order.executed >= order.quantity
        order.status = "filled" if done else "partially_filled"
        return Execution("trade", order, trade)

    def _locked_amount(self, order: SimOrder) -> tuple[str, Decimal]:
        base, quote, _ = self.markets[order.symbol]
        if order.side == "sell":
            return base, order.remaining
        return quote, order.remaining * (order.price or order.stop_price or ZERO)

    def _lock(self, order: SimOrder) -> None:
        asset, amount = self._locked_amount(order)
        self._move(asset, amount, self.free, self.locked)

    def _unlock(self, order: SimOrder) -> None:
        asset, amount = self._locked_amount(order)
        self._move(asset, amount, self.locked, self.free)
