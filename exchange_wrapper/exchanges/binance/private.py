"""Binance's private side: its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import format_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, TimeInForce
from ...core.pairs import Pair, common_currency
from ...core.symbols import SymbolTable
from ..base import Credentials
from ..http import DEFAULT_RETRY_AFTER, Request, Response, retry_after
from ..private import AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota, StreamEvent, StreamNotice
from ..wire import Fields, expect, load_json
from .public import EXCHANGE, BinanceAdapter, rate_limits
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: Milliseconds after its ``timestamp`` a signed request is refused (-1021): Binance's default
#: ``recvWindow``. A placement signed longer ago than that can no longer execute.
RECV_WINDOW_MS = 5000
API_KEY_HEADER = "X-MBX-APIKEY"
#: ``newClientOrderId``: unique among the account's open orders.
CLIENT_ORDER_ID = re.compile(r"[a-zA-Z0-9-_]{1,36}")
#: Request weights of the private REST endpoints (REST API documentation, 2026).
PLACE_WEIGHT = CANCEL_WEIGHT = CANCEL_ALL_WEIGHT = CANCEL_REPLACE_WEIGHT = TIME_WEIGHT = 1
AMEND_WEIGHT = QUERY_WEIGHT = 4
FILLS_BY_ORDER_WEIGHT = 5  # GET /api/v3/myTrades with orderId (20 without)
OPEN_ORDERS_ALL_WEIGHT = 80  # GET /api/v3/openOrders without symbol (6 with one)
ACCOUNT_WEIGHT = 20
#: Error codes: the order asked about does not exist (-2013 on a query; -2011 "Unknown order sent."
#: on a cancel); the outcome is unknown (-1006 unexpected answer, -1007 backend timeout).
NOT_FOUND_CODES = (-2013, -2011)
UNKNOWN_OUTCOME_CODES = (-1006, -1007)
#: A 418's message: "Way too much request weight used; IP banned until 1659146699000. ..."
BANNED_UNTIL = re.compile(r"banned until (\d{10,})")
#: ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-10S`` etc., read as :class:`Quota` names.
USED_HEADER = re.compile(r"x-mbx-(used-weight|order-count)-(\d+)([smhd])")
_USED_KIND = {"used-weight": "REQUEST_WEIGHT", "order-count": "ORDERS"}

STATUSES = {
    "NEW": OrderStatus.OPEN,
    "PENDING_NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PENDING_CANCEL": OrderStatus.OPEN,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
#: xWrap's order (type, post-only) -> Binance's ``type``. A stop buys above the market and sells
#: below it: Binance's STOP_LOSS for both sides.
ORDER_TYPES = {
    (OrderType.LIMIT, False): "LIMIT",
    (OrderType.LIMIT, True): "LIMIT_MAKER",
    (OrderType.MARKET, False): "MARKET",
    (OrderType.STOP_MARKET, False): "STOP_LOSS",
    (OrderType.STOP_LIMIT, False): "STOP_LOSS_LIMIT",
}
_WITH_TIME_IN_FORCE = frozenset({"LIMIT", "STOP_LOSS_LIMIT"})


def signature(secret: str, total_params: str) -> str:
    """REST: the hex HMAC-SHA256 of ``totalParams`` (the query string followed directly by the
    form body) keyed with the secret."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def ws_signature(secret: str, params: Mapping[str, object]) -> str:
    """WebSocket API: the request's parameters but ``signature``, sorted by name, as
    ``name=value`` joined with ``&``, signed like :func:`signature`."""
    payload = "&".join(f"{name}={params[name]}" for name in sorted(params) if name != "signature")
    return signature(secret, payload)


@dataclass(frozen=True)
class _SymbolRules:
    """What ``exchangeInfo`` says one symbol accepts (fields absent before 2023 count as no)."""

    order_types: frozenset[str]
    quote_orders: bool  # quoteOrderQtyMarketAllowed: market orders by quote amount
    amend: bool  # amendAllowed: PUT /api/v3/order/amend/keepPriority
    cancel_replace: bool  # cancelReplaceAllowed: POST /api/v3/order/cancelReplace


def _symbol_rules(metadata: str | bytes) -> dict[str, _SymbolRules]:
    if not metadata:
        return {}
    info = load_json(metadata, f"GET /api/v3/exchangeInfo on {EXCHANGE}")
    return {
        raw["symbol"]: _SymbolRules(
            frozenset(raw.get("orderTypes", ())),
            raw.get("quoteOrderQtyMarketAllowed", False) is True,
            raw.get("amendAllowed", False) is True,
            raw.get("cancelReplaceAllowed", False) is True,
        )
        for raw in info.get("symbols", ())
        if isinstance(raw, dict) and "symbol" in raw
    }


class BinancePrivate(PrivateAdapter):
    """A Binance spot account: orders, fills and balances over the signed REST API, the user data
    stream over the WebSocket API.

    Every signed request carries ``recvWindow`` and ``timestamp`` in its query string and the
    ``signature`` last (POST, PUT and DELETE take their parameters there too). The user data stream
    is a ``userDataStream.subscribe.signature`` request on ``wss://ws-api.binance.com/ws-api/v3``
    (the ``listenKey`` of ``POST /api/v3/userDataStream`` was discontinued on 2026-02-20), and
    pushes ``executionReport`` and ``outboundAccountPosition`` events. Limits: request weight per
    IP, order counts per account, raw requests; the ``X-MBX-USED-WEIGHT-1M`` and
    ``X-MBX-ORDER-COUNT-*`` headers of each answer say how much the exchange counts.
    """

    name = EXCHANGE
    market_adapter = BinanceAdapter
    rest_url = BinanceAdapter.rest_url
    stream_url = "wss://ws-api.binance.com:443/ws-api/v3"
    stream_path = "/ws-api/v3"
    quotas = (
        Quota("REQUEST_WEIGHT 1m", "weight", 6000, 60),
        Quota("ORDERS 10s", "orders", 100, 10),
        Quota("ORDERS 1d", "orders", 200_000, 86400),
        Quota("RAW_REQUESTS 5m", "requests", 61_000, 300),
    )
    recv_window = RECV_WINDOW_MS / 1000

    def __init__(self, markets: SymbolTable, credentials: Credentials, metadata: str | bytes = b""):
        super().__init__(markets, credentials, metadata)
        self.rules = _symbol_rules(metadata)

    # -- limits, time, signing ----------------------------------------------------------------------

    def published_quotas(self, metadata: str | bytes) -> tuple[Quota, ...]:
        return tuple(rate_limits(metadata)) or self.quotas

    def used(self, response: Response) -> dict[str, float]:
        used = {}
        for header, value in response.headers.items():
            match = USED_HEADER.fullmatch(header)
            if match and value.isdigit():
                used[f"{_USED_KIND[match[1]]} {match[2]}{match[3]}"] = float(value)
        return used

    def pause_for(self, response: Response, now: float) -> float | None:
        """A 429 (-1003 weight, -1015 orders) or 418 (IP ban): its ``Retry-After``, or the ban's
        end the message states, whichever is later."""
        if response.status not in (429, 418):
            return None
        seconds = [retry_after(response.headers["retry-after"], now)] if "retry-after" in response.headers else []
        banned = BANNED_UNTIL.search(response.body)
        if banned:
            seconds.append(int(banned[1]) / 1000 - now)
        return max(seconds) if seconds else DEFAULT_RETRY_AFTER

    def error(self, response: Response) -> XWrapError:
        code, message = _error_of(response.body)
        text = f"{message} (code {code})" if code is not None else message
        if response.status >= 500 or code in UNKNOWN_OUTCOME_CODES:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {text}")
        if code in NOT_FOUND_CODES and "not canceled" not in message:
            return NotOnExchange(EXCHANGE, response.status, text)
        return ExchangeRejected(EXCHANGE, response.status, text)

    def time_request(self) -> Request:
        return Request("/api/v3/time", weight=TIME_WEIGHT, costs={"weight": TIME_WEIGHT, "requests": 1})

    def parse_time(self, body: str) -> float:
        return Fields(EXCHANGE, "time", load_json(body, "GET /api/v3/time")).integer("serverTime") / 1000

    def sign(self, request: Request, now: float) -> Request:
        query = urlencode({**request.params, "recvWindow": RECV_WINDOW_MS, "timestamp": round(now * 1000)})
        return replace(
            request,
            path=f"{request.path}?{query}&signature={signature(self.credentials.secret, query)}",
            params={},
            headers={**request.headers, API_KEY_HEADER: self.credentials.key},
        )

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw`` and 28 hex digits of the key (30 characters), ``-<revision>`` after the first:
        within ``^[a-zA-Z0-9-_]{1,36}$`` up to revision 99999."""
        client_id = "xw" + key.hex()[:28] + (f"-{revision}" if revision else "")
        if not CLIENT_ORDER_ID.fullmatch(client_id):
            raise InvalidParameter("revision", "at most 99999 replacements of one order on binance", revision)
        return client_id

    def check(self, order: Order) -> None:
        symbol = self.markets.to_symbol(order.pair)
        kind = ORDER_TYPES[(order.type, order.post_only)]
        rules = self.rules.get(symbol)
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: binance has no GTD", "GTD")
        if rules is not None and kind not in rules.order_types:
            offered = sorted(
                f"{t.value}{' post_only' if post else ''}"
                for (t, post), name in ORDER_TYPES.items()
                if name in rules.order_types
            )
            raise InvalidParameter(
                "post_only" if order.post_only else "type",
                f"an order {symbol} takes on binance: {', '.join(offered)}",
                "post_only" if order.post_only else order.type.value,
            )
        if kind not in _WITH_TIME_IN_FORCE and order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", f"GTC or IOC for a {order.type.value} order on binance", "FOK")
        if kind == "LIMIT_MAKER" and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on binance", order.time_in_force.value)
        if order.funds is not None and rules is not None and not rules.quote_orders:
            raise InvalidParameter(
                "funds",
                f"a size: {symbol} takes no quote amount (quoteOrderQty) on binance",
                format_decimal(order.funds),
            )

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /api/v3/order`` answered ``FULL`` (with the fills made at once)."""
        kind = ORDER_TYPES[(order.type, order.post_only)]
        params = self._order_params(order, kind, order.size, order.price)
        params += [("newClientOrderId", client_id), ("newOrderRespType", "FULL")]
        return _signed("POST", "/api/v3/order", params, PLACE_WEIGHT, orders=1)

    def _order_params(
        self, order: Order, kind: str, size: Decimal | None, price: Decimal | None
    ) -> list[tuple[str, str]]:
        params = [("symbol", self.markets.to_symbol(order.pair)), ("side", order.side.value.upper()), ("type", kind)]
        if kind in _WITH_TIME_IN_FORCE:
            params.append(("timeInForce", order.time_in_force.value))
        if size is not None:
            params.append(("quantity", format_decimal(size)))
        elif order.funds is not None:
            params.append(("quoteOrderQty", format_decimal(order.funds)))
        if price is not None:
            params.append(("price", format_decimal(price)))
        if order.stop_price is not None:
            params.append(("stopPrice", format_decimal(order.stop_price)))
        return params

    def query_request(self, order: Order, client_id: str) -> Request:
        return _signed(
            "GET",
            "/api/v3/order",
            [("symbol", self.markets.to_symbol(order.pair)), ("origClientOrderId", client_id)],
            QUERY_WEIGHT,
        )

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return _signed(
            "GET",
            "/api/v3/myTrades",
            [("symbol", self.markets.to_symbol(order.pair)), ("orderId", exchange_order_id), ("limit", "1000")],
            FILLS_BY_ORDER_WEIGHT,
        )

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By ``orderId`` where it is known (the faster cancel), else by the client id."""
        key = ("orderId", order.exchange_order_id) if order.exchange_order_id else ("origClientOrderId", client_id)
        return _signed("DELETE", "/api/v3/order", [("symbol", self.markets.to_symbol(order.pair)), key], CANCEL_WEIGHT)

    def cancel_all_request(self, pair: Pair) -> Request:
        return _signed("DELETE", "/api/v3/openOrders", [("symbol", self.markets.to_symbol(pair))], CANCEL_ALL_WEIGHT)

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """A smaller size at the same price: ``PUT /api/v3/order/amend/keepPriority`` (``newQty`` is
        the exchange order's new quantity, keeping the client id). Anything else:
        ``POST /api/v3/order/cancelReplace`` (STOP_ON_FAILURE) with the size still to fill, or, on a
        symbol without cancelReplaceAllowed, a cancel then a new order."""
        symbol = self.markets.to_symbol(order.pair)
        rules = self.rules.get(symbol)
        assert order.size is not None and order.exchange_order_id is not None
        if price == order.price and size < order.size and (rules is None or rules.amend):
            return Amendment(
                _signed(
                    "PUT",
                    "/api/v3/order/amend/keepPriority",
                    [
                        ("symbol", symbol),
                        ("orderId", order.exchange_order_id),
                        ("newClientOrderId", client_id),
                        ("newQty", format_decimal(size - base)),
                    ],
                    AMEND_WEIGHT,
                ),
                True,
                client_id,
            )
        if rules is not None and not rules.cancel_replace:
            return Amendment(None, False, next_client_id)
        params = self._order_params(order, ORDER_TYPES[(order.type, order.post_only)], size - order.filled_size, price)
        params[3:3] = [("cancelReplaceMode", "STOP_ON_FAILURE"), ("cancelOrderId", order.exchange_order_id)]
        params += [("newClientOrderId", next_client_id), ("newOrderRespType", "FULL")]
        return Amendment(
            _signed("POST", "/api/v3/order/cancelReplace", params, CANCEL_REPLACE_WEIGHT, orders=1),
            False,
            next_client_id,
        )

    def open_orders_request(self) -> Request:
        return _signed("GET", "/api/v3/openOrders", [], OPEN_ORDERS_ALL_WEIGHT)

    def balances_request(self) -> Request:
        return _signed("GET", "/api/v3/account", [("omitZeroBalances", "true")], ACCOUNT_WEIGHT)

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """An order as ``POST``, ``GET`` and ``DELETE /api/v3/order`` answer it (a cancel's own
        client id is ``clientOrderId``, the order's ``origClientOrderId``)."""
        return self._report(load_json(body, f"an order answer on {EXCHANGE}"), at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """``GET /api/v3/openOrders``, ``DELETE /api/v3/openOrders`` (order lists flattened)."""
        rows = expect(load_json(body, f"an orders answer on {EXCHANGE}"), list, f"orders on {EXCHANGE}", "a JSON list")
        return [
            self._report(raw, at)
            for row in rows
            for raw in (row.get("orderReports", [row]) if isinstance(row, dict) else [row])
        ]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """keepPriority: the ``amendedOrder``; cancelReplace: ``cancelResponse`` then ``newOrderResponse``."""
        answer = Fields(EXCHANGE, "amend", load_json(body, f"an amend answer on {EXCHANGE}"))
        if amendment.in_place:
            amended = answer.nested("amendedOrder").raw
            return [self._report({**amended, "transactTime": answer.raw.get("transactTime")}, at)]
        return [
            self._report(answer.nested("cancelResponse").raw, at),
            self._report(answer.nested("newOrderResponse").raw, at),
        ]

    def partial_amend(self, body: str, at: float) -> list[OrderReport]:
        """A cancelReplace refused half-way (-2021: the order was cancelled, its replacement not
        placed): the cancelled order's report; nothing for other answers."""
        raw = _json_or_none(body)
        data = raw.get("data") if isinstance(raw, dict) else None
        if not isinstance(data, dict):
            return []
        cancelled = data.get("cancelResponse")
        if isinstance(cancelled, dict) and data.get("cancelResult") == "SUCCESS":
            return [self._report(cancelled, at)]
        return []

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /api/v3/myTrades``: one row per trade of the order."""
        rows = expect(
            load_json(body, f"GET /api/v3/myTrades on {EXCHANGE}"), list, f"trades on {EXCHANGE}", "a JSON list"
        )
        fills = []
        for index, raw in enumerate(rows):
            trade = Fields(EXCHANGE, f"trade {index}", raw)
            fills.append(
                self._fill(
                    trade,
                    "id",
                    "price",
                    "qty",
                    "commission",
                    "commissionAsset",
                    trade.flag("isMaker"),
                    trade.integer("time"),
                    str(trade.integer("orderId")),
                )
            )
        return fills

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /api/v3/account``: free plus locked per asset (zero balances left out)."""
        account = Fields(EXCHANGE, "account", load_json(body, f"GET /api/v3/account on {EXCHANGE}"))
        totals = {}
        for index, raw in enumerate(expect(account.value("balances"), list, account.label("balances"), "a JSON list")):
            balance = Fields(EXCHANGE, "account", raw, f"balances[{index}].")
            total = balance.decimal("free") + balance.decimal("locked")
            if total:
                totals[common_currency(EXCHANGE, balance.text("asset"))] = total
        return AccountBalances(totals, at, complete=True)

    def _report(self, raw: object, at: float) -> OrderReport:
        order = Fields(EXCHANGE, raw.get("symbol", "order") if isinstance(raw, dict) else "order", raw)
        exchange_order_id = str(order.integer("orderId"))
        time = next((order.integer(name) for name in ("transactTime", "updateTime", "time") if order.has(name)), None)
        fills = tuple(
            self._fill(
                Fields(EXCHANGE, order.symbol, fill, f"fills[{index}]."),
                "tradeId",
                "price",
                "qty",
                "commission",
                "commissionAsset",
                False,
                time,
                exchange_order_id,
            )
            for index, fill in enumerate(order.raw.get("fills") or ())
        )
        return OrderReport(
            exchange_order_id,
            order.raw.get("origClientOrderId") or order.text("clientOrderId"),
            _order_status(order, "status"),
            order.decimal("executedQty"),
            at if time is None else time / 1000,
            fills,
        )

    def _fill(
        self,
        fields: Fields,
        trade_id: str,
        price: str,
        size: str,
        fee: str,
        asset: str,
        maker: bool,
        time: int | None,
        exchange_order_id: str,
    ) -> Fill:
        fee_asset = fields.raw.get(asset)
        currency = (
            common_currency(EXCHANGE, fee_asset)
            if fee_asset
            else self.markets.to_pair(fields.raw.get("symbol") or fields.symbol).quote
        )
        return Fill(
            "",
            str(fields.integer(trade_id)),
            fields.decimal(price, positive=True),
            fields.decimal(size, positive=True),
            fields.decimal(fee),
            currency,
            Liquidity.MAKER if maker else Liquidity.TAKER,
            0.0 if time is None else time / 1000,
            {"exchange_order_id": exchange_order_id},
        )

    # -- the stream -------------------------------------------------------------------------------

    def stream_subscribe(self, now: float) -> list[str]:
        timestamp = round(now * 1000)
        params: dict[str, object] = {"apiKey": self.credentials.key, "timestamp": timestamp}
        params["signature"] = ws_signature(self.credentials.secret, params)
        return [
            orjson.dumps(
                {"id": f"subscribe-{timestamp}", "method": "userDataStream.subscribe.signature", "params": params}
            ).decode()
        ]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """``{"subscriptionId": 0, "event": {...}}``: ``executionReport`` (a trade's fill when its
        execution type ``x`` is TRADE; the order's client id is ``C`` where the event is about a
        cancel or an amend), ``outboundAccountPosition`` (free plus locked of the assets that
        changed), ``eventStreamTerminated``; answers to requests (``status`` 200, or an error)."""
        msg = orjson.loads(message)
        event = msg.get("event")
        if event is None:
            if msg.get("status") == 200:
                return [StreamNotice(f"subscribed (subscription {(msg.get('result') or {}).get('subscriptionId')})")]
            error = msg.get("error") or {}
            return [StreamNotice(f"{error.get('msg', msg)} (code {error.get('code')})", fatal=True)]
        kind = event.get("e")
        if kind == "executionReport":
            return [self._execution_report(Fields(EXCHANGE, event.get("s", "executionReport"), event))]
        if kind == "outboundAccountPosition":
            position = Fields(EXCHANGE, "outboundAccountPosition", event)
            totals = {}
            for index, raw in enumerate(expect(position.value("B"), list, position.label("B"), "a JSON list")):
                balance = Fields(EXCHANGE, "outboundAccountPosition", raw, f"B[{index}].")
                totals[common_currency(EXCHANGE, balance.text("a"))] = balance.decimal("f") + balance.decimal("l")
            return [AccountBalances(totals, position.integer("E") / 1000, complete=False)]
        if kind == "eventStreamTerminated":
            return [StreamNotice("the exchange ended the user data stream", fatal=True)]
        return []

    def _execution_report(self, event: Fields) -> OrderReport:
        exchange_order_id = str(event.integer("i"))
        fills: tuple[Fill, ...] = ()
        if event.text("x") == "TRADE":
            fills = (
                self._fill(event, "t", "L", "l", "n", "N", event.flag("m"), event.integer("T"), exchange_order_id),
            )
        reason = event.raw.get("r") or ""
        return OrderReport(
            exchange_order_id,
            event.raw.get("C") or event.text("c"),
            _order_status(event, "X"),
            event.decimal("z"),
            event.integer("E") / 1000,
            fills,
            "" if reason == "NONE" else reason,
        )


def _signed(method: str, path: str, params: list[tuple[str, str]], weight: float, orders: int = 0) -> Request:
    return Request(
        path, dict(params), weight=weight, method=method, costs={"weight": weight, "orders": orders, "requests": 1}
    )


def _order_status(fields: Fields, name: str) -> OrderStatus:
    status = fields.text(name)
    if status not in STATUSES:
        raise InvalidParameter(fields.label(name), "one of " + ", ".join(STATUSES), status)
    return STATUSES[status]


def _json_or_none(body: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _error_of(body: str) -> tuple[int | None, str]:
    """(code, msg) of ``{"code": -2010, "msg": "..."}``; (None, the body) for anything else."""
    raw = _json_or_none(body)
    if isinstance(raw, dict) and isinstance(raw.get("code"), int):
        return raw["code"], str(raw.get("msg", ""))
    return None, body[:200]
