"""VALR's private side: its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import ZERO, format_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, TimeInForce
from ...core.pairs import Pair, common_currency
from ...core.times import parse_time
from ..http import Request, Response, retry_after
from ..private import (
    AccountBalances,
    Amendment,
    NotOnExchange,
    PrivateAdapter,
    Quota,
    StreamEvent,
    StreamNotice,
    StreamReply,
    json_request,
)
from ..wire import Fields, expect, load_json
from .public import EXCHANGE, PING, ValrAdapter
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: ``orderStatusType`` of an order (REST and ``ORDER_STATUS_UPDATE``). ``Failed`` is an order VALR
#: took (202) and then refused: insufficient balance, a post-only order that would have matched, a
#: FOK it could not fill, a duplicate ``customerOrderId``.
STATES = {
    "Placed": OrderStatus.OPEN,
    "Active": OrderStatus.OPEN,
    "Partially Filled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Expired": OrderStatus.EXPIRED,
    "Failed": OrderStatus.REJECTED,
}
#: The paths of a new order (``POST``), by xWrap's type.
PLACE_PATHS = {OrderType.LIMIT: "/v1/orders/limit", OrderType.MARKET: "/v1/orders/market"}
CANCEL_PATH = "/v1/orders/order"
#: The header VALR marks a rate-limit refusal with (HTTP 429).
RATE_LIMITED_HEADER = "x-valr-ratelimited"
SUBSCRIBE_ORDERS = orjson.dumps({"type": "SUBSCRIBE", "subscriptions": [{"event": "ORDER_STATUS_UPDATE"}]}).decode()
#: Seconds of a rate-limit window: VALR's counters start again at the start of each minute.
LIMIT_WINDOW = 60


def signature(secret: str, timestamp: int, verb: str, path: str, body: str = "", subaccount_id: str = "") -> str:
    """VALR's request signature: the hex HMAC-SHA512, keyed with the API secret, of the timestamp
    (Unix milliseconds), the verb in capitals, the path with its query, the body as sent and the
    subaccount id (empty for the main account), run together."""
    text = f"{timestamp}{verb.upper()}{path}{body}{subaccount_id}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


class ValrPrivate(PrivateAdapter):
    """A VALR spot account: orders, fills and balances over the signed REST API, order status and
    balances over the account websocket.

    Every signed request carries ``X-VALR-API-KEY``, ``X-VALR-TIMESTAMP`` and ``X-VALR-SIGNATURE``.
    An order goes out with its ``customerOrderId`` (xWrap's client id); VALR answers ``202
    Accepted`` with the order's id only, and refuses what it cannot do afterwards (the order's
    status ``Failed``, with ``failedReason``). A cancel is accepted the same way: what happened
    comes from the stream (``ORDER_STATUS_UPDATE``) or a query. An amend is a cancel, then a new
    order for the rest. A fill's role is not named: VALR takes a maker's fee in what it gives
    (quote for a buy), a taker's in what it gets, and the fee's currency says which.

    Limits: 2,000 calls a minute per API key (and 1,200 per IP), and per second 400 new orders
    and 450 cancels. A 429 (``x-valr-ratelimited: true``) pauses calls for its ``Retry-After``
    where it has one, else to the start of the next minute, when VALR's counters start again.
    """

    name = EXCHANGE
    market_adapter = ValrAdapter
    rest_url = ValrAdapter.rest_url
    stream_url = "wss://api.valr.com/ws/account"
    stream_path = "/ws/account"
    stream_ping = PING
    stream_ping_interval = 20.0
    quotas = (
        Quota("calls per API key", "requests", 2000, 60),
        Quota("POST /v1/orders", "place", 400, 1),
        Quota("DELETE /v1/orders", "cancel", 450, 1),
    )
    # VALR publishes no window after which a signed request is refused; its tolerance of a
    # request's timestamp is taken as 30 s (the account's clock follows VALR's /v1/public/time).
    recv_window = 30.0
    cancel_reports_order = False  # 202 Accepted: the order is asked about

    # -- limits, time, signing ----------------------------------------------------------------------

    def pause_for(self, response: Response, now: float) -> float | None:
        """A 429: its ``Retry-After``, or what remains of the current minute."""
        if response.status != 429:
            return None
        if "retry-after" in response.headers:
            return retry_after(response.headers["retry-after"], now)
        return LIMIT_WINDOW - now % LIMIT_WINDOW

    def answered(self, request: Request, response: Response) -> Response:
        """An accepted order or cancel (``202``: ``{"id": ...}``, or nothing for a cancel) names the
        order's client id and pair only in the request: they are added to the answer, so that it
        reads as an acknowledgement of that order."""
        if response.status >= 300 or request.body is None or request.method not in ("POST", "DELETE"):
            return response
        try:
            answer = orjson.loads(response.body) if response.body.strip() else {}
        except orjson.JSONDecodeError:
            return response  # read as it is: parse_order names what is wrong with it
        if not isinstance(answer, dict):
            return response
        sent = orjson.loads(request.body)
        known = {name: sent[name] for name in ("customerOrderId", "orderId", "pair") if name in sent}
        return replace(response, body=orjson.dumps({**known, **answer}).decode())

    def error(self, response: Response) -> XWrapError:
        code, message = _error_of(response.body)
        text = f"{message} (code {code})" if code is not None else message
        if response.status >= 500:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {text}")
        if response.status == 404:
            return NotOnExchange(EXCHANGE, response.status, text)
        return ExchangeRejected(EXCHANGE, response.status, text)

    def time_request(self) -> Request:
        return Request("/v1/public/time")

    def parse_time(self, body: str) -> float:
        answer = Fields(EXCHANGE, "time", load_json(body, "GET /v1/public/time"))
        return parse_time(answer.label("time"), answer.text("time"))

    def sign(self, request: Request, now: float) -> Request:
        timestamp = round(now * 1000)
        path = f"{request.path}?{urlencode(request.params)}" if request.params else request.path
        return replace(
            request,
            path=path,
            params={},
            headers={
                **request.headers,
                "X-VALR-API-KEY": self.credentials.key,
                "X-VALR-TIMESTAMP": str(timestamp),
                "X-VALR-SIGNATURE": signature(
                    self.credentials.secret, timestamp, request.method, path, request.body or ""
                ),
            },
        )

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw`` and 32 hex digits of the key (34 characters), ``-<revision>`` after the first:
        within ``customerOrderId``'s letters, digits and dashes, at most 50 characters."""
        return "xw" + key.hex()[:32] + (f"-{revision}" if revision else "")

    def check(self, order: Order) -> None:
        if order.type.is_stop:
            raise InvalidParameter(
                "type",
                "market or limit: valr places stops as conditional orders, which xWrap does not place",
                order.type.value,
            )
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: valr has no GTD", "GTD")
        if order.post_only and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on valr", order.time_in_force.value)
        if order.type is OrderType.MARKET and order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", "GTC or IOC for a market order on valr (it never rests)", "FOK")

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /v1/orders/limit`` (``quantity``, ``price``, ``postOnly``, ``timeInForce``) or
        ``POST /v1/orders/market`` (``baseAmount``, or ``quoteAmount`` for funds)."""
        body: dict[str, Any] = {"side": order.side.value.upper(), "pair": self.markets.to_symbol(order.pair)}
        if order.type is OrderType.LIMIT:
            assert order.size is not None and order.price is not None
            body.update(
                quantity=format_decimal(order.size),
                price=format_decimal(order.price),
                postOnly=order.post_only,
                timeInForce=order.time_in_force.value,
            )
        elif order.funds is not None:
            body["quoteAmount"] = format_decimal(order.funds)
        else:
            assert order.size is not None
            body["baseAmount"] = format_decimal(order.size)
        body["customerOrderId"] = client_id
        return _private("POST", PLACE_PATHS[order.type], "place", body)

    def query_request(self, order: Order, client_id: str) -> Request:
        return _private("GET", f"/v1/orders/{self.markets.to_symbol(order.pair)}/customerorderid/{client_id}")

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        """The account's last 100 trades on the pair (VALR has no trades per order: the answer is
        filtered by each fill's order)."""
        return _private("GET", f"/v1/account/{self.markets.to_symbol(order.pair)}/tradehistory", params={"limit": 100})

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By the order's id where it is known, else by its client id (never both, as VALR asks)."""
        body = {"orderId": order.exchange_order_id} if order.exchange_order_id else {"customerOrderId": client_id}
        return _private("DELETE", CANCEL_PATH, "cancel", {**body, "pair": self.markets.to_symbol(order.pair)})

    def cancel_all_request(self, pair: Pair) -> Request:
        return _private("DELETE", f"/v1/orders/{self.markets.to_symbol(pair)}", "cancel")

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """The account cancels, then places the rest as a new order under ``next_client_id``."""
        return Amendment(None, False, next_client_id)

    def open_orders_request(self) -> Request:
        return _private("GET", "/v1/orders/open")

    def balances_request(self) -> Request:
        return _private("GET", "/v1/account/balances")

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """An order status (a query's answer), or an acceptance (a placement's or cancel's, with the
        ids :meth:`answered` added: open, nothing filled yet)."""
        raw = load_json(body, f"an order answer on {EXCHANGE}")
        answer = Fields(EXCHANGE, "order", raw)
        if not answer.has("orderStatusType"):
            exchange_id = answer.raw.get("orderId") or answer.raw.get("id") or ""
            return OrderReport(str(exchange_id), str(answer.raw.get("customerOrderId", "")), OrderStatus.OPEN, ZERO, at)
        return self._status(answer)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """``GET /v1/orders/open`` (the open orders), or a cancel-all's answer (the ids of the
        orders it cancels: open until the stream or a query says)."""
        rows = expect(load_json(body, f"an orders answer on {EXCHANGE}"), list, f"orders on {EXCHANGE}", "a JSON list")
        reports = []
        for index, raw in enumerate(rows):
            row = Fields(EXCHANGE, f"order {index}", raw)
            if not row.has("status"):
                reports.append(
                    OrderReport(
                        row.text("orderId"), str(row.raw.get("customerOrderId", "")), OrderStatus.OPEN, ZERO, at
                    )
                )
                continue
            original = row.decimal("originalQuantity")
            reports.append(
                OrderReport(
                    row.text("orderId"),
                    str(row.raw.get("customerOrderId", "")),
                    _state(row, "status"),
                    original - row.decimal("remainingQuantity"),
                    parse_time(row.label("updatedAt"), row.text("updatedAt")),
                )
            )
        return reports

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /v1/account/{pair}/tradehistory``, newest first: the fills oldest first, each
        trade's ``orderId`` in its cause."""
        rows = expect(load_json(body, f"trades on {EXCHANGE}"), list, f"trades on {EXCHANGE}", "a JSON list")
        fills = [self._fill(Fields(EXCHANGE, f"trade {index}", raw)) for index, raw in enumerate(rows)]
        return sorted(reversed(fills), key=lambda fill: fill.at)

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /v1/account/balances``: available plus reserved, per currency."""
        rows = expect(load_json(body, f"balances on {EXCHANGE}"), list, f"balances on {EXCHANGE}", "a JSON list")
        totals: dict[str, Decimal] = {}
        for index, raw in enumerate(rows):
            balance = Fields(EXCHANGE, f"balance {index}", raw)
            total = balance.decimal("available") + balance.decimal("reserved")
            if total:
                totals[common_currency(EXCHANGE, balance.text("currency"))] = total
        return AccountBalances(totals, at, complete=True)

    def _status(self, status: Fields) -> OrderReport:
        return OrderReport(
            status.text("orderId"),
            str(status.raw.get("customerOrderId") or ""),
            _state(status, "orderStatusType"),
            status.decimal("originalQuantity") - status.decimal("remainingQuantity"),
            parse_time(status.label("orderUpdatedAt"), status.text("orderUpdatedAt")),
            reason=str(status.raw.get("failedReason") or ""),
        )

    def _fill(self, trade: Fields) -> Fill:
        """A trade of the account: maker where VALR took the fee in what the order gives (the quote
        currency of a buy, the base of a sell), taker where in what it gets."""
        pair = self.markets.to_pair(trade.text("currencyPair"))
        fee_currency = common_currency(EXCHANGE, trade.text("feeCurrency"))
        gives = pair.quote if trade.text("side").lower() == "buy" else pair.base
        return Fill(
            "",
            trade.text("id"),
            trade.decimal("price", positive=True),
            trade.decimal("quantity", positive=True),
            trade.decimal("fee"),
            fee_currency,
            Liquidity.MAKER if fee_currency == gives else Liquidity.TAKER,
            parse_time(trade.label("tradedAt"), trade.text("tradedAt")),
            {"exchange_order_id": trade.text("orderId")},
        )

    # -- the stream -------------------------------------------------------------------------------

    def stream_subscribe(self, now: float) -> list[str]:
        """``AUTHENTICATE`` with the signature of ``GET /ws/account`` at ``now``; the
        ``ORDER_STATUS_UPDATE`` subscription follows once VALR answers ``AUTHENTICATED``
        (balances come unasked from then on)."""
        timestamp = round(now * 1000)
        payload = {
            "apiKey": self.credentials.key,
            "signature": signature(self.credentials.secret, timestamp, "GET", self.stream_path or "/ws/account"),
            "timestamp": timestamp,
        }
        return [orjson.dumps({"type": "AUTHENTICATE", "payload": payload}).decode()]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """``ORDER_STATUS_UPDATE`` (an order's status and what remains: its fills are asked for),
        ``BALANCE_UPDATE`` (available plus reserved of one currency), ``AUTHENTICATED`` (answered
        with the subscription), the subscription's acknowledgement, ``UNAUTHORIZED`` and ``ERROR``
        (the stream must be opened again); the other account events and pongs are nothing."""
        msg = orjson.loads(message)
        kind = msg.get("type")
        if kind == "ORDER_STATUS_UPDATE":
            return [self._status(Fields(EXCHANGE, "ORDER_STATUS_UPDATE", msg.get("data")))]
        if kind == "BALANCE_UPDATE":
            balance = Fields(EXCHANGE, "BALANCE_UPDATE", msg.get("data"))
            currency = Fields(EXCHANGE, "BALANCE_UPDATE", balance.value("currency"), "currency.")
            total = balance.decimal("available") + balance.decimal("reserved")
            moment = parse_time(balance.label("updatedAt"), balance.text("updatedAt"))
            return [
                AccountBalances({common_currency(EXCHANGE, currency.text("shortName")): total}, moment, complete=False)
            ]
        if kind == "AUTHENTICATED":
            return [StreamReply((SUBSCRIBE_ORDERS,))]
        if kind == "SUBSCRIBED":
            return [StreamNotice(f"subscribed to {msg.get('message', 'ORDER_STATUS_UPDATE')}")]
        if kind in ("UNAUTHORIZED", "ERROR"):
            return [StreamNotice(f"{kind}: {msg.get('message', msg)}", fatal=True)]
        return []


def _private(
    method: str,
    path: str,
    kind: str | None = None,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Request:
    """A signed request costing one call of the key's minute and, for ``kind``, one of its quota;
    ``body`` sent as compact JSON."""
    return json_request(method, path, {"requests": 1, **({kind: 1} if kind else {})}, body, params)


def _state(fields: Fields, name: str) -> OrderStatus:
    state = fields.text(name)
    if state not in STATES:
        raise InvalidParameter(fields.label(name), "one of " + ", ".join(STATES), state)
    return STATES[state]


def _error_of(body: str) -> tuple[int | None, str]:
    """(code, message) of ``{"code": -11, "message": "..."}``; (None, the body) for anything else."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    code = raw.get("code") if isinstance(raw, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        return code, str(raw.get("message", ""))
    return None, body[:200]
