"""Kraken spot: its wire formats translated to xWrap's types.

Pure translation, no I/O. Kraken names a market four ways: the REST pair key (``XXBTZUSD``,
``Market.symbol``), the websocket v1 name (``XBT/USD``, ``Market.ws_symbol``, AssetPairs
``wsname``), the altname (``XBTUSD``, in ``Market.alt_symbols``) and the websocket v2 name
(``BTC/USD``: the v1 name with ``XBT`` and ``XDG`` spelt ``BTC`` and ``DOGE``), with its own
currency codes (``XXBT``/``XBT`` for BTC, ``ZUSD`` for USD, ``XXDG``/``XDG`` for DOGE): translate
through a :class:`SymbolTable`.

The market data comes from websocket v2 (``wss://ws.kraken.com/v2``), not v1: Kraken recommends
v2 for new integrations and adds features to it only (v1 is "maintained"); v2 trades carry a
``trade_id`` (v1 trades have none, and the matching engine refuses a trade id it has seen), v2
book snapshots carry a checksum too, and its messages are plain objects without v1's
quirks (two dicts in one book message, republished updates). The cost is JSON numbers for
amounts, parsed with :data:`~..base.decimal_loads`.

Book integrity is the checksum alone (Kraken numbers no updates): after each message, the book
truncated to the subscribed depth (Kraken sends no removal for levels pushed out), the CRC32
of its top 10 levels must equal the message's ``checksum``; on a mismatch the book is
resubscribed. Prices and quantities enter the checksum written with the pair's precision
(``pair_decimals``, ``lot_decimals``): the wire's numbers may lose trailing zeros (Kraken's own
reference examples write ``0.566`` and ``18097.1547`` and check out only when padded).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from ...core.book import BookSide, OrderBook
from ...core.checksums import kraken_checksum
from ...core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter, RateLimited
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ...core.markets import Market, MarketStatus
from ...core.money import parse_decimal
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair, common_currency
from ...core.symbols import SymbolTable
from ..base import Adapter, Credentials, decimal_loads
from ..http import DEFAULT_RETRY_AFTER, Request
from ..wire import Fields, candles_of, column_rows, expect, load_json, unified_pair

EXCHANGE = "kraken"

# Kraken Pro fee schedule, lowest tier ($0-10K traded in 30 days): maker 0.25 %, taker 0.40 %
# (kraken.com/features/fee-schedule). Used where a pair's own fees/fees_maker lists are empty.
MAKER_FEE = Decimal("0.0025")
TAKER_FEE = Decimal("0.004")

# Any other status (delisted, maintenance, work_in_progress, ...) is offline. reduce_only accepts
# only orders that shrink a margin position, so for spot it is cancel-only.
_STATUS = {
    "online": MarketStatus.ONLINE,
    "cancel_only": MarketStatus.CANCEL_ONLY,
    "reduce_only": MarketStatus.CANCEL_ONLY,
    "post_only": MarketStatus.POST_ONLY,
    "limit_only": MarketStatus.LIMIT_ONLY,
}


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /0/public/AssetPairs`` response, one per pair key.

    Dark-pool pairs (keys ending ``.d``, no websocket name) are skipped, and so are pairs of
    staking and other assets whose codes a unified pair cannot carry (``ETH2.S``). Price tick from
    ``tick_size`` (else ``pair_decimals``), size step from ``lot_decimals``, minimums from
    ``ordermin`` and ``costmin``, fees from the first tier of ``fees`` (taker) and ``fees_maker``
    (percent; Kraken's published lowest tier where the lists are empty). Raises
    :class:`InvalidParameter` naming the field and pair for missing or malformed values, or
    for a response whose ``error`` list is not empty.
    """
    what = f"GET /0/public/AssetPairs on {EXCHANGE}"
    response = Fields(EXCHANGE, "AssetPairs", load_json(body, what))
    errors = response.value("error")
    if errors != []:
        raise InvalidParameter(response.label("error"), "an empty list", errors)
    result = expect(response.value("result"), dict, response.label("result"), "a JSON object")
    return [
        _market(Fields(EXCHANGE, key, raw))
        for key, raw in result.items()
        if not key.endswith(".d") and _plain_codes(raw)
    ]


def _plain_codes(raw: object) -> bool:
    return not (isinstance(raw, dict) and any("." in str(raw.get(side, "")) for side in ("base", "quote")))


def _market(pair: Fields) -> Market:
    taker, maker = _first_tier(pair, "fees"), _first_tier(pair, "fees_maker")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, pair.text("base"), pair.text("quote"), pair.label("pair")),
        symbol=pair.symbol,
        tick_size=(pair.decimal("tick_size", positive=True) if pair.has("tick_size") else pair.places("pair_decimals")),
        size_step=pair.places("lot_decimals"),
        min_size=pair.optional_decimal("ordermin") or Decimal(0),
        min_notional=pair.optional_decimal("costmin") or Decimal(0),
        funds_step=pair.places("cost_decimals") if pair.has("cost_decimals") else None,
        # without fees_maker the pair is not on a maker/taker schedule: makers pay the taker fee
        maker_fee=maker if maker is not None else taker if taker is not None else MAKER_FEE,
        taker_fee=taker if taker is not None else TAKER_FEE,
        status=_STATUS.get(pair.text("status"), MarketStatus.OFFLINE),
        ws_symbol=pair.text("wsname"),
        alt_symbols=(pair.text("altname"),),
    )


def _first_tier(pair: Fields, name: str) -> Decimal | None:
    """The fee of the lowest volume tier of ``[[volume, percent], ...]``, as a fraction."""
    if not pair.has(name):
        return None
    tiers = expect(pair.value(name), list, pair.label(name), "a list of [volume, percent fee]")
    if not tiers:
        return None
    tier = expect(tiers[0], list, pair.label(f"{name}[0]"), "[volume, percent fee]")
    if len(tier) != 2:
        raise InvalidParameter(pair.label(f"{name}[0]"), "[volume, percent fee]", tier)
    return parse_decimal(tier[1], pair.label(f"{name}[0]"), non_negative=True).scaleb(-2)


def ws_v2_symbol(wsname: str) -> str:
    """The websocket v2 name of a pair from its v1 ``wsname``: ``XBT/USD`` -> ``BTC/USD``,
    ``XDG/USD`` -> ``DOGE/USD``, ``ETH/XBT`` -> ``ETH/BTC`` (v2 refuses the v1 spellings)."""
    return "/".join(common_currency(EXCHANGE, code) for code in wsname.split("/"))


def raise_for_errors(errors: object, what: str) -> None:
    """Raise what a Kraken REST ``error`` list says, if it says anything.

    Kraken answers HTTP 200 with the error in the body: its public rate limit as
    ``EGeneral:Too many requests`` or ``EAPI:Rate limit exceeded`` (:class:`RateLimited`, retry
    after :data:`~..http.DEFAULT_RETRY_AFTER`: Kraken says only "a few seconds"), ``EService:``
    errors when it is unavailable or busy (:class:`ExchangeUnavailable`), anything else
    (``EQuery:Unknown asset pair``) :class:`ExchangeRejected`.
    """
    if errors == []:
        return
    if not (isinstance(errors, list) and all(isinstance(error, str) for error in errors)):
        raise InvalidParameter(f"error of {what}", "a list of error strings", errors)
    if any(error in _RATE_LIMITED for error in errors):
        raise RateLimited(EXCHANGE, DEFAULT_RETRY_AFTER)
    if any(error.startswith("EService:") for error in errors):
        raise ExchangeUnavailable(EXCHANGE, "; ".join(errors))
    raise ExchangeRejected(EXCHANGE, 200, "; ".join(errors))


_RATE_LIMITED = ("EGeneral:Too many requests", "EAPI:Rate limit exceeded")


# -- market data ---------------------------------------------------------------------------------

#: Levels per side of the book subscription (Kraken offers 10, 25, 100, 500 or 1000).
BOOK_DEPTH = 100

#: ``GET /0/public/OHLC`` intervals, in seconds (Kraken counts them in minutes).
CANDLE_INTERVALS = (60, 300, 900, 1800, 3600, 14400, 86400, 604800, 1296000)
#: OHLC returns at most the 720 most recent candles, whatever ``since`` asks.
CANDLES_PER_REQUEST = 720
#: The columns of an OHLC row; prices and volume are strings.
CANDLE_COLUMNS = ("time", "open", "high", "low", "close", "vwap", "volume", "count")

_BID, _ASK = BookSide.BID, BookSide.ASK
_TAKER = {"buy": Side.BUY, "sell": Side.SELL}  # a v2 trade's ``side`` is the taker's
_NONE: list[MarketEvent] = []


class KrakenAdapter(Adapter):
    """Kraken spot market data: AssetPairs and OHLC over REST; book (with its checksum), trade
    and ticker over websocket v2."""

    name = EXCHANGE
    rest_url = "https://api.kraken.com"
    ws_url = "wss://ws.kraken.com/v2"
    markets_path = "/0/public/AssetPairs"
    parse_markets = staticmethod(parse_markets)
    # Public endpoints are limited per IP address ("1 per second (or less) would remain within
    # the rate limits"; Trades and OHLC also per pair): a counter of one call, back in 1 s.
    # The counter of 15 decaying 0.33/s is the private API's, per key.
    rest_limit = RateLimit(1, 1)
    candles_per_request = CANDLES_PER_REQUEST
    candles_recent = CANDLES_PER_REQUEST  # OHLC serves the last 720 only, the running one included
    # Kraken's websocket request limit is dynamic and unpublished ("Exceeded msg rate");
    # we send three subscriptions at start and two messages per resync.
    subscribe_limit = RateLimit(5, 5)
    silence_timeout = 10.0  # a heartbeat comes every second when nothing else does
    ping_interval = 20.0
    book_depth = BOOK_DEPTH  # Kraken sends no removal for levels pushed out of the depth
    has_checksum = True

    def __init__(self, markets: SymbolTable, pairs: Iterable[Pair], credentials: Credentials | None = None):
        super().__init__(markets, pairs, credentials)
        self.symbol_of: dict[Pair, str] = {}
        """Unified pair -> its websocket v2 name."""
        self._places: dict[Pair, tuple[int, int]] = {}
        for market in markets:
            assert market.ws_symbol is not None and market.tick_size is not None  # parse_markets sets both
            symbol = self.symbol_of[market.pair] = ws_v2_symbol(market.ws_symbol)
            self.pair_of[symbol] = market.pair
            self._places[market.pair] = (_places(market.tick_size), _places(market.size_step))
        self._handlers: dict[str, Callable[[dict, float], list[MarketEvent]]] = {
            "trade": self._trades,
            "ticker": self._ticker,
        }

    # -- the websocket ----------------------------------------------------------------------------

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """Book (at :data:`BOOK_DEPTH`, with its snapshot), trades (none from before) and ticker."""
        return self._requests("subscribe", pairs)

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return self._requests("unsubscribe", pairs)

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """Unsubscribe then subscribe the book only: Kraken answers with a new snapshot (a second
        subscription of a subscribed book is refused)."""
        request = {"channel": "book", "symbol": self._symbols(pairs), "depth": BOOK_DEPTH}
        return [ws_request("unsubscribe", request), ws_request("subscribe", request)]

    def granted_depths(self, message: str) -> dict[Pair, int]:
        """A book subscription's acknowledgement names its symbol and the ``depth`` granted
        (``{"method":"subscribe","result":{"channel":"book","depth":1000,...,"symbol":"BTC/USD"},
        "success":true,...}``); the subscriber truncates to it after each update."""
        if '"depth"' not in message:  # not an acknowledgement: no need to parse it
            return {}
        msg = decimal_loads(message)
        result = msg.get("result") if isinstance(msg, dict) else None
        if msg.get("method") != "subscribe" or msg.get("success") is not True or not isinstance(result, dict):
            return {}
        symbol, depth = result.get("symbol"), result.get("depth")
        pair = self.pair_of.get(symbol) if isinstance(symbol, str) else None
        if result.get("channel") != "book" or pair is None or type(depth) is not int or depth < 1:
            return {}
        return {pair: depth}

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """``book`` snapshots and updates, ``trade`` updates and ``ticker`` become events, a
        refused request a :class:`FeedError`; ``heartbeat``, ``status``, acknowledgements, pongs
        and the trade snapshot (trades from before we subscribed) are only signs of life."""
        msg = decimal_loads(message)
        channel = msg.get("channel")
        if channel == "book":  # nearly every message: no dispatch
            return self._book(msg)
        handler = self._handlers.get(channel)
        if handler is not None:
            return handler(msg, at)
        if msg.get("success") is False:
            symbol = msg.get("symbol") or msg.get("result", {}).get("symbol")
            return [
                FeedError(
                    " ".join(
                        str(part)
                        for part in (msg.get("method"), symbol, "refused:", msg.get("error"))
                        if part is not None
                    )
                )
            ]
        return _NONE

    def _book(self, msg: dict) -> list[MarketEvent]:
        events: list[MarketEvent] = []
        snapshot = msg["type"] == "snapshot"
        for book in msg["data"]:
            pair = self.pair_of.get(book["symbol"])
            if pair is None:
                continue
            checksum, stamp = book.get("checksum"), book.get("timestamp")
            time = iso_seconds(stamp) if stamp is not None else None
            if snapshot:
                events.append(BookSnapshot(pair, _levels(book["bids"]), _levels(book["asks"]), time=time))
                if checksum is not None:  # v2 snapshots carry one: check the snapshot too
                    events.append(BookDelta(pair, (), checksum=checksum, time=time))
            else:
                changes = [(_BID, Decimal(level["price"]), Decimal(level["qty"])) for level in book["bids"]]
                changes += [(_ASK, Decimal(level["price"]), Decimal(level["qty"])) for level in book["asks"]]
                events.append(BookDelta(pair, changes, checksum=checksum, time=time))
        return events

    def _trades(self, msg: dict, at: float) -> list[MarketEvent]:
        if msg["type"] == "snapshot":
            return _NONE
        events: list[MarketEvent] = []
        for trade in msg["data"]:
            pair = self.pair_of.get(trade["symbol"])
            if pair is not None:
                events.append(
                    Trade(
                        pair,
                        str(trade["trade_id"]),
                        Decimal(trade["price"]),
                        Decimal(trade["qty"]),
                        _TAKER[trade["side"]],
                        iso_seconds(trade["timestamp"]),
                    )
                )
        return events

    def _ticker(self, msg: dict, at: float) -> list[MarketEvent]:
        events: list[MarketEvent] = []
        for ticker in msg["data"]:
            pair = self.pair_of.get(ticker["symbol"])
            if pair is not None:
                events.append(
                    Ticker(
                        pair,
                        _decimal(ticker.get("bid")),
                        _decimal(ticker.get("ask")),
                        iso_seconds(ticker["timestamp"]) if "timestamp" in ticker else at,
                        bid_size=_decimal(ticker.get("bid_qty")),
                        ask_size=_decimal(ticker.get("ask_qty")),
                        last=_decimal(ticker.get("last")),
                        volume_24h=_decimal(ticker.get("volume")),
                    )
                )
        return events

    def _requests(self, method: str, pairs: Sequence[Pair]) -> list[str]:
        symbols = self._symbols(pairs)
        return [
            ws_request(method, {"channel": "book", "symbol": symbols, "depth": BOOK_DEPTH}),
            ws_request(method, {"channel": "trade", "symbol": symbols}),
            ws_request(method, {"channel": "ticker", "symbol": symbols}),
        ]

    def _symbols(self, pairs: Sequence[Pair]) -> list[str]:
        return [self.symbol_of[self.markets.market(pair).pair] for pair in pairs]

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /0/public/OHLC``: ``interval`` one of :data:`CANDLE_INTERVALS` (seconds), the
        candles from ``start`` (Unix seconds) on; Kraken takes no end, so ``end`` only bounds
        the request to :data:`CANDLES_PER_REQUEST` candles."""
        if interval not in CANDLE_INTERVALS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_INTERVALS)) + " seconds", interval)
        if not start < end or (end - start) / interval > CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        # ``since`` is exclusive: one second before start keeps the candle that opens at start
        return Request(
            "/0/public/OHLC",
            {"pair": self.markets.to_symbol(pair), "interval": interval // 60, "since": math.ceil(start) - 1},
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows of :data:`CANDLE_COLUMNS` under the pair's key, oldest first; the last one is the
        interval still running. Kraken's errors are raised
        (:func:`raise_for_errors`: its rate limit comes as ``RateLimited``)."""
        what = f"GET OHLC of {pair} on {EXCHANGE}"
        response = Fields(EXCHANGE, f"OHLC of {pair}", load_json(body, what))
        raise_for_errors(response.value("error"), what)
        result = expect(response.value("result"), dict, response.label("result"), "a JSON object")
        keys = [key for key in result if key != "last"]
        if len(keys) != 1 or self.pair_of.get(keys[0]) != self.markets.market(pair).pair:
            raise InvalidParameter(response.label("result"), f"the candles of {pair} under its pair key", keys)
        rows = column_rows(
            EXCHANGE,
            expect(result[keys[0]], list, response.label(keys[0]), "a JSON list of candles"),
            what,
            CANDLE_COLUMNS,
            f"{pair} candle",
        )
        return candles_of(rows, pair, interval, start="time")

    def checksum(self, book: OrderBook, market: Market) -> int:
        """Kraken's CRC32 of the top 10 levels, each number written with the pair's decimals."""
        price_places, size_places = self._places[market.pair]
        return kraken_checksum(book.bids, book.asks, price_decimals=price_places, size_decimals=size_places)


def ws_request(method: str, params: dict[str, Any]) -> str:
    return orjson.dumps({"method": method, "params": params}).decode()


def _levels(levels: list[dict]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(level["price"]), Decimal(level["qty"])) for level in levels]


def _places(step: Decimal) -> int:
    """The decimals of a price or size step: ``0.1`` -> 1, ``0.00000001`` -> 8, ``5`` -> 0."""
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


def _decimal(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


def iso_seconds(text: str) -> float:
    """Kraken's RFC 3339 ``2023-09-25T07:48:36.925533Z`` as Unix seconds."""
    return datetime.fromisoformat(text).timestamp()
