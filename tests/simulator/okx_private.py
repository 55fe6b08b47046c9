"""OKX spot (API v5) on loopback, public and private: the REST API with its signed endpoints, the
private websocket's ``orders`` and ``account`` channels, and the public websocket.

REST (``rest_url``): the public answers of :mod:`tests.simulator.okx` (instruments, candles) and
``GET /api/v5/public/time``; the signed endpoints check ``OK-ACCESS-KEY``, ``OK-ACCESS-PASSPHRASE``,
``OK-ACCESS-SIGN`` (the base64 HMAC-SHA256 of timestamp + method + path with its query + body) and
``OK-ACCESS-TIMESTAMP`` (ISO 8601, at most 30 s old), then place (``POST /api/v5/trade/order``),
query (``GET /api/v5/trade/order``), cancel (``POST /api/v5/trade/cancel-order``) and amend
(``POST /api/v5/trade/amend-order``, in place) orders of a :class:`~.private.SimAccount` (market
orders take from the recorded book of the instrument), and answer the open orders, fills and
balances in OKX's formats. Every call is counted per endpoint in fixed windows of 2 s against the
documented limits (a 429 with code 50011 when over) and logged.

WebSocket (``ws_url`` is ``/ws/v5/public``): ``/ws/v5/public`` speaks the market-data protocol of
:mod:`tests.simulator.okx`; ``/ws/v5/private`` answers ``login`` (the signature of
``timestamp + "GET/users/self/verify"`` checked), refuses a subscription before it (60011), takes
the ``orders`` (``instType`` SPOT) and ``account`` subscriptions and the text ``ping``, then pushes
an ``orders`` message for every change of an order and an ``account`` message with the balances of
the currencies it moved.

A post-only order that would take is placed and then cancelled, as OKX documents (``post_only``:
"if the order would have executed on placement, it will be canceled instead"). Made up where OKX
documents no answer (the shapes are its own): the ``msg`` of an authentication failure, and the
order of pushes (the answer first, then the channel messages, as they race on OKX).

Hooks: ``fail_next`` (answer the next calls with e.g. a 429), ``lose_next`` (execute the next
call, then close the connection without an answer), :meth:`OkxExchange.fill`,
:meth:`OkxExchange.deposit`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.okx import okx_protocol
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

#: The simulated account's keys, in the shape of OKX's (the documentation's example secret is
#: ``22582BD0CFF14C41EDBF1AB98506286D``; keys are UUIDs).
API_KEY = "d4c3b2a1-5e6f-47a8-9b0c-1d2e3f4a5b6c"
API_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"
PASSPHRASE = "xwrap-Sim-Passphrase-1"
#: Ids as OKX writes them: orders are 18-digit numbers (the documentation's ``312269865356374016``).
ORDER_ID_BASE = 312269865356373000
UID = "44705892343619584"
CONN_ID = "a4d3ae55"
#: The documented limits per endpoint, in 2 s (60 for the order endpoints, 10 for the balances).
LIMITS = {
    "POST /api/v5/trade/order": 60,
    "POST /api/v5/trade/cancel-order": 60,
    "POST /api/v5/trade/amend-order": 60,
    "GET /api/v5/trade/order": 60,
    "GET /api/v5/trade/fills": 60,
    "GET /api/v5/trade/orders-pending": 60,
    "GET /api/v5/account/balance": 10,
}
ERRORS = {  # Refused reasons -> (sCode, sMsg) as OKX answers them
    "duplicate_order": ("51016", "Duplicated client order ID"),
    "insufficient_balance": ("51008", "Order failed. Insufficient balance in account"),
    "unknown_order": ("51603", "Order does not exist"),
    "bad_quantity": ("51000", "Parameter newSz error"),
}
#: OKX ``ordType`` -> (the account's kind, time in force).
ORDER_TYPES = {
    "limit": ("limit", "GTC"),
    "post_only": ("limit_maker", "GTC"),
    "ioc": ("limit", "IOC"),
    "fok": ("limit", "FOK"),
    "market": ("market", "IOC"),
}


def amount(value: Decimal | None) -> str:
    """OKX writes amounts plainly, without trailing zeros ("0.58", "1000"), and "" for none."""
    return "" if value is None else format(value.normalize(), "f") if value else "0"


def wire_id(order: SimOrder) -> str:
    return str(ORDER_ID_BASE + order.order_id)


def _ms(at: float) -> str:
    return str(int(at * 1000))


def _sign(text: str) -> str:
    return base64.b64encode(hmac.new(API_SECRET.encode(), text.encode(), hashlib.sha256).digest()).decode()


class OkxExchange(LoopbackExchange):
    """``async with OkxExchange(balances={"USDT": Decimal(1000)}) as sim``; point the settings'
    ``rest_url`` at ``sim.rest_url`` and ``ws_url`` at ``sim.ws_url``.

    ``clock`` is the exchange's (Unix seconds); ``calls`` logs every REST call; ``refusals`` the
    rate-limit refusals it answered.
    """

    def __init__(
        self,
        *,
        balances: dict[str, Decimal],
        clock: Callable[[], float] = time.time,
        fee_rate: Decimal = Decimal("0.001"),
    ):
        super().__init__(clock)
        self.market_data = protocol = okx_protocol()
        for message in protocol.recording:  # the books as the recording opens them
            if protocol.parsed[message].get("action") == "update":
                break
            protocol.advance(message)
        _, body = protocol.rest_answer("/api/v5/public/instruments?instType=SPOT") or (0, "")
        markets, books = {}, {}
        for instrument in json.loads(body)["data"]:
            inst_id = instrument["instId"]
            if inst_id in protocol.books:
                markets[inst_id] = (instrument["baseCcy"], instrument["quoteCcy"], Decimal(instrument["lotSz"]))
                sides = protocol.books[inst_id].sides
                books[inst_id] = SimBook(
                    ((price, Decimal(level[1])) for price, level in sides["bids"].items()),
                    ((price, Decimal(level[1])) for price, level in sides["asks"].items()),
                )
        self.account = SimAccount(markets, books, balances, fee_rate)
        self.windows = {endpoint: FixedWindows(limit, 2) for endpoint, limit in LIMITS.items()}
        self.refusals: list[tuple[float, str]] = []
        self.streams: dict[ServerConnection, set[str]] = {}  # logged-in connections -> their channels
        self._pushing: set[asyncio.Task] = set()

    @property
    def ws_url(self) -> str:
        """The public websocket's (``/ws/v5/public``); the private one is ``/ws/v5/private`` there."""
        return super().ws_url + "/ws/v5/public"

    # -- hooks ------------------------------------------------------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the stream says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    async def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside (a deposit): an ``account`` push."""
        self.account.deposit(asset, quantity)
        await self._push("account", [self._account_json([asset])])

    def local(self, order_id: str) -> SimOrder:
        """The order of an OKX order id."""
        return self.account.orders[int(order_id) - ORDER_ID_BASE]

    async def drop_streams(self) -> None:
        """Close every private websocket connection (the pushes meanwhile are lost)."""
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        endpoint = f"{request.method} {request.path}"
        if request.path == "/api/v5/public/time":
            return _ok([{"ts": _ms(self.clock())}])
        handler = self._endpoints.get(endpoint)
        if handler is None:
            found = self.market_data.rest_answer(request.path + (f"?{request.query}" if request.query else ""))
            return HttpAnswer(*found) if found is not None else HttpAnswer(404, '{"msg":"","code":"404"}')
        problem = self._authenticate(request)
        if problem is not None:
            return problem
        if not self.windows[endpoint].spend(request.received_at, 1):
            self.refusals.append((request.received_at, endpoint))
            return HttpAnswer(429, json.dumps({"msg": "Too Many Requests", "code": "50011"}))
        try:
            return handler(self, request)
        except Refused as refused:
            code, message = ERRORS[refused.reason]
            if endpoint == "GET /api/v5/trade/order":
                return HttpAnswer(200, json.dumps({"code": code, "msg": message, "data": []}))
            return self._failed(request, code, message)

    def _authenticate(self, request: HttpRequest) -> HttpAnswer | None:
        """OKX's checks of a signed request: the key, the passphrase, the time, the signature."""
        headers = request.headers
        if headers.get("ok-access-key") != API_KEY:
            return _error(401, "50111", "Invalid OK-ACCESS-KEY")
        if headers.get("ok-access-passphrase") != PASSPHRASE:
            return _error(401, "50105", "Invalid OK-ACCESS-PASSPHRASE")
        timestamp = headers.get("ok-access-timestamp", "")
        try:
            sent = datetime.fromisoformat(timestamp).timestamp()
        except ValueError:
            return _error(400, "50112", "Invalid OK-ACCESS-TIMESTAMP")
        if abs(self.clock() - sent) > 30:
            return _error(400, "50102", "Timestamp request expired")
        path = request.path + (f"?{request.query}" if request.query else "")
        expected = _sign(f"{timestamp}{request.method}{path}{request.body}")
        if not hmac.compare_digest(expected, headers.get("ok-access-sign", "")):
            return _error(401, "50113", "Invalid Sign")
        return None

    # -- endpoints --------------------------------------------------------------------------------

    def _new_order(self, request: HttpRequest) -> HttpAnswer:
        body = json.loads(request.body)
        kind, time_in_force = ORDER_TYPES[body["ordType"]]
        size = Decimal(body["sz"])
        by_quote = kind == "market" and body.get("tgtCcy", "quote_ccy" if body["side"] == "buy" else "base_ccy") == (
            "quote_ccy"
        )
        price = Decimal(body["px"]) if body.get("px") else None
        if kind == "limit_maker" and self.account.books[body["instId"]].crosses(body["side"], price):
            return self._post_only_cancelled(body, size, price)
        executions = self.account.place(
            client_id=body.get("clOrdId", ""),
            symbol=body["instId"],
            side=body["side"],
            kind=kind,
            time_in_force=time_in_force,
            quantity=None if by_quote else size,
            price=price,
            stop_price=None,
            quote_quantity=size if by_quote else None,
            at=self.clock(),
        )
        order = executions[0].order
        self._schedule(executions)
        return _ok([self._ids(order, "Order placed")])

    def _post_only_cancelled(self, body: dict[str, Any], size: Decimal, price: Decimal | None) -> HttpAnswer:
        """A post-only order that would take: placed, then cancelled at once."""
        account, now = self.account, self.clock()
        if any(o.client_id == body.get("clOrdId") and o.is_open for o in account.orders.values()):
            raise Refused("duplicate_order")
        order = SimOrder(
            next(account._order_ids), body.get("clOrdId", ""), body["instId"], body["side"], "limit_maker", "GTC",
            size, price, None, None, now, status="cancelled", updated_at=now,
        )  # fmt: skip
        account.orders[order.order_id] = order
        self._schedule([Execution("new", order), Execution("cancelled", order)])
        return _ok([self._ids(order, "Order placed")])

    def _query_order(self, request: HttpRequest) -> HttpAnswer:
        return _ok([self._order_json(self._find(dict(parse_qsl(request.query))))])

    def _open_orders(self, request: HttpRequest) -> HttpAnswer:
        return _ok([self._order_json(o) for o in self.account.orders.values() if o.is_open])

    def _cancel_order(self, request: HttpRequest) -> HttpAnswer:
        body = json.loads(request.body)
        order = self._find(body)
        if not order.is_open:
            code = "51402" if order.status == "filled" else "51401"
            return self._failed(
                request, code, "Order has been completed" if code == "51402" else "Order has been canceled"
            )
        self._schedule(self.account.cancel(order, self.clock()))
        return _ok([self._ids(order, "")])

    def _amend_order(self, request: HttpRequest) -> HttpAnswer:
        """In place: a new size (the whole, what filled included) and or a new price."""
        body = json.loads(request.body)
        order = self._find(body)
        if not order.is_open:
            return self._failed(request, "51503", "Order modification failed as the order has been filled, canceled")
        account, now = self.account, self.clock()
        size = Decimal(body["newSz"]) if body.get("newSz") else order.quantity
        assert size is not None
        if size <= order.executed:
            raise Refused("bad_quantity")
        account._unlock(order)
        order.quantity, order.updated_at = size, now
        if body.get("newPx"):
            order.price = Decimal(body["newPx"])
        account._lock(order)
        self._schedule([Execution("amended", order)])
        return _ok([{**self._ids(order, ""), "reqId": body.get("reqId", "")}])

    def _fills(self, request: HttpRequest) -> HttpAnswer:
        query = dict(parse_qsl(request.query))
        order = self._find(query)
        trades = [t for t in reversed(self.account.trades) if t.order_id == order.order_id]  # newest first
        return _ok([self._fill_json(order, trade) for trade in trades])

    def _balance(self, request: HttpRequest) -> HttpAnswer:
        return _ok([self._account_json(self.account.assets())])

    _endpoints = {
        "POST /api/v5/trade/order": _new_order,
        "GET /api/v5/trade/order": _query_order,
        "GET /api/v5/trade/orders-pending": _open_orders,
        "POST /api/v5/trade/cancel-order": _cancel_order,
        "POST /api/v5/trade/amend-order": _amend_order,
        "GET /api/v5/trade/fills": _fills,
        "GET /api/v5/account/balance": _balance,
    }

    def _find(self, where: dict[str, str]) -> SimOrder:
        if where.get("ordId"):
            return self.account.find(int(where["ordId"]) - ORDER_ID_BASE)
        return self.account.find(client_id=where.get("clOrdId", ""))

    def _failed(self, request: HttpRequest, code: str, message: str) -> HttpAnswer:
        """An order operation OKX refused: HTTP 200, ``code`` 1, the reason in the entry."""
        body = json.loads(request.body) if request.body else {}
        entry = {"clOrdId": body.get("clOrdId", ""), "ordId": body.get("ordId", ""), "sCode": code, "sMsg": message}
        return HttpAnswer(200, json.dumps({"code": "1", "msg": "All operations failed", "data": [entry]}))

    def _ids(self, order: SimOrder, message: str) -> dict[str, Any]:
        return {"clOrdId": order.client_id, "ordId": wire_id(order), "tag": "", "ts": _ms(self.clock()), "sCode": "0",
                "sMsg": message}  # fmt: skip

    def _order_json(
        self, order: SimOrder, trade: Trade | None = None, filled: Decimal | None = None, kind: str | None = None
    ) -> dict[str, Any]:
        """An order as ``GET /api/v5/trade/order`` and the ``orders`` channel write it (the channel's
        as it stood after the execution of ``kind``: with the ``fill*`` fields of ``trade`` and
        ``accFillSz`` as it was then)."""
        filled = order.executed if filled is None else filled
        fee = sum((t.commission for t in self.account.trades if t.order_id == order.order_id), Decimal(0))
        base, quote, _ = self.account.markets[order.symbol]
        ord_type = next(name for name, value in ORDER_TYPES.items() if value == (order.kind, order.time_in_force))
        return {
            "instType": "SPOT",
            "instId": order.symbol,
            "ordId": wire_id(order),
            "clOrdId": order.client_id,
            "tag": "",
            "px": amount(order.price),
            "sz": amount(order.quantity if order.quantity is not None else order.quote_quantity),
            "tgtCcy": "quote_ccy" if order.quantity is None else ("base_ccy" if order.kind == "market" else ""),
            "ordType": "market" if order.kind == "market" else ord_type,
            "side": order.side,
            "tdMode": "cash",
            "accFillSz": amount(filled),
            "avgPx": amount(order.quote_executed / order.executed) if order.executed else "",
            "state": _state(order, filled, kind),
            "fee": amount(-fee),
            "feeCcy": base if order.side == "buy" else quote,
            "fillPx": amount(trade.price) if trade else "",
            "fillSz": amount(trade.quantity) if trade else "",
            "tradeId": str(trade.trade_id) if trade else "",
            "fillTime": _ms(trade.at) if trade else "",
            "fillFee": amount(-trade.commission) if trade else "",
            "fillFeeCcy": trade.commission_asset if trade else "",
            "execType": ("M" if trade.maker else "T") if trade else "",
            "uTime": _ms(order.updated_at),
            "cTime": _ms(order.created_at),
        }

    def _fill_json(self, order: SimOrder, trade: Trade) -> dict[str, Any]:
        return {
            "instType": "SPOT",
            "instId": order.symbol,
            "tradeId": str(trade.trade_id),
            "ordId": wire_id(order),
            "clOrdId": order.client_id,
            "billId": str(ORDER_ID_BASE + 700000 + trade.trade_id),
            "tag": "",
            "fillPx": amount(trade.price),
            "fillSz": amount(trade.quantity),
            "side": order.side,
            "posSide": "net",
            "execType": "M" if trade.maker else "T",
            "feeCcy": trade.commission_asset,
            "fee": amount(-trade.commission),
            "ts": _ms(trade.at),
            "fillTime": _ms(trade.at),
        }

    def _account_json(self, assets: list[str]) -> dict[str, Any]:
        account = self.account
        return {
            "uTime": _ms(self.clock()),
            "totalEq": "",
            "details": [
                {
                    "ccy": asset,
                    "cashBal": amount(account.total(asset)),
                    "availBal": amount(account.free.get(asset, Decimal(0))),
                    "frozenBal": amount(account.locked.get(asset, Decimal(0))),
                    "eq": amount(account.total(asset)),
                    "uTime": _ms(self.clock()),
                }
                for asset in assets
            ],
        }

    # -- the websockets ---------------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        session = self.market_data.session()
        try:
            async for message in ws:
                if path == "/ws/v5/public":
                    for reply in self.market_data.answer(str(message), session):
                        await ws.send(reply)
                elif path == "/ws/v5/private":
                    for reply in self._private_answer(ws, str(message)):
                        await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            self.streams.pop(ws, None)

    def _private_answer(self, ws: ServerConnection, message: str) -> list[str]:
        if message == "ping":
            return ["pong"]
        request = json.loads(message)
        op, args = request.get("op"), request.get("args") or []
        if op == "login":
            login = args[0] if args else {}
            expected = _sign(f"{login.get('timestamp')}GET/users/self/verify")
            if (
                login.get("apiKey") != API_KEY
                or login.get("passphrase") != PASSPHRASE
                or not hmac.compare_digest(expected, str(login.get("sign", "")))
            ):
                return [json.dumps({"event": "error", "code": "60009", "msg": "Login failed.", "connId": CONN_ID})]
            self.streams[ws] = set()
            return [json.dumps({"event": "login", "code": "0", "msg": "", "connId": CONN_ID})]
        if op != "subscribe":
            return [
                json.dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {message}", "connId": CONN_ID})
            ]
        if ws not in self.streams:
            return [json.dumps({"event": "error", "code": "60011", "msg": "Please log in", "connId": CONN_ID})]
        replies = []
        for arg in args:
            channel = arg.get("channel")
            if channel not in ("orders", "account"):
                replies.append(
                    json.dumps(
                        {"event": "error", "code": "60018", "msg": f"Wrong URL or channel:{channel}", "connId": CONN_ID}
                    )
                )
                continue
            self.streams[ws].add(channel)
            replies.append(json.dumps({"event": "subscribe", "arg": arg, "connId": CONN_ID}))
        return replies

    def _schedule(self, executions: list[Execution]) -> None:
        """Push the messages of ``executions`` once the answer is on its way (they race, as on OKX)."""
        task = asyncio.get_running_loop().create_task(self._publish(executions))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution]) -> None:
        """One ``orders`` push per execution (``accFillSz`` as it stood then), then an ``account``
        push with the two currencies of the instrument."""
        if not executions:
            return
        order = executions[0].order
        filled = order.executed - sum((e.trade.quantity for e in executions if e.trade is not None), Decimal(0))
        pushes = []
        for execution in executions:
            if execution.trade is not None:
                filled += execution.trade.quantity
            pushes.append(self._order_json(order, execution.trade, filled, execution.kind))
        await self._push("orders", pushes)
        base, quote, _ = self.account.markets[order.symbol]
        await self._push("account", [self._account_json([base, quote])])

    async def _push(self, channel: str, data: list[dict[str, Any]]) -> None:
        arg = (
            {"channel": channel, "instType": "SPOT", "uid": UID}
            if channel == "orders"
            else {"channel": channel, "uid": UID}
        )
        message = json.dumps({"arg": arg, "data": data})
        for ws, channels in list(self.streams.items()):
            if channel in channels:
                try:
                    await ws.send(message)
                except ConnectionClosed:
                    self.streams.pop(ws, None)


def _state(order: SimOrder, filled: Decimal, kind: str | None = None) -> str:
    """An order's ``state`` once ``filled`` of it has, now or after an execution of ``kind`` (an
    expired IOC or market rest is canceled)."""
    if kind in ("cancelled", "expired", "rejected") or (kind is None and order.status in ("cancelled", "expired")):
        return "canceled"
    if order.quantity is not None and filled >= order.quantity:
        return "filled"
    return "partially_filled" if filled else "live"


def _ok(data: list[dict[str, Any]]) -> HttpAnswer:
    return HttpAnswer(200, json.dumps({"code": "0", "msg": "", "data": data}))


def _error(status: int, code: str, message: str) -> HttpAnswer:
    return HttpAnswer(status, json.dumps({"msg": message, "code": code}))
