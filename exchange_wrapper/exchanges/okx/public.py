"""OKX (API v5, spot): its wire formats translated to xWrap's types.

Pure translation, no I/O. OKX names a spot market by its ``instId``, ``BASE-QUOTE`` in the common
currency codes (``BTC-USDT`` is ``BTC_USDT``); precision and minimum come from
``GET /api/v5/public/instruments?instType=SPOT`` (``tickSz``, ``lotSz``, ``minSz``, ``state``).
Every REST answer is ``{"code":"0","msg":"","data":[...]}``; another ``code`` is OKX's refusal.

The public websocket (``wss://ws.okx.com:8443/ws/v5/public``) takes
``{"op":"subscribe","args":[{"channel":...,"instId":...},...]}``. The ``books`` channel sends a
snapshot (400 levels a side) then updates every 100 ms, each level ``[price, size, "0", orders]``
(size ``"0"`` removes it). Book integrity is kept two ways:

- every book message carries ``seqId`` and ``prevSeqId``: the snapshot's ``prevSeqId`` is -1, and
  each later message's ``prevSeqId`` is the previous message's ``seqId``. Only that identity
  counts (ids jump, a message without changes repeats the last ``seqId``, and a maintenance may
  reset the sequence to a smaller one), so :class:`OkxParser` checks it per book itself and a
  broken chain is a :class:`Resync` of that book, not the hub's arithmetic on update ids;
- ``checksum``: the signed CRC32 of the top 25 bids and asks interleaved
  (``bid:size:ask:size:...``, the longer side continuing alone,
  :func:`~...core.checksums.okx_checksum`), checked after every message. OKX announced that from
  23 June 2026 the JSON channels send ``checksum`` 0 on every message (the sequence ids being
  the integrity check from then on): a 0 is taken as "no checksum sent", not as a mismatch.

``trades`` names the taker's ``side``; ``tickers`` gives the best bid and ask with the 24 h
figures. The server closes a connection that has received nothing for 30 s: the feed sends the
text ``ping`` and OKX answers ``pong``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from ...core.book import BookSide, OrderBook
from ...core.checksums import okx_checksum
from ...core.errors import ExchangeRejected, InvalidParameter, RateLimited
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Problem, Resync, Ticker, Trade
from ...core.markets import Market, MarketStatus
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ..base import Adapter
from ..http import DEFAULT_RETRY_AFTER, Request
from ..wire import Fields, column_rows, entry, expect, load_json, unified_pair

EXCHANGE = "okx"

# OKX spot fee schedule, regular users Lv 1 (okx.com/fees): maker 0.080 %, taker 0.100 %.
MAKER_FEE = Decimal("0.0008")
TAKER_FEE = Decimal("0.001")

# state: live, suspend, preopen (listed, not trading yet) or test (okx.com/docs-v5, "Get
# instruments"); only live trades.
_STATUS = {"live": MarketStatus.ONLINE}

#: OKX's code for "Too Many Requests" (it comes with HTTP 429, or in a 200's body).
RATE_LIMITED_CODE = "50011"


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /api/v5/public/instruments?instType=SPOT`` response, one per ``instId``.

    Price tick ``tickSz``, size step ``lotSz``, minimum order size ``minSz`` (all in the base
    currency for spot), pair from ``baseCcy`` and ``quoteCcy``. Raises :class:`InvalidParameter`
    naming the field and instrument for missing or malformed values.
    """
    instruments = response_data(body, "GET /api/v5/public/instruments")
    return [_market(entry(EXCHANGE, raw, index, "instId")) for index, raw in enumerate(instruments)]


def _market(instrument: Fields) -> Market:
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(
            EXCHANGE, instrument.text("baseCcy"), instrument.text("quoteCcy"), instrument.label("baseCcy/quoteCcy")
        ),
        symbol=instrument.symbol,
        tick_size=instrument.decimal("tickSz", positive=True),
        size_step=instrument.decimal("lotSz", positive=True),
        min_size=instrument.decimal("minSz"),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_STATUS.get(instrument.text("state"), MarketStatus.OFFLINE),
    )


def response_data(body: str | bytes, what: str) -> list:
    """The ``data`` list of an OKX REST answer to ``what`` (``"GET /api/v5/public/instruments"``),
    after its ``code``: ``"0"`` is success, :data:`RATE_LIMITED_CODE` is :class:`RateLimited` (OKX
    states no wait: the default pause), any other :class:`ExchangeRejected` with OKX's code and ``msg``."""
    response = Fields(EXCHANGE, what, load_json(body, f"{what} on {EXCHANGE}"))
    code = response.text("code")
    if code == RATE_LIMITED_CODE:
        raise RateLimited(EXCHANGE, DEFAULT_RETRY_AFTER)
    if code != "0":
        raise ExchangeRejected(EXCHANGE, 200, f"{code} {response.raw.get('msg', '')}".strip())
    return expect(response.value("data"), list, response.label("data"), "a JSON list")


# -- market data ---------------------------------------------------------------------------------

BOOK_CHANNEL = "books"
CHANNELS = (BOOK_CHANNEL, "trades", "tickers")
#: Instruments per subscribe request: OKX refuses a request whose channels total more than 64 KB;
#: 100 instruments of three channels are about 12 KB.
PAIRS_PER_REQUEST = 100

#: ``GET /api/v5/market/history-candles`` bars, by seconds. From 6 hours on, the ``utc`` bars:
#: the plain ones (``1D``) open at Hong Kong midnight.
CANDLE_BARS = {
    60: "1m",
    180: "3m",
    300: "5m",
    900: "15m",
    1800: "30m",
    3600: "1H",
    7200: "2H",
    14400: "4H",
    21600: "6Hutc",
    43200: "12Hutc",
    86400: "1Dutc",
    172800: "2Dutc",
    259200: "3Dutc",
    604800: "1Wutc",
}
#: history-candles returns at most 100 rows a request (``limit``, default 100).
CANDLES_PER_REQUEST = 100
#: The columns of a candle row: open time (ms), prices, volume in the base currency, in the quote
#: currency (twice, for spot), and whether the candle is closed ("1") or still running ("0").
CANDLE_COLUMNS = ("ts", "o", "h", "l", "c", "vol", "volCcy", "volCcyQuote", "confirm")

_BID, _ASK = BookSide.BID, BookSide.ASK
_TAKER = {"buy": Side.BUY, "sell": Side.SELL}
_NONE: list[MarketEvent] = []
PONG = "pong"


class OkxParser:
    """One websocket connection's messages as events: build one per connection with
    :meth:`OkxAdapter.parser`, and call :meth:`parse` with every message, in order.

    It keeps each book's last ``seqId``: a snapshot starts the chain, and an update whose
    ``prevSeqId`` is not that id is a gap (a :class:`Resync` of the book, whose next snapshot
    starts a new chain)."""

    def __init__(self, pair_of: dict[str, Pair]):
        self.pair_of = pair_of
        self.sequences: dict[Pair, int] = {}

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """Book snapshots and updates (with their checksum), trades, tickers and ``error`` events
        as events; acknowledgements, notices and ``pong`` are only signs of life."""
        if message == PONG or message == b"pong":
            return _NONE
        msg = orjson.loads(message)
        arg = msg.get("arg")
        if arg is None or "data" not in msg:
            if msg.get("event") == "error":
                return [FeedError(f"{msg.get('code')} {msg.get('msg')}")]
            return _NONE
        pair = self.pair_of.get(arg.get("instId"))
        if pair is None:
            return _NONE
        channel = arg["channel"]
        if channel == BOOK_CHANNEL:
            return self._book(pair, msg["action"], msg["data"])
        if channel == "trades":
            return [
                Trade(
                    pair,
                    trade["tradeId"],
                    Decimal(trade["px"]),
                    Decimal(trade["sz"]),
                    _TAKER[trade["side"]],
                    int(trade["ts"]) / 1000,
                )
                for trade in msg["data"]
            ]
        if channel == "tickers":
            return [_ticker(pair, ticker) for ticker in msg["data"]]
        return _NONE

    def _book(self, pair: Pair, action: str, data: list[dict]) -> list[MarketEvent]:
        events: list[MarketEvent] = []
        for book in data:
            sequence, previous = book["seqId"], book["prevSeqId"]
            checksum = book.get("checksum") or None  # 0: not sent (OKX's JSON channels since June 2026)
            time = int(book["ts"]) / 1000
            if action == "snapshot":
                self.sequences[pair] = sequence
                events.append(BookSnapshot(pair, _levels(book["bids"]), _levels(book["asks"]), sequence, time))
                events.append(BookDelta(pair, (), checksum=checksum, time=time))  # the snapshot is checked too
                continue
            if action != "update":
                raise InvalidParameter("action of a books message on okx", "snapshot or update", action)
            known = self.sequences.get(pair)
            self.sequences[pair] = sequence
            if previous != known:
                events.append(Resync(pair, Problem.SEQUENCE_GAP, f"update {sequence} follows {previous}, not {known}"))
                continue
            changes = [(_BID, Decimal(level[0]), Decimal(level[1])) for level in book["bids"]]
            changes += [(_ASK, Decimal(level[0]), Decimal(level[1])) for level in book["asks"]]
            events.append(BookDelta(pair, changes, checksum=checksum, time=time))
        return events


def _ticker(pair: Pair, data: dict) -> Ticker:
    return Ticker(
        pair,
        _decimal(data.get("bidPx")),
        _decimal(data.get("askPx")),
        int(data["ts"]) / 1000,
        bid_size=_decimal(data.get("bidSz")),
        ask_size=_decimal(data.get("askSz")),
        last=_decimal(data.get("last")),
        volume_24h=_decimal(data.get("vol24h")),  # spot: in the base currency
    )


class OkxAdapter(Adapter):
    """OKX spot market data: instruments and candles over REST; ``books`` (with its sequence ids
    and checksum), ``trades`` and ``tickers`` over the public websocket."""

    name = EXCHANGE
    rest_url = "https://www.okx.com"
    ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    markets_path = "/api/v5/public/instruments?instType=SPOT"
    parse_markets = staticmethod(parse_markets)
    # Public REST, per IP: instruments and history-candles 20 requests in 2 s each (candles 40):
    # 10/s with a burst of 10, so that no 2 s spends more than 20.
    rest_limit = RateLimit(10, 10)
    candles_per_request = CANDLES_PER_REQUEST
    # "subscribe", "unsubscribe" and "login" requests: 480 an hour per connection. Half as the
    # burst, so that no hour spends more; we send one subscription, and two requests per resync.
    subscribe_limit = RateLimit(240 / 3600, 240)
    app_ping = "ping"
    app_ping_interval = 15.0  # OKX closes a connection that received nothing for 30 s
    ping_interval = None  # the text ping is the keep-alive
    silence_timeout = 30.0  # two pings without a pong (or anything else)
    has_checksum = True

    def parser(self) -> OkxParser:
        return OkxParser(self.pair_of)

    # -- the websocket ----------------------------------------------------------------------------

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The three channels of every pair in as few requests as OKX takes (each request counts
        against the hourly limit)."""
        return self._requests("subscribe", CHANNELS, pairs)

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return self._requests("unsubscribe", CHANNELS, pairs)

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The book channel alone, out and in again: OKX answers with new snapshots."""
        return [
            *self._requests("unsubscribe", (BOOK_CHANNEL,), pairs),
            *self._requests("subscribe", (BOOK_CHANNEL,), pairs),
        ]

    def _requests(self, op: str, channels: Sequence[str], pairs: Sequence[Pair]) -> list[str]:
        """``op`` requests of ``channels`` for ``pairs``, :data:`PAIRS_PER_REQUEST` pairs each."""
        symbols = [self.markets.to_symbol(pair) for pair in pairs]
        return [
            orjson.dumps(
                {
                    "op": op,
                    "args": [
                        {"channel": channel, "instId": symbol}
                        for channel in channels
                        for symbol in symbols[first : first + PAIRS_PER_REQUEST]
                    ],
                }
            ).decode()
            for first in range(0, len(symbols), PAIRS_PER_REQUEST)
        ]

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /api/v5/market/history-candles``: ``interval`` (seconds) a key of
        :data:`CANDLE_BARS`, the candles opening from ``start`` to before ``end`` (Unix seconds),
        at most :data:`CANDLES_PER_REQUEST`. OKX's bounds are both exclusive: ``before`` (newer
        than) one millisecond before ``start``, ``after`` (older than) ``end``."""
        if interval not in CANDLE_BARS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_BARS)) + " seconds", interval)
        if not start < end or (end - start) / interval > CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(
            "/api/v5/market/history-candles",
            {
                "instId": self.markets.to_symbol(pair),
                "bar": CANDLE_BARS[interval],
                "before": round(start * 1000) - 1,
                "after": round(end * 1000),
                "limit": CANDLES_PER_REQUEST,
            },
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows of :data:`CANDLE_COLUMNS`, newest first on the wire, all strings; oldest first here."""
        what = f"GET candles of {pair}"
        rows = column_rows(
            EXCHANGE, response_data(body, what), f"{what} on {EXCHANGE}", CANDLE_COLUMNS, f"{pair} candle"
        )
        candles = [
            Candle(
                pair,
                row.milliseconds("ts") // 1000,
                interval,
                row.decimal("o"),
                row.decimal("h"),
                row.decimal("l"),
                row.decimal("c"),
                row.decimal("vol"),
            )
            for row in rows
        ]
        return sorted(candles, key=lambda candle: candle.start)

    def checksum(self, book: OrderBook, market: Market) -> int:
        """OKX's CRC32 of the top 25 levels, bids and asks interleaved."""
        return okx_checksum(book.bids, book.asks)


def _levels(rows: list) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(level[0]), Decimal(level[1])) for level in rows]


def _decimal(value: Any) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None
