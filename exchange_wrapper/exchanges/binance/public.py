"""Binance spot: its wire formats translated to xWrap's types.

Pure translation, no I/O: :class:`BinanceAdapter` says what to send and reads what comes;
:class:`~...connectors.feed.ExchangeFeed` and the replay do the I/O. Symbols are base and quote run together
(``BTCUSDT``), which cannot be split without the exchange's metadata: translate through a
:class:`SymbolTable` of the markets. Streams name symbols in lower case (``btcusdt@aggTrade``),
payloads in upper case.

Amounts are strings on the wire, read with ``orjson``. REST calls are paced by request weight
(the limit ``exchangeInfo`` publishes, each call at its documented weight); a 429, or the 418 of
an IP ban that follows ignoring it, pauses every call for its ``Retry-After`` (shared code).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from ...core.book import BookSide
from ...core.errors import InvalidParameter
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ...core.markets import Market, MarketStatus
from ...core.money import parse_decimal
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ..base import Adapter
from ..http import Request
from ..private import Quota, window_limit
from ..wire import Fields, candles_of, column_rows, entry, expect, load_json, unified_pair

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
        raise InvalidParameter(symbol.label("filters"), "a PRICE_FILTER and a LOT_SIZE filter", missing=True)
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL")
    quote_places = symbol.places("quoteAssetPrecision" if symbol.has("quoteAssetPrecision") else "quotePrecision")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, symbol.text("baseAsset"), symbol.text("quoteAsset"), symbol.label("pair")),
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
CANDLE_INTERVALS = {
    1: "1s",
    60: "1m",
    180: "3m",
    300: "5m",
    900: "15m",
    1800: "30m",
    3600: "1h",
    7200: "2h",
    14400: "4h",
    21600: "6h",
    28800: "8h",
    43200: "12h",
    86400: "1d",
    259200: "3d",
    604800: "1w",
}
CANDLES_PER_REQUEST = 1000
#: The columns of one kline row, in the order Binance writes them.
KLINE_COLUMNS = (
    "openTime",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "closeTime",
    "quoteVolume",
    "trades",
    "takerBuyVolume",
    "takerBuyQuoteVolume",
    "ignore",
)

#: The streams followed per symbol, in this order: diff depth every 100 ms, aggregate trades
#: (one per taker order and price) and the best bid and ask in real time.
STREAMS = ("depth@100ms", "aggTrade", "bookTicker")

_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
#: ``rateLimitType`` -> what a request spends of it (:class:`~..private.Quota` kinds).
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
            quotas.append(
                Quota(f"{kind} {number}{interval[0].lower()}", _QUOTA_KINDS[kind], count, number * _SECONDS[interval])
            )
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
    candles_per_request = CANDLES_PER_REQUEST  # candles_request asks up to, not including, end
    # 5 incoming messages a second per connection, pings and pongs included: one at a time, 3 a
    # second, never more than 4 in a second, which leaves room for the pong to the server's ping.
    subscribe_limit = RateLimit(3, 1)
    ping_interval = None  # the server pings every 20 s; websockets answers with pongs
    silence_timeout = 60.0  # no heartbeat: depth and bookTicker of a traded market tick far more often
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
            return [BookDelta(pair, changes, data["U"], data["u"], time=data["E"] / 1000)]
        if kind is None and "A" in data:  # bookTicker carries no event type
            pair = self.pair_of.get(data["s"])
            if pair is None:
                return _NONE
            return [
                Ticker(
                    pair,
                    Decimal(data["b"]),
                    Decimal(data["a"]),
                    at,
                    bid_size=Decimal(data["B"]),
                    ask_size=Decimal(data["A"]),
                )
            ]
        if kind == "aggTrade" or kind == "trade":
            pair = self.pair_of.get(data["s"])
            if pair is None:
                return _NONE
            return [
                Trade(
                    pair,
                    str(data["a" if kind == "aggTrade" else "t"]),
                    Decimal(data["p"]),
                    Decimal(data["q"]),
                    Side.SELL if data["m"] else Side.BUY,
                    data["T"] / 1000,
                )
            ]
        return _NONE

    # -- REST -------------------------------------------------------------------------------------

    def snapshot_request(self, pair: Pair) -> Request:
        """``GET /api/v3/depth`` of :data:`SNAPSHOT_LIMIT` levels a side, at its weight."""
        return Request(
            "/api/v3/depth",
            {"symbol": self.markets.to_symbol(pair), "limit": SNAPSHOT_LIMIT},
            weight=depth_weight(SNAPSHOT_LIMIT),
        )

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
        snapshot = Fields(
            EXCHANGE, symbol, load_json(body, f"GET /api/v3/depth?symbol={symbol} on {EXCHANGE}"), "depth."
        )
        return [
            BookSnapshot(pair, _levels(snapshot, "bids"), _levels(snapshot, "asks"), snapshot.integer("lastUpdateId"))
        ]

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /api/v3/klines``: the candles of ``interval`` seconds (a key of
        :data:`CANDLE_INTERVALS`) that open from ``start`` up to, not including, ``end`` (Unix
        seconds), at most :data:`CANDLES_PER_REQUEST` of them."""
        if interval not in CANDLE_INTERVALS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_INTERVALS)) + " seconds", interval)
        count = math.ceil((end - start) / interval)
        if not 0 < count <= CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(
            "/api/v3/klines",
            {
                "symbol": self.markets.to_symbol(pair),
                "interval": CANDLE_INTERVALS[interval],
                "startTime": round(start * 1000),
                "endTime": round(end * 1000) - 1,
                "limit": count,
            },
            weight=KLINES_WEIGHT,
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows of :data:`KLINE_COLUMNS`: times in milliseconds, prices and volumes as strings,
        oldest first."""
        rows = column_rows(EXCHANGE, body, f"GET klines of {pair} on {EXCHANGE}", KLINE_COLUMNS, f"{pair} kline")
        return candles_of(rows, pair, interval, start="openTime", per_second=1000)


def _reply(msg: dict) -> list[MarketEvent]:
    """A reply to a request: ``{"result": null, "id": 1}`` says nothing; an error (``{"error":
    {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1}``, or the code and message
    unwrapped) is the exchange's complaint."""
    error = msg.get("error", msg if "code" in msg else None)
    if isinstance(error, dict):
        return [FeedError(f"{error.get('msg', 'error')} (code {error.get('code')}, request {msg.get('id')})")]
    return _NONE


def _levels(snapshot: Fields, side: str) -> list[tuple[Decimal, Decimal]]:
    rows = expect(
        snapshot.value(side, "a JSON list of [price, quantity]"),
        list,
        snapshot.label(side),
        "a JSON list of [price, quantity]",
    )
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
        levels.append(
            (
                parse_decimal(row[0], snapshot.label(f"{side}[{index}].price"), positive=True),
                parse_decimal(row[1], snapshot.label(f"{side}[{index}].quantity"), non_negative=True),
            )
        )
    return levels
