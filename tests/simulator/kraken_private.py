"""Kraken spot on loopback, public and private: the signed REST API (``/0/private/<Method>``) and
websocket v2's authenticated ``executions`` and ``balances`` channels, next to the market data.

REST (``rest_url``): ``AssetPairs`` as recorded, ``Time``; the private calls check ``API-Key``,
``API-Sign`` (HMAC-SHA512 of the path and the SHA-256 of nonce and body, keyed with the decoded
secret) and a nonce greater than the last one, as Kraken does, answering HTTP 200 with Kraken's
``error`` list. AddOrder (with its ``deadline``), AmendOrder (in place, by txid or cl_ord_id),
CancelOrder, QueryOrders, OpenOrders and ClosedOrders (``cl_ord_id`` filter), TradesHistory,
Balance and GetWebSocketsToken work a :class:`~.private.SimAccount` (SOL/USD's recorded book is what
market orders take). Limits are Kraken's counters, counted the way its documentation says: the REST
counter of the key (history calls 2, AddOrder and CancelOrder nothing) and each pair's trading
counter (a new order 1, an amend 1 plus its age penalty, a cancel its age penalty), decaying at the
tier's rates; over them: ``EAPI:Rate limit exceeded``, ``EOrder:Rate limit exceeded``.

WebSocket (``ws_url``, any path): ``executions`` and ``balances`` subscriptions with a token from
GetWebSocketsToken, then an execution for every change of an order (JSON numbers, RFC 3339 times)
and a ledger entry for every deposit; public book, trade and ticker subscriptions are answered by
the market-data protocol (:class:`~.kraken.KrakenProtocol`).

Hooks: :meth:`KrakenExchange.refuse_next` (answer the next calls with errors, unexecuted),
``lose_next`` (execute the next such call, then close without an answer),
:meth:`KrakenExchange.fill`, :meth:`KrakenExchange.deposit`, :meth:`KrakenExchange.drop_streams`.
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
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.kraken import ASK, ASSET_PAIRS, BID, kraken_protocol, rfc3339
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

#: The secret of Kraken's own signing example (REST authentication guide); a key of our own.
API_KEY = "xwrapSimulatedKrakenKey0123456789abcdefghijklmnopqrstuvwxyz+/ABCDE="
API_SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
#: The pair whose recorded book the account trades against.
SYMBOL, WS_SYMBOL = "SOLUSD", "SOL/USD"
ERRORS = {
    "insufficient_balance": "EOrder:Insufficient funds",
    "would_take": "EOrder:Post only order",
    "unknown_order": "EOrder:Unknown order",
    "duplicate_order": "EOrder:Duplicate order",
    "bad_quantity": "EGeneral:Invalid arguments:order_qty",
}
STATUS = {
    "new": "open",
    "partially_filled": "open",
    "filled": "closed",
    "cancelled": "canceled",
    "expired": "expired",
    "rejected": "canceled",
}
STREAM_STATUS = {
    "new": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "cancelled": "canceled",
    "expired": "expired",
    "rejected": "canceled",
}
KINDS = {"limit": "limit", "market": "market", "stop-loss": "stop", "stop-loss-limit": "stop_limit"}
KIND_NAMES = {
    "limit": "limit",
    "limit_maker": "limit",
    "market": "market",
    "stop": "stop-loss",
    "stop_limit": "stop-loss-limit",
}
HISTORY = {"TradesHistory", "QueryTrades", "ClosedOrders", "Ledgers", "QueryLedgers"}
#: Trading counter penalties by the order's age (seconds since made or amended): Spot Trading Limits.
CANCEL_PENALTY = ((5, 8), (10, 6), (15, 5), (45, 4), (90, 2), (300, 1))
AMEND_PENALTY = ((5, 3), (10, 2), (15, 1))
_NUMBER = "\x00number:"


@dataclass(frozen=True)
class Limits:
    """One verification tier: the REST counter and each pair's trading counter (maximum, decay a second)."""

    counter: float = 15
    counter_decay: float = 0.33
    trading: float = 60
    trading_decay: float = 1.0


class Counter:
    """A Kraken rate counter: grows by what each call costs, decays at ``decay`` a second, and
    refuses a call that would take it past ``maximum``."""

    def __init__(self, maximum: float, decay: float):
        self.maximum, self.decay = maximum, decay
        self.value, self.at = 0.0, 0.0

    def spend(self, now: float, amount: float) -> bool:
        self.value = max(self.value - (now - self.at) * self.decay, 0.0)
        self.at = now
        if self.value + amount > self.maximum:
            return False
        self.value += amount
        return True


class KrakenAccount(SimAccount):
    """The simulated account, with Kraken's in-place amend of price and quantity."""

    def amend_in_place(
        self, order: SimOrder, quantity: Decimal | None, price: Decimal | None, at: float
    ) -> list[Execution]:
        if not order.is_open:
            raise Refused("unknown_order")
        if quantity is not None and not order.executed < quantity:
            raise Refused("bad_quantity")
        if price is not None and order.kind == "limit_maker" and self.books[order.symbol].crosses(order.side, price):
            raise Refused("would_take")
        self._unlock(order)
        order.quantity = quantity if quantity is not None else order.quantity
        order.price = price if price is not None else order.price
        order.updated_at = at
        self._lock(order)
        return [Execution("amended", order)]


def amount(value: Decimal | None, places: int = 8) -> str:
    return format(value or Decimal(0), f".{places}f")


def number(value: Decimal | None) -> str:
    """A Decimal to go into a websocket message as a JSON number (see :func:`dumps`)."""
    return _NUMBER + format(value or Decimal(0), "f")


def dumps(message: Any) -> str:
    """JSON with the :func:`number` values written as numbers, every digit kept."""
    return re.sub(r'"\\u0000number:([-0-9.]+)"', r"\1", json.dumps(message, separators=(",", ":")))


class KrakenExchange(LoopbackExchange):
    """``async with KrakenExchange(balances={"ZUSD": Decimal(1000)}) as sim``; point the settings'
    ``rest_url`` at ``sim.rest_url`` and ``ws_url`` at ``sim.ws_url``. ``balances`` are in Kraken's
    asset codes; ``clock`` is the exchange's (Unix seconds)."""

    def __init__(
        self,
        *,
        balances: dict[str, Decimal],
        limits: Limits = Limits(),
        clock: Callable[[], float] = time.time,
        fee_rate: Decimal = Decimal("0.0025"),
    ):
        super().__init__(clock)
        self.limits = limits
        self.market_data = kraken_protocol()
        for message in self.market_data.recording:  # the recorded books as the recording leaves them
            self.market_data.advance(message)
        pairs = json.loads(self.market_data.rest[ASSET_PAIRS])["result"]
        self.pairs = {key: raw for key, raw in pairs.items()}
        self.symbol_of = {name: key for key, raw in pairs.items() for name in (key, raw["altname"])}
        markets = {
            key: (raw["base"], raw["quote"], Decimal(1).scaleb(-raw["lot_decimals"])) for key, raw in pairs.items()
        }
        book = self.market_data.books[WS_SYMBOL]
        books = {key: SimBook((), ()) for key in pairs}
        books[SYMBOL] = SimBook(
            ((Decimal(p), Decimal(q)) for p, q in book.levels(BID)),
            ((Decimal(p), Decimal(q)) for p, q in book.levels(ASK)),
        )
        self.account = KrakenAccount(markets, books, balances, fee_rate)
        self.refusals: list[tuple[float, str]] = []
        self.counter = Counter(limits.counter, limits.counter_decay)
        self.trading: dict[str, Counter] = {}
        self.nonce = 0
        self.tokens: set[str] = set()
        self.txids: dict[str, int] = {}  # txid -> the account's order id
        self.txid_of: dict[int, str] = {}
        self.trade_ids: dict[int, str] = {}
        self.amended_at: dict[int, float] = {}
        self.streams: dict[ServerConnection, set[str]] = {}  # connection -> its private channels
        self._sequence = itertools.count(1)
        self._pushing: set[asyncio.Task] = set()

    # -- hooks (and LoopbackExchange's fail_next and lose_next) --------------------------------------

    def refuse_next(self, errors: list[str], times: int = 1) -> None:
        """Answer the next ``times`` REST calls with Kraken's ``errors`` (HTTP 200, unexecuted)."""
        self.fail_next(200, {"error": errors}, times=times)

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the executions channel says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    async def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside (a deposit): a ledger entry on the balances channel."""
        self.account.deposit(asset, quantity)
        now = self.clock()
        entry = {
            "ledger_id": f"L{next(self._sequence):05d}-DEPOS-ITSIMU",
            "ref_id": f"FT{next(self._sequence)}",
            "timestamp": _stamp(now),
            "type": "deposit",
            "asset": _v2_asset(asset),
            "asset_class": "currency",
            "category": "deposit",
            "wallet_type": "spot",
            "wallet_id": "main",
            "amount": number(quantity),
            "fee": number(Decimal(0)),
            "balance": number(self.account.total(asset)),
        }
        await self._push(
            "balances", {"channel": "balances", "type": "update", "data": [entry], "sequence": next(self._sequence)}
        )

    def order(self, txid: str) -> SimOrder:
        return self.account.orders[self.txids[txid]]

    async def drop_streams(self) -> None:
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        if request.path == "/0/public/Time":
            now = self.clock()
            return _answer(
                {
                    "unixtime": int(now),
                    "rfc1123": datetime.fromtimestamp(now, UTC).strftime("%a, %d %b %y %H:%M:%S +0000"),
                }
            )
        if request.path.startswith("/0/public/"):
            body = self.market_data.rest_body(request.path + (f"?{request.query}" if request.query else ""))
            return HttpAnswer(200, body) if body is not None else HttpAnswer(404, "")
        method = request.path.removeprefix("/0/private/")
        handler = self._endpoints.get(method)
        if request.method != "POST" or handler is None:
            return HttpAnswer(404, "")
        params = dict(parse_qsl(request.body, keep_blank_values=True))
        problem = self._authenticate(request, params)
        if problem is not None:
            return _refused([problem])
        if method not in ("AddOrder", "CancelOrder") and not self.counter.spend(
            request.received_at, 2 if method in HISTORY else 1
        ):
            self.refusals.append((request.received_at, "EAPI:Rate limit exceeded"))
            return _refused(["EAPI:Rate limit exceeded"])
        deadline = params.get("deadline")
        if deadline is not None and datetime.fromisoformat(deadline).timestamp() < request.received_at:
            return _refused(["EService:Deadline elapsed"])
        try:
            return handler(self, params, request.received_at)
        except Refused as refused:
            return _refused([ERRORS.get(refused.reason, refused.reason)])

    def _authenticate(self, request: HttpRequest, params: dict[str, str]) -> str | None:
        """Kraken's checks of a private call, in its order."""
        if request.headers.get("api-key") != API_KEY:
            return "EAPI:Invalid key"
        nonce = params.get("nonce", "")
        digest = hashlib.sha256((nonce + request.body).encode()).digest()
        expected = base64.b64encode(
            hmac.new(base64.b64decode(API_SECRET), request.path.encode() + digest, hashlib.sha512).digest()
        ).decode()
        if not hmac.compare_digest(expected, request.headers.get("api-sign", "")):
            return "EAPI:Invalid signature"
        if not nonce.isdigit() or int(nonce) <= self.nonce:
            return "EAPI:Invalid nonce"
        self.nonce = int(nonce)
        return None

    def _trading(self, symbol: str, at: float, amount: float) -> None:
        counter = self.trading.setdefault(symbol, Counter(self.limits.trading, self.limits.trading_decay))
        if not counter.spend(at, amount):
            self.refusals.append((at, "EOrder:Rate limit exceeded"))
            raise Refused("EOrder:Rate limit exceeded")

    def _penalty(self, order: SimOrder, at: float, table: tuple[tuple[int, int], ...]) -> int:
        age = at - self.amended_at.get(order.order_id, order.created_at)
        return next((count for seconds, count in table if age < seconds), 0)

    # -- endpoints --------------------------------------------------------------------------------

    def _add_order(self, params: dict[str, str], at: float) -> HttpAnswer:
        symbol = self.symbol_of.get(params.get("pair", ""))
        if symbol is None:
            raise Refused("EQuery:Unknown asset pair")
        self._trading(symbol, at, 1)
        flags = params.get("oflags", "").split(",")
        kind = KINDS[params["ordertype"]]
        stop = kind in ("stop", "stop_limit")
        executions = self.account.place(
            client_id=params.get("cl_ord_id", ""),
            symbol=symbol,
            side=params["type"],
            kind="limit_maker" if "post" in flags else kind,
            time_in_force=params.get("timeinforce", "GTC"),
            quantity=Decimal(params["volume"]),
            price=_decimal(params.get("price2" if stop else "price")),
            stop_price=_decimal(params.get("price")) if stop else None,
            quote_quantity=None,
            at=at,
        )
        order = executions[0].order
        txid = self._txid(order)
        self._schedule(executions)
        described = f"{order.side} {amount(order.quantity)} {self.pairs[symbol]['altname']} @ " + (
            f"limit {params['price']}" if kind == "limit" else KIND_NAMES[order.kind]
        )
        return _answer({"descr": {"order": described}, "txid": [txid]})

    def _amend_order(self, params: dict[str, str], at: float) -> HttpAnswer:
        order = self._find(params)
        self._trading(order.symbol, at, 1 + self._penalty(order, at, AMEND_PENALTY))
        executions = self.account.amend_in_place(
            order, _decimal(params.get("order_qty")), _decimal(params.get("limit_price")), at
        )
        self.amended_at[order.order_id] = at
        self._schedule(executions)
        return _answer({"amend_id": f"T{next(self._sequence):05d}-AMEND-SIMULA"})

    def _cancel_order(self, params: dict[str, str], at: float) -> HttpAnswer:
        order = self._find(params)
        self._trading(order.symbol, at, self._penalty(order, at, CANCEL_PENALTY))
        self._schedule(self.account.cancel(order, at))
        return _answer({"count": 1})

    def _query_orders(self, params: dict[str, str], at: float) -> HttpAnswer:
        found = {}
        for txid in params.get("txid", "").split(","):
            if txid.strip() not in self.txids:
                raise Refused("EOrder:Invalid order")
            found[txid.strip()] = self._order_json(self.order(txid.strip()))
        return _answer(found)

    def _open_orders(self, params: dict[str, str], at: float) -> HttpAnswer:
        return _answer({"open": self._orders(params, True)})

    def _closed_orders(self, params: dict[str, str], at: float) -> HttpAnswer:
        closed = self._orders(params, False)
        return _answer({"closed": closed, "count": len(closed)})

    def _orders(self, params: dict[str, str], open_ones: bool) -> dict[str, Any]:
        wanted = params.get("cl_ord_id")
        return {
            self.txid_of[order.order_id]: self._order_json(order)
            for order in reversed(self.account.orders.values())
            if order.is_open == open_ones and wanted in (None, order.client_id)
        }

    def _trades_history(self, params: dict[str, str], at: float) -> HttpAnswer:
        start = float(params.get("start", 0))
        trades = {}
        for trade in reversed(self.account.trades):
            if trade.at > start:
                order = self.account.orders[trade.order_id]
                trades[self._trade_txid(trade.trade_id)] = {
                    "ordertxid": self.txid_of[order.order_id],
                    "postxid": "TKH2SE-M7IF5-CFI7LT",
                    "pair": order.symbol,
                    "time": trade.at,
                    "type": order.side,
                    "ordertype": KIND_NAMES[order.kind],
                    "price": amount(trade.price, 5),
                    "cost": amount(trade.price * trade.quantity, 5),
                    "fee": amount(trade.commission, 8),
                    "vol": amount(trade.quantity),
                    "margin": "0.00000",
                    "misc": "",
                    "trade_id": trade.trade_id,
                    "maker": trade.maker,
                }
        return _answer({"trades": trades, "count": len(trades)})

    def _balance(self, params: dict[str, str], at: float) -> HttpAnswer:
        return _answer(
            {
                asset: amount(self.account.total(asset), 4 if asset.startswith("Z") else 10)
                for asset in self.account.assets()
            }
        )

    def _token(self, params: dict[str, str], at: float) -> HttpAnswer:
        token = base64.b64encode(hashlib.sha256(f"token {at} {len(self.tokens)}".encode()).digest()).decode()[:43]
        self.tokens.add(token)
        return _answer({"token": token, "expires": 900})

    _endpoints = {
        "AddOrder": _add_order,
        "AmendOrder": _amend_order,
        "CancelOrder": _cancel_order,
        "QueryOrders": _query_orders,
        "OpenOrders": _open_orders,
        "ClosedOrders": _closed_orders,
        "TradesHistory": _trades_history,
        "Balance": _balance,
        "GetWebSocketsToken": _token,
    }

    def _find(self, params: dict[str, str]) -> SimOrder:
        if "txid" in params:
            if params["txid"] not in self.txids:
                raise Refused("unknown_order")
            return self.order(params["txid"])
        return self.account.find(client_id=params.get("cl_ord_id"))

    def _txid(self, order: SimOrder) -> str:
        txid = f"O{order.order_id:05d}-KRSIM-{order.order_id * 7919 % 1000000:06d}"
        self.txids[txid], self.txid_of[order.order_id] = order.order_id, txid
        return txid

    def _order_json(self, order: SimOrder) -> dict[str, Any]:
        """An order as QueryOrders, OpenOrders and ClosedOrders write it."""
        altname = self.pairs[order.symbol]["altname"]
        price = order.stop_price if order.kind in ("stop", "stop_limit") else order.price
        out = {
            "refid": None,
            "userref": 0,
            "cl_ord_id": order.client_id or None,
            "status": STATUS[order.status],
            "opentm": order.created_at,
            "starttm": 0,
            "expiretm": 0,
            "descr": {
                "pair": altname,
                "type": order.side,
                "ordertype": KIND_NAMES[order.kind],
                "price": amount(price, 2),
                "price2": amount(order.price, 2) if order.kind == "stop_limit" else "0",
                "leverage": "none",
                "order": f"{order.side} {amount(order.quantity)} {altname} @ {KIND_NAMES[order.kind]}",
                "close": "",
            },
            "vol": amount(order.quantity),
            "vol_exec": amount(order.executed),
            "cost": amount(order.quote_executed, 5),
            "fee": "0.00000",
            "price": amount(order.quote_executed / order.executed if order.executed else None, 5),
            "stopprice": "0.00000",
            "limitprice": "0.00000",
            "misc": "",
            "oflags": ("fcib" if order.side == "buy" else "fciq") + (",post" if order.kind == "limit_maker" else ""),
        }
        if not order.is_open:
            out.update(closetm=order.updated_at, reason="User requested" if order.status == "cancelled" else None)
        return out

    # -- the authenticated stream ------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        session = self.market_data.session()
        try:
            async for message in ws:
                request = json.loads(message)
                channel = (request.get("params") or {}).get("channel")
                if channel in ("executions", "balances"):
                    for reply in self._subscribe(ws, request, channel):
                        await ws.send(reply)
                else:
                    for reply in self.market_data.answer(message, session):
                        await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.streams.pop(ws, None)

    def _subscribe(self, ws: ServerConnection, request: dict[str, Any], channel: str) -> list[str]:
        now = _stamp(self.clock())
        params = request["params"]
        if params.get("token") not in self.tokens:
            return [
                dumps(
                    {
                        "error": "ESession:Invalid session",
                        "method": "subscribe",
                        "success": False,
                        "time_in": now,
                        "time_out": now,
                    }
                )
            ]
        self.streams.setdefault(ws, set()).add(channel)
        if channel == "balances":
            return [
                dumps(
                    {
                        "method": "subscribe",
                        "result": {"channel": "balances", "snapshot": False},
                        "success": True,
                        "time_in": now,
                        "time_out": now,
                    }
                )
            ]
        replies = [
            dumps(
                {
                    "method": "subscribe",
                    "result": {
                        "channel": "executions",
                        "maxratecount": self.limits.trading,
                        "snap_orders": True,
                        "snap_trades": False,
                    },
                    "success": True,
                    "time_in": now,
                    "time_out": now,
                }
            )
        ]
        open_orders = [self._execution(Execution("new", o)) for o in self.account.orders.values() if o.is_open]
        replies.append(
            dumps({"channel": "executions", "type": "snapshot", "data": open_orders, "sequence": next(self._sequence)})
        )
        return replies

    def _schedule(self, executions: list[Execution]) -> None:
        """Push the executions once the answer is on its way (Kraken's stream and answers race)."""
        task = asyncio.get_running_loop().create_task(self._publish(executions))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution]) -> None:
        data = [self._execution(execution) for execution in executions]
        await self._push(
            "executions", {"channel": "executions", "type": "update", "data": data, "sequence": next(self._sequence)}
        )

    async def _push(self, channel: str, message: dict[str, Any]) -> None:
        text = dumps(message)
        for ws, channels in list(self.streams.items()):
            if channel in channels:
                try:
                    await ws.send(text)
                except ConnectionClosed:
                    self.streams.pop(ws, None)

    def _execution(self, execution: Execution) -> dict[str, Any]:
        """An execution report as the executions channel writes it (the fields of its exec_type)."""
        order, trade = execution.order, execution.trade
        item: dict[str, Any] = {
            "order_id": self.txid_of[order.order_id],
            "order_userref": 0,
            "symbol": self.market_data_symbol(order.symbol),
            "side": order.side,
            "order_type": KIND_NAMES[order.kind],
            "exec_type": execution.kind,
            "order_status": STREAM_STATUS[order.status],
            "timestamp": _stamp(trade.at if trade else order.updated_at),
        }
        if order.client_id:
            item["cl_ord_id"] = order.client_id
        if execution.kind == "cancelled":
            item.update(exec_type="canceled", reason="User requested", cum_qty=number(order.executed))
        elif execution.kind in ("new", "amended"):
            item.update(
                order_qty=number(order.quantity),
                limit_price=number(order.price),
                time_in_force=order.time_in_force,
                cum_qty=number(order.executed),
                cum_cost=number(order.quote_executed),
            )
            if order.kind == "limit_maker":
                item["post_only"] = True
        elif trade is not None:
            item.update(
                exec_id=self._trade_txid(trade.trade_id),
                trade_id=trade.trade_id,
                last_qty=number(trade.quantity),
                last_price=number(trade.price),
                liquidity_ind="m" if trade.maker else "t",
                cost=number(trade.price * trade.quantity),
                cum_qty=number(order.executed),
                cum_cost=number(order.quote_executed),
                avg_price=number(order.quote_executed / order.executed),
                fees=[{"asset": _v2_asset(trade.commission_asset), "qty": number(trade.commission)}],
            )
        else:
            item["cum_qty"] = number(order.executed)
        return item

    def _trade_txid(self, trade_id: int) -> str:
        return self.trade_ids.setdefault(trade_id, f"T{trade_id:05d}-FILLS-{trade_id * 104729 % 1000000:06d}")

    def market_data_symbol(self, symbol: str) -> str:
        wsname = self.pairs[symbol]["wsname"]
        return "/".join({"XBT": "BTC", "XDG": "DOGE"}.get(code, code) for code in wsname.split("/"))


def _v2_asset(asset: str) -> str:
    """Websocket v2 names assets without Kraken's X/Z prefixes and with BTC for XBT (``ZUSD`` -> ``USD``)."""
    code = asset[1:] if len(asset) == 4 and asset[0] in "XZ" else asset
    return {"XBT": "BTC", "XDG": "DOGE"}.get(code, code)


def _stamp(at: float) -> str:
    return rfc3339(round(at * 1_000_000))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _answer(result: Any) -> HttpAnswer:
    return HttpAnswer(200, json.dumps({"error": [], "result": result}))


def _refused(errors: list[str]) -> HttpAnswer:
    """Kraken's refusal: HTTP 200, the errors in the body."""
    return HttpAnswer(200, json.dumps({"error": errors}))
