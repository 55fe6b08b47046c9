"""Poloniex (spot API v3): its wire formats translated to xWrap's types.

Pure translation, no I/O: :class:`PoloniexAdapter` says what to send and reads what comes;
:class:`~..connectors.feed.ExchangeFeed` and the replay do the I/O. Symbols are ``BASE_QUOTE``
(``BTC_USDT``), the currency codes being the common ones.

The public websocket takes one subscribe request per channel. ``book_lv2`` sends a snapshot of
the top 20 levels a side, then updates that keep those 20 (a level leaving the top comes as a
removal, one entering it as an addition). Every book message carries its ``id`` and the ``id``
of the symbol's previous message as ``lastId``: an update covers ``lastId + 1`` to ``id`` (ids
jump by more than one, only the chaining counts), and one whose ``lastId`` is not the book's
last id is a gap, repaired by resubscribing. There is no checksum. ``trades`` names the taker's
side. The server sends nothing of its own to show it is alive and ends a session that has sent
nothing for 30 seconds, so the feed pings (``{"event":"ping"}``) and the pongs keep it audible.

:class:`PoloniexPrivate` is the account's side: signed REST orders, fills and balances, and the
authenticated stream (``wss://ws.poloniex.com/ws/private``, channels ``orders`` and ``balances``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, Sequence
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import orjson

from ..core.book import BookSide
from ..core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ..core.execution import OrderReport
from ..core.markets import Market, MarketStatus
from ..core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ..core.money import ZERO, format_decimal
from ..core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from ..core.pacing import RateLimit
from ..core.pairs import Pair, common_currency
from .base import Adapter
from .private import AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota, StreamEvent, StreamNotice
from .http import Request, Response, retry_after
from .wire import Fields, column_rows, entry, expect, load_json, unified_pair

EXCHANGE = "poloniex"

# Poloniex spot fee schedule, level 1 (under $50K traded in 30 days, under $49 of TRX held):
# maker 0.1450 %, taker 0.1550 % (poloniex.com/fee-schedule).
MAKER_FEE = Decimal("0.00145")
TAKER_FEE = Decimal("0.00155")

# state: NORMAL, PAUSE or POST_ONLY (api-docs.poloniex.com, GET /markets); anything else is offline.
_STATUS = {"NORMAL": MarketStatus.ONLINE, "POST_ONLY": MarketStatus.POST_ONLY}


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /markets`` response, one per symbol.

    ``symbolTradeLimit`` gives ``priceScale``, ``quantityScale`` and ``amountScale`` as numbers
    of decimal places (tick, size step, quote-amount step), ``minQuantity`` and ``minAmount``.
    Raises :class:`InvalidParameter` naming the field and symbol for missing or malformed values.
    """
    what = f"GET /markets on {EXCHANGE}"
    markets = expect(load_json(body, what), list, what, "a JSON list of markets")
    return [_market(entry(EXCHANGE, raw, index, "symbol")) for index, raw in enumerate(markets)]


def _market(market: Fields) -> Market:
    limits = market.nested("symbolTradeLimit")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, market.text("baseCurrencyName"), market.text("quoteCurrencyName"),
                          market.label("pair")),
        symbol=market.symbol,
        tick_size=limits.places("priceScale"),
        size_step=limits.places("quantityScale"),
        min_size=limits.decimal("minQuantity"),
        min_notional=limits.decimal("minAmount"),
        funds_step=limits.places("amountScale"),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_STATUS.get(market.text("state"), MarketStatus.OFFLINE),
    )


# -- market data ---------------------------------------------------------------------------------

#: ``GET /markets/{symbol}/candles`` intervals: seconds -> Poloniex's name (``MONTH_1`` has no
#: fixed length and is left out).
CANDLE_INTERVALS = {60: "MINUTE_1", 300: "MINUTE_5", 600: "MINUTE_10", 900: "MINUTE_15", 1800: "MINUTE_30",
                    3600: "HOUR_1", 7200: "HOUR_2", 14400: "HOUR_4", 21600: "HOUR_6", 43200: "HOUR_12",
                    86400: "DAY_1", 259200: "DAY_3", 604800: "WEEK_1"}
CANDLES_PER_REQUEST = 500
#: The columns of one candle row, in the order Poloniex writes them.
CANDLE_COLUMNS = ("low", "high", "open", "close", "amount", "quantity", "buyTakerAmount", "buyTakerQuantity",
                  "tradeCount", "ts", "weightedAverage", "interval", "startTime", "closeTime")

BOOK_CHANNEL = "book_lv2"
CHANNELS = (BOOK_CHANNEL, "trades", "ticker")

_BID, _ASK = BookSide.BID, BookSide.ASK
_TAKER = {"buy": Side.BUY, "sell": Side.SELL}
_NONE: list[MarketEvent] = []


class PoloniexAdapter(Adapter):
    """Poloniex spot market data: markets and candles over REST; ``book_lv2``, ``trades`` and
    ``ticker`` over the public websocket."""

    name = EXCHANGE
    rest_url = "https://api.poloniex.com"
    ws_url = "wss://ws.poloniex.com/ws/public"
    markets_path = "/markets"
    parse_markets = staticmethod(parse_markets)
    # Public REST, per IP: 200 requests/s (candles, order book, prices); /markets, /currencies,
    # trades and ticker24h are held to 10/s, i.e. a weight of 20.
    rest_limit = RateLimit(200, 200)
    markets_weight = 20
    subscribe_limit = RateLimit(500, 500)  # websocket requests: 500/s per connection
    app_ping = '{"event":"ping"}'
    app_ping_interval = 15.0   # the server drops a session that sends nothing for 30 s
    ping_interval = None       # the application ping is the keep-alive; the server pings nobody
    silence_timeout = 30.0     # two pings without a pong (or anything else)

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """``book_lv2`` snapshots and updates, ``trades``, ``ticker`` and ``error`` events become
        events; subscription acks and pongs are only signs of life."""
        msg = orjson.loads(message)
        if msg.get("action") == "update":  # nearly every message: no dispatch
            deltas = []
            for data in msg["data"]:
                pair = self.pair_of.get(data["symbol"])
                if pair is not None:
                    changes = [(_BID, Decimal(price), Decimal(size)) for price, size in data["bids"]]
                    changes += [(_ASK, Decimal(price), Decimal(size)) for price, size in data["asks"]]
                    deltas.append(BookDelta(pair, changes, data["lastId"] + 1, data["id"]))
            return deltas
        if "data" not in msg:
            return self._event(msg)
        channel = msg["channel"]
        if channel == BOOK_CHANNEL:
            if msg.get("action") != "snapshot":
                raise InvalidParameter("action of a book_lv2 message on poloniex", "snapshot or update",
                                       msg.get("action"))
            return [BookSnapshot(pair, _levels(data["bids"]), _levels(data["asks"]), data["id"])
                    for pair, data in self._entries(msg)]
        if channel == "trades":
            return [Trade(pair, str(data["id"]), Decimal(data["price"]), Decimal(data["quantity"]),
                          _TAKER[data["takerSide"]], data["createTime"] / 1000)
                    for pair, data in self._entries(msg)]
        if channel == "ticker":
            return [self._ticker(pair, data) for pair, data in self._entries(msg)]
        return _NONE

    def _entries(self, msg: dict) -> list[tuple[Pair, dict]]:
        return [(self.pair_of[data["symbol"]], data) for data in msg["data"] if data["symbol"] in self.pair_of]

    def _ticker(self, pair: Pair, data: dict) -> Ticker:
        # 24-hour statistics; the best bid and ask are there only in later versions of the channel
        bid, ask, bid_size, ask_size = (Decimal(data[name]) if name in data else None
                                        for name in ("bid", "ask", "bidQuantity", "askQuantity"))
        return Ticker(pair, bid, ask, data["ts"] / 1000, bid_size=bid_size, ask_size=ask_size,
                      last=Decimal(data["close"]), volume_24h=Decimal(data["quantity"]))

    def _event(self, msg: dict) -> list[MarketEvent]:
        if msg.get("event") == "error":
            return [FeedError(str(msg.get("message", "error")))]
        return _NONE

    # -- the websocket ----------------------------------------------------------------------------

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """One request per channel, as Poloniex acknowledges them."""
        return [self._request("subscribe", channel, pairs) for channel in CHANNELS]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._request("unsubscribe", channel, pairs) for channel in CHANNELS]

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The book channel alone, out and in again: Poloniex answers with new snapshots."""
        return [self._request(event, BOOK_CHANNEL, pairs) for event in ("unsubscribe", "subscribe")]

    def _request(self, event: str, channel: str, pairs: Sequence[Pair]) -> str:
        return orjson.dumps({"event": event, "channel": [channel],
                             "symbols": [self.markets.to_symbol(pair) for pair in pairs]}).decode()

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /markets/{symbol}/candles``: ``interval`` (seconds) a key of
        :data:`CANDLE_INTERVALS`, at most :data:`CANDLES_PER_REQUEST` candles from ``start`` to
        ``end`` (Unix seconds)."""
        if interval not in CANDLE_INTERVALS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_INTERVALS)) + " seconds",
                                   interval)
        if not start < end or (end - start) / interval > CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(f"/markets/{self.markets.to_symbol(pair)}/candles",
                       {"interval": CANDLE_INTERVALS[interval], "startTime": round(start * 1000),
                        "endTime": round(end * 1000), "limit": CANDLES_PER_REQUEST})

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows of :data:`CANDLE_COLUMNS`: prices and volumes as strings, times in milliseconds."""
        rows = column_rows(EXCHANGE, body, f"GET candles of {pair} on {EXCHANGE}", CANDLE_COLUMNS, f"{pair} candle")
        return sorted((Candle(pair, row.integer("startTime") // 1000, interval, row.decimal("open"),
                              row.decimal("high"), row.decimal("low"), row.decimal("close"), row.decimal("quantity"))
                       for row in rows), key=lambda candle: candle.start)


def _levels(rows: list) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(size)) for price, size in rows]


# -- the private side --------------------------------------------------------------------------------

#: Milliseconds after its ``signTimestamp`` Poloniex refuses a signed request (HTTP 408), sent as
#: the ``recvWindow`` header; a timestamp more than a second ahead of its clock is refused (400).
RECV_WINDOW_MS = 5000
#: Error codes (api-docs.poloniex.com/spot/error-code): 21301 "Order not found", 21304 "Order is
#: filled", 21305 "Order is canceled" (the order asked about is not, or no longer, open there);
#: 500 "Internal System Error", 603 "Internal Request Timeout", 24201 "Service busy. Try again
#: later" (the outcome is unknown).
NOT_FOUND_CODES = frozenset({21301, 21304, 21305})
UNKNOWN_OUTCOME_CODES = frozenset({500, 603, 24201})

#: ``state`` of an order (REST and the ``orders`` channel). ``PENDING_CANCEL`` is a cancel taken
#: but not done; ``PARTIALLY_CANCELED`` a cancelled order that had filled in part.
STATES = {"PENDING_NEW": OrderStatus.OPEN, "NEW": OrderStatus.OPEN, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
          "FILLED": OrderStatus.FILLED, "PENDING_CANCEL": OrderStatus.OPEN,
          "PARTIALLY_CANCELED": OrderStatus.CANCELLED, "CANCELED": OrderStatus.CANCELLED,
          "REJECTED": OrderStatus.REJECTED, "EXPIRED": OrderStatus.EXPIRED, "FAILED": OrderStatus.REJECTED}
#: xWrap's order (type, post-only) -> Poloniex's ``type``. Stops are smart orders on Poloniex
#: (``/smartorders``, with their own ids and a triggered order of another id): not placed.
ORDER_TYPES = {(OrderType.LIMIT, False): "LIMIT", (OrderType.LIMIT, True): "LIMIT_MAKER",
               (OrderType.MARKET, False): "MARKET"}
#: The private websocket's keep-alive: it ends a session that sends nothing for 30 seconds.
PING = '{"event":"ping"}'


def string_to_sign(method: str, path: str, params: Mapping[str, object], body: str | None, timestamp: int) -> str:
    """``METHOD\\npath\\nparams``: with a body, ``requestBody=<the body as sent>&signTimestamp=<ms>``;
    without, the query parameters and ``signTimestamp`` sorted by name, URL-encoded (a space is
    ``%20``) and joined with ``&``."""
    if body:
        return f"{method}\n{path}\nrequestBody={body}&signTimestamp={timestamp}"
    query = urlencode(sorted({**params, "signTimestamp": timestamp}.items()), quote_via=quote)
    return f"{method}\n{path}\n{query}"


def signature(secret: str, text: str) -> str:
    """The base64 HMAC-SHA256 of ``text`` keyed with the secret (REST and the websocket's auth)."""
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


class PoloniexPrivate(PrivateAdapter):
    """A Poloniex spot account: orders, fills and balances over the signed REST API, own orders
    and balances over the private websocket.

    Every signed request carries the headers ``key``, ``signTimestamp``, ``signature`` and
    ``recvWindow``; POST, PUT and DELETE send their parameters as a JSON body. An order's answer
    names its ids only, and a cancel's says ``PENDING_CANCEL``: what happened comes from the
    ``orders`` channel (``eventType`` place, trade, canceled) or a query. Amends are
    cancel-replaces (``PUT /orders/{id}``: a new order under a new client id, queue priority
    lost). Limits are per endpoint and account, per second (50 for placing, cancelling and
    asking about one order, 10 for the lists, cancel-all and cancel-replace); a 429 pauses calls
    for its Retry-After.
    """

    name = EXCHANGE
    market_adapter = PoloniexAdapter
    rest_url = PoloniexAdapter.rest_url
    stream_url = "wss://ws.poloniex.com/ws/private"
    stream_ping = PING
    quotas = (Quota("POST /orders", "place", 50, 1), Quota("DELETE /orders/{id}", "cancel", 50, 1),
              Quota("GET /orders/{id}", "query", 50, 1), Quota("GET /orders/{id}/trades", "fills", 50, 1),
              Quota("GET /accounts/balances", "balances", 50, 1), Quota("GET /orders", "open_orders", 10, 1),
              Quota("DELETE /orders", "cancel_all", 10, 1), Quota("PUT /orders/{id}", "replace", 10, 1))
    recv_window = RECV_WINDOW_MS / 1000
    cancel_reports_order = False  # PENDING_CANCEL, without the filled size: the order is asked about

    # -- limits, time, signing ----------------------------------------------------------------------

    def pause_for(self, response: Response, now: float) -> float | None:
        """A 429: its ``Retry-After`` where it has one."""
        return retry_after(response.headers.get("retry-after"), now) if response.status == 429 else None

    def error(self, response: Response) -> XWrapError:
        code, message = _error_of(response.body)
        text = f"{message} (code {code})" if code is not None else message
        if response.status >= 500 or code in UNKNOWN_OUTCOME_CODES:
            return ExchangeUnavailable(EXCHANGE, f"outcome unknown: HTTP {response.status}: {text}")
        if code in NOT_FOUND_CODES:
            return NotOnExchange(EXCHANGE, response.status, text)
        return ExchangeRejected(EXCHANGE, response.status, text)

    def time_request(self) -> Request:
        return Request("/timestamp")

    def parse_time(self, body: str) -> float:
        return Fields(EXCHANGE, "timestamp", load_json(body, "GET /timestamp")).integer("serverTime") / 1000

    def sign(self, request: Request, now: float) -> Request:
        timestamp = round(now * 1000)
        text = string_to_sign(request.method, request.path, request.params, request.body, timestamp)
        query = urlencode(sorted(request.params.items()), quote_via=quote)
        return replace(request, path=f"{request.path}?{query}" if query else request.path, params={}, headers={
            **request.headers, "key": self.credentials.key, "signTimestamp": str(timestamp),
            "signature": signature(self.credentials.secret, text), "recvWindow": str(RECV_WINDOW_MS)})

    # -- orders -----------------------------------------------------------------------------------

    def client_id(self, key: bytes, revision: int) -> str:
        """``xw`` and 32 hex digits of the key (34 characters), ``-<revision>`` after the first:
        within ``clientOrderId``'s ``[A-Za-z0-9_-]``, at most 64 characters (changelog 2023-12-21)."""
        return "xw" + key.hex()[:32] + (f"-{revision}" if revision else "")

    def check(self, order: Order) -> None:
        if order.type.is_stop:
            raise InvalidParameter("type", "market or limit: poloniex places stops as smart orders, which xWrap "
                                   "does not place", order.type.value)
        if order.time_in_force is TimeInForce.GTD:
            raise InvalidParameter("time_in_force", "GTC, IOC or FOK: poloniex has no GTD", "GTD")
        if order.post_only and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on poloniex", order.time_in_force.value)
        if order.type is not OrderType.MARKET:
            return
        if order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", "GTC or IOC for a market order on poloniex", "FOK")
        if order.side is Side.BUY and order.funds is None:
            raise InvalidParameter("funds", "a quote amount: poloniex takes a market buy by amount only",
                                   missing=True)
        if order.side is Side.SELL and order.funds is not None:
            raise InvalidParameter("funds", "a size: poloniex takes a market sell by quantity only",
                                   format_decimal(order.funds))

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /orders``: ``timeInForce`` for a limit order (a limit maker stays GTC, a market
        order takes what it can at once); a market buy by ``amount``."""
        kind = ORDER_TYPES[(order.type, order.post_only)]
        body: dict[str, Any] = {"symbol": self.markets.to_symbol(order.pair), "side": order.side.value.upper(),
                                "type": kind}
        if kind == "LIMIT":
            body["timeInForce"] = order.time_in_force.value
        if order.price is not None and kind != "MARKET":
            body["price"] = format_decimal(order.price)
        if order.funds is not None:
            body["amount"] = format_decimal(order.funds)
        else:
            assert order.size is not None
            body["quantity"] = format_decimal(order.size)
        body["clientOrderId"] = client_id
        return _private("POST", "/orders", "place", body)

    def query_request(self, order: Order, client_id: str) -> Request:
        return _private("GET", f"/orders/cid:{client_id}", "query")

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return _private("GET", f"/orders/{exchange_order_id}/trades", "fills")

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By the order's id where it is known, else by its client id."""
        target = order.exchange_order_id or f"cid:{client_id}"
        return _private("DELETE", f"/orders/{target}", "cancel")

    def cancel_all_request(self, pair: Pair) -> Request:
        return _private("DELETE", "/orders", "cancel_all", {"symbols": [self.markets.to_symbol(pair)]})

    def amend_request(self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str,
                      next_client_id: str) -> Amendment:
        """``PUT /orders/{id}``: Poloniex has no amend in place. The order is cancelled and a new
        one placed for what remains to fill (``quantity``) at ``price`` under ``next_client_id``;
        it keeps the type, side and time in force (``proceedOnFailure`` false: nothing is placed
        if the cancel fails)."""
        assert order.exchange_order_id is not None
        body = {"clientOrderId": next_client_id, "price": format_decimal(price),
                "quantity": format_decimal(size - order.filled_size)}
        return Amendment(_private("PUT", f"/orders/{order.exchange_order_id}", "replace", body), False,
                         next_client_id)

    def open_orders_request(self) -> Request:
        return _private("GET", "/orders", "open_orders", params={"limit": 2000})

    def balances_request(self) -> Request:
        return _private("GET", "/accounts/balances", "balances", params={"accountType": "SPOT"})

    # -- answers ----------------------------------------------------------------------------------

    def parse_order(self, body: str, at: float) -> OrderReport:
        """A placement's answer (``id`` and ``clientOrderId``: open, nothing filled yet), a query's
        (the order with its ``state`` and ``filledQuantity``), a cancel's (``PENDING_CANCEL``)."""
        return self._report(load_json(body, f"an order answer on {EXCHANGE}"), at)

    def parse_orders(self, body: str, at: float) -> list[OrderReport]:
        """``GET /orders`` (the open orders), ``DELETE /orders`` (one entry per order, its ``code``
        200 where the cancel was taken)."""
        rows = expect(load_json(body, f"an orders answer on {EXCHANGE}"), list, f"orders on {EXCHANGE}",
                      "a JSON list")
        return [self._report(row, at) for row in rows if not (isinstance(row, dict) and row.get("code", 200) != 200)]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """The cancel-replace's answer names the new order only (the replaced one's end comes on
        the stream): its report."""
        return [self.parse_order(body, at)]

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /orders/{id}/trades``: ``id`` is the trade's (the stream's ``tradeId``)."""
        rows = expect(load_json(body, f"trades on {EXCHANGE}"), list, f"trades on {EXCHANGE}", "a JSON list")
        fills = []
        for index, raw in enumerate(rows):
            trade = Fields(EXCHANGE, f"trade {index}", raw)
            fills.append(self._fill(trade, "id", "price", "quantity", "feeAmount", "createTime"))
        return fills

    def parse_balances(self, body: str, at: float) -> AccountBalances:
        """``GET /accounts/balances``: available plus on hold, per currency of the SPOT account."""
        accounts = expect(load_json(body, f"GET /accounts/balances on {EXCHANGE}"), list,
                          f"balances on {EXCHANGE}", "a JSON list")
        totals: dict[str, Decimal] = {}
        for index, raw in enumerate(accounts):
            account = Fields(EXCHANGE, f"account {index}", raw)
            if account.text("accountType") != "SPOT":
                continue
            for row, balance in enumerate(expect(account.value("balances"), list, account.label("balances"),
                                                 "a JSON list")):
                totals.update(self._balance(Fields(EXCHANGE, f"account {index}", balance, f"balances[{row}].")))
        return AccountBalances({currency: total for currency, total in totals.items() if total}, at, complete=True)

    def _report(self, raw: object, at: float) -> OrderReport:
        order = Fields(EXCHANGE, raw.get("symbol", "order") if isinstance(raw, dict) else "order", raw)
        if not order.has("state"):  # a placement's or a cancel-replace's answer: the ids only
            return OrderReport(order.text("id"), order.text("clientOrderId"), OrderStatus.OPEN, ZERO, at)
        time = next((order.integer(name) for name in ("updateTime", "ts") if order.has(name)), None)
        return OrderReport(order.text("orderId" if order.has("orderId") else "id"), order.text("clientOrderId"),
                           _state(order), order.decimal("filledQuantity") if order.has("filledQuantity") else ZERO,
                           at if time is None else time / 1000)

    def _fill(self, fields: Fields, trade_id: str, price: str, size: str, fee: str, time: str) -> Fill:
        """A trade of a REST answer or an ``orders`` event; the fee in ``feeCurrency`` (what the
        trade brings in, or TRX with its discount), or in what it brings in where none is named."""
        currency = fields.raw.get("feeCurrency")
        if not currency:
            pair = self.markets.to_pair(fields.text("symbol"))
            currency = pair.base if fields.text("side") == "BUY" else pair.quote
        return Fill("", fields.text(trade_id), fields.decimal(price, positive=True),
                    fields.decimal(size, positive=True), fields.decimal(fee), common_currency(EXCHANGE, currency),
                    Liquidity.MAKER if fields.text("matchRole") == "MAKER" else Liquidity.TAKER,
                    fields.integer(time) / 1000, {"exchange_order_id": fields.text("orderId")})

    def _balance(self, balance: Fields) -> dict[str, Decimal]:
        return {common_currency(EXCHANGE, balance.text("currency")): balance.decimal("available")
                + balance.decimal("hold")}

    # -- the stream -------------------------------------------------------------------------------

    def stream_address(self, ws_url: str) -> str:
        """``/ws/private``: of the settings' ``ws_url`` host where one is set."""
        if not ws_url:
            return super().stream_address(ws_url)
        parts = urlsplit(ws_url)
        return urlunsplit((parts.scheme, parts.netloc, "/ws/private", "", ""))

    def stream_subscribe(self, now: float) -> list[str]:
        """The ``auth`` event (``GET\\n/ws\\nsignTimestamp=<ms>`` signed), then the ``orders``
        channel of every symbol and the ``balances`` channel."""
        timestamp = round(now * 1000)
        auth = {"event": "subscribe", "channel": ["auth"], "params": {
            "key": self.credentials.key, "signTimestamp": timestamp,
            "signature": signature(self.credentials.secret, string_to_sign("GET", "/ws", {}, None, timestamp))}}
        return [orjson.dumps(auth).decode(),
                orjson.dumps({"event": "subscribe", "channel": ["orders"], "symbols": ["all"]}).decode(),
                orjson.dumps({"event": "subscribe", "channel": ["balances"]}).decode()]

    def parse_stream(self, message: str | bytes, at: float) -> list[StreamEvent]:
        """``orders`` events (a trade's fill where ``eventType`` is trade), ``balances`` (available
        plus hold of the currencies that changed), the ``auth`` answer (a refusal ends the stream),
        the ``orders`` subscription's acknowledgement, ``error`` events; pongs are nothing."""
        msg = orjson.loads(message)
        channel = msg.get("channel")
        if channel == "orders" and "data" in msg:
            return [self._event(Fields(EXCHANGE, raw.get("symbol", "orders"), raw)) for raw in msg["data"]]
        if channel == "balances" and "data" in msg:
            events = [Fields(EXCHANGE, "balances", raw) for raw in msg["data"]]
            totals: dict[str, Decimal] = {}
            for event in events:
                if event.text("accountType") == "SPOT":
                    totals.update(self._balance(event))
            return [AccountBalances(totals, max((e.integer("ts") for e in events), default=0) / 1000 or at,
                                    complete=False)]
        if channel == "auth":
            data = msg.get("data") or {}
            return [] if data.get("success") is True else [
                StreamNotice(f"authentication refused: {data.get('message', msg)}", fatal=True)]
        event = msg.get("event")
        if event == "subscribe" and channel == "orders":
            return [StreamNotice("subscribed to orders and balances")]
        if event == "error":
            return [StreamNotice(str(msg.get("message", msg)), fatal=True)]
        return []

    def _event(self, event: Fields) -> OrderReport:
        fills: tuple[Fill, ...] = ()
        if event.text("eventType") == "trade":
            fills = (self._fill(event, "tradeId", "tradePrice", "tradeQty", "tradeFee", "tradeTime"),)
        return OrderReport(event.text("orderId"), event.text("clientOrderId"), _state(event),
                           event.decimal("filledQuantity"), event.integer("ts") / 1000, fills)


def _private(method: str, path: str, kind: str, body: Mapping[str, Any] | None = None,
             params: Mapping[str, Any] | None = None) -> Request:
    """A signed request costing one of the quota of ``kind``; ``body`` sent as compact JSON."""
    return Request(path, dict(params or {}), method=method, body=None if body is None else orjson.dumps(body).decode(),
                   content_type="application/json", costs={kind: 1})


def _state(fields: Fields) -> OrderStatus:
    state = fields.text("state")
    if state not in STATES:
        raise InvalidParameter(fields.label("state"), "one of " + ", ".join(STATES), state)
    return STATES[state]


def _error_of(body: str) -> tuple[int | None, str]:
    """(code, message) of ``{"code": 21301, "message": "..."}``; (None, the body) for anything else."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raw = None
    code = raw.get("code") if isinstance(raw, dict) else None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return code, str(raw.get("message", ""))
    return None, body[:200]
