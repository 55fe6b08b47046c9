"""Bitfinex's private side: its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import ZERO, format_decimal, parse_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from ...core.pairs import Pair, common_currency
from ...core.symbols import SymbolTable
from ..base import Credentials, decimal_loads
from ..http import Request, Response, retry_after
from ..private import AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota, StreamEvent, StreamNotice
from ..wire import Fields, expect
from .public import EXCHANGE, MAINTENANCE_OVER, BitfinexAdapter, to_decimal
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

#: Authenticated REST calls and the authenticated websocket ("Authenticated Channels": the public
#: hosts api-pub.* take no keys).
PRIVATE_REST_URL = "https://api.bitfinex.com"
PRIVATE_WS_URL = "wss://api.bitfinex.com/ws/2"
#: Order flag: post-only (``flags`` of an order, "Flag Values").
POST_ONLY = 4096
#: Bits of the client key in a ``cid``: a positive integer well inside JSON's safe integers.
CID_BITS = 45
#: Bits of a pair's group id (``gid``): xWrap's orders on one pair share one, which cancel-all uses.
GID_BITS = 31
#: Seconds Bitfinex blocks an IP that broke a limit ("blocked for 60 seconds", Requirements and
#: Limitations), when the answer gives no Retry-After.
RATE_LIMIT_BLOCK = 60.0
#: A REST limit is per endpoint and IP, 10 to 90 a minute; the endpoints used here state 90
#: ("Rate Limit: 90 reqs/min" on Retrieve Orders; 90 for the others, the ceiling, as none states less).
ENDPOINT_LIMIT = (90, 60.0)
#: Orders history answers at most this many orders (its ``limit``, default 25).
HISTORY_LIMIT = 2500
#: A query by client id looks at the history from this many seconds before the order was made.
HISTORY_MARGIN = 60.0

#: The authenticated endpoints, by the quota each spends (paths are under ``/v2/auth/``).
SUBMIT, UPDATE, CANCEL, CANCEL_MULTI = "w/order/submit", "w/order/update", "w/order/cancel", "w/order/cancel/multi"
ORDERS, ORDERS_HISTORY, ORDER_TRADES, WALLETS = "r/orders", "r/orders/hist", "r/order/trades", "r/wallets"
ENDPOINTS = (SUBMIT, UPDATE, CANCEL, CANCEL_MULTI, ORDERS, ORDERS_HISTORY, ORDER_TRADES, WALLETS)

#: xWrap's (type, time in force) -> Bitfinex's exchange-wallet order type. A market order is taken
#: at once whatever its time in force; a stop's ``price`` is its trigger.
_GTC, _IOC, _FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
ORDER_TYPES = {
    (OrderType.LIMIT, _GTC): "EXCHANGE LIMIT",
    (OrderType.LIMIT, _IOC): "EXCHANGE IOC",
    (OrderType.LIMIT, _FOK): "EXCHANGE FOK",
    (OrderType.MARKET, _GTC): "EXCHANGE MARKET",
    (OrderType.MARKET, _IOC): "EXCHANGE MARKET",
    (OrderType.STOP_MARKET, _GTC): "EXCHANGE STOP",
    (OrderType.STOP_LIMIT, _GTC): "EXCHANGE STOP LIMIT",
}
#: Order STATUS (its words before " @ " or " was:") -> xWrap's status. A post-only order that would
#: have taken is refused; IOC and FOK leftovers expire; the rest of the cancellations (dust, a
#: pause, not enough balance) are cancellations with the exchange's words as the reason.
STATUSES = {
    "ACTIVE": OrderStatus.OPEN,
    "PARTIALLY FILLED": OrderStatus.PARTIALLY_FILLED,
    "EXECUTED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "POSTONLY CANCELED": OrderStatus.REJECTED,
    "IOC CANCELED": OrderStatus.EXPIRED,
    "FILLORKILL CANCELED": OrderStatus.EXPIRED,
    "RSN_DUST": OrderStatus.CANCELLED,
    "RSN_PAUSE": OrderStatus.CANCELLED,
}
#: Error codes ("Abbreviations glossary"): ERR_UNK, whose outcome nobody knows; and the text of an
#: error that timed out. Every other error array is a refusal.
UNKNOWN_OUTCOME_CODES = frozenset({10000})
UNKNOWN_OUTCOME_TEXT = re.compile(r"time(d)?[ _-]?out", re.IGNORECASE)
#: The exchange's words for an order it does not know (cancel, update: ``["error", 10001, "Order
#: not found."]``); the rate-limit error (``{"error": "ERR_RATE_LIMIT"}``, or code 11010).
NOT_FOUND_TEXT = "Order not found"
RATE_LIMIT_TOKEN, RATE_LIMIT_CODE = "ERR_RATE_LIMIT", 11010
#: Order array columns (Retrieve Orders, "Order arrays").
_ID, _CID, _MTS_CREATE, _MTS_UPDATE, _AMOUNT, _AMOUNT_ORIG, _STATUS = 0, 2, 4, 5, 6, 7, 13
#: Trade array columns (own trades ``tu``, Order Trades).
_TRADE_COLUMNS = (
    "ID",
    "SYMBOL",
    "MTS_CREATE",
    "ORDER_ID",
    "EXEC_AMOUNT",
    "EXEC_PRICE",
    "ORDER_TYPE",
    "ORDER_PRICE",
    "MAKER",
    "FEE",
    "FEE_CURRENCY",
    "CID",
)
_NO_EVENTS: list[StreamEvent] = []


def signature(secret: str, path: str, nonce: str, body: str) -> str:
    """REST: ``bfx-signature``, the hex HMAC-SHA384 of ``"/api" + path + nonce + body`` keyed with
    the secret (``path`` as requested, ``/v2/auth/r/wallets``; ``body`` the JSON sent, ``{}`` when
    there are no parameters)."""
    return hmac.new(secret.encode(), f"/api{path}{nonce}{body}".encode(), hashlib.sha384).hexdigest()


def auth_signature(secret: str, nonce: str) -> str:
    """Websocket log-in: ``authSig``, the hex HMAC-SHA384 of ``authPayload`` = ``"AUTH" + nonce``."""
    return hmac.new(secret.encode(), f"AUTH{nonce}".encode(), hashlib.sha384).hexdigest()


def group_id(symbol: str) -> int:
    """The ``gid`` xWrap gives its orders on ``symbol`` (31 bits of a hash of it): cancel-all of
    a pair is a cancel of that group, which leaves other pairs and orders placed elsewhere alone."""
    return int.from_bytes(hashlib.sha256(f"xwrap/{symbol}".encode()).digest()[:4], "big") >> (32 - GID_BITS)


@dataclass(frozen=True)
class OrderQuery(Request):
    """A list of orders asked for one of them: the answer is read for ``client_id`` (a ``cid``)."""

    client_id: str = ""


class BitfinexPrivate(PrivateAdapter):
    """A Bitfinex account's exchange wallet: orders, own trades and balances over the authenticated
    REST API (every call a POST with a JSON body, signed with a nonce that only grows), the
    authenticated websocket's channel 0 for order updates (``os/on/ou/oc``), own trades (``tu``,
    which carries the fee; ``te`` is ignored) and wallets (``ws/wu``).

    The client order id is ``cid``, an integer (45 bits of the client key); with ``cid_date``, the
    UTC day the order was made, it names the order. Queries by it look through the pair's open
    orders, then its orders history. A new price is an in-place update (``order/update``: the
    exchange order stays, at the back of its new price's queue); a new size is a cancel then a new
    order for the rest, since Bitfinex keeps the original amount (``AMOUNT_ORIG``) across an update,
    from which the filled size is read. Cancel-all of a pair cancels the ``gid`` xWrap gives every
    order on it. Limits are per endpoint (:data:`ENDPOINT_LIMIT`); ``ERR_RATE_LIMIT`` blocks the IP
    for :data:`RATE_LIMIT_BLOCK` seconds.
    """

    name = EXCHANGE
    market_adapter = BitfinexAdapter
    rest_url = PRIVATE_REST_URL
    stream_url = PRIVATE_WS_URL
    quotas = tuple(Quota(endpoint, endpoint, *ENDPOINT_LIMIT) for endpoint in ENDPOINTS)
    # No receive window: a request signed before one the exchange has answered can no longer execute
    # (its nonce is too small), and requests go one at a time. One that arrived may still be executing
    # when the next is answered: 30 s (three REST timeouts) covers that.
    recv_window = 30.0
    sequential = True

    def __init__(self, markets: SymbolTable, credentials: Credentials, metadata: str | bytes = b""):
        super().__init__(markets, credentials, metadata)
        self._nonce = 0
        self._nonce_lock = threading.Lock()  # REST signs in a worker thread, the stream on the loop

    # -- limits, signing ----------------------------------------------------------------------------

    def next_nonce(self, now: float) -> str:
        """A nonce for a request signed at ``now``: microseconds, above every one given before."""
        with self._nonce_lock:
            self._nonce = max(int(now * 1_000_000), self._nonce + 1)
            return str(self._nonce)

    def sign(self, request: Request, now: float) -> Request:
        nonce = self.next_nonce(now)
        body = request.body or "{}"
        return replace(
            request,
            body=body,
            headers={
                **request.headers,
                "bfx-nonce": nonce,
                "bfx-apikey": self.credentials.key,
                "bfx-signature": signature(self.credentials.secret, request.path, nonce, body),
            },
        )

    def pause_for(self, response: Response, now: float) -> float | None:
        """HTTP 429, or ``ERR_RATE_LIMIT`` (code 11010) in any answer: the Retry-After where one is
        given, else the documented block."""
        if response.status != 429 and not _rate_limited(response.body):
            return None
        if "retry-after" in response.headers:
            return retry_after(response.headers["retry-after"], now)
        return RATE_LIMIT_BLOCK

    def answered(self, request: Request, response: Response) -> Response:
        """A notification whose STATUS is not SUCCESS is the refusal it states. An order list asked
        for one client id (:class:`OrderQuery`) is read down to the orders with that cid, or is
        "Order not found" without one."""
        if response.status >= 300:
            return response
        try:
            message = decimal_loads(response.body)
        except ValueError:
            return response
        if _is_notification(message) and message[6] != "SUCCESS":
            return replace(
                response,
                status=400,
                body=orjson.dumps(["error", message[5], f"{message[7]} ({message[1]} {message[6]})"]).decode(),
            )
        if not isinstance(request, OrderQuery):
            return response
        rows = _rows_of(message, request.client_id)
        if not rows:
            return replace(
                response,
                status=404,
                body=orjson.dumps(
                    ["error", None, f"{NOT_FOUND_TEXT}: no order with cid {request.client_id} in {request.path}"]
                ).decode(),
            )
        return replace(response, body=orjson.dumps(rows, default=_json_number).decode())

    def error(self, response: Response) -> XWrapError:
        """``["error", CODE, "text"]`` (HTTP 500 mostly) is a refusal, :class:`NotOnExchange` for
        "Order not found", unknown outcome only for ERR_UNK or a timeout. Any other answer is
        unknown outcome from a 5xx (a proxy's page, ``{"error": "temporarily_unavailable"}``), a
        refusal otherwise."""
        code, text = _error_of(response.body)
        if text is None:
            if response.status >= 500:
                return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {response.body[:200]}")
            return ExchangeRejected(EXCHANGE, response.status, response.body[:200])
        message = text if code is None else f"{text} (code {code})"
        if text.startswith(NOT_FOUND_TEXT):
            return NotOnExchange(EXCHANGE, response.status, message)
        if code in UNKNOWN_OUTCOME_CODES or UNKNOWN_OUTCOME_TEXT.search(text):
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: {message}")
        return ExchangeRejected(EXCHANGE, response.status, message)

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``cid``: the first 45 bits of the key (of a hash of key and revision after the first),
        as a decimal integer."""
        source = key if revision == 0 else hashlib.sha256(key + revision.to_bytes(8, "big")).digest()
        return str(int.from_bytes(source[:8], "big") >> (64 - CID_BITS))

    def check(self, order: Order) -> None:
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: xWrap does not map GTD to bitfinex's tif", "GTD")
        if order.funds is not None:
            raise InvalidParameter(
                "funds", "a size: bitfinex takes no quote amount on a market order", format_decimal(order.funds)
            )
        if order.post_only and order.time_in_force is not _GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on bitfinex", order.time_in_force.value)
        if (order.type, order.time_in_force) not in ORDER_TYPES:
            raise InvalidParameter(
                "time_in_force",
                f"GTC{' or IOC' if order.type is OrderType.MARKET else ''} for a {order.type.value} order on bitfinex",
                order.time_in_force.value,
            )

    def place_request(self, order: Order, client_id: str) -> Request:
        """``order/submit``: the type, the amount signed by the side, the price (a stop's trigger;
        a stop limit's limit in ``price_aux_limit``), the cid and the pair's gid, post-only as a flag."""
        symbol = self.markets.to_symbol(order.pair)
        assert order.size is not None
        body: dict[str, Any] = {
            "type": ORDER_TYPES[(order.type, order.time_in_force)],
            "symbol": symbol,
            "amount": _signed_amount(order, order.size),
        }
        if order.type.is_stop:
            assert order.stop_price is not None  # Order refuses a stop without one
            body["price"] = format_decimal(order.stop_price)
            if order.price is not None:
                body["price_aux_limit"] = format_decimal(order.price)
        elif order.price is not None:
            body["price"] = format_decimal(order.price)
        body.update(cid=int(client_id), gid=group_id(symbol))
        if order.post_only:
            body["flags"] = POST_ONLY
        return _auth(SUBMIT, body)

    def query_request(self, order: Order, client_id: str) -> Request:
        """The pair's open orders (just the exchange order, where its id is known), read for the cid."""
        return self._query(f"/v2/auth/r/orders/{self.markets.to_symbol(order.pair)}", ORDERS, order, client_id, {})

    def query_fallback(self, order: Order, client_id: str) -> Request:
        """The pair's orders history since shortly before the order was made (or the exchange
        order, where its id is known), read for the cid: an order that is no longer open."""
        return self._query(
            f"/v2/auth/r/orders/{self.markets.to_symbol(order.pair)}/hist",
            ORDERS_HISTORY,
            order,
            client_id,
            {"start": round((order.created_at - HISTORY_MARGIN) * 1000), "limit": HISTORY_LIMIT},
        )

    def _query(self, path: str, quota: str, order: Order, client_id: str, unknown: dict[str, Any]) -> OrderQuery:
        body = {"id": [int(order.exchange_order_id)]} if order.exchange_order_id else unknown
        return OrderQuery(
            path,
            method="POST",
            body=orjson.dumps(body).decode(),
            content_type="application/json",
            costs={quota: 1},
            client_id=client_id,
        )

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return _auth(
            ORDER_TRADES, {}, path=f"/v2/auth/r/order/{self.markets.to_symbol(order.pair)}:{exchange_order_id}/trades"
        )

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By id where it is known, else by cid and cid_date (the UTC day the order was made)."""
        if order.exchange_order_id:
            return _auth(CANCEL, {"id": int(order.exchange_order_id)})
        return _auth(CANCEL, {"cid": int(client_id), "cid_date": cid_date(order.created_at)})

    def cancel_all_request(self, pair: Pair) -> Request:
        """``order/cancel/multi`` of the pair's group: every order xWrap placed on it (``{"all": 1}``
        would cancel every pair's orders, derivatives included)."""
        return _auth(CANCEL_MULTI, {"gid": [group_id(self.markets.to_symbol(pair))]})

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """A new price alone: ``order/update`` in place (a stop limit's limit is ``price_aux_limit``);
        the order leaves its queue. A new size: cancel, then a new order for the rest (an update
        would leave ``AMOUNT_ORIG``, whence the filled size is read, at the original amount)."""
        if size != order.size:
            return Amendment(None, False, next_client_id)
        assert order.exchange_order_id is not None
        field = "price_aux_limit" if order.type is OrderType.STOP_LIMIT else "price"
        return Amendment(
            _auth(UPDATE, {"id": int(order.exchange_order_id), field: format_decimal(price)}),
            True,
            client_id,
            keeps_priority=price == order.price,
        )

    def open_orders_request(self) -> Request:
        return _auth(ORDERS, {})

    def balances_request(self) -> Request:
        return _auth(WALLETS, {})

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """A notification (``on-req``: the new order; ``ou-req``: the order updated; ``oc-req``: the
        order as it was when its cancel was accepted, taken as cancelled), or an :class:`OrderQuery`'s
        answer read down to the orders with its cid (:meth:`answered`): the latest made of them."""
        message = decimal_loads(body)
        if _is_notification(message):
            data = message[4]
            report = self._report(data[0] if data and isinstance(data[0], list) else data, at)
            return _cancelled(report) if message[1] == "oc-req" else report
        rows = expect(message, list, f"an order answer on {EXCHANGE}", "a notification or a list of orders")
        if not rows:
            raise InvalidParameter(f"an order answer on {EXCHANGE}", "a notification or a list of orders", rows)
        return self._report(max(rows, key=lambda row: _order_row(row)[_MTS_CREATE]), at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """Retrieve Orders (a list of order arrays), or a cancel-multi notification (the orders whose
        cancel was accepted, taken as cancelled)."""
        message = decimal_loads(body)
        if _is_notification(message):
            return [_cancelled(self._report(row, at)) for row in message[4] or ()]
        return [self._report(row, at) for row in expect(message, list, f"orders on {EXCHANGE}", "a list of orders")]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """The ``ou-req`` notification: the order as updated."""
        return [self.parse_order(body, at)]

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """Order Trades: one row per trade of the exchange order."""
        what = f"order trades on {EXCHANGE}"
        return [
            self._fill(row, f"{what}[{index}]")
            for index, row in enumerate(expect(decimal_loads(body), list, what, "a list of trades"))
        ]

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """Wallets: the exchange wallets' BALANCE per currency (what orders reserve included), empty
        ones left out."""
        totals = _wallets(decimal_loads(body))
        return AccountBalances({currency: total for currency, total in totals.items() if total}, at, complete=True)

    def _report(self, row: object, at: float, stream: bool = False) -> OrderReport:
        """One order array. The filled size is AMOUNT_ORIG less AMOUNT (what remains), both signed
        by the side. ``stream``: an order update that is not final reports no filled size, its
        fills coming in the ``tu`` messages that follow it on the stream."""
        row = _order_row(row)
        status, reason = _order_status(row[_STATUS], row[_ID])
        filled = abs(to_decimal(row[_AMOUNT_ORIG])) - abs(to_decimal(row[_AMOUNT]))
        if stream and not status.is_final:
            filled = ZERO
        cid = row[_CID]
        return OrderReport(
            str(row[_ID]),
            "" if cid is None else str(cid),
            status,
            filled,
            at if row[_MTS_UPDATE] is None else row[_MTS_UPDATE] / 1000,
            reason=reason,
        )

    def _fill(self, row: object, what: str) -> Fill:
        """A trade array: FEE is negative where it is charged (a cost in xWrap's fills), MAKER 1
        for a maker, -1 for a taker."""
        if not (isinstance(row, list) and len(row) >= len(_TRADE_COLUMNS)):
            raise InvalidParameter(what, "[" + ", ".join(_TRADE_COLUMNS) + "]", row)
        trade = Fields(EXCHANGE, what, dict(zip(_TRADE_COLUMNS, row)))
        fee = trade.raw["FEE"]
        return Fill(
            "",
            str(trade.integer("ID")),
            trade.decimal("EXEC_PRICE", positive=True),
            abs(parse_decimal(trade.value("EXEC_AMOUNT"), trade.label("EXEC_AMOUNT"))),
            ZERO if fee is None else -parse_decimal(fee, trade.label("FEE")),
            common_currency(EXCHANGE, trade.text("FEE_CURRENCY")),
            Liquidity.MAKER if trade.raw["MAKER"] == 1 else Liquidity.TAKER,
            trade.integer("MTS_CREATE") / 1000,
            {"exchange_order_id": str(trade.integer("ORDER_ID"))},
        )

    # -- the stream -------------------------------------------------------------------------------

    def stream_address(self, ws_url: str) -> str:
        """The settings' ``ws_url`` (a local simulator), its public host swapped for the
        authenticated one; :attr:`stream_url` without one."""
        return ws_url.replace("api-pub.bitfinex.com", "api.bitfinex.com") if ws_url else PRIVATE_WS_URL

    def stream_subscribe(self, now: float) -> list[str]:
        """The ``auth`` event, asking for the trading (orders, trades) and wallet messages only."""
        nonce = self.next_nonce(now)
        return [
            orjson.dumps(
                {
                    "event": "auth",
                    "apiKey": self.credentials.key,
                    "authSig": auth_signature(self.credentials.secret, nonce),
                    "authPayload": f"AUTH{nonce}",
                    "authNonce": nonce,
                    "filter": ["trading", "wallet"],
                }
            ).decode()
        ]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """Channel 0: ``os`` (the open orders on logging in), ``on/ou/oc``, ``tu`` (an own trade
        with its fee: its fill) and ``wu`` (a wallet that changed, after the trade that changed it).
        ``ws`` (every wallet on logging in) gives nothing: after a reconnection it comes before the
        fills made meanwhile are fetched, which a reconciliation then would take for money from
        outside (the account reconciles over REST). ``te`` (the trade, feeless, first), heartbeats,
        notifications and the rest give nothing. Events: ``auth`` (its answer); ``info`` 20051 and
        20061 (reconnect) end the subscription."""
        msg = decimal_loads(message)
        if isinstance(msg, dict):
            return _stream_event(msg)
        if not (isinstance(msg, list) and len(msg) >= 3 and msg[0] == 0):
            return _NO_EVENTS
        kind, data = msg[1], msg[2]
        if kind in ("on", "ou", "oc"):
            return [self._report(data, at, stream=True)]
        if kind == "tu":
            fill = self._fill(data, f"tu on {EXCHANGE}")
            return [
                OrderReport(
                    fill.cause["exchange_order_id"],
                    "" if data[11] is None else str(data[11]),
                    OrderStatus.OPEN,
                    ZERO,
                    fill.at,
                    (fill,),
                )
            ]
        if kind == "os":
            return [self._report(row, at, stream=True) for row in data]
        if kind == "wu":
            changed = _wallets([data])
            return [AccountBalances(changed, at, complete=False)] if changed else _NO_EVENTS
        return _NO_EVENTS


def cid_date(created_at: float) -> str:
    """``cid_date``: the UTC day (YYYY-MM-DD) of Unix time ``created_at``."""
    return time.strftime("%Y-%m-%d", time.gmtime(created_at))


def _auth(endpoint: str, body: dict[str, Any], *, path: str | None = None) -> Request:
    return Request(
        path or f"/v2/auth/{endpoint}",
        method="POST",
        body=orjson.dumps(body).decode(),
        content_type="application/json",
        costs={endpoint: 1},
    )


def _signed_amount(order: Order, size: Decimal) -> str:
    """``amount``: positive buys, negative sells."""
    return format_decimal(size if order.side is Side.BUY else -size)


def _order_row(row: object) -> list:
    if not (isinstance(row, list) and len(row) > _STATUS and isinstance(row[_ID], int)):
        raise InvalidParameter(f"an order on {EXCHANGE}", "an order array [ID, GID, CID, SYMBOL, ...]", row)
    return row


def _order_status(text: object, order_id: object) -> tuple[OrderStatus, str]:
    """The status of ``EXECUTED @ 107.6(-0.2)``, ``CANCELED was: PARTIALLY FILLED @ ...``,
    ``INSUFFICIENT BALANCE (U1) was: ...``; the reason for a status that is not plain."""
    if not isinstance(text, str):
        raise InvalidParameter(f"STATUS of order {order_id} on {EXCHANGE}", "a status such as ACTIVE", text)
    state = text.split(" was:")[0].split(" @ ")[0].strip()
    status = STATUSES.get(state, OrderStatus.CANCELLED if state.startswith("INSUFFICIENT") else None)
    if status is None:
        raise InvalidParameter(f"STATUS of order {order_id} on {EXCHANGE}", "one of " + ", ".join(STATUSES), text)
    return status, "" if state in ("ACTIVE", "PARTIALLY FILLED", "EXECUTED", "CANCELED") else text


def _cancelled(report: OrderReport) -> OrderReport:
    """An order whose cancel the exchange accepted: cancelled with the fills it had (the stream's
    ``oc`` confirms it; a fill racing the cancel shows in the next reconciliation)."""
    return report if report.status.is_final else replace(report, status=OrderStatus.CANCELLED)


def _is_notification(message: object) -> bool:
    """``[MTS, TYPE, MESSAGE_ID, null, DATA, CODE, STATUS, TEXT]`` (TYPE ``on-req``, ...)."""
    return isinstance(message, list) and len(message) >= 8 and isinstance(message[1], str)


def _rows_of(message: object, client_id: str) -> list:
    """The order arrays of a list answer whose CID is ``client_id``."""
    cid = int(client_id)
    return (
        [row for row in message if isinstance(row, list) and len(row) > _CID and row[_CID] == cid]
        if isinstance(message, list)
        else []
    )


def _wallets(rows: object) -> dict[str, Decimal]:
    """The exchange wallets' BALANCE per currency of ``[WALLET_TYPE, CURRENCY, BALANCE, ...]``
    rows (the margin and funding wallets are not traded on)."""
    totals = {}
    for index, row in enumerate(expect(rows, list, f"wallets on {EXCHANGE}", "a list of wallets")):
        if not (isinstance(row, list) and len(row) >= 3 and isinstance(row[1], str)):
            raise InvalidParameter(f"wallet {index} on {EXCHANGE}", "[WALLET_TYPE, CURRENCY, BALANCE, ...]", row)
        if row[0] == "exchange":
            totals[common_currency(EXCHANGE, row[1])] = parse_decimal(
                row[2], f"BALANCE of wallet {row[1]} on {EXCHANGE}"
            )
    return totals


def _stream_event(event: dict) -> list[StreamEvent]:
    kind = event.get("event")
    if kind == "auth":
        if event.get("status") == "OK":
            return [StreamNotice(f"authenticated (user {event.get('userId')})")]
        return [StreamNotice(f"auth refused: {event.get('msg')} (code {event.get('code')})", fatal=True)]
    if kind == "info" and event.get("code") in (20051, MAINTENANCE_OVER):
        return [StreamNotice(f"{event.get('msg', 'reconnect')} (info {event.get('code')})", fatal=True)]
    if kind == "error":  # nothing is asked on this connection but the log-in: it is not in order
        return [StreamNotice(f"{event.get('msg', 'error')} (code {event.get('code')})", fatal=True)]
    return _NO_EVENTS


def _error_of(body: str) -> tuple[int | None, str | None]:
    """(CODE, text) of Bitfinex's error array ``["error", CODE, "text"]`` (CODE may be null);
    (None, None) for any other body."""
    try:
        raw = decimal_loads(body)
    except ValueError:
        return None, None
    if isinstance(raw, list) and len(raw) >= 3 and raw[0] == "error":
        return (raw[1] if isinstance(raw[1], int) else None), str(raw[2])
    return None, None


def _json_number(value: object) -> orjson.Fragment:
    """A Decimal written back as the JSON number it was read from."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _rate_limited(body: str) -> bool:
    """``{"error": "ERR_RATE_LIMIT"}``, or the error array of code 11010."""
    code, _ = _error_of(body)
    if code == RATE_LIMIT_CODE:
        return True
    try:
        raw = decimal_loads(body)
    except ValueError:
        return False
    return isinstance(raw, dict) and raw.get("error") == RATE_LIMIT_TOKEN
