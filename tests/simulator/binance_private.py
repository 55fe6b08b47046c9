"""Binance spot on loopback, public and private: the REST API with signed endpoints, the WebSocket
API's user data stream, and the market-data streams' subscribe answers.

REST (``rest_url``): ``exchangeInfo`` (the capture's, with the rate limits and order rules the test
sets), depth snapshots, aggregate trades and klines from the market-data protocol's model, ``time``;
the signed endpoints check ``X-MBX-APIKEY``, the HMAC-SHA256 of the query string followed by the
body (-1022; the signature in the query, or in the body as Binance also takes it), and
``timestamp``/``recvWindow`` (-1021) as Binance does, then place, query, amend, cancel-replace and
cancel orders of a :class:`~.private.SimAccount` (LRCBTC's recorded book is what market orders
take), answer open orders, trades and balances, all in Binance's formats. Every call is counted
against the published limits per fixed window (answering 429 -1003/-1015 with a Retry-After when
over) and logged; the answers carry ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-*``.

WebSocket (``ws_url``): ``/ws-api/v3`` answers ``userDataStream.subscribe.signature`` (signature
checked) and then pushes ``executionReport`` and ``outboundAccountPosition`` events for every
change of the account; ``/stream`` acknowledges market-data subscriptions and streams nothing.

Hooks: :meth:`BinanceExchange.fail_next` (answer the next calls with e.g. a 429 or 418),
:meth:`BinanceExchange.lose_next` (execute the next such call, then close the connection without
an answer), :meth:`BinanceExchange.fill` (a resting order trades), :meth:`BinanceExchange.deposit`.
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

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.simulator.binance import binance_protocol
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

#: The key and secret of Binance's own signing examples: the simulated account's keys.
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
#: The capture's rateLimits (exchangeInfo of 2021-10-12).
RECORDED_LIMITS = [
    ("REQUEST_WEIGHT", "MINUTE", 1, 1200),
    ("ORDERS", "SECOND", 10, 50),
    ("ORDERS", "DAY", 1, 160000),
    ("RAW_REQUESTS", "MINUTE", 5, 6100),
]
_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
_HEADERS = {"REQUEST_WEIGHT": "X-MBX-USED-WEIGHT", "ORDERS": "X-MBX-ORDER-COUNT"}
ERRORS = {  # Refused reasons -> (HTTP status, code, msg) as Binance answers them
    "duplicate_order": (400, -2010, "Duplicate order sent."),
    "would_take": (400, -2010, "Order would immediately match and take."),
    "insufficient_balance": (400, -2010, "Account has insufficient balance for requested action."),
    "unknown_order": (400, -2011, "Unknown order sent."),
    "bad_quantity": (400, -1013, "Filter failure: LOT_SIZE"),
}
STATUS = {
    "new": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "cancelled": "CANCELED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
}
TYPES = {
    "LIMIT": "limit",
    "LIMIT_MAKER": "limit_maker",
    "MARKET": "market",
    "STOP_LOSS": "stop",
    "STOP_LOSS_LIMIT": "stop_limit",
}
TYPE_NAMES = {kind: name for name, kind in TYPES.items()}
EXECUTION_TYPES = {"new": "NEW", "trade": "TRADE", "cancelled": "CANCELED", "expired": "EXPIRED", "amended": "REPLACED"}


def amount(value: Decimal | None) -> str:
    """Binance writes amounts with 8 decimals."""
    return format(value or Decimal(0), ".8f")


def _ms(at: float) -> int:
    return int(at * 1000)


class BinanceExchange(LoopbackExchange):
    """``async with BinanceExchange(balances={"BTC": Decimal("0.5")}) as sim``; point the settings'
    ``rest_url`` at ``sim.rest_url`` and ``ws_url`` at ``sim.ws_url``.

    ``rate_limits``: (rateLimitType, interval, intervalNum, limit) published and enforced;
    ``clock`` is the exchange's (Unix seconds). ``calls`` logs every REST call; ``refusals`` the
    rate-limit refusals it answered.
    """

    def __init__(
        self,
        *,
        balances: dict[str, Decimal],
        rate_limits: list[tuple[str, str, int, int]] = RECORDED_LIMITS,
        clock: Callable[[], float] = time.time,
        fee_rate: Decimal = Decimal("0.001"),
    ):
        super().__init__(clock)
        self.market_data = binance_protocol()
        info = json.loads(self.market_data.rest["/api/v3/exchangeInfo"])
        info["rateLimits"] = [
            {"rateLimitType": kind, "interval": interval, "intervalNum": number, "limit": limit}
            for kind, interval, number, limit in rate_limits
        ]
        markets, books = {}, {}
        for symbol in info["symbols"]:
            if symbol["symbol"] in self.market_data.books:  # the followed symbols: amends allowed, as today
                symbol.update(amendAllowed=True, cancelReplaceAllowed=True)
                lot = next(f for f in symbol["filters"] if f["filterType"] == "LOT_SIZE")
                markets[symbol["symbol"]] = (symbol["baseAsset"], symbol["quoteAsset"], Decimal(lot["stepSize"]))
                sides = self.market_data.books[symbol["symbol"]].sides
                books[symbol["symbol"]] = SimBook(
                    ((p, Decimal(q)) for p, (_, q) in sides["bids"].items()),
                    ((p, Decimal(q)) for p, (_, q) in sides["asks"].items()),
                )
        self.exchange_info = json.dumps(info, separators=(",", ":"))
        self.account = SimAccount(markets, books, balances, fee_rate)
        self.limits = [
            (kind, f"{number}{interval[0].lower()}", FixedWindows(limit, number * _SECONDS[interval]))
            for kind, interval, number, limit in rate_limits
        ]
        self.refusals: list[tuple[float, int, str]] = []
        self.streams: dict[ServerConnection, int] = {}  # subscribed connections -> their subscriptionId
        self._ids = itertools.count(0)
        self._cancel_ids = itertools.count(1)
        self._pushing: set[asyncio.Task] = set()

    # -- hooks ------------------------------------------------------------------------------------

    async def fill(self, order: SimOrder, quantity: Decimal, price: Decimal | None = None) -> None:
        """A resting order trades ``quantity`` as the maker; the stream says so."""
        await self._publish(self.account.fill(order, quantity, self.clock(), price))

    async def deposit(self, asset: str, quantity: Decimal) -> None:
        """Money arrives from outside xWrap (a deposit): balanceUpdate then outboundAccountPosition."""
        self.account.deposit(asset, quantity)
        now = _ms(self.clock())
        await self._push({"e": "balanceUpdate", "E": now, "a": asset, "d": amount(quantity), "T": now})
        await self._push(self._position([asset]))

    def order(self, client_id: str) -> SimOrder:
        return self.account.find(client_id=client_id)

    async def drop_streams(self) -> None:
        """Close every user data stream connection (the exchange's events meanwhile are lost)."""
        for ws in list(self.streams):
            await ws.close(1001, "going away")

    # -- REST -------------------------------------------------------------------------------------

    def _answer(self, request: HttpRequest) -> HttpAnswer:
        """The answer to a call, counted under the limits, with the used-weight headers."""
        params = request.params
        weight, orders = _cost(request.method, request.path, params)
        refused = self._count(request.received_at, weight, orders)
        if refused is not None:
            return refused
        answer = self._endpoint(request, params)
        return HttpAnswer(answer.status, answer.body, {**self._used_headers(), **answer.headers})

    def _endpoint(self, request: HttpRequest, params: dict[str, str]) -> HttpAnswer:
        method, path = request.method, request.path
        if method == "GET" and path == "/api/v3/exchangeInfo":
            return HttpAnswer(200, self.exchange_info)
        if method == "GET" and path == "/api/v3/time":
            return HttpAnswer(200, json.dumps({"serverTime": _ms(self.clock())}))
        if method == "GET" and path in ("/api/v3/depth", "/api/v3/klines", "/api/v3/aggTrades"):
            body = self.market_data.rest_body(f"{path}?{request.query}")
            return HttpAnswer(200, body) if body is not None else _error(400, -1121, "Invalid symbol.")
        handler = self._endpoints.get((method, path))
        if handler is None:
            return HttpAnswer(404, "")
        problem = self._authenticate(request, params)
        if problem is not None:
            return problem
        try:
            return handler(self, params)
        except Refused as refused:
            return _error(*ERRORS[refused.reason])

    def _authenticate(self, request: HttpRequest, params: dict[str, str]) -> HttpAnswer | None:
        """Binance's checks of a SIGNED request, in its order."""
        if request.headers.get("x-mbx-apikey") != API_KEY:
            return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        query, body = request.query, request.body
        if "&signature=" in body and "signature=" not in query:  # in the body (Binance's SIGNED example 2)
            body, _, signature = body.rpartition("&signature=")
        else:
            query, _, signature = query.rpartition("&signature=")
        if not signature and "signature" not in params:
            return _error(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        expected = hmac.new(API_SECRET.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            return _error(400, -1022, "Signature for this request is not valid.")
        return self._check_time(params)

    def _check_time(self, params: dict[str, Any]) -> HttpAnswer | None:
        if not str(params.get("timestamp", "")).isdigit():
            return _error(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        window = Decimal(str(params.get("recvWindow", 5000)))
        if window > 60000:
            return _error(400, -1131, "recvWindow must be less than 60000")
        timestamp, server = int(params["timestamp"]), self.clock() * 1000
        if timestamp >= server + 1000:
            return _error(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if server - timestamp > window:
            return _error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return None

    def _count(self, at: float, weight: int, orders: int) -> HttpAnswer | None:
        for kind, name, windows in self.limits:
            spent = {"REQUEST_WEIGHT": weight, "ORDERS": orders, "RAW_REQUESTS": 1}[kind]
            if spent and not windows.spend(at, spent):
                retry = max(1, int((windows.window + 1) * windows.seconds - at + 0.999))
                self.refusals.append((at, 429, f"{kind} {name}"))
                interval = {"s": "SECOND", "m": "MINUTE", "h": "HOUR", "d": "DAY"}[name[-1]]
                if kind == "ORDERS":
                    body = (
                        -1015,
                        f"Too many new orders; current limit is {windows.limit:g} orders per {name[:-1]} {interval}.",
                    )
                else:
                    body = (
                        -1003,
                        f"Too much request weight used; current limit is {windows.limit:g} request weight "
                        f"per {name[:-1]} {interval}. Please use WebSocket Streams for live updates to "
                        "avoid polling the API.",
                    )
                return _error(429, *body, headers={"Retry-After": str(retry)})
        return None

    def _used_headers(self) -> dict[str, str]:
        return {
            f"{_HEADERS[kind]}-{name.upper()}": f"{windows.used:g}"
            for kind, name, windows in self.limits
            if kind in _HEADERS
        }

    # -- endpoints --------------------------------------------------------------------------------

    def _new_order(self, params: dict[str, str]) -> HttpAnswer:
        executions = self._place(params, params.get("newClientOrderId") or f"web_{next(self._ids)}")
        self._schedule(executions)
        return HttpAnswer(200, json.dumps(self._order_json(executions[0].order, full=executions)))

    def _place(self, params: dict[str, str], client_id: str) -> list[Execution]:
        return self.account.place(
            client_id=client_id,
            symbol=params["symbol"],
            side=params["side"].lower(),
            kind=TYPES[params["type"]],
            time_in_force=params.get("timeInForce", "GTC"),
            quantity=_decimal(params.get("quantity")),
            price=_decimal(params.get("price")),
            stop_price=_decimal(params.get("stopPrice")),
            quote_quantity=_decimal(params.get("quoteOrderQty")),
            at=self.clock(),
        )

    def _query_order(self, params: dict[str, str]) -> HttpAnswer:
        try:
            order = self._find(params)
        except Refused:
            return _error(400, -2013, "Order does not exist.")
        return HttpAnswer(200, json.dumps(self._order_json(order)))

    def _cancel_order(self, params: dict[str, str]) -> HttpAnswer:
        order = self._find(params)
        executions = self.account.cancel(order, self.clock())
        cancel_id = params.get("newClientOrderId") or f"cancel_{next(self._cancel_ids)}"
        self._schedule(executions, cancel_id)
        return HttpAnswer(200, json.dumps(self._order_json(order, cancel_id=cancel_id)))

    def _cancel_all(self, params: dict[str, str]) -> HttpAnswer:
        open_orders = [o for o in self.account.orders.values() if o.symbol == params["symbol"] and o.is_open]
        if not open_orders:
            raise Refused("unknown_order")
        answers = []
        for order in open_orders:
            cancel_id = f"cancel_{next(self._cancel_ids)}"
            self._schedule(self.account.cancel(order, self.clock()), cancel_id)
            answers.append(self._order_json(order, cancel_id=cancel_id))
        return HttpAnswer(200, json.dumps(answers))

    def _open_orders(self, params: dict[str, str]) -> HttpAnswer:
        return HttpAnswer(
            200,
            json.dumps(
                [
                    self._order_json(o)
                    for o in self.account.orders.values()
                    if o.is_open and params.get("symbol", o.symbol) == o.symbol
                ]
            ),
        )

    def _my_trades(self, params: dict[str, str]) -> HttpAnswer:
        rows = []
        for trade in self.account.trades:
            order = self.account.orders[trade.order_id]
            if order.symbol == params["symbol"] and str(trade.order_id) == params.get("orderId", str(trade.order_id)):
                rows.append(
                    {
                        "symbol": order.symbol,
                        "id": trade.trade_id,
                        "orderId": trade.order_id,
                        "orderListId": -1,
                        "price": amount(trade.price),
                        "qty": amount(trade.quantity),
                        "quoteQty": amount(trade.price * trade.quantity),
                        "commission": amount(trade.commission),
                        "commissionAsset": trade.commission_asset,
                        "time": _ms(trade.at),
                        "isBuyer": order.side == "buy",
                        "isMaker": trade.maker,
                        "isBestMatch": True,
                    }
                )
        return HttpAnswer(200, json.dumps(rows))

    def _account_info(self, params: dict[str, str]) -> HttpAnswer:
        account = self.account
        assets = (
            account.assets()
            if params.get("omitZeroBalances") == "true"
            else sorted(set(account.free) | set(account.locked))
        )
        return HttpAnswer(
            200,
            json.dumps(
                {
                    "makerCommission": 10,
                    "takerCommission": 10,
                    "buyerCommission": 0,
                    "sellerCommission": 0,
                    "commissionRates": {
                        "maker": "0.00100000",
                        "taker": "0.00100000",
                        "buyer": "0.00000000",
                        "seller": "0.00000000",
                    },
                    "canTrade": True,
                    "canWithdraw": True,
                    "canDeposit": True,
                    "brokered": False,
                    "requireSelfTradePrevention": False,
                    "preventSor": False,
                    "updateTime": _ms(self.clock()),
                    "accountType": "SPOT",
                    "permissions": ["SPOT"],
                    "uid": 354937868,
                    "balances": [
                        {"asset": a, "free": amount(account.free.get(a)), "locked": amount(account.locked.get(a))}
                        for a in assets
                    ],
                }
            ),
        )

    def _amend(self, params: dict[str, str]) -> HttpAnswer:
        order = self._find(params)
        original = order.client_id
        executions = self.account.amend(
            order, Decimal(params["newQty"]), params.get("newClientOrderId") or original, self.clock()
        )
        self._schedule(executions, original)
        now = _ms(self.clock())
        amended = {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "origClientOrderId": original,
            "clientOrderId": order.client_id,
            "price": amount(order.price),
            "qty": amount(order.quantity),
            "executedQty": amount(order.executed),
            "preventedQty": amount(None),
            "quoteOrderQty": amount(None),
            "cumulativeQuoteQty": amount(order.quote_executed),
            "status": STATUS[order.status],
            "timeInForce": order.time_in_force,
            "type": TYPE_NAMES[order.kind],
            "side": order.side.upper(),
            "workingTime": _ms(order.created_at),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        return HttpAnswer(
            200, json.dumps({"transactTime": now, "executionId": next(self._ids), "amendedOrder": amended})
        )

    def _cancel_replace(self, params: dict[str, str]) -> HttpAnswer:
        old = self._find(
            {
                "orderId": params.get("cancelOrderId"),
                "symbol": params["symbol"],
                "origClientOrderId": params.get("cancelOrigClientOrderId"),
            }
        )
        cancel_id = params.get("cancelNewClientOrderId") or f"cancel_{next(self._cancel_ids)}"
        cancelled = self.account.cancel(old, self.clock())
        self._schedule(cancelled, cancel_id)
        cancel_json = self._order_json(old, cancel_id=cancel_id)
        try:
            executions = self._place(params, params.get("newClientOrderId") or f"web_{next(self._ids)}")
        except Refused as refused:
            status, code, message = ERRORS[refused.reason]
            return _error(
                409,
                -2021,
                "Order cancel-replace partially failed.",
                data={
                    "cancelResult": "SUCCESS",
                    "newOrderResult": "FAILURE",
                    "cancelResponse": cancel_json,
                    "newOrderResponse": {"code": code, "msg": message},
                },
            )
        self._schedule(executions)
        return HttpAnswer(
            200,
            json.dumps(
                {
                    "cancelResult": "SUCCESS",
                    "newOrderResult": "SUCCESS",
                    "cancelResponse": cancel_json,
                    "newOrderResponse": self._order_json(executions[0].order, full=executions),
                }
            ),
        )

    _endpoints = {
        ("POST", "/api/v3/order"): _new_order,
        ("GET", "/api/v3/order"): _query_order,
        ("DELETE", "/api/v3/order"): _cancel_order,
        ("DELETE", "/api/v3/openOrders"): _cancel_all,
        ("GET", "/api/v3/openOrders"): _open_orders,
        ("GET", "/api/v3/myTrades"): _my_trades,
        ("GET", "/api/v3/account"): _account_info,
        ("PUT", "/api/v3/order/amend/keepPriority"): _amend,
        ("POST", "/api/v3/order/cancelReplace"): _cancel_replace,
    }

    def _find(self, params: dict[str, str | None]) -> SimOrder:
        order_id = params.get("orderId")
        order = self.account.find(int(order_id) if order_id else None, params.get("origClientOrderId"))
        if order.symbol != params.get("symbol"):
            raise Refused("unknown_order")
        return order

    def _order_json(
        self, order: SimOrder, *, full: list[Execution] | None = None, cancel_id: str | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"symbol": order.symbol}
        if cancel_id is not None:
            out["origClientOrderId"] = order.client_id
        out.update(orderId=order.order_id, orderListId=-1, clientOrderId=cancel_id or order.client_id)
        if full is not None or cancel_id is not None:
            out["transactTime"] = _ms(order.updated_at)
        out.update(
            price=amount(order.price),
            origQty=amount(order.quantity),
            executedQty=amount(order.executed),
            origQuoteOrderQty=amount(order.quote_quantity),
            cummulativeQuoteQty=amount(order.quote_executed),
            status=STATUS[order.status],
            timeInForce=order.time_in_force,
            type=TYPE_NAMES[order.kind],
            side=order.side.upper(),
        )
        if order.stop_price is not None:
            out["stopPrice"] = amount(order.stop_price)
        if full is None and cancel_id is None:
            out.update(
                icebergQty=amount(None),
                time=_ms(order.created_at),
                updateTime=_ms(order.updated_at),
                isWorking=True,
                workingTime=_ms(order.created_at),
            )
        elif full is not None:
            out["workingTime"] = _ms(order.created_at)
        out["selfTradePreventionMode"] = "EXPIRE_MAKER"
        if full is not None:
            out["fills"] = [
                {
                    "price": amount(e.trade.price),
                    "qty": amount(e.trade.quantity),
                    "commission": amount(e.trade.commission),
                    "commissionAsset": e.trade.commission_asset,
                    "tradeId": e.trade.trade_id,
                }
                for e in full
                if e.trade is not None
            ]
        return out

    # -- the user data stream ---------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        try:
            async for message in ws:
                request = json.loads(message)
                if path.startswith("/stream"):
                    await ws.send(json.dumps({"result": None, "id": request.get("id")}))
                elif path == "/ws-api/v3":
                    await ws.send(json.dumps(self._ws_answer(ws, request)))
        except ConnectionClosed:
            pass
        finally:
            self.streams.pop(ws, None)

    def _ws_answer(self, ws: ServerConnection, request: dict[str, Any]) -> dict[str, Any]:
        ident, params = request.get("id"), request.get("params") or {}
        limits = [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": 2}
        ]
        if request.get("method") != "userDataStream.subscribe.signature":
            return {
                "id": ident,
                "status": 400,
                "error": {"code": -1100, "msg": "Illegal characters found in parameter 'method'."},
            }
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
        expected = hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if params.get("apiKey") != API_KEY:
            error = (-2015, "Invalid API-key, IP, or permissions for action.")
        elif not hmac.compare_digest(expected, str(params.get("signature", "")).lower()):
            error = (-1022, "Signature for this request is not valid.")
        elif (problem := self._check_time(params)) is not None:
            error = (json.loads(problem.body)["code"], json.loads(problem.body)["msg"])
        else:
            self.streams[ws] = next(self._ids)
            return {"id": ident, "status": 200, "result": {"subscriptionId": self.streams[ws]}, "rateLimits": limits}
        return {"id": ident, "status": 400, "error": {"code": error[0], "msg": error[1]}, "rateLimits": limits}

    def _schedule(self, executions: list[Execution], other_id: str | None = None) -> None:
        """Push the stream messages of ``executions`` once the answer is on its way (as Binance,
        whose events and answers race)."""
        task = asyncio.get_running_loop().create_task(self._publish(executions, other_id))
        self._pushing.add(task)
        task.add_done_callback(self._pushing.discard)

    async def _publish(self, executions: list[Execution], other_id: str | None = None) -> None:
        for execution in executions:
            await self._push(self._execution_report(execution, other_id))
        if any(e.kind in ("trade", "new", "cancelled", "expired", "amended") for e in executions):
            base, quote, _ = self.account.markets[executions[0].order.symbol]
            await self._push(self._position([base, quote]))

    async def _push(self, event: dict[str, Any]) -> None:
        for ws, subscription in list(self.streams.items()):
            try:
                await ws.send(json.dumps({"subscriptionId": subscription, "event": event}))
            except ConnectionClosed:
                self.streams.pop(ws, None)

    def _execution_report(self, execution: Execution, other_id: str | None) -> dict[str, Any]:
        """``c`` is the client id of the request the event answers: a cancel's own (``C`` then
        names the order's), an amend's new one (``C``: the one before)."""
        order, trade, now = execution.order, execution.trade, _ms(self.clock())
        client, original = order.client_id, ""
        if execution.kind == "cancelled" and other_id:
            client, original = other_id, order.client_id
        elif execution.kind == "amended" and other_id:
            original = other_id
        return {
            "e": "executionReport",
            "E": now,
            "s": order.symbol,
            "c": client,
            "S": order.side.upper(),
            "o": TYPE_NAMES[order.kind],
            "f": order.time_in_force,
            "q": amount(order.quantity),
            "p": amount(order.price),
            "P": amount(order.stop_price),
            "F": amount(None),
            "g": -1,
            "C": original,
            "x": EXECUTION_TYPES[execution.kind],
            "X": STATUS[order.status],
            "r": "NONE",
            "i": order.order_id,
            "l": amount(trade.quantity if trade else None),
            "z": amount(order.executed),
            "L": amount(trade.price if trade else None),
            "n": amount(trade.commission if trade else None),
            "N": trade.commission_asset if trade else None,
            "T": _ms(trade.at) if trade else now,
            "t": trade.trade_id if trade else -1,
            "v": 0,
            "I": next(self._ids),
            "w": order.is_open,
            "m": trade.maker if trade else False,
            "M": False,
            "O": _ms(order.created_at),
            "Z": amount(order.quote_executed),
            "Y": amount(trade.price * trade.quantity if trade else None),
            "Q": amount(order.quote_quantity),
            "W": _ms(order.created_at),
            "V": "EXPIRE_MAKER",
        }

    def _position(self, assets: list[str]) -> dict[str, Any]:
        now = _ms(self.clock())
        return {
            "e": "outboundAccountPosition",
            "E": now,
            "u": now,
            "B": [
                {"a": a, "f": amount(self.account.free.get(a)), "l": amount(self.account.locked.get(a))} for a in assets
            ],
        }


def _cost(method: str, path: str, params: dict[str, str]) -> tuple[int, int]:
    """(request weight, new orders) of a call, as the REST API documents them."""
    if path == "/api/v3/depth":
        limit = int(params.get("limit", 100))
        return next(w for most, w in ((100, 5), (500, 25), (1000, 50), (5000, 250)) if limit <= most), 0
    if (method, path) == ("GET", "/api/v3/openOrders"):
        return (6 if "symbol" in params else 80), 0
    if (method, path) == ("GET", "/api/v3/myTrades"):
        return (5 if "orderId" in params else 20), 0
    weights = {
        ("GET", "/api/v3/exchangeInfo"): 20,
        ("GET", "/api/v3/account"): 20,
        ("GET", "/api/v3/order"): 4,
        ("PUT", "/api/v3/order/amend/keepPriority"): 4,
        ("GET", "/api/v3/klines"): 2,
        ("GET", "/api/v3/aggTrades"): 4,
    }
    orders = 1 if (method, path) in (("POST", "/api/v3/order"), ("POST", "/api/v3/order/cancelReplace")) else 0
    return weights.get((method, path), 1), orders


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _error(
    status: int, code: int, message: str, *, headers: dict[str, str] | None = None, data: dict[str, Any] | None = None
) -> HttpAnswer:
    body: dict[str, Any] = {"code": code, "msg": message}
    if data is not None:
        body["data"] = data
    return HttpAnswer(status, json.dumps(body), headers or {})
