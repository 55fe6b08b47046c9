"""Coinbase Exchange on loopback, public and private: the REST API with signed endpoints and the
websocket feed's authenticated ``user`` channel (market-data subscriptions acknowledged, books
answered with the capture's snapshots).

REST (``rest_url``): ``GET /products`` (the capture's) and ``GET /time`` are public; the private
endpoints check ``CB-ACCESS-KEY``, ``CB-ACCESS-PASSPHRASE``, ``CB-ACCESS-TIMESTAMP`` (within 30 s of
the simulator's clock) and ``CB-ACCESS-SIGN`` (the base64 HMAC-SHA256, keyed with the base64-decoded
secret, of timestamp + method + request path with its query + body), refusing as Coinbase does
with a 401 ``{"message": ...}``. Then they place (``POST /orders``: limit, market, stop limit,
GTC/GTT/IOC/FOK, post-only), query (``GET /orders/<id>`` or ``/orders/client:<client_oid>``, 404
``NotFound`` for an order it does not know or purged: cancelled without a fill), cancel (the order's
id is the answer; ``DELETE /orders`` answers the ids), list open orders, fills and accounts of a
:class:`~.private.SimAccount` matched against the capture's SKL-USD book, fees in the quote
currency at the maker or taker rate. Requests are counted in Coinbase's lazy token buckets (private
15 a second with bursts of 30 per profile, ``/fills`` 10 with bursts of 20, public 10 with bursts of
15) and refused with a 429 ``Private rate limit exceeded`` past them.

Websocket (``ws_url``): a ``user`` subscription signed like ``GET /users/self/verify`` (checked; an
``error`` otherwise) then gets ``received``, ``open``, ``match``, ``done`` messages for every change
of the account's orders, with ``user_id`` and ``profile_id`` as the authenticated feed adds them.

Hooks: :meth:`CoinbaseExchange.fail_next`, :meth:`CoinbaseExchange.lose_next`,
:meth:`CoinbaseExchange.fill`, :meth:`CoinbaseExchange.deposit`, :meth:`CoinbaseExchange.drop_streams`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.coinbase import BOOK_CHANNELS, coinbase_protocol
from tests.simulator.private import (
    Execution,
    HttpAnswer,
    HttpRequest,
    LoopbackExchange,
    Refused,
    SimAccount,
    SimBook,
    SimOrder,
)

#: The simulated profile's keys (made up, in Coinbase's shapes: a 32-hex key, a base64 secret of
#: 64 bytes, a passphrase the user chose).
API_KEY = "8f6c5b2e1d0a4c3b9e7f6a5d4c3b2a19"
API_SECRET = base64.b64encode(hashlib.sha512(b"xwrap coinbase simulator").digest()).decode()
PASSPHRASE = "xw7passph4s"
#: The user and profile of the documentation's authenticated feed example.
USER_ID = "5844eceecf7e803e259d0365"
PROFILE_ID = "765d1549-9660-4be2-97d4-fa2d65fa3352"
MAKER_FEE = Decimal("0.004")
TAKER_FEE = Decimal("0.006")
FEE_QUANTUM = Decimal("1e-16")
WINDOW = 30  # seconds CB-ACCESS-TIMESTAMP may be away from the server's time
CANCEL_AFTER = {"min": 60, "hour": 3600, "day": 86400}
ERRORS = {  # Refused reasons -> (HTTP status, message) as Coinbase answers them
    "duplicate_order": (400, "duplicate client_oid"),
    "insufficient_balance": (400, "Insufficient funds"),
    "unknown_order": (404, "NotFound"),
    "already_done": (400, "Order already done"),
}
_ORDER_NAMESPACE = uuid.UUID("6a1f3c8e-1d2b-4e5f-9a0b-7c6d5e4f3a2b")


def amount(value: Decimal | None) -> str:
    """Prices and sizes with 8 decimals, as Coinbase writes them."""
    return format(value or Decimal(0), ".8f")


def funds(value: Decimal | None) -> str:
    """Fees, executed values and balances with 16 decimals."""
    return format(value or Decimal(0), ".16f")


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sign(timestamp: str, method: str, path: str, body: str) -> str:
    digest = hmac.new(base64.b64decode(API_SECRET), f"{timestamp}{method}{path}{body}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


class TokenBuckets:
    """Coinbase's lazy-fill token bucket: ``burst`` tokens, refilled at ``rate`` a second; a
    request takes one or is refused."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, None

    def take(self, at: float) -> bool:
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (at - self.at) * self.rate)
        self.at = at
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class CoinbaseAccount(SimAccount):
    """Fees as Coinbase takes them: in the quote currency, at the maker or the taker rate."""

    def __init__(
        self,
        markets: dict[str, tuple[str, str, Decimal]],
        books: dict[str, SimBook],
        balances: dict[str, Decimal],
        maker_fee: Decimal,
        taker_fee: Decimal,
    ):
        super().__init__(markets, books, balances, fee_rate=Decimal(0))
        self.maker_fee, self.taker_fee = maker_fee, taker_fee

    def _trade(self, order: SimOrder, price: Decimal, quantity: Decimal, *, maker: bool, at: float) -> Execution:
        execution = super()._trade(order, price, quantity, maker=maker, at=at)
        _, quote, _ = self.markets[order.symbol]
        fee = (price * quantity * (self.maker_fee if maker else self.taker_fee)).quantize(FEE_QUANTUM)
        self._move(quote, fee, self.free, None)
        trade = replace(execution.trade, commission=fee.normalize(), commission_asset=quote)
        self.trades[-1] = trade
        return replace(execution, trade=trade)


@dataclass
class _Placed:
    """What Coinbase keeps of an order besides the account's view of it."""

    exchange_id: str
    time_in_force: str
    post_only: bool
    expire_time: float | None
    rejected: bool = False


class CoinbaseExchange(LoopbackExchange):
    """``async with CoinbaseExchange(balances={"USD": Decimal("1000")}) as sim``; point the
    settings' ``rest_url`` at ``sim.rest_url`` and ``ws_url`` at ``sim.ws_url``. ``clock`` is the
    exchange's (Unix seconds); ``calls`` logs every REST call, ``refusals`` the 429s answered."""

    def __init__(
        self,
        *,
        balances: dict[str, Decimal],
        clock: Callable[[], float] = time.time,
        maker_fee: Decimal = MAKER_FEE,
        taker_fee: Decimal = TAKER_FEE,
        rate: float = 15,
        burst: float = 30,
    ):
        super().__init__(clock)
        self.market_data = coinbase_protocol()
        for message in self.market_data.recording:  # the books as their first snapshots have them
            if '"snapshot"' in message:
                self.market_data.advance(message)
        self.products_body = self.market_data.rest["/products"]
        products = {p["id"]: p for p in json.loads(self.products_body)}
        markets, books = {}, {}
        for symbol, sides in self.market_data.books.items():
            product = products[symbol]
            markets[symbol] = (product["base_currency"], product["quote_currency"], Decimal(product["base_increment"]))
            books[symbol] = SimBook(
                ((p, Decimal(s)) for p, (_, s) in sides["bids"].items()),
                ((p, Decimal(s)) for p, (_, s) in sides["asks"].items()),
            )
        self.account = CoinbaseAccount(markets, books, balances, maker_fee, taker_fee)
        self.buckets = {
            "private": TokenBuckets(rate, burst),
            "fills": TokenBuckets(rate * 2 / 3, burst * 2 / 3),
            "public": TokenBuckets(10, 15),
        }
        self.refusals: list[tuple[float, str]] = []
        self.streams: set[ServerConnection] = set()  # subscribed to the user channel
        self.placed: dict[int, _Placed] = {}
        self._by_exchange_id: dict[str, int] = {}
        self._sequence = itertools.count(1000)
        self._pushing: set[asyncio.Task] = set()

    # -- hooks (and LoopbackExchange's fail_next, lose_next) ----------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the user channel says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside xWrap (the user channel says nothing of it)."""
        self.account.deposit(asset, quantity)

    def order(self, exchange_id: str) -> SimOrder:
        return self.account.orders[self._by_exchange_id[exchange_id]]

    async def drop_streams(self) -> None:
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        public = (request.method, request.path) in (("GET", "/products"), ("GET", "/time"))
        bucket = "public" if public else "fills" if request.path == "/fills" else "private"
        if not self.buckets[bucket].take(request.received_at):
            self.refusals.append((request.received_at, bucket))
            return _error(429, f"{'Public' if public else 'Private'} rate limit exceeded")
        if request.path == "/products":
            return HttpAnswer(200, self.products_body)
        if request.path == "/time":
            now = self.clock()
            return HttpAnswer(200, json.dumps({"iso": iso(now)[:-4] + "Z", "epoch": round(now, 3)}))
        problem = self._authenticate(request)
        if problem is not None:
            return problem
        try:
            return self._private(request)
        except Refused as refused:
            return _error(*ERRORS[refused.reason])

    def _authenticate(self, request: HttpRequest) -> HttpAnswer | None:
        """Coinbase's checks of a private request, in its order."""
        headers = request.headers
        if "cb-access-key" not in headers or "cb-access-sign" not in headers:
            return _error(
                400,
                "CB-ACCESS-KEY header is required"
                if "cb-access-key" not in headers
                else "CB-ACCESS-SIGN header is required",
            )
        if headers["cb-access-key"] != API_KEY:
            return _error(401, "Invalid API Key")
        if headers.get("cb-access-passphrase") != PASSPHRASE:
            return _error(401, "Invalid Passphrase")
        return self._check_signature(
            headers.get("cb-access-timestamp", ""),
            request.method,
            request.path + (f"?{request.query}" if request.query else ""),
            request.body,
            headers["cb-access-sign"],
        )

    def _check_signature(self, timestamp: str, method: str, path: str, body: str, signature: str) -> HttpAnswer | None:
        try:
            stamped = float(timestamp)
        except ValueError:
            return _error(400, "invalid timestamp")
        if abs(self.clock() - stamped) > WINDOW:
            return _error(401, "request timestamp expired")
        if not hmac.compare_digest(sign(timestamp, method, path, body), signature):
            return _error(401, "invalid signature")
        return None

    def _private(self, request: HttpRequest) -> HttpAnswer:
        method, path, params = request.method, request.path, request.params
        if path == "/orders":
            if method == "POST":
                return self._new_order(json.loads(request.body))
            if method == "DELETE":
                return self._cancel_all(params.get("product_id"))
            return self._open_orders(request.query)
        if path.startswith("/orders/"):
            order = self._find(path.removeprefix("/orders/"))
            return self._cancel(order) if method == "DELETE" else HttpAnswer(200, json.dumps(self._order_json(order)))
        if path == "/fills" and method == "GET":
            return self._fills(params)
        if path == "/accounts" and method == "GET":
            return self._accounts()
        return _error(404, "NotFound")

    # -- endpoints --------------------------------------------------------------------------------

    def _new_order(self, body: dict[str, Any]) -> HttpAnswer:
        symbol, side, kind = body.get("product_id"), body.get("side"), body.get("type")
        if symbol not in self.account.markets:
            return _error(400, "Invalid product_id")
        if kind not in ("limit", "market") or side not in ("buy", "sell"):
            return _error(400, f"Invalid order_type {kind}" if side in ("buy", "sell") else "Invalid side")
        post_only = body.get("post_only") is True
        tif = body.get("time_in_force", "GTC") if kind == "limit" else "IOC"
        if "stop" in body:
            if (body["stop"], side) not in (("entry", "buy"), ("loss", "sell")) or "stop_price" not in body:
                return _error(400, "Invalid stop order")
            sim_kind = "stop_limit"
        else:
            sim_kind = "limit_maker" if post_only else "limit" if kind == "limit" else "market"
        now = self.clock()
        try:
            executions = self.account.place(
                client_id=body.get("client_oid", ""),
                symbol=symbol,
                side=side,
                kind=sim_kind,
                time_in_force="GTC" if tif == "GTT" else tif,
                quantity=_decimal(body.get("size")),
                price=_decimal(body.get("price")),
                stop_price=_decimal(body.get("stop_price")),
                quote_quantity=_decimal(body.get("funds")),
                at=now,
            )
        except Refused as refused:
            if refused.reason != "would_take":
                raise
            return HttpAnswer(200, json.dumps(self._rejected(body, now)))
        order = executions[0].order
        expire = now + CANCEL_AFTER[body["cancel_after"]] if tif == "GTT" else None
        self._register(order, tif, post_only, expire)
        self._schedule(executions)
        # an order that took at once is answered as received (pending): its fills come on the feed
        received = any(e.trade is not None for e in executions) or kind == "market"
        return HttpAnswer(200, json.dumps(self._order_json(order, received=received)))

    def _rejected(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """A post-only order that would take: rejected by the engine, nothing placed."""
        return {
            "id": str(uuid.uuid5(_ORDER_NAMESPACE, f"rejected/{now}")),
            "price": amount(_decimal(body["price"])),
            "size": amount(_decimal(body.get("size"))),
            "product_id": body["product_id"],
            "profile_id": PROFILE_ID,
            "side": body["side"],
            "type": "limit",
            "time_in_force": "GTC",
            "post_only": True,
            "created_at": iso(now),
            "fill_fees": funds(None),
            "filled_size": amount(None),
            "executed_value": funds(None),
            "status": "rejected",
            "reject_reason": "post only",
            "settled": True,
            "client_oid": body.get("client_oid", ""),
        }

    def _register(self, order: SimOrder, tif: str, post_only: bool, expire: float | None) -> None:
        exchange_id = str(uuid.uuid5(_ORDER_NAMESPACE, str(order.order_id)))
        self.placed[order.order_id] = _Placed(exchange_id, tif, post_only, expire)
        self._by_exchange_id[exchange_id] = order.order_id

    def _find(self, target: str) -> SimOrder:
        """By id or ``client:<client_oid>``; an order cancelled without a fill is purged."""
        if target.startswith("client:"):
            order = self.account.find(client_id=target.removeprefix("client:"))
        elif target in self._by_exchange_id:
            order = self.account.orders[self._by_exchange_id[target]]
        else:
            raise Refused("unknown_order")
        if order.status in ("cancelled", "expired") and not order.executed:
            raise Refused("unknown_order")
        return order

    def _cancel(self, order: SimOrder) -> HttpAnswer:
        if not order.is_open:
            raise Refused("already_done")
        self._schedule(self.account.cancel(order, self.clock()))
        return HttpAnswer(200, json.dumps(self.placed[order.order_id].exchange_id))

    def _cancel_all(self, product: str | None) -> HttpAnswer:
        cancelled = []
        for order in [o for o in self.account.orders.values() if o.is_open and product in (None, o.symbol)]:
            self._schedule(self.account.cancel(order, self.clock()))
            cancelled.append(self.placed[order.order_id].exchange_id)
        return HttpAnswer(200, json.dumps(cancelled))

    def _open_orders(self, query: str) -> HttpAnswer:
        statuses = {value for name, value in parse_qsl(query) if name == "status"}
        rows = [self._order_json(o) for o in reversed(self.account.orders.values()) if o.is_open]
        return HttpAnswer(200, json.dumps([row for row in rows if row["status"] in (statuses or {"open", "pending"})]))

    def _fills(self, params: dict[str, str]) -> HttpAnswer:
        if "order_id" not in params and "product_id" not in params:
            return _error(400, "Either order_id or product_id is required")
        rows = []
        for trade in reversed(self.account.trades):
            order = self.account.orders[trade.order_id]
            exchange_id = self.placed[order.order_id].exchange_id
            if (
                params.get("order_id", exchange_id) == exchange_id
                and params.get("product_id", order.symbol) == order.symbol
            ):
                rows.append(
                    {
                        "created_at": iso(trade.at),
                        "trade_id": trade.trade_id,
                        "product_id": order.symbol,
                        "order_id": exchange_id,
                        "user_id": USER_ID,
                        "profile_id": PROFILE_ID,
                        "liquidity": "M" if trade.maker else "T",
                        "price": amount(trade.price),
                        "size": amount(trade.quantity),
                        "fee": funds(trade.commission),
                        "side": order.side,
                        "settled": True,
                        "usd_volume": funds(trade.price * trade.quantity),
                        "funding_currency": trade.commission_asset,
                    }
                )
        return HttpAnswer(200, json.dumps(rows[: int(params.get("limit", 100))]))

    def _accounts(self) -> HttpAnswer:
        account = self.account
        return HttpAnswer(
            200,
            json.dumps(
                [
                    {
                        "id": str(uuid.uuid5(_ORDER_NAMESPACE, f"account/{asset}")),
                        "currency": asset,
                        "balance": funds(account.total(asset)),
                        "hold": funds(account.locked.get(asset)),
                        "available": funds(account.free.get(asset)),
                        "profile_id": PROFILE_ID,
                        "trading_enabled": True,
                    }
                    for asset in sorted(set(account.free) | set(account.locked))
                ]
            ),
        )

    def _order_json(self, order: SimOrder, *, received: bool = False) -> dict[str, Any]:
        placed = self.placed[order.order_id]
        out: dict[str, Any] = {"id": placed.exchange_id}
        if order.price is not None:
            out["price"] = amount(order.price)
        if order.quantity is not None:
            out["size"] = amount(order.quantity)
        out.update(
            product_id=order.symbol,
            profile_id=PROFILE_ID,
            side=order.side,
            type="market" if order.kind == "market" else "limit",
            post_only=placed.post_only,
        )
        if order.quote_quantity is not None:
            out.update(funds=funds(order.quote_quantity), specified_funds=funds(order.quote_quantity))
        if order.kind != "market":
            out["time_in_force"] = placed.time_in_force
        if placed.expire_time is not None:
            out["expire_time"] = datetime.fromtimestamp(placed.expire_time, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-4]
        fees = sum((t.commission for t in self.account.trades if t.order_id == order.order_id), Decimal(0))
        out.update(
            created_at=iso(order.created_at),
            fill_fees=funds(fees),
            filled_size=amount(order.executed),
            executed_value=funds(order.quote_executed),
        )
        if order.kind == "stop_limit":
            out.update(stop="entry" if order.side == "buy" else "loss", stop_price=amount(order.stop_price))
        if order.is_open:
            out["status"] = "active" if order.kind == "stop_limit" else "open"
        else:
            out.update(
                done_at=iso(order.updated_at),
                done_reason="filled" if order.status == "filled" else "canceled",
                status="done",
            )
        out["settled"] = not order.is_open
        if received:
            for name in ("done_at", "done_reason"):
                out.pop(name, None)
            out.update(
                fill_fees=funds(None),
                filled_size=amount(None),
                executed_value=funds(None),
                status="pending",
                settled=False,
            )
        if order.client_id:
            out["client_oid"] = order.client_id
        return out

    # -- the websocket feed -----------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        session = self.market_data.session()
        try:
            async for message in ws:
                request = json.loads(message)
                channels = request.get("channels", [])
                names = [c if isinstance(c, str) else c.get("name") for c in channels]
                if "user" in names:
                    problem = self._ws_problem(request)
                    if problem is not None:
                        await ws.send(
                            json.dumps({"type": "error", "message": "Authentication Failed", "reason": problem})
                        )
                        continue
                    self.streams.add(ws)
                    products = next(c for c in channels if not isinstance(c, str) and c.get("name") == "user")
                    user = {"name": "user", "product_ids": sorted(products.get("product_ids", []))}
                    await ws.send(json.dumps({"type": "subscriptions", "channels": [user]}))
                others = [
                    c
                    for c, name in zip(channels, names)
                    if name != "user" and (name in BOOK_CHANNELS or name in session)
                ]
                if others:
                    for reply in self.market_data.answer(json.dumps({**request, "channels": others}), session):
                        await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.streams.discard(ws)

    def _ws_problem(self, request: dict[str, Any]) -> str | None:
        if request.get("key") != API_KEY or request.get("passphrase") != PASSPHRASE:
            return "invalid key or passphrase"
        timestamp = str(request.get("timestamp", ""))
        problem = self._check_signature(timestamp, "GET", "/users/self/verify", "", str(request.get("signature")))
        return None if problem is None else json.loads(problem.body)["message"]

    def _schedule(self, executions: list[Execution]) -> None:
        """Push the feed's messages of ``executions`` once the answer is on its way."""
        task = asyncio.get_running_loop().create_task(self._publish(executions))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution]) -> None:
        trades = [e for e in executions if e.trade is not None]
        for execution in executions:
            for message in self._messages(execution, last=bool(trades) and execution is trades[-1]):
                await self._push(message)
        order = executions[-1].order if executions else None
        resting = order is not None and order.is_open and order.kind in ("limit", "limit_maker")
        if resting and executions[0].kind == "new":
            await self._push(
                self._message("open", order, price=amount(order.price), remaining_size=amount(order.remaining))
            )

    def _messages(self, execution: Execution, last: bool) -> list[dict[str, Any]]:
        """The feed's messages of one change (a ``done`` follows the last trade that filled the order)."""
        order, trade = execution.order, execution.trade
        if execution.kind == "new":
            fields = (
                {"size": amount(order.quantity)}
                if order.quantity is not None
                else {"funds": funds(order.quote_quantity)}
            )
            if order.price is not None:
                fields["price"] = amount(order.price)
            return [
                self._message(
                    "received",
                    order,
                    order_type="market" if order.kind == "market" else "limit",
                    client_oid=order.client_id,
                    **fields,
                )
            ]
        if execution.kind == "trade":
            assert trade is not None
            ours, other = self.placed[order.order_id].exchange_id, str(uuid.uuid4())
            role = "maker" if trade.maker else "taker"
            maker_side = order.side if trade.maker else ("sell" if order.side == "buy" else "buy")
            fee_rate = self.account.maker_fee if trade.maker else self.account.taker_fee
            match = self._message(
                "match",
                order,
                trade_id=trade.trade_id,
                maker_order_id=ours if trade.maker else other,
                taker_order_id=other if trade.maker else ours,
                size=amount(trade.quantity),
                price=amount(trade.price),
                side=maker_side,
            )
            match.pop("order_id")
            match.update(
                {f"{role}_user_id": USER_ID, f"{role}_profile_id": PROFILE_ID, f"{role}_fee_rate": str(fee_rate)}
            )
            done = [self._done(order, "filled")] if last and order.status == "filled" else []
            return [match] + done
        if execution.kind in ("cancelled", "expired"):
            return [self._done(order, "canceled")]
        return []

    def _done(self, order: SimOrder, reason: str) -> dict[str, Any]:
        fields = (
            {} if order.kind == "market" else {"price": amount(order.price), "remaining_size": amount(order.remaining)}
        )
        return self._message("done", order, reason=reason, **fields)

    def _message(self, kind: str, order: SimOrder, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "time": iso(self.clock()),
            "product_id": order.symbol,
            "sequence": next(self._sequence),
            "order_id": self.placed[order.order_id].exchange_id,
            "side": order.side,
            **fields,
            "user_id": USER_ID,
            "profile_id": PROFILE_ID,
        }

    async def _push(self, message: dict[str, Any]) -> None:
        for ws in list(self.streams):
            try:
                await ws.send(json.dumps(message))
            except ConnectionClosed:
                self.streams.discard(ws)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> HttpAnswer:
    return HttpAnswer(status, json.dumps({"message": message}), headers or {})
