"""Kraken's private side: its account, orders and fills translated to xWrap's types. No I/O.

The markets and their metadata are :mod:`.public`'s; docs/live-trading.md has the checklist of a
private adapter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import orjson

from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ...core.execution import OrderReport
from ...core.money import ZERO, format_decimal, parse_decimal
from ...core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from ...core.pairs import Pair, common_currency
from ...core.symbols import SymbolTable
from ..base import Credentials, decimal_loads
from ..http import DEFAULT_RETRY_AFTER, Request, Response, retry_after
from ..private import AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota, StreamEvent, StreamNotice
from ..wire import Fields, expect
from .public import EXCHANGE, KrakenAdapter, iso_seconds, ws_request, ws_v2_symbol
from .public import parse_markets as parse_markets  # re-exported: the markets a private adapter is built with

PRIVATE = "/0/private/"
API_KEY_HEADER, API_SIGN_HEADER = "API-Key", "API-Sign"
#: Seconds after its signing that a new order or an amend can still execute: sent as its
#: ``deadline`` (Kraken takes now + 2 s to now + 60 s, and then refuses it: "EService:Deadline elapsed").
DEADLINE = 5.0
#: Requests that carry a ``deadline``.
WITH_DEADLINE = frozenset({"AddOrder", "AmendOrder"})
#: "Ledger/trade history calls increase the counter by 2. All other API calls increase this counter by 1
#: (except AddOrder, CancelOrder which operate on a different limiter)" (Spot REST Rate Limits).
HISTORY_METHODS = frozenset({"TradesHistory", "QueryTrades", "ClosedOrders", "Ledgers", "QueryLedgers"})
#: The per-pair trading counter (Spot Trading Limits): a new order +1; an amend +1 and +3 within 5 s of
#: the order's creation or last amend; a cancel +8 within 5 s (then +6, +5, +4, +2, +1 up to 300 s).
#: Requests are built without a clock, so amends and cancels count at their most.
ADD_COUNT, AMEND_COUNT, CANCEL_COUNT = 1, 4, 8
#: Errors that mean the request was over a limit, paused for DEFAULT_RETRY_AFTER ("additional calls will
#: be restricted for a few seconds"), and the one that says until when.
RATE_LIMITED = ("EAPI:Rate limit exceeded", "EGeneral:Too many requests")
THROTTLED = re.compile(r"^EService:\s*Throttled:\s*(\d+)")
#: The order asked about does not exist.
NOT_FOUND = ("EOrder:Unknown order", "EOrder:Invalid order")
#: ``EService:`` errors whose request certainly did not execute (any other leaves the outcome unknown).
NOT_EXECUTED = (
    "EService:Deadline elapsed",
    "EService:Market in cancel_only mode",
    "EService:Market in post_only mode",
    "EService:Market in limit_only mode",
)
#: A REST order's ``status`` (pending, open, closed, canceled, expired); closed means done.
REST_STATUSES = {
    "pending": OrderStatus.OPEN,
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
}
#: An executions message's ``order_status``.
STREAM_STATUSES = {
    "pending_new": OrderStatus.OPEN,
    "new": OrderStatus.OPEN,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
}
#: xWrap's order types -> AddOrder's ``ordertype``: a stop buys above the market and sells below it
#: (stop-loss for both sides; ``price`` is the trigger, ``price2`` the limit).
ORDER_TYPES = {
    OrderType.LIMIT: "limit",
    OrderType.MARKET: "market",
    OrderType.STOP_MARKET: "stop-loss",
    OrderType.STOP_LIMIT: "stop-loss-limit",
}


@dataclass(frozen=True)
class Tier:
    """The limits of one verification tier: the REST counter (its maximum and what it decays a
    second) and each pair's trading counter."""

    name: str
    counter: float
    counter_decay: float
    trading: float
    trading_decay: float


#: Spot REST Rate Limits and Spot Trading Limits (docs.kraken.com, 2026).
TIERS = {
    tier.name: tier
    for tier in (
        Tier("starter", 15, 0.33, 60, 1.0),
        Tier("intermediate", 20, 0.5, 125, 2.34),
        Tier("pro", 20, 1.0, 180, 3.75),
    )
}
COUNTER = "API counter"


def counter_quota(name: str, maximum: float, decay: float) -> Quota:
    """A counter that refuses at ``maximum`` and decays ``decay`` a second, as a :class:`Quota`: it
    allows at most ``maximum + decay * T`` in any T seconds; ``2 * burst`` in ``burst / decay``
    seconds gives the same bucket (a burst refilled at ``decay`` a second). The burst is one below
    the maximum: Kraken refuses once "the threshold is reached", and its clock is not ours."""
    burst = maximum - 1
    return Quota(name, name, 2 * burst, burst / decay)


def trading_quota(symbol: str) -> str:
    """The name (and kind) of ``symbol``'s trading counter."""
    return f"trading {symbol}"


def signature(secret: str, uri_path: str, nonce: int | str, postdata: str) -> str:
    """``API-Sign``: base64 of the HMAC-SHA512, keyed with the base64-decoded secret, of the URI path
    followed by the SHA-256 digest of the nonce followed by the POST data."""
    digest = hashlib.sha256(f"{nonce}{postdata}".encode()).digest()
    return base64.b64encode(
        hmac.new(base64.b64decode(secret), uri_path.encode() + digest, hashlib.sha512).digest()
    ).decode()


def rfc3339(at: float) -> str:
    """``2024-07-21T09:53:59.050Z``: a time as Kraken's ``deadline`` takes it (milliseconds, UTC)."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _private(method: str, params: Iterable[tuple[str, str]] = (), **costs: float) -> Request:
    """A signed call: POST ``/0/private/<method>``, its form fields in ``params``, costing ``costs``
    (the REST counter's by default)."""
    if not costs:
        costs = {COUNTER: 2 if method in HISTORY_METHODS else 1}
    return Request(PRIVATE + method, dict(params), method="POST", costs=costs)


def _method(request: Request) -> str:
    return request.path.rsplit("/", 1)[-1]


def _errors(body: str) -> list[str]:
    """The ``error`` list of a Kraken answer; empty for one that has none (or is not JSON)."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    errors = raw.get("error") if isinstance(raw, dict) else None
    return [str(error) for error in errors] if isinstance(errors, list) else []


def _result(body: str, what: str) -> dict[str, Any]:
    answer = Fields(EXCHANGE, what, orjson.loads(body))
    return expect(answer.value("result"), dict, answer.label("result"), "a JSON object")


class KrakenPrivate(PrivateAdapter):
    """A Kraken spot account over the signed REST API (``/0/private/...``, form bodies with a nonce,
    ``API-Key`` and ``API-Sign``), its own orders and fills over websocket v2's ``executions`` and
    ``balances`` channels (``wss://ws-auth.kraken.com/v2``, with a token from GetWebSocketsToken).

    Kraken answers HTTP 200 with its errors in the body's ``error`` list (:meth:`answered` gives them
    their meaning). Nonces are microseconds of the signing time, always growing, and Kraken refuses one
    that arrives after a greater one: requests go one at a time (:attr:`sequential`). New orders and
    amends carry a ``deadline`` :data:`DEADLINE` seconds after signing, so an unconfirmed one that
    Kraken does not know by then never will. Amends are in place (AmendOrder: the same order, its
    fills kept); a new price loses the queue place. Limits: the REST counter of the account's
    :attr:`tier` and each pair's trading counter (:data:`TIERS`).
    """

    name = EXCHANGE
    market_adapter = KrakenAdapter
    rest_url = KrakenAdapter.rest_url
    stream_url = "wss://ws-auth.kraken.com/v2"
    stream_path = "/v2"
    tier: ClassVar[Tier] = TIERS["starter"]  # the account's verification tier; Starter's limits are the lowest
    quotas = (counter_quota(COUNTER, tier.counter, tier.counter_decay),)
    recv_window = DEADLINE + 1  # the deadline, and the second Kraken's clock is read to
    sequential = True
    cancel_reports_order = False  # CancelOrder answers {"count": 1}

    def __init__(self, markets: SymbolTable, credentials: Credentials, metadata: str | bytes = b""):
        super().__init__(markets, credentials, metadata)
        self.pair_of_v2 = {ws_v2_symbol(market.ws_symbol): market.pair for market in markets if market.ws_symbol}
        self._nonce = 0
        self._nonce_lock = threading.Lock()  # signing runs in the REST client's worker threads
        self._token = ""

    # -- limits, time, signing ----------------------------------------------------------------------

    def published_quotas(self, metadata: str | bytes) -> tuple[Quota, ...]:
        """The REST counter and a trading counter for every pair of the tier (Kraken publishes none)."""
        tier = self.tier
        return (
            counter_quota(COUNTER, tier.counter, tier.counter_decay),
            *(counter_quota(trading_quota(market.symbol), tier.trading, tier.trading_decay) for market in self.markets),
        )

    def used(self, response: Response) -> dict[str, float]:
        """``EAPI:Rate limit exceeded``: the REST counter is full."""
        return {COUNTER: self.tier.counter} if RATE_LIMITED[0] in _errors(response.body) else {}

    def answered(self, request: Request, response: Response) -> Response:
        """A 200 with errors becomes 429 (a limit), 503 (outcome unknown), 404 (no such order) or 400;
        a client-id query of open or closed orders that found none becomes 404."""
        if response.status != 200:
            return response
        errors = _errors(response.body)
        if errors:
            return replace(response, status=_status_of(errors))
        method = _method(request)
        if method in ("OpenOrders", "ClosedOrders") and "cl_ord_id" in request.params:
            orders = _result(response.body, method).get("open" if method == "OpenOrders" else "closed")
            if not orders:
                return replace(response, status=404)
        return response

    def pause_for(self, response: Response, now: float) -> float | None:
        """``EService:Throttled: <unix time>``: until then; ``EAPI:Rate limit exceeded``: a few seconds;
        an HTTP 429 in front of the API: its Retry-After."""
        errors = _errors(response.body)
        for error in errors:
            throttled = THROTTLED.match(error)
            if throttled:
                return max(int(throttled[1]) - now, 0.0)
        if any(error in RATE_LIMITED for error in errors):
            return DEFAULT_RETRY_AFTER
        if response.status == 429 and not errors:
            return retry_after(response.headers.get("retry-after"), now)
        return None

    def error(self, response: Response) -> XWrapError:
        errors = _errors(response.body)
        status = 200 if errors else response.status
        text = "; ".join(errors) if errors else f"HTTP {response.status}: {response.body[:200]}"
        if response.status >= 500:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: {text}")
        if response.status == 404:
            return NotOnExchange(EXCHANGE, status, text if errors else "no order with this client id")
        return ExchangeRejected(EXCHANGE, status, text)

    def time_request(self) -> Request:
        return Request("/0/public/Time")

    def parse_time(self, body: str) -> float:
        return Fields(EXCHANGE, "Time", _result(body, "Time")).integer("unixtime")

    def sign(self, request: Request, now: float) -> Request:
        """The form body: ``nonce`` first, the fields, then (new orders, amends) the ``deadline``."""
        with self._nonce_lock:
            self._nonce = nonce = max(int(now * 1_000_000), self._nonce + 1)
        fields = [("nonce", str(nonce)), *request.params.items()]
        if _method(request) in WITH_DEADLINE:
            fields.append(("deadline", rfc3339(now + DEADLINE)))
        body = urlencode(fields)
        return replace(
            request,
            params={},
            body=body,
            headers={
                **request.headers,
                API_KEY_HEADER: self.credentials.key,
                API_SIGN_HEADER: signature(self.credentials.secret, request.path, nonce, body),
            },
        )

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """A UUID (``cl_ord_id`` takes one, or 18 characters of free text) from the key's first 16
        bytes; later revisions (Kraken amends in place: none are made) from the key's hash with it."""
        seed = key if revision == 0 else hashlib.sha256(key + revision.to_bytes(8, "big")).digest()
        return str(uuid.UUID(bytes=seed[:16], version=4))

    def check(self, order: Order) -> None:
        if order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", "GTC, IOC or GTD: kraken has no FOK", "FOK")
        if order.funds is not None:
            raise InvalidParameter(
                "funds", "a size: kraken spot orders take a base volume", format_decimal(order.funds)
            )
        if order.type is OrderType.MARKET and order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC or IOC for a market order on kraken", "GTD")
        if order.post_only and order.type is not OrderType.LIMIT:
            raise InvalidParameter("post_only", "a limit order: kraken posts only those", "post_only")
        if order.post_only and order.time_in_force is TimeInForce.IOC:
            raise InvalidParameter("time_in_force", "GTC or GTD for a post-only order on kraken", "IOC")

    def place_request(self, order: Order, client_id: str) -> Request:
        """AddOrder, its fee asked in what the trade brings in (``fcib`` buying, ``fciq`` selling)."""
        assert order.size is not None
        kind = ORDER_TYPES[order.type]
        stop = order.type.is_stop
        params = [
            ("ordertype", kind),
            ("type", order.side.value),
            ("volume", format_decimal(order.size)),
            ("pair", self._pair(order.pair)),
        ]
        if stop or order.price is not None:
            price = order.stop_price if stop else order.price
            assert price is not None  # Order refuses a stop without its stop price
            params.append(("price", format_decimal(price)))
        if order.type is OrderType.STOP_LIMIT:
            assert order.price is not None  # Order refuses a limit without one
            params.append(("price2", format_decimal(order.price)))
        if order.type is not OrderType.MARKET:
            params.append(("timeinforce", order.time_in_force.value))
        if order.time_in_force is TimeInForce.GTD:
            assert order.expire_time is not None
            params.append(("expiretm", str(int(order.expire_time))))
        flags = ["fcib" if order.side is Side.BUY else "fciq"] + (["post"] if order.post_only else [])
        params += [("oflags", ",".join(flags)), ("cl_ord_id", client_id)]
        return _private("AddOrder", params, **{trading_quota(self.markets.to_symbol(order.pair)): ADD_COUNT})

    def query_request(self, order: Order, client_id: str) -> Request:
        """QueryOrders by the order's id where it is known, else its open orders by client id."""
        if order.exchange_order_id is not None:
            return _private("QueryOrders", [("txid", order.exchange_order_id)])
        return _private("OpenOrders", [("cl_ord_id", client_id)])

    def query_fallback(self, order: Order, client_id: str) -> Request | None:
        """Closed orders by client id, where the open ones did not have it."""
        return None if order.exchange_order_id is not None else _private("ClosedOrders", [("cl_ord_id", client_id)])

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        """TradesHistory since a minute before the order was made (no call lists one order's trades:
        the account keeps the order's own)."""
        return _private("TradesHistory", [("start", str(max(int(order.created_at) - 60, 0)))])

    def cancel_request(self, order: Order, client_id: str) -> Request:
        key = ("txid", order.exchange_order_id) if order.exchange_order_id else ("cl_ord_id", client_id)
        return _private("CancelOrder", [key], **{trading_quota(self.markets.to_symbol(order.pair)): CANCEL_COUNT})

    def cancel_all_request(self, pair: Pair) -> None:
        """None: CancelAll cancels the orders of every pair."""
        return None

    def amend_request(
        self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str, next_client_id: str
    ) -> Amendment:
        """AmendOrder: ``order_qty`` (the order's whole quantity) and ``limit_price`` in place; a
        post-only order's new price must rest (``post_only``). A smaller or equal size at the same
        price keeps the queue place; a new price goes to the back (Kraken's Exchange Trading Rules)."""
        assert order.exchange_order_id is not None and order.size is not None
        params = [("txid", order.exchange_order_id)]
        if size != order.size:
            params.append(("order_qty", format_decimal(size - base)))
        if price != order.price:
            params.append(("limit_price", format_decimal(price)))
            if order.post_only:
                params.append(("post_only", "true"))
        request = _private(
            "AmendOrder", params, **{COUNTER: 1, trading_quota(self.markets.to_symbol(order.pair)): AMEND_COUNT}
        )
        return Amendment(request, True, client_id, keeps_priority=price == order.price and size <= order.size)

    def open_orders_request(self) -> Request:
        return _private("OpenOrders")

    def balances_request(self) -> Request:
        return _private("Balance")

    def _pair(self, pair: str) -> str:
        """The altname AddOrder's examples use (``XBTUSD``)."""
        market = self.markets.market(pair)
        return market.alt_symbols[0] if market.alt_symbols else market.symbol

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """AddOrder's ``{"descr": ..., "txid": [id]}`` (open: it does not repeat the client id; its
        executions come on the stream), or the one order of a QueryOrders or client-id query."""
        result = _result(body, "order")
        txids = result.get("txid")
        if isinstance(txids, list):
            if len(txids) != 1:
                raise InvalidParameter(f"txid of AddOrder on {EXCHANGE}", "one order id", txids)
            return OrderReport(str(txids[0]), "", OrderStatus.OPEN, ZERO, at)
        reports = self._reports(result, at)
        if not reports:
            raise InvalidParameter(f"result of an order query on {EXCHANGE}", "one order", result)
        return reports[-1]

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """OpenOrders (``{"open": {txid: order}}``) or ClosedOrders (``{"closed": ...}``)."""
        return self._reports(_result(body, "orders"), at)

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """AmendOrder answers ``{"amend_id": ...}`` only: the amended order, open (its state comes on
        the stream, as an ``amended`` execution)."""
        Fields(EXCHANGE, "AmendOrder", _result(body, "AmendOrder")).text("amend_id")
        assert amendment.request is not None
        return [OrderReport(amendment.request.params["txid"], amendment.client_id, OrderStatus.OPEN, ZERO, at)]

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """TradesHistory (``{"trades": {txid: trade}}``) or QueryTrades (``{txid: trade}``). A trade
        row names no fee asset: it is what the trade brought in, as every order asks (fcib, fciq)."""
        result = _result(body, "trades")
        trades = result.get("trades", result)  # the most recent first
        fills = []
        for trade_id, raw in expect(trades, dict, f"trades on {EXCHANGE}", "a JSON object").items():
            trade = Fields(EXCHANGE, f"trade {trade_id}", raw)
            pair = self.markets.to_pair(trade.text("pair"))
            fills.append(
                Fill(
                    "",
                    trade_id,
                    trade.decimal("price", positive=True),
                    trade.decimal("vol", positive=True),
                    trade.decimal("fee"),
                    pair.base if trade.text("type") == "buy" else pair.quote,
                    Liquidity.MAKER if trade.raw.get("maker") is True else Liquidity.TAKER,
                    float(trade.value("time")),
                    {"exchange_order_id": trade.text("ordertxid")},
                )
            )
        return sorted(fills, key=lambda fill: fill.at)

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """Balance: ``{asset: total}`` (what orders hold included); assets with a suffix (``XBT.F``,
        ``ETH2.S``: earn, staking) are not spot balances and are left out, and so are zeros."""
        totals = {}
        for asset, amount in _result(body, "Balance").items():
            total = parse_decimal(amount, f"{asset} of Balance on {EXCHANGE}", non_negative=True)
            if "." not in asset and total:
                totals[common_currency(EXCHANGE, asset)] = total
        return AccountBalances(totals, at, complete=True)

    def _reports(self, result: dict[str, Any], at: float) -> list[OrderReport]:
        orders = result.get("open", result.get("closed", result))
        return [
            self._report(txid, raw, at)
            for txid, raw in expect(orders, dict, f"orders on {EXCHANGE}", "a JSON object").items()
        ]

    def _report(self, txid: str, raw: object, at: float) -> OrderReport:
        order = Fields(EXCHANGE, txid, raw)
        status, volume, executed = order.text("status"), order.decimal("vol"), order.decimal("vol_exec")
        if status not in REST_STATUSES:
            raise InvalidParameter(order.label("status"), "one of " + ", ".join(REST_STATUSES), status)
        kind = REST_STATUSES[status]
        if kind is OrderStatus.OPEN and executed:
            kind = OrderStatus.PARTIALLY_FILLED
        elif kind is OrderStatus.FILLED and executed < volume:  # done before all of it traded (IOC, market)
            kind = OrderStatus.EXPIRED
        time = next((order.raw[name] for name in ("closetm", "opentm") if order.raw.get(name)), at)
        return OrderReport(
            txid,
            order.raw.get("cl_ord_id") or "",
            kind,
            executed,
            float(time),
            (),
            str(order.raw.get("reason") or "") if kind.is_final else "",
        )

    # -- the stream -------------------------------------------------------------------------------

    def stream_address(self, ws_url: str) -> str:
        """:attr:`stream_path` on the settings' ``ws_url`` host (a local simulator), unless it is
        Kraken's public one."""
        if urlsplit(ws_url).netloc == urlsplit(KrakenAdapter.ws_url).netloc:
            return super().stream_address("")
        return super().stream_address(ws_url)

    def stream_token_request(self) -> Request:
        return _private("GetWebSocketsToken")

    def stream_token(self, body: str) -> None:
        self._token = Fields(EXCHANGE, "GetWebSocketsToken", _result(body, "GetWebSocketsToken")).text("token")

    def stream_subscribe(self, now: float) -> list[str]:
        """``executions`` with the open orders as a snapshot (not the past trades), ``balances``
        without one."""
        return [
            ws_request(
                "subscribe", {"channel": "executions", "token": self._token, "snap_orders": True, "snap_trades": False}
            ),
            ws_request("subscribe", {"channel": "balances", "token": self._token, "snapshot": False}),
        ]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """``executions`` (an order report each, a trade's fill in it), ``balances`` updates of what
        is not a trade (a deposit, a withdrawal, a transfer: the fills come with the executions, and
        the two channels are not ordered with each other), subscription answers (``executions``
        acknowledged, any refused: the stream must be opened again); heartbeats say nothing."""
        msg = decimal_loads(message)
        channel = msg.get("channel")
        if channel == "executions":
            return [self._execution(Fields(EXCHANGE, "executions", item)) for item in msg.get("data", ())]
        if channel == "balances":
            return self._balances(msg)
        if msg.get("method") == "subscribe":
            result = msg.get("result") or {}
            if msg.get("success") is not True:
                return [StreamNotice(f"subscription refused: {msg.get('error')}", fatal=True)]
            return [StreamNotice("subscribed to executions")] if result.get("channel") == "executions" else []
        return []

    def _execution(self, item: Fields) -> OrderReport:
        exchange_order_id = item.text("order_id")
        status = STREAM_STATUSES.get(item.raw.get("order_status", "new"))
        if status is None:
            raise InvalidParameter(
                item.label("order_status"), "one of " + ", ".join(STREAM_STATUSES), item.raw.get("order_status")
            )
        at = iso_seconds(item.text("timestamp"))
        fills: tuple[Fill, ...] = ()
        if item.raw.get("exec_type") == "trade":
            fees = [Fields(EXCHANGE, "fees", fee) for fee in item.raw.get("fees") or ()]
            pair = self.pair_of_v2.get(item.text("symbol")) or self.markets.to_pair(item.text("symbol"))
            currency = (
                common_currency(EXCHANGE, fees[0].text("asset"))
                if fees
                else (pair.base if item.text("side") == "buy" else pair.quote)
            )
            fills = (
                Fill(
                    "",
                    item.text("exec_id"),
                    item.decimal("last_price", positive=True),
                    item.decimal("last_qty", positive=True),
                    sum((fee.decimal("qty") for fee in fees), ZERO),
                    currency,
                    Liquidity.MAKER if item.raw.get("liquidity_ind") == "m" else Liquidity.TAKER,
                    at,
                    {"exchange_order_id": exchange_order_id},
                ),
            )
        filled = item.decimal("cum_qty") if item.has("cum_qty") else ZERO
        return OrderReport(
            exchange_order_id,
            item.raw.get("cl_ord_id") or "",
            status,
            filled,
            at,
            fills,
            str(item.raw.get("reason") or "") if status.is_final else "",
        )

    def _balances(self, msg: dict) -> list[StreamEvent]:
        if msg.get("type") != "update":
            return []
        totals, at = {}, None
        for raw in msg.get("data", ()):
            entry = Fields(EXCHANGE, "balances", raw)
            if entry.text("type") != "trade" and entry.raw.get("wallet_type", "spot") == "spot":
                totals[common_currency(EXCHANGE, entry.text("asset"))] = entry.decimal("balance")
                at = iso_seconds(entry.text("timestamp"))
        return [AccountBalances(totals, at, complete=False)] if totals and at is not None else []


def _status_of(errors: list[str]) -> int:
    """The HTTP status an answer's ``error`` list means (:meth:`KrakenPrivate.answered`)."""
    if any(error in RATE_LIMITED or THROTTLED.match(error) for error in errors):
        return 429
    if any(error in NOT_FOUND for error in errors):
        return 404
    if any(
        (error.startswith("EService:") and error not in NOT_EXECUTED) or error == "EGeneral:Internal error"
        for error in errors
    ):
        return 503
    return 400
