"""Binance spot: its wire formats translated to xWrap's types.

Pure translation, no I/O: :class:`BinanceAdapter` says what to send and reads what comes;
:class:`~..connectors.feed.ExchangeFeed` and the replay do the I/O. Symbols are base and quote run together
(``BTCUSDT``), which cannot be split without the exchange's metadata: translate through a
:class:`SymbolTable` of the markets. Streams name symbols in lower case (``btcusdt@aggTrade``),
payloads in upper case.

Amounts are strings on the wire, read with ``orjson``. REST calls are paced by request weight
(the limit ``exchangeInfo`` publishes, each call at its documented weight); a 429, or the 418 of
an IP ban that follows ignoring it, pauses every call for its ``Retry-After`` (shared code).
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Sequence
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import orjson

from ..core.book import BookSide
from ..core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, XWrapError
from ..core.execution import OrderReport
from ..core.markets import Market, MarketStatus
from ..core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ..core.money import format_decimal, parse_decimal
from ..core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from ..core.pacing import RateLimit
from ..core.pairs import Pair, common_currency
from ..core.symbols import SymbolTable
from .base import Adapter, Credentials
from .private import (AccountBalances, Amendment, NotOnExchange, PrivateAdapter, Quota, StreamEvent, StreamNotice,
                      window_limit)
from .http import DEFAULT_RETRY_AFTER, Request, Response, retry_after
from .wire import Fields, column_rows, entry, expect, load_json, unified_pair

EXCHANGE = "binance"

# Binance spot fee schedule, regular user (VIP 0): maker 0.1000 %, taker 0.1000 %
# (binance.com/en/fee/schedule).
MAKER_FEE = Decimal("0.001")
TAKER_FEE = Decimal("0.001")


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /api/v3/exchangeInfo`` response, one per symbol, whatever its status.

    Filters: ``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize/minQty/maxQty`` and ``NOTIONAL``
    (or the older ``MIN_NOTIONAL``) ``minNotional/maxNotional``; a value of 0 disables a rule
    (a disabled tick or step falls back to the asset's precision). A market whose status is
    not ``TRADING``, or where spot trading is not allowed, is offline. Raises
    :class:`InvalidParameter` naming the field and symbol for missing or malformed values.
    """
    what = f"GET /api/v3/exchangeInfo on {EXCHANGE}"
    info = Fields(EXCHANGE, "exchangeInfo", load_json(body, what))
    symbols = expect(info.value("symbols"), list, info.label("symbols"), "a JSON list")
    return [_market(entry(EXCHANGE, raw, index, "symbol")) for index, raw in enumerate(symbols)]


def _market(symbol: Fields) -> Market:
    filters = _filters(symbol)
    price = filters.get("PRICE_FILTER")
    lot = filters.get("LOT_SIZE")
    if price is None or lot is None:
        raise InvalidParameter(symbol.label("filters"), "a PRICE_FILTER and a LOT_SIZE filter",
                               missing=True)
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL")
    quote_places = symbol.places("quoteAssetPrecision" if symbol.has("quoteAssetPrecision")
                                 else "quotePrecision")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, symbol.text("baseAsset"), symbol.text("quoteAsset"),
                          symbol.label("pair")),
        symbol=symbol.symbol,
        tick_size=_rule(price, "tickSize") or quote_places,
        size_step=_rule(lot, "stepSize") or symbol.places("baseAssetPrecision"),
        min_size=lot.decimal("minQty"),
        max_size=_rule(lot, "maxQty"),
        min_notional=notional.decimal("minNotional") if notional else Decimal(0),
        max_notional=_rule(notional, "maxNotional") if notional else None,
        funds_step=quote_places,
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_status(symbol),
    )


def _filters(symbol: Fields) -> dict[str, Fields]:
    raw = expect(symbol.value("filters"), list, symbol.label("filters"), "a JSON list")
    filters = {}
    for index, item in enumerate(raw):
        kind = Fields(EXCHANGE, symbol.symbol, item, f"filters[{index}].").text("filterType")
        filters[kind] = Fields(EXCHANGE, symbol.symbol, item, f"{kind}.")
    return filters


def _rule(fields: Fields, name: str) -> Decimal | None:
    """The filter's value, ``None`` where absent or 0 (Binance's "rule disabled")."""
    value = fields.optional_decimal(name)
    return value or None


def _status(symbol: Fields) -> MarketStatus:
    # status: PRE_TRADING, TRADING, POST_TRADING, END_OF_DAY, HALT, AUCTION_MATCH, BREAK.
    trading = symbol.text("status") == "TRADING"
    if trading and (not symbol.has("isSpotTradingAllowed") or symbol.flag("isSpotTradingAllowed")):
        return MarketStatus.ONLINE
    return MarketStatus.OFFLINE


# -- market data ---------------------------------------------------------------------------------

#: Levels per side asked of ``GET /api/v3/depth``: 1000 costs a weight of 50, the documented
#: maximum 5000 costs 250; the top thousand levels are what a virtual order can reach, and at 50 a
#: reconnect that re-fetches 20 books takes a third of the burst the weight limit allows, not all of it.
SNAPSHOT_LIMIT = 1000
#: ``GET /api/v3/depth`` weight by ``limit`` (upper bound of each band, weight).
DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))
EXCHANGE_INFO_WEIGHT = 20
KLINES_WEIGHT = 2

#: ``GET /api/v3/klines`` intervals: seconds -> Binance's name (``1M`` has no fixed length).
CANDLE_INTERVALS = {1: "1s", 60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h",
                    7200: "2h", 14400: "4h", 21600: "6h", 28800: "8h", 43200: "12h", 86400: "1d",
                    259200: "3d", 604800: "1w"}
CANDLES_PER_REQUEST = 1000
#: The columns of one kline row, in the order Binance writes them.
KLINE_COLUMNS = ("openTime", "open", "high", "low", "close", "volume", "closeTime", "quoteVolume", "trades",
                 "takerBuyVolume", "takerBuyQuoteVolume", "ignore")

#: The streams followed per symbol, in this order: diff depth every 100 ms, aggregate trades
#: (one per taker order and price) and the best bid and ask in real time.
STREAMS = ("depth@100ms", "aggTrade", "bookTicker")

_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
#: ``rateLimitType`` -> what a request spends of it (:class:`~.private.Quota` kinds).
_QUOTA_KINDS = {"REQUEST_WEIGHT": "weight", "ORDERS": "orders", "RAW_REQUESTS": "requests"}
_BID, _ASK = BookSide.BID, BookSide.ASK
_NONE: list[MarketEvent] = []


def depth_weight(limit: int) -> int:
    """The request weight of ``GET /api/v3/depth`` with ``limit`` levels (1 to 5000)."""
    for most, weight in DEPTH_WEIGHTS:
        if 1 <= limit <= most:
            return weight
    raise InvalidParameter("limit", "a number of levels from 1 to 5000", limit)


#: A :class:`RateLimit` that never spends more than ``count`` weight in any ``seconds``.
weight_limit = window_limit


def rate_limits(body: str | bytes) -> list[Quota]:
    """Every limit an ``exchangeInfo`` response publishes in ``rateLimits``, named as the
    ``X-MBX-*`` headers count them: ``REQUEST_WEIGHT 1m`` (1200 a minute in 2021, 6000 now),
    ``ORDERS 10s``, ``ORDERS 1d``, ``RAW_REQUESTS 5m``; ``kind`` says what a request spends."""
    what = f"GET /api/v3/exchangeInfo on {EXCHANGE}"
    info = Fields(EXCHANGE, "exchangeInfo", load_json(body, what))
    limits = expect(info.raw.get("rateLimits", []), list, info.label("rateLimits"), "a JSON list")
    quotas = []
    for index, raw in enumerate(limits):
        rule = Fields(EXCHANGE, "exchangeInfo", raw, f"rateLimits[{index}].")
        kind, interval = rule.text("rateLimitType"), rule.text("interval")
        if interval not in _SECONDS:
            raise InvalidParameter(rule.label("interval"), "SECOND, MINUTE, HOUR or DAY", interval)
        count, number = rule.integer("limit"), rule.integer("intervalNum")
        if not count or not number:
            raise InvalidParameter(rule.label("limit"), "a limit above 0 over an interval above 0", raw)
        if kind in _QUOTA_KINDS:
            quotas.append(Quota(f"{kind} {number}{interval[0].lower()}", _QUOTA_KINDS[kind], count,
                                number * _SECONDS[interval]))
    return quotas


def published_rest_limit(body: str | bytes) -> RateLimit | None:
    """The ``REQUEST_WEIGHT`` limit of :func:`rate_limits` as a :func:`weight_limit`; None if the
    response publishes none."""
    for quota in rate_limits(body):
        if quota.kind == "weight":
            return quota.limit
    return None


class BinanceAdapter(Adapter):
    """Binance spot market data: exchangeInfo, depth snapshots and klines over REST; diff depth,
    aggregate trades and book tickers over one combined-stream connection.

    A book starts from ``GET /api/v3/depth`` while its diffs are kept (the feed buffers them);
    the snapshot's ``lastUpdateId`` joins it to them: diffs ending at or before it are dropped,
    then each diff's first id ``U`` must follow the last applied ``u``, else it is a gap and the
    book is rebuilt from a new snapshot. There is no checksum. Streams are subscribed with
    ``SUBSCRIBE`` messages on ``/stream`` (rather than named in a URL that grows with every
    stream), three per pair, so one connection follows at most 341 pairs (1024 streams).
    """

    name = EXCHANGE
    rest_url = "https://api.binance.com"
    ws_url = "wss://stream.binance.com:9443"
    markets_path = "/api/v3/exchangeInfo"
    markets_weight = EXCHANGE_INFO_WEIGHT
    parse_markets = staticmethod(parse_markets)
    published_rest_limit = staticmethod(published_rest_limit)
    rest_limit = weight_limit(6000, 60)  # REQUEST_WEIGHT 6000 a minute per IP, if exchangeInfo says none
    # 5 incoming messages a second per connection, pings and pongs included: one at a time, 3 a
    # second, never more than 4 in a second, which leaves room for the pong to the server's ping.
    subscribe_limit = RateLimit(3, 1)
    ping_interval = None            # the server pings every 20 s; websockets answers with pongs
    silence_timeout = 60.0          # no heartbeat: depth and bookTicker of a traded market tick far more often
    connection_lifetime = 24 * 3600 - 600  # the server closes a connection at 24 h: replace it 10 min before
    snapshot_over_rest = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._ids = itertools.count(1)

    # -- the websocket ----------------------------------------------------------------------------

    def ws_address(self, base_url: str) -> str:
        """The combined-stream endpoint: every message comes as ``{"stream": ..., "data": ...}``."""
        return base_url.rstrip("/") + "/stream"

    def streams(self, pairs: Sequence[Pair]) -> list[str]:
        """The stream names of ``pairs``: each of :data:`STREAMS` for every pair in turn."""
        symbols = [self.markets.to_symbol(pair).lower() for pair in pairs]
        return [f"{symbol}@{stream}" for stream in STREAMS for symbol in symbols]

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        return [self._request("SUBSCRIBE", self.streams(pairs))]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._request("UNSUBSCRIBE", self.streams(pairs))]

    def _request(self, method: str, streams: list[str]) -> str:
        return orjson.dumps({"method": method, "params": streams, "id": next(self._ids)}).decode()

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """``depthUpdate`` diffs (with their update ids ``U``..``u``), ``aggTrade`` and ``trade``
        (the taker is the seller when the buyer is the maker, ``m``), ``bookTicker`` and error
        replies become events; request acks (``result``) and other streams give nothing."""
        msg = orjson.loads(message)
        data = msg.get("data")
        if data is None:
            return _reply(msg)
        kind = data.get("e")
        if kind == "depthUpdate":  # most messages: first
            pair = self.pair_of.get(data["s"])
            if pair is None:
                return _NONE
            changes = [(_BID, Decimal(price), Decimal(size)) for price, size in data["b"]]
            changes += [(_ASK, Decimal(price), Decimal(size)) for price, size in data["a"]]
            return [BookDelta(pair, changes, data["U"], data["u"])]
        if kind is None and "A" in data:  # bookTicker carries no event type
            pair = self.pair_of.get(data["s"])
            if pair is None:
                return _NONE
            return [Ticker(pair, Decimal(data["b"]), Decimal(data["a"]), at,
                           bid_size=Decimal(data["B"]), ask_size=Decimal(data["A"]))]
        if kind == "aggTrade" or kind == "trade":
            pair = self.pair_of.get(data["s"])
            if pair is None:
                return _NONE
            return [Trade(pair, str(data["a" if kind == "aggTrade" else "t"]), Decimal(data["p"]),
                          Decimal(data["q"]), Side.SELL if data["m"] else Side.BUY, data["T"] / 1000)]
        return _NONE

    # -- REST -------------------------------------------------------------------------------------

    def snapshot_request(self, pair: Pair) -> Request:
        """``GET /api/v3/depth`` of :data:`SNAPSHOT_LIMIT` levels a side, at its weight."""
        return Request("/api/v3/depth", {"symbol": self.markets.to_symbol(pair), "limit": SNAPSHOT_LIMIT},
                       weight=depth_weight(SNAPSHOT_LIMIT))

    def parse_rest(self, url: str, body: str) -> list[MarketEvent]:
        """A ``GET /api/v3/depth`` response (found by its URL's path, the symbol in its query)
        as the book's snapshot at ``lastUpdateId``; nothing for other URLs or unfollowed symbols.
        Raises :class:`InvalidParameter` naming the field for a malformed snapshot."""
        parts = urlsplit(url)
        if not parts.path.endswith("/api/v3/depth"):
            return _NONE
        symbol = parse_qs(parts.query).get("symbol", [""])[0]
        pair = self.pair_of.get(symbol)
        if pair is None:
            return _NONE
        snapshot = Fields(EXCHANGE, symbol, load_json(body, f"GET /api/v3/depth?symbol={symbol} on {EXCHANGE}"),
                          "depth.")
        return [BookSnapshot(pair, _levels(snapshot, "bids"), _levels(snapshot, "asks"),
                             snapshot.integer("lastUpdateId"))]

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /api/v3/klines``: the candles of ``interval`` seconds (a key of
        :data:`CANDLE_INTERVALS`) that open from ``start`` up to, not including, ``end`` (Unix
        seconds), at most :data:`CANDLES_PER_REQUEST` of them."""
        if interval not in CANDLE_INTERVALS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_INTERVALS)) + " seconds",
                                   interval)
        count = math.ceil((end - start) / interval)
        if not 0 < count <= CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request("/api/v3/klines", {"symbol": self.markets.to_symbol(pair),
                                          "interval": CANDLE_INTERVALS[interval], "startTime": round(start * 1000),
                                          "endTime": round(end * 1000) - 1, "limit": count},
                       weight=KLINES_WEIGHT)

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows of :data:`KLINE_COLUMNS`: times in milliseconds, prices and volumes as strings,
        oldest first."""
        rows = column_rows(EXCHANGE, body, f"GET klines of {pair} on {EXCHANGE}", KLINE_COLUMNS, f"{pair} kline")
        return sorted((Candle(pair, row.integer("openTime") // 1000, interval, row.decimal("open"), row.decimal("high"),
                              row.decimal("low"), row.decimal("close"), row.decimal("volume"))
                       for row in rows), key=lambda candle: candle.start)


def _reply(msg: dict) -> list[MarketEvent]:
    """A reply to a request: ``{"result": null, "id": 1}`` says nothing; an error (``{"error":
    {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1}``, or the code and message
    unwrapped) is the exchange's complaint."""
    error = msg.get("error", msg if "code" in msg else None)
    if isinstance(error, dict):
        return [FeedError(f"{error.get('msg', 'error')} (code {error.get('code')}, request {msg.get('id')})")]
    return _NONE


def _levels(snapshot: Fields, side: str) -> list[tuple[Decimal, Decimal]]:
    rows = expect(snapshot.value(side, "a JSON list of [price, quantity]"), list, snapshot.label(side),
                  "a JSON list of [price, quantity]")
    try:  # thousands of levels: read them all at once, and each with its name only if one is bad
        levels = [(Decimal(price), Decimal(size)) for price, size in rows]
        if all(type(price) is str and type(size) is str for price, size in rows):
            return levels
    except (TypeError, ValueError, ArithmeticError):
        pass
    levels = []
    for index, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 2):
            raise InvalidParameter(snapshot.label(f"{side}[{index}]"), "[price, quantity]", row)
        levels.append((parse_decimal(row[0], snapshot.label(f"{side}[{index}].price"), positive=True),
                       parse_decimal(row[1], snapshot.label(f"{side}[{index}].quantity"), non_negative=True)))
    return levels


# -- the private side --------------------------------------------------------------------------------

#: Milliseconds after its ``timestamp`` a signed request is refused (-1021): Binance's default
#: ``recvWindow``. A placement signed longer ago than that can no longer execute.
RECV_WINDOW_MS = 5000
API_KEY_HEADER = "X-MBX-APIKEY"
#: ``newClientOrderId``: unique among the account's open orders.
CLIENT_ORDER_ID = re.compile(r"[a-zA-Z0-9-_]{1,36}")
#: Request weights of the private REST endpoints (REST API documentation, 2026).
PLACE_WEIGHT = CANCEL_WEIGHT = CANCEL_ALL_WEIGHT = CANCEL_REPLACE_WEIGHT = TIME_WEIGHT = 1
AMEND_WEIGHT = QUERY_WEIGHT = 4
FILLS_BY_ORDER_WEIGHT = 5        # GET /api/v3/myTrades with orderId (20 without)
OPEN_ORDERS_ALL_WEIGHT = 80      # GET /api/v3/openOrders without symbol (6 with one)
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

STATUSES = {"NEW": OrderStatus.OPEN, "PENDING_NEW": OrderStatus.OPEN, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
            "FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELLED, "PENDING_CANCEL": OrderStatus.OPEN,
            "REJECTED": OrderStatus.REJECTED, "EXPIRED": OrderStatus.EXPIRED,
            "EXPIRED_IN_MATCH": OrderStatus.EXPIRED}
#: xWrap's order (type, post-only) -> Binance's ``type``. A stop buys above the market and sells
#: below it: Binance's STOP_LOSS for both sides.
ORDER_TYPES = {(OrderType.LIMIT, False): "LIMIT", (OrderType.LIMIT, True): "LIMIT_MAKER",
               (OrderType.MARKET, False): "MARKET", (OrderType.STOP_MARKET, False): "STOP_LOSS",
               (OrderType.STOP_LIMIT, False): "STOP_LOSS_LIMIT"}
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
    quote_orders: bool     # quoteOrderQtyMarketAllowed: market orders by quote amount
    amend: bool            # amendAllowed: PUT /api/v3/order/amend/keepPriority
    cancel_replace: bool   # cancelReplaceAllowed: POST /api/v3/order/cancelReplace


def _symbol_rules(metadata: str | bytes) -> dict[str, _SymbolRules]:
    if not metadata:
        return {}
    info = load_json(metadata, f"GET /api/v3/exchangeInfo on {EXCHANGE}")
    return {raw["symbol"]: _SymbolRules(frozenset(raw.get("orderTypes", ())),
                                        raw.get("quoteOrderQtyMarketAllowed", False) is True,
                                        raw.get("amendAllowed", False) is True,
                                        raw.get("cancelReplaceAllowed", False) is True)
            for raw in info.get("symbols", ()) if isinstance(raw, dict) and "symbol" in raw}


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
    quotas = (Quota("REQUEST_WEIGHT 1m", "weight", 6000, 60), Quota("ORDERS 10s", "orders", 100, 10),
              Quota("ORDERS 1d", "orders", 200_000, 86400), Quota("RAW_REQUESTS 5m", "requests", 61_000, 300))
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
        return replace(request, path=f"{request.path}?{query}&signature={signature(self.credentials.secret, query)}",
                       params={}, headers={**request.headers, API_KEY_HEADER: self.credentials.key})

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
            offered = sorted(f"{t.value}{' post_only' if post else ''}" for (t, post), name in ORDER_TYPES.items()
                             if name in rules.order_types)
            raise InvalidParameter("post_only" if order.post_only else "type",
                                   f"an order {symbol} takes on binance: {', '.join(offered)}",
                                   "post_only" if order.post_only else order.type.value)
        if kind not in _WITH_TIME_IN_FORCE and order.time_in_force is TimeInForce.FOK:
            raise InvalidParameter("time_in_force", f"GTC or IOC for a {order.type.value} order on binance", "FOK")
        if kind == "LIMIT_MAKER" and order.time_in_force is not TimeInForce.GTC:
            raise InvalidParameter("time_in_force", "GTC for a post-only order on binance", order.time_in_force.value)
        if order.funds is not None and rules is not None and not rules.quote_orders:
            raise InvalidParameter("funds", f"a size: {symbol} takes no quote amount (quoteOrderQty) on binance",
                                   format_decimal(order.funds))

    def place_request(self, order: Order, client_id: str) -> Request:
        """``POST /api/v3/order`` answered ``FULL`` (with the fills made at once)."""
        kind = ORDER_TYPES[(order.type, order.post_only)]
        params = self._order_params(order, kind, order.size, order.price)
        params += [("newClientOrderId", client_id), ("newOrderRespType", "FULL")]
        return _signed("POST", "/api/v3/order", params, PLACE_WEIGHT, orders=1)

    def _order_params(self, order: Order, kind: str, size: Decimal | None,
                      price: Decimal | None) -> list[tuple[str, str]]:
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
        return _signed("GET", "/api/v3/order", [("symbol", self.markets.to_symbol(order.pair)),
                                                ("origClientOrderId", client_id)], QUERY_WEIGHT)

    def fills_request(self, order: Order, exchange_order_id: str) -> Request:
        return _signed("GET", "/api/v3/myTrades", [("symbol", self.markets.to_symbol(order.pair)),
                                                   ("orderId", exchange_order_id), ("limit", "1000")],
                       FILLS_BY_ORDER_WEIGHT)

    def cancel_request(self, order: Order, client_id: str) -> Request:
        """By ``orderId`` where it is known (the faster cancel), else by the client id."""
        key = ("orderId", order.exchange_order_id) if order.exchange_order_id else ("origClientOrderId", client_id)
        return _signed("DELETE", "/api/v3/order", [("symbol", self.markets.to_symbol(order.pair)), key], CANCEL_WEIGHT)

    def cancel_all_request(self, pair: Pair) -> Request:
        return _signed("DELETE", "/api/v3/openOrders", [("symbol", self.markets.to_symbol(pair))], CANCEL_ALL_WEIGHT)

    def amend_request(self, order: Order, *, price: Decimal, size: Decimal, base: Decimal, client_id: str,
                      next_client_id: str) -> Amendment:
        """A smaller size at the same price: ``PUT /api/v3/order/amend/keepPriority`` (``newQty`` is
        the exchange order's new quantity, keeping the client id). Anything else:
        ``POST /api/v3/order/cancelReplace`` (STOP_ON_FAILURE) with the size still to fill, or, on a
        symbol without cancelReplaceAllowed, a cancel then a new order."""
        symbol = self.markets.to_symbol(order.pair)
        rules = self.rules.get(symbol)
        assert order.size is not None and order.exchange_order_id is not None
        if price == order.price and size < order.size and (rules is None or rules.amend):
            return Amendment(_signed("PUT", "/api/v3/order/amend/keepPriority", [
                ("symbol", symbol), ("orderId", order.exchange_order_id), ("newClientOrderId", client_id),
                ("newQty", format_decimal(size - base))], AMEND_WEIGHT), True, client_id)
        if rules is not None and not rules.cancel_replace:
            return Amendment(None, False, next_client_id)
        params = self._order_params(order, ORDER_TYPES[(order.type, order.post_only)], size - order.filled_size, price)
        params[3:3] = [("cancelReplaceMode", "STOP_ON_FAILURE"), ("cancelOrderId", order.exchange_order_id)]
        params += [("newClientOrderId", next_client_id), ("newOrderRespType", "FULL")]
        return Amendment(_signed("POST", "/api/v3/order/cancelReplace", params, CANCEL_REPLACE_WEIGHT, orders=1),
                         False, next_client_id)

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
        return [self._report(raw, at) for row in rows for raw in (row.get("orderReports", [row]) if
                                                                   isinstance(row, dict) else [row])]

    def parse_amended(self, body: str, at: float, amendment: Amendment) -> list[OrderReport]:
        """keepPriority: the ``amendedOrder``; cancelReplace: ``cancelResponse`` then ``newOrderResponse``."""
        answer = Fields(EXCHANGE, "amend", load_json(body, f"an amend answer on {EXCHANGE}"))
        if amendment.in_place:
            amended = answer.nested("amendedOrder").raw
            return [self._report({**amended, "transactTime": answer.raw.get("transactTime")}, at)]
        return [self._report(answer.nested("cancelResponse").raw, at),
                self._report(answer.nested("newOrderResponse").raw, at)]

    def partial_amend(self, body: str, at: float) -> list[OrderReport]:
        """A cancelReplace refused half-way (-2021: the order was cancelled, its replacement not
        placed): the cancelled order's report; nothing for other answers."""
        raw = _json_or_none(body)
        data = raw.get("data") if isinstance(raw, dict) else None
        cancelled = data.get("cancelResponse") if isinstance(data, dict) else None
        if isinstance(cancelled, dict) and data.get("cancelResult") == "SUCCESS":
            return [self._report(cancelled, at)]
        return []

    def parse_fills(self, body: str, at: float) -> list[Fill]:
        """``GET /api/v3/myTrades``: one row per trade of the order."""
        rows = expect(load_json(body, f"GET /api/v3/myTrades on {EXCHANGE}"), list, f"trades on {EXCHANGE}",
                      "a JSON list")
        fills = []
        for index, raw in enumerate(rows):
            trade = Fields(EXCHANGE, f"trade {index}", raw)
            fills.append(self._fill(trade, "id", "price", "qty", "commission", "commissionAsset",
                                    trade.flag("isMaker"), trade.integer("time"), str(trade.integer("orderId"))))
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
        fills = tuple(self._fill(Fields(EXCHANGE, order.symbol, fill, f"fills[{index}]."), "tradeId", "price", "qty",
                                 "commission", "commissionAsset", False, time, exchange_order_id)
                      for index, fill in enumerate(order.raw.get("fills") or ()))
        return OrderReport(exchange_order_id, order.raw.get("origClientOrderId") or order.text("clientOrderId"),
                           _order_status(order, "status"), order.decimal("executedQty"),
                           at if time is None else time / 1000, fills)

    def _fill(self, fields: Fields, trade_id: str, price: str, size: str, fee: str, asset: str, maker: bool,
              time: int | None, exchange_order_id: str) -> Fill:
        fee_asset = fields.raw.get(asset)
        currency = common_currency(EXCHANGE, fee_asset) if fee_asset else self.markets.to_pair(
            fields.raw.get("symbol") or fields.symbol).quote
        return Fill("", str(fields.integer(trade_id)), fields.decimal(price, positive=True),
                    fields.decimal(size, positive=True), fields.decimal(fee), currency,
                    Liquidity.MAKER if maker else Liquidity.TAKER, 0.0 if time is None else time / 1000,
                    {"exchange_order_id": exchange_order_id})

    # -- the stream -------------------------------------------------------------------------------

    def stream_address(self, ws_url: str) -> str:
        """The WebSocket API at ``/ws-api/v3``: of the settings' ``ws_url`` host where one is set."""
        if not ws_url:
            return super().stream_address(ws_url)
        parts = urlsplit(ws_url)
        return urlunsplit((parts.scheme, parts.netloc, "/ws-api/v3", "", ""))

    def stream_subscribe(self, now: float) -> list[str]:
        timestamp = round(now * 1000)
        params: dict[str, object] = {"apiKey": self.credentials.key, "timestamp": timestamp}
        params["signature"] = ws_signature(self.credentials.secret, params)
        return [orjson.dumps({"id": f"subscribe-{timestamp}", "method": "userDataStream.subscribe.signature",
                              "params": params}).decode()]

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
            fills = (self._fill(event, "t", "L", "l", "n", "N", event.flag("m"), event.integer("T"),
                                exchange_order_id),)
        reason = event.raw.get("r") or ""
        return OrderReport(exchange_order_id, event.raw.get("C") or event.text("c"), _order_status(event, "X"),
                           event.decimal("z"), event.integer("E") / 1000, fills, "" if reason == "NONE" else reason)


def _signed(method: str, path: str, params: list[tuple[str, str]], weight: float, orders: int = 0) -> Request:
    return Request(path, dict(params), weight=weight, method=method,
                   costs={"weight": weight, "orders": orders, "requests": 1})


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
