"""VALR (spot): its wire formats translated to xWrap's types.

Pure translation, no I/O. VALR names a pair by its ``symbol``, the two currency codes run together
(``BTCZAR`` is ``BTC_ZAR``); the codes themselves come with it (``baseCurrency``,
``quoteCurrency``), so no name is ever split. Precision and minimums come from
``GET /v1/public/pairs`` (``tickSize``, ``baseDecimalPlaces``, ``minBaseAmount``,
``maxBaseAmount``, ``minQuoteAmount``, ``maxQuoteAmount``, ``active``); the list holds futures too
(``currencyPairType`` ``FUTURE``): only ``SPOT`` pairs are markets here. A refusal is a JSON object
``{"code": ..., "message": ...}`` instead of the answer.

The trade websocket (``wss://api.valr.com/ws/trade``) takes
``{"type":"SUBSCRIBE","subscriptions":[{"event":...,"pairs":[...]}]}``; a subscription of an event
*replaces* its pair list (an empty list unsubscribes), so every message names all the pairs of its
event. The book is ``OB_L1_DIFF``: an ``OB_L1_SNAPSHOT`` of the whole aggregated book on
subscribing, then ``OB_L1_DIFF`` messages of changed levels ``[price, quantity]`` (quantity
``"0"`` removes the level). Both carry ``sq``, the book's sequence number, which each diff must
raise by exactly 1 ("if messages are received out of order then please resubscribe"), and ``cs``,
the unsigned CRC32 of the top 25 bids and asks interleaved (``bid:qty:ask:qty:...``, the longer
side going on alone) over the numbers as VALR writes them: OKX's checksum, unsigned. Trades are
``NEW_TRADE`` (with the taker's side), the ticker ``MARKET_SUMMARY_UPDATE``. The client sends
``{"type":"PING"}`` every 30 s at most and is answered ``PONG``; a connection without an API key
is closed after 15 minutes whatever it does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson

from ...core.book import BookSide, OrderBook
from ...core.checksums import okx_checksum
from ...core.errors import ExchangeRejected, InvalidParameter
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ...core.markets import Market, MarketStatus
from ...core.money import decimal_places
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ...core.symbols import SymbolTable
from ...core.times import parse_time
from ..base import Adapter, Credentials
from ..http import Request
from ..wire import Fields, entry, expect, load_json, unified_pair

EXCHANGE = "valr"

# VALR's spot fees, tier 1 (30-day volume under 50,000 USDT; valr.com fees): by the kind of pair.
FIAT_QUOTE_FEES = (Decimal("0.0018"), Decimal("0.0035"))  # quoted in ZAR: maker 0.180 %, taker 0.350 %
CRYPTO_QUOTE_FEES = (Decimal("0.0008"), Decimal("0.001"))  # maker 0.080 %, taker 0.100 %
STABLE_PAIR_FEES = (Decimal("0.0005"), Decimal("0.001"))  # a stable coin for another: 0.050 %, 0.100 %
FIATS = frozenset({"ZAR"})
STABLE_COINS = frozenset({"USDT", "USDC"})


def parse_markets(body: str | bytes) -> list[Market]:
    """The spot markets of a ``GET /v1/public/pairs`` answer, one per ``symbol`` whose
    ``currencyPairType`` is ``SPOT``.

    Price tick ``tickSize``; size step ``10 ** -baseDecimalPlaces``; minimum and maximum size
    ``minBaseAmount``/``maxBaseAmount``; minimum and maximum value ``minQuoteAmount``/
    ``maxQuoteAmount``; online while ``active``. Raises :class:`InvalidParameter` naming the field
    and pair for missing or malformed values, :class:`ExchangeRejected` for VALR's refusal.
    """
    pairs = expect(answer(body, "GET /v1/public/pairs"), list, "GET /v1/public/pairs on valr", "a JSON list")
    listed = [entry(EXCHANGE, raw, index, "symbol") for index, raw in enumerate(pairs)]
    return [_market(pair) for pair in listed if pair.raw.get("currencyPairType", "SPOT") == "SPOT"]


def _market(pair: Fields) -> Market:
    base, quote = pair.text("baseCurrency"), pair.text("quoteCurrency")
    maker, taker = _fees(base, quote)
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, base, quote, pair.label("baseCurrency/quoteCurrency")),
        symbol=pair.symbol,
        tick_size=pair.decimal("tickSize", positive=True),
        size_step=decimal_places(_places(pair, "baseDecimalPlaces")),
        min_size=pair.decimal("minBaseAmount"),
        max_size=pair.optional_decimal("maxBaseAmount"),
        min_notional=pair.decimal("minQuoteAmount"),
        max_notional=pair.optional_decimal("maxQuoteAmount"),
        maker_fee=maker,
        taker_fee=taker,
        status=MarketStatus.ONLINE if pair.flag("active") else MarketStatus.OFFLINE,
    )


def _places(pair: Fields, name: str) -> int:
    """A count of decimal places, which VALR writes as a string (``"8"``)."""
    text = str(pair.value(name, 'a count of decimal places such as "8"'))
    if not text.isdigit():
        raise InvalidParameter(pair.label(name), 'a count of decimal places such as "8"', text)
    return int(text)


def _fees(base: str, quote: str) -> tuple[Decimal, Decimal]:
    if quote in FIATS:
        return FIAT_QUOTE_FEES
    if base in STABLE_COINS and quote in STABLE_COINS:
        return STABLE_PAIR_FEES
    return CRYPTO_QUOTE_FEES


def answer(body: str | bytes, what: str) -> Any:
    """The JSON of a VALR REST answer to ``what``; VALR's refusal (an object with ``code`` and
    ``message``) is :class:`ExchangeRejected` with both."""
    value = load_json(body, f"{what} on {EXCHANGE}")
    if isinstance(value, dict) and "code" in value and "message" in value:
        raise ExchangeRejected(EXCHANGE, 400, f"{value['code']} {value['message']}")
    return value


# -- market data ---------------------------------------------------------------------------------

BOOK_EVENT = "OB_L1_DIFF"
EVENTS = (BOOK_EVENT, "NEW_TRADE", "MARKET_SUMMARY_UPDATE")
PING = '{"type":"PING"}'

#: ``GET /v1/public/{pair}/buckets`` periods, in seconds.
BUCKET_PERIODS = (60, 300, 900, 1800, 3600, 21600, 86400)
#: At most 300 buckets a request: a range holding more is refused.
CANDLES_PER_REQUEST = 300

_BID, _ASK = BookSide.BID, BookSide.ASK
_TAKER = {"buy": Side.BUY, "sell": Side.SELL}
_NONE: list[MarketEvent] = []


class ValrAdapter(Adapter):
    """VALR spot market data: pairs and buckets over REST; the ``OB_L1_DIFF`` book (with its
    sequence and checksum), trades and market summaries over the trade websocket."""

    name = EXCHANGE
    rest_url = "https://api.valr.com"
    ws_url = "wss://api.valr.com/ws/trade"
    markets_path = "/v1/public/pairs"
    parse_markets = staticmethod(parse_markets)
    # Public REST, per IP: /v1/public/* 30 a minute (buckets 20 a second): half as the burst, so
    # that no minute spends more.
    rest_limit = RateLimit(30 / 60, 15)
    candles_per_request = CANDLES_PER_REQUEST
    # No limit is published for messages on a connection (new connections: 60 a minute per IP);
    # we send one subscription, and two messages per resync.
    subscribe_limit = RateLimit(5, 5)
    app_ping = PING
    app_ping_interval = 20.0  # documented at most every 30 s; a connection silent for 60 s is closed
    ping_interval = None  # the application ping is the keep-alive
    silence_timeout = 45.0  # two pings without a pong (a quiet book sends nothing for 20 s and more)
    connection_lifetime = 14 * 60.0  # connections without an API key are closed after 15 minutes
    has_checksum = True

    def __init__(self, markets: SymbolTable, pairs: Iterable[Pair], credentials: Credentials | None = None):
        super().__init__(markets, pairs, credentials)
        self.subscribed: list[str] = []
        """The symbols subscribed, in order: every subscription message names them all."""

    # -- the websocket ----------------------------------------------------------------------------

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The three events of every subscribed pair in one message (a subscription replaces the
        pair list of its event)."""
        symbols = [self.markets.to_symbol(pair) for pair in pairs]
        self.subscribed += [symbol for symbol in symbols if symbol not in self.subscribed]
        return [self._subscription(EVENTS, self.subscribed)]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        gone = {self.markets.to_symbol(pair) for pair in pairs}
        self.subscribed = [symbol for symbol in self.subscribed if symbol not in gone]
        return [self._subscription(EVENTS, self.subscribed)]

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The book event without ``pairs``, then with them again: VALR sends a snapshot of a
        pair that joins the list."""
        gone = {self.markets.to_symbol(pair) for pair in pairs}
        return [
            self._subscription((BOOK_EVENT,), [symbol for symbol in self.subscribed if symbol not in gone]),
            self._subscription((BOOK_EVENT,), self.subscribed),
        ]

    @staticmethod
    def _subscription(events: Sequence[str], symbols: list[str]) -> str:
        return orjson.dumps(
            {"type": "SUBSCRIBE", "subscriptions": [{"event": event, "pairs": symbols} for event in events]}
        ).decode()

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """Book snapshots and diffs (with their sequence and checksum), trades, market summaries
        and ``ERROR`` messages as events; acknowledgements and ``PONG`` are only signs of life."""
        msg = orjson.loads(message)
        kind = msg.get("type")
        if kind in ("OB_L1_SNAPSHOT", "OB_L1_DIFF"):
            pair = self.pair_of.get(msg.get("ps"))
            if pair is None:
                return _NONE
            data = msg["d"]
            sequence, time = data["sq"], data["lc"] / 1000  # lc: the book's last change, in ms
            if kind == "OB_L1_SNAPSHOT":
                snapshot = BookSnapshot(pair, _levels(data["b"]), _levels(data["a"]), sequence, time)
                return [snapshot, BookDelta(pair, (), checksum=data["cs"], time=time)]  # the snapshot is checked too
            changes = [(_BID, Decimal(price), Decimal(size)) for price, size in data["b"]]
            changes += [(_ASK, Decimal(price), Decimal(size)) for price, size in data["a"]]
            return [BookDelta(pair, changes, sequence, sequence, data["cs"], time)]
        if kind == "ERROR":
            return [FeedError(str(msg.get("message")))]
        pair = self.pair_of.get(msg.get("currencyPairSymbol"))
        if pair is None:
            return _NONE
        data = msg["data"]
        if kind == "NEW_TRADE":
            return [
                Trade(
                    pair,
                    data["id"],
                    Decimal(data["price"]),
                    Decimal(data["quantity"]),
                    _TAKER[data["takerSide"]],
                    parse_time("tradedAt", data["tradedAt"]),
                )
            ]
        if kind == "MARKET_SUMMARY_UPDATE":
            return [
                Ticker(
                    pair,
                    _decimal(data.get("bidPrice")),
                    _decimal(data.get("askPrice")),
                    parse_time("created", data["created"]),
                    last=_decimal(data.get("lastTradedPrice")),
                    volume_24h=_decimal(data.get("baseVolume")),
                )
            ]
        return _NONE

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /v1/public/{pair}/buckets``: ``interval`` (seconds) one of :data:`BUCKET_PERIODS`,
        the buckets opening from ``start`` to before ``end`` (Unix seconds), at most
        :data:`CANDLES_PER_REQUEST`. ``endTime`` is a second before ``end``, so that the answer
        holds no bucket opening at ``end`` whether VALR counts its bound in or not."""
        if interval not in BUCKET_PERIODS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, BUCKET_PERIODS)) + " seconds", interval)
        if not start < end or (end - start) / interval > CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(
            f"/v1/public/{self.markets.to_symbol(pair)}/buckets",
            {"periodSeconds": interval, "startTime": int(start), "endTime": int(end) - 1},
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Buckets, newest first on the wire, ``startTime`` an ISO time; oldest first here."""
        what = f"GET candles of {pair} on {EXCHANGE}"
        rows = expect(answer(body, what), list, what, "a JSON list of buckets")
        buckets = [Fields(EXCHANGE, f"{pair} bucket {index}", row) for index, row in enumerate(rows)]
        candles = [
            Candle(
                pair,
                round(parse_time(bucket.label("startTime"), bucket.text("startTime"))),
                interval,
                bucket.decimal("open"),
                bucket.decimal("high"),
                bucket.decimal("low"),
                bucket.decimal("close"),
                bucket.decimal("volume"),
            )
            for bucket in buckets
        ]
        return sorted(candles, key=lambda candle: candle.start)

    def checksum(self, book: OrderBook, market: Market) -> int:
        """VALR's CRC32 of the top 25 levels, bids and asks interleaved: OKX's, unsigned."""
        return okx_checksum(book.bids, book.asks) & 0xFFFFFFFF


def _levels(rows: list) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(size)) for price, size in rows]


def _decimal(value: Any) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None
