"""Bybit (API v5, spot, a unified trading account) on loopback, public and private: the REST API
with its signed endpoints, the private websocket's ``order``, ``execution`` and ``wallet`` topics,
and the public spot websocket.

REST (``rest_url``): ``GET /v5/market/instruments-info?category=spot`` (the capture's) and
``GET /v5/market/time``; the signed endpoints check ``X-BAPI-API-KEY``, ``X-BAPI-SIGN`` (the hex
HMAC-SHA256 of timestamp, key, receive window and the query string or JSON body as sent) and the
time (``server - recv_window <= timestamp < server + 1000``), then place (``POST
/v5/order/create``), amend in place (``/v5/order/amend``), cancel (``/v5/order/cancel``,
``/v5/order/cancel-all``) orders of a :class:`~.private.SimAccount` (market orders take from the
recorded book of the symbol), and answer ``GET /v5/order/realtime`` (open orders, or any order by
``orderLinkId``), ``/v5/order/history`` (closed ones), ``/v5/execution/list`` and
``/v5/account/wallet-balance``, in Bybit's formats: every answer an HTTP 200 with its ``retCode``.
Every call is counted per endpoint and second against the documented limits (retCode 10006 with
the ``X-Bapi-Limit*`` headers when over) and logged.

WebSocket: ``ws_url`` is ``/v5/public/spot`` (the market-data protocol of
:mod:`tests.simulator.bybit`: acks and book snapshots, nothing streamed); ``/v5/private`` answers
``auth`` (``GET/realtime<expires>`` signed, ``expires`` not past), ``subscribe`` and ``ping``, then
pushes for every change of an order an ``order`` message, an ``execution`` message per trade, and
a ``wallet`` message with the symbol's two coins.

As on Bybit, a post-only order that would take is accepted, then cancelled at once (its
``rejectReason`` ``EC_PostOnlyWillTakeLiquidity``). Made up where Bybit documents no exact answer:
the ``retMsg`` texts of the refusals, the ``id`` of stream messages.

Hooks: ``fail_next`` (answer the next calls with e.g. a 10006), ``lose_next`` (execute the next
call, then close the connection without an answer), :meth:`BybitExchange.fill`,
:meth:`BybitExchange.deposit`, :meth:`BybitExchange.drop_streams`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.bybit import INSTRUMENTS, bybit_protocol
from tests.simulator.kraken_private import KrakenAccount as AmendableAccount  # amends price and size in place
from tests.simulator.private import (
    Execution,
    FixedWindows,
    HttpAnswer,
    HttpRequest,
    LoopbackExchange,
    Refused,
    SimBook,
    SimOrder,
    Trade,
)

#: The simulated account's keys, in the shape of Bybit's (18 and 36 characters; no published example).
API_KEY = "XQ7kP2mR9vL4tN8wBz"
API_SECRET = "Gh3Jk9Lm2Np5Qr8St1Vw4Xy7Za0Bc6De3Fg9H"
#: Ids as Bybit writes them: 19-digit order ids (the documentation's ``1321003749386327552``).
ORDER_ID_BASE = 1321003749386327000
CONN_ID = "cejreaspqfh3sjdnldmg-p"
#: The documented limits per endpoint and UID, per second (spot, unified account).
LIMITS = {
    "/v5/order/create": 20,
    "/v5/order/amend": 10,
    "/v5/order/cancel": 20,
    "/v5/order/cancel-all": 20,
    "/v5/order/realtime": 50,
    "/v5/order/history": 50,
    "/v5/execution/list": 50,
    "/v5/account/wallet-balance": 50,
}
ERRORS = {  # Refused reasons -> (retCode, retMsg)
    "duplicate_order": (170141, "Duplicate clientOrderId."),
    "insufficient_balance": (170131, "Insufficient balance."),
    "unknown_order": (170213, "Order does not exist."),
    "bad_quantity": (10001, "params error: qty must be above the executed quantity"),
    "would_take": (170218, "The LIMIT-MAKER order is rejected due to its price would match immediately."),
}
STATUSES = {"new": "New", "partially_filled": "PartiallyFilled", "filled": "Filled", "rejected": "Rejected"}


def amount(value: Decimal | None) -> str:
    """Bybit writes amounts as strings without trailing zeros ("0.58", "1000", "0")."""
    return format(value.normalize(), "f") if value else "0"


def wire_id(order: SimOrder) -> str:
    return str(ORDER_ID_BASE + order.order_id)


def _ms(at: float) -> int:
    return int(at * 1000)


def _sign(text: str) -> str:
    return hmac.new(API_SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


def _answer(result: Any, headers: dict[str, str] | None = None, code: int = 0, message: str = "OK") -> HttpAnswer:
    body = {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": _ms(time.time())}
    return HttpAnswer(200, json.dumps(body), headers or {})


def _refused(code: int, message: str, headers: dict[str, str] | None = None) -> HttpAnswer:
    return _answer({}, headers, code, message)


class BybitExchange(LoopbackExchange):
    """``async with BybitExchange(balances={"USDT": Decimal(1000)}) as sim``; point the settings'
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
        self.market_data = protocol = bybit_protocol()
        for message in protocol.recording:  # the books as the recording opens them
            if protocol.parsed[message].get("type") == "delta":
                break
            protocol.advance(message)
        markets, books = {}, {}
        for instrument in json.loads(protocol.rest[INSTRUMENTS])["result"]["list"]:
            symbol = instrument["symbol"]
            if symbol in protocol.books:
                step = Decimal(instrument["lotSizeFilter"]["basePrecision"])
                markets[symbol] = (instrument["baseCoin"], instrument["quoteCoin"], step)
                sides = protocol.books[symbol].sides
                books[symbol] = SimBook(
                    ((p, Decimal(q)) for p, (_, q) in sides["b"].items()),
                    ((p, Decimal(q)) for p, (_, q) in sides["a"].items()),
                )
        self.account = AmendableAccount(markets, books, balances, fee_rate)
        self.windows = {endpoint: FixedWindows(limit, 1) for endpoint, limit in LIMITS.items()}
        self.refusals: list[tuple[float, str]] = []
        self.streams: dict[ServerConnection, set[str]] = {}  # authenticated connections -> their topics
        self.reasons: dict[int, str] = {}  # order id -> rejectReason of an order Bybit ended itself
        self.queries: list[str] = []  # the query strings of the realtime and history calls
        self._sequence = itertools.count(4688002127)
        self._pushing: set[asyncio.Task] = set()

    @property
    def ws_url(self) -> str:
        """The public spot websocket's (``/v5/public/spot``); the private one is ``/v5/private`` there."""
        return super().ws_url + "/v5/public/spot"

    # -- hooks ------------------------------------------------------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the stream says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    async def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside (a deposit): a ``wallet`` message."""
        self.account.deposit(asset, quantity)
        await self._push("wallet", [self._wallet_json([asset])])

    def local(self, order_id: str) -> SimOrder:
        """The order of a Bybit order id."""
        return self.account.orders[int(order_id) - ORDER_ID_BASE]

    async def drop_streams(self) -> None:
        """Close every private websocket connection (the messages meanwhile are lost)."""
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        if request.method == "GET" and request.path == INSTRUMENTS.partition("?")[0]:
            return HttpAnswer(200, self.market_data.rest[INSTRUMENTS])
        if request.method == "GET" and request.path == "/v5/market/time":
            now = self.clock()
            return _answer({"timeSecond": str(int(now)), "timeNano": str(int(now * 1_000_000_000))})
        handler = self._endpoints.get((request.method, request.path))
        if handler is None:
            return HttpAnswer(404, "404 page not found")
        problem = self._authenticate(request)
        if problem is not None:
            return problem
        if not self.windows[request.path].spend(request.received_at, 1):
            self.refusals.append((request.received_at, request.path))
            reset = str(_ms(int(request.received_at) + 1))
            headers = {"X-Bapi-Limit": str(LIMITS[request.path]), "X-Bapi-Limit-Status": "0",
                       "X-Bapi-Limit-Reset-Timestamp": reset}  # fmt: skip
            return _refused(10006, "Too many visits!", headers)
        params = json.loads(request.body) if request.method == "POST" else dict(parse_qsl(request.query))
        if request.path in ("/v5/order/realtime", "/v5/order/history"):
            self.queries.append(request.query)
        if params.get("category") != ("spot" if request.path.startswith(("/v5/order", "/v5/execution")) else None):
            return _refused(10001, "params error: category is invalid")
        try:
            return handler(self, params)
        except Refused as refused:
            return _refused(*ERRORS[refused.reason])

    def _authenticate(self, request: HttpRequest) -> HttpAnswer | None:
        """Bybit's checks of a signed request: the key, the signature, the time."""
        headers = request.headers
        if headers.get("x-bapi-api-key") != API_KEY:
            return _refused(10003, "API key is invalid.")
        timestamp, window = headers.get("x-bapi-timestamp", ""), headers.get("x-bapi-recv-window", "5000")
        if not (timestamp.isdigit() and window.isdigit()):
            return _refused(10002, "invalid request, please check your timestamp or recv_window param")
        payload = request.body if request.method == "POST" else request.query
        expected = _sign(f"{timestamp}{API_KEY}{window}{payload}")
        if not hmac.compare_digest(expected, headers.get("x-bapi-sign", "")):
            return _refused(10004, "error sign! origin_string[...]")
        server = _ms(self.clock())
        if not server - int(window) <= int(timestamp) < server + 1000:
            return _refused(
                10002,
                f"invalid request, please check your server timestamp or recv_window param. req_timestamp[{timestamp}],"
                f"server_timestamp[{server}],recv_window[{window}]",
            )
        return None

    # -- endpoints --------------------------------------------------------------------------------

    def _create(self, params: dict[str, Any]) -> HttpAnswer:
        market = params["orderType"] == "Market"
        by_quote = market and params.get("marketUnit", "quoteCoin" if params["side"] == "Buy" else "baseCoin") == (
            "quoteCoin"
        )
        time_in_force = params.get("timeInForce", "IOC" if market else "GTC")
        kind = "market" if market else ("limit_maker" if time_in_force == "PostOnly" else "limit")
        place = dict(
            client_id=params.get("orderLinkId", ""),
            symbol=params["symbol"],
            side=params["side"].lower(),
            kind=kind,
            time_in_force="GTC" if time_in_force == "PostOnly" else time_in_force,
            quantity=None if by_quote else Decimal(params["qty"]),
            price=None if market else Decimal(params["price"]),
            stop_price=None,
            quote_quantity=Decimal(params["qty"]) if by_quote else None,
            at=self.clock(),
        )
        try:
            executions = self.account.place(**place)
        except Refused as refused:
            if refused.reason != "would_take":
                raise
            executions = self._post_only_cancelled(place)
        order = executions[0].order
        self._schedule(executions)
        return _answer({"orderId": wire_id(order), "orderLinkId": order.client_id})

    def _post_only_cancelled(self, place: dict[str, Any]) -> list[Execution]:
        """A post-only order that would take: accepted, and cancelled at once."""
        order = SimOrder(next(self.account._order_ids), **{k: v for k, v in place.items() if k != "at"},
                         created_at=place["at"], status="cancelled", updated_at=place["at"])  # fmt: skip
        self.account.orders[order.order_id] = order
        self.reasons[order.order_id] = "EC_PostOnlyWillTakeLiquidity"
        return [Execution("cancelled", order)]

    def _amend(self, params: dict[str, Any]) -> HttpAnswer:
        order = self._find(params)
        quantity, price = params.get("qty"), params.get("price")
        executions = self.account.amend_in_place(
            order,
            None if quantity is None else Decimal(quantity),
            None if price is None else Decimal(price),
            self.clock(),
        )
        self._schedule(executions)
        return _answer({"orderId": wire_id(order), "orderLinkId": order.client_id})

    def _cancel(self, params: dict[str, Any]) -> HttpAnswer:
        order = self._find(params)
        self._schedule(self.account.cancel(order, self.clock()))
        return _answer({"orderId": wire_id(order), "orderLinkId": order.client_id})

    def _cancel_all(self, params: dict[str, Any]) -> HttpAnswer:
        symbol = params.get("symbol")
        cancelled = []
        for order in [o for o in self.account.orders.values() if o.is_open and symbol in (None, o.symbol)]:
            self._schedule(self.account.cancel(order, self.clock()))
            cancelled.append({"orderId": wire_id(order), "orderLinkId": order.client_id})
        return _answer({"list": cancelled, "success": "1"})

    def _realtime(self, params: dict[str, Any]) -> HttpAnswer:
        """By ``orderId`` or ``orderLinkId``: that order, open or closed; else the open orders,
        newest first, ``limit`` of them (20 by default, 50 at most)."""
        if "orderId" in params or "orderLinkId" in params:
            orders = self._matching(params)
        else:
            limit = min(int(params.get("limit", 20)), 50)
            orders = [o for o in reversed(self.account.orders.values()) if o.is_open][:limit]
        return _answer({"list": [self._order_json(o) for o in orders], "nextPageCursor": "", "category": "spot"})

    def _history(self, params: dict[str, Any]) -> HttpAnswer:
        orders = [o for o in self._matching(params) if not o.is_open]
        return _answer({"list": [self._order_json(o) for o in orders], "nextPageCursor": "", "category": "spot"})

    def _executions(self, params: dict[str, Any]) -> HttpAnswer:
        order = self._find(params)
        trades = [self._execution_json(order, t) for t in reversed(self.account.trades) if t.order_id == order.order_id]
        return _answer({"nextPageCursor": "", "category": "spot", "list": trades})

    def _wallet(self, params: dict[str, Any]) -> HttpAnswer:
        if params.get("accountType") != "UNIFIED":
            return _refused(10001, "accountType only support UNIFIED.")
        return _answer({"list": [self._wallet_json(self.account.assets())]})

    _endpoints = {
        ("POST", "/v5/order/create"): _create,
        ("POST", "/v5/order/amend"): _amend,
        ("POST", "/v5/order/cancel"): _cancel,
        ("POST", "/v5/order/cancel-all"): _cancel_all,
        ("GET", "/v5/order/realtime"): _realtime,
        ("GET", "/v5/order/history"): _history,
        ("GET", "/v5/execution/list"): _executions,
        ("GET", "/v5/account/wallet-balance"): _wallet,
    }

    def _matching(self, params: dict[str, Any]) -> list[SimOrder]:
        wanted_id, wanted_link = params.get("orderId"), params.get("orderLinkId")
        return [
            o
            for o in reversed(self.account.orders.values())
            if wanted_id in (None, wire_id(o)) and wanted_link in (None, o.client_id)
        ]

    def _find(self, params: dict[str, Any]) -> SimOrder:
        found = self._matching(params)
        if not found or not ("orderId" in params or "orderLinkId" in params):
            raise Refused("unknown_order")
        return found[0]

    def _order_json(self, order: SimOrder, category: bool = False) -> dict[str, Any]:
        """An order as the realtime and history lists write it (with ``category`` on the stream)."""
        average = order.quote_executed / order.executed if order.executed else None
        market = order.kind == "market"
        fees = sum((t.commission for t in self.account.trades if t.order_id == order.order_id), Decimal(0))
        remaining = order.quantity - order.executed if order.quantity is not None and order.is_open else None
        return {
            **({"category": "spot"} if category else {}),
            "orderId": wire_id(order),
            "orderLinkId": order.client_id,
            "blockTradeId": "",
            "symbol": order.symbol,
            "price": "0" if market else amount(order.price),
            "qty": amount(order.quote_quantity if order.quantity is None else order.quantity),
            "side": order.side.capitalize(),
            "isLeverage": "0",
            "positionIdx": 0,
            "orderStatus": _status(order),
            "cancelType": "UNKNOWN",
            "rejectReason": self.reasons.get(order.order_id, "EC_NoError"),
            "avgPrice": amount(average),
            "leavesQty": amount(remaining),
            "leavesValue": amount(remaining * order.price if remaining and order.price else None),
            "cumExecQty": amount(order.executed),
            "cumExecValue": amount(order.quote_executed),
            "cumExecFee": amount(fees),
            "timeInForce": "PostOnly" if order.kind == "limit_maker" else order.time_in_force,
            "orderType": "Market" if market else "Limit",
            "stopOrderType": "",
            "orderIv": "",
            "marketUnit": ("quoteCoin" if order.quantity is None else "baseCoin") if market else "",
            "triggerPrice": "0",
            "takeProfit": "0",
            "stopLoss": "0",
            "triggerBy": "",
            "reduceOnly": False,
            "closeOnTrigger": False,
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "createdTime": str(_ms(order.created_at)),
            "updatedTime": str(_ms(order.updated_at)),
        }

    def _execution_json(self, order: SimOrder, trade: Trade, category: bool = False) -> dict[str, Any]:
        before = sum((t.quantity for t in self.account.trades if t.order_id == order.order_id and t.at <= trade.at and
                      t.trade_id <= trade.trade_id), Decimal(0))  # fmt: skip
        leaves = order.quantity - before if order.quantity is not None else Decimal(0)
        return {
            **({"category": "spot"} if category else {}),
            "symbol": order.symbol,
            "isLeverage": "0",
            "orderId": wire_id(order),
            "orderLinkId": order.client_id,
            "side": order.side.capitalize(),
            "orderPrice": "0" if order.kind == "market" else amount(order.price),
            "orderQty": amount(order.quantity),
            "leavesQty": amount(leaves),
            "createType": "CreateByUser",
            "orderType": "Market" if order.kind == "market" else "Limit",
            "stopOrderType": "",
            "execFee": amount(trade.commission),
            "execId": f"2100000000{trade.trade_id:09d}",
            "execPrice": amount(trade.price),
            "execQty": amount(trade.quantity),
            "execType": "Trade",
            "execValue": amount(trade.price * trade.quantity),
            "execTime": str(_ms(trade.at)),
            "isMaker": trade.maker,
            "feeRate": amount(self.account.fee_rate),
            "markPrice": "",
            "indexPrice": "",
            "blockTradeId": "",
            "seq": next(self._sequence),
            "feeCurrency": trade.commission_asset,
        }

    def _wallet_json(self, assets: list[str]) -> dict[str, Any]:
        account = self.account
        coins = [
            {
                "coin": asset,
                "equity": amount(account.total(asset)),
                "usdValue": "",
                "walletBalance": amount(account.total(asset)),
                "locked": amount(account.locked.get(asset)),
                "borrowAmount": "0",
                "accruedInterest": "0",
                "totalOrderIM": "0",
                "totalPositionIM": "0",
                "totalPositionMM": "0",
                "unrealisedPnl": "0",
                "cumRealisedPnl": "0",
                "bonus": "0",
                "collateralSwitch": True,
                "marginCollateral": True,
                "spotHedgingQty": "0",
            }
            for asset in assets
        ]
        return {"accountType": "UNIFIED", "accountIMRate": "0", "accountMMRate": "0", "accountLTV": "0",
                "totalEquity": "", "totalWalletBalance": "", "totalAvailableBalance": "", "coin": coins}  # fmt: skip

    # -- the websockets ---------------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        session = self.market_data.session()
        try:
            async for message in ws:
                if path == "/v5/public/spot":
                    for reply in self.market_data.answer(message, session):
                        await ws.send(reply)
                elif path == "/v5/private":
                    for reply in self._private_answer(ws, json.loads(message)):
                        await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            self.streams.pop(ws, None)

    def _private_answer(self, ws: ServerConnection, request: dict[str, Any]) -> list[dict[str, Any]]:
        op, args = request.get("op"), request.get("args") or []
        if op == "ping":
            return [{"req_id": request.get("req_id", ""), "op": "pong", "args": [str(_ms(self.clock()))],
                     "conn_id": CONN_ID}]  # fmt: skip
        if op == "auth":
            key, expires, signed = (args + [None, None, None])[:3]
            if key != API_KEY or not hmac.compare_digest(_sign(f"GET/realtime{expires}"), str(signed or "")):
                return [{"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": CONN_ID}]
            if int(expires) < _ms(self.clock()):
                return [{"success": False, "ret_msg": "Request expired", "op": "auth", "conn_id": CONN_ID}]
            self.streams[ws] = set()
            return [{"success": True, "ret_msg": "", "op": "auth", "conn_id": CONN_ID}]
        if op != "subscribe":
            return [{"success": False, "ret_msg": f"error:handler not found,op:{op}", "op": op, "conn_id": CONN_ID}]
        if ws not in self.streams:
            return [{"success": False, "ret_msg": "Request not authorized", "op": "subscribe", "conn_id": CONN_ID}]
        known = {"order", "order.spot", "execution", "execution.spot", "wallet"}
        unknown = [topic for topic in args if topic not in known]
        if unknown:
            message = f"error:handler not found,topic:{unknown[0]}"
            return [{"success": False, "ret_msg": message, "op": "subscribe", "conn_id": CONN_ID}]
        self.streams[ws].update(topic.partition(".")[0] for topic in args)
        return [{"success": True, "ret_msg": "", "op": "subscribe", "conn_id": CONN_ID}]

    def _schedule(self, executions: list[Execution]) -> None:
        """Push the messages of ``executions`` once the answer is on its way (they race, as on Bybit)."""
        task = asyncio.get_running_loop().create_task(self._publish(executions))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution]) -> None:
        """An ``execution`` message per trade, then one ``order`` message with the order as it
        stands, then a ``wallet`` message with the symbol's two coins."""
        if not executions:
            return
        order = executions[-1].order
        trades = [e.trade for e in executions if e.trade is not None]
        if trades:
            await self._push("execution", [self._execution_json(order, t, category=True) for t in trades])
        await self._push("order", [self._order_json(order, category=True)])
        base, quote, _ = self.account.markets[order.symbol]
        await self._push("wallet", [self._wallet_json([base, quote])])

    async def _push(self, topic: str, data: list[dict[str, Any]]) -> None:
        now = _ms(self.clock())
        message = json.dumps(
            {"id": f"{topic}-{next(self._sequence)}", "topic": topic, "creationTime": now, "data": data}
        )
        for ws, topics in list(self.streams.items()):
            if topic in topics:
                try:
                    await ws.send(message)
                except ConnectionClosed:
                    self.streams.pop(ws, None)


def _status(order: SimOrder) -> str:
    if order.status in ("cancelled", "expired"):  # an IOC's or a market order's rest too
        return "PartiallyFilledCanceled" if order.executed else "Cancelled"
    return STATUSES[order.status]
