"""Bitfinex (API v2): its wire formats translated to xWrap's types.

Pure translation, no I/O. Trading symbols are ``t`` + the pair name: ``tBTCUSD``, or
``tAAVE:USD`` where a code is not three letters; currency codes are Bitfinex's own (``UST``
for USDT, ``IOT`` for IOTA, ...): translate through a :class:`SymbolTable`.

The websocket numbers its channels per connection (``chanId``, given by the ``subscribed``
event), so parsing keeps per-connection state: :meth:`BitfinexAdapter.parser` gives a
:class:`BitfinexParser` per connection. With the ``conf`` flag SEQ_ALL (65536) every channel
message ends with a sequence number counted over the whole connection; a gap makes every book
of the connection resync. With the flag OB_CHECKSUM (131072) each book update is followed by
``[chanId, "cs", CHECKSUM, seq]``, the CRC32 of the book's top 25 levels. Numbers are JSON
numbers, read with :data:`~..base.decimal_loads` so that they keep their digits.

:class:`BitfinexPrivate` is the account's side (live trading): signed REST calls on
``api.bitfinex.com`` and the authenticated websocket's channel 0 (orders, own trades, wallets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson

from ...core.book import BookSide, OrderBook
from ...core.checksums import bitfinex_checksum
from ...core.errors import InvalidParameter
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Problem, Resync, Ticker, Trade
from ...core.markets import Market
from ...core.money import ZERO, decimal_places, parse_decimal
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ..base import Adapter, decimal_loads
from ..http import Request
from ..wire import candles_of, column_rows, expect, load_json, unified_pair

EXCHANGE = "bitfinex"

# Bitfinex fee schedule, lowest tier (under $500K traded in 30 days): maker 0.100 %, taker
# 0.200 % (bitfinex.com/fees).
MAKER_FEE = Decimal("0.001")
TAKER_FEE = Decimal("0.002")

# Prices carry 5 significant digits, amounts 8 decimal places (docs.bitfinex.com, "Precision").
PRICE_SIGNIFICANT_DIGITS = 5
SIZE_STEP = decimal_places(8)

# The exchange list carries Bitfinex's own test markets beside the real ones: AAABBB and the
# TESTBTC/TESTUSD/TESTUSDT currencies. They are skipped.
_TEST_CODES = frozenset({"AAA", "BBB"})


def parse_markets(pairs_body: str | bytes, pair_info: str | bytes | None = None) -> list[Market]:
    """The markets of a ``GET /v2/conf/pub:list:pair:exchange`` response, test pairs skipped.

    ``pair_info``, a ``GET /v2/conf/pub:info:pair`` response, gives each pair's minimum and
    maximum order size; without it (or for a pair it does not list) the minimum is the size step
    and there is no maximum, and the exchange's own rejection is the only check.
    Raises :class:`InvalidParameter` naming the field and pair for malformed values.
    """
    limits = _order_limits(pair_info) if pair_info is not None else {}
    markets = []
    for index, name in enumerate(_conf_list(pairs_body, "pub:list:pair:exchange")):
        name = expect(name, str, f"entry {index} of pub:list:pair:exchange on {EXCHANGE}", "a pair name")
        base, quote = split_pair(name)
        if _is_test(base) or _is_test(quote):
            continue
        min_size, max_size = limits.get(name, (Decimal(0), None))
        markets.append(
            Market(
                exchange=EXCHANGE,
                pair=unified_pair(EXCHANGE, base, quote, f"pair of {name} on {EXCHANGE}"),
                symbol=f"t{name}",
                tick_size=None,
                price_significant_digits=PRICE_SIGNIFICANT_DIGITS,
                size_step=SIZE_STEP,
                min_size=min_size,
                max_size=max_size,
                maker_fee=MAKER_FEE,
                taker_fee=TAKER_FEE,
                alt_symbols=(name,),
            )
        )
    return markets


def split_pair(name: str) -> tuple[str, str]:
    """Bitfinex's currency codes in a pair name: ``BTCUSD`` -> ``("BTC", "USD")``, ``AAVE:USD`` ->
    ``("AAVE", "USD")``. Raises :class:`InvalidParameter` for any other shape."""
    base, colon, quote = name.partition(":")
    if not colon and len(name) == 6:
        base, quote = name[:3], name[3:]
    if not base or not quote or ":" in quote:
        raise InvalidParameter(f"pair {name} on {EXCHANGE}", "six letters or BASE:QUOTE", name)
    return base, quote


def _is_test(code: str) -> bool:
    return code in _TEST_CODES or code.startswith("TEST")


def _conf_list(body: str | bytes, key: str) -> list[Any]:
    """The one list a ``GET /v2/conf/<key>`` response wraps: ``[[...]]``."""
    what = f"GET /v2/conf/{key} on {EXCHANGE}"
    data = load_json(body, what)
    if not isinstance(data, list) or len(data) != 1:
        raise InvalidParameter(what, "a list holding one list", data)
    return expect(data[0], list, what, "a list holding one list")


def _order_limits(body: str | bytes) -> dict[str, tuple[Decimal, Decimal | None]]:
    """Pair name -> (minimum, maximum) order size, from rows ``[PAIR, [_, _, _, MIN, MAX, ...]]``."""
    shape = "[PAIR, [PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, MIN_ORDER_SIZE, MAX_ORDER_SIZE, ...]]"
    limits = {}
    for index, row in enumerate(_conf_list(body, "pub:info:pair")):
        if not (
            isinstance(row, list)
            and len(row) == 2
            and isinstance(row[0], str)
            and isinstance(row[1], list)
            and len(row[1]) >= 5
        ):
            raise InvalidParameter(f"entry {index} of pub:info:pair on {EXCHANGE}", shape, row)
        name, info = row
        minimum = parse_decimal(info[3], f"MIN_ORDER_SIZE of {name} on {EXCHANGE}", non_negative=True)
        maximum = (
            None
            if info[4] is None
            else parse_decimal(info[4], f"MAX_ORDER_SIZE of {name} on {EXCHANGE}", positive=True)
        )
        limits[name] = (minimum, maximum)
    return limits


# -- market data ---------------------------------------------------------------------------------

#: ``conf`` flags: a sequence number ends every channel message (SEQ_ALL), and every book
#: update is followed by the book's checksum (OB_CHECKSUM).
SEQ_ALL = 65536
OB_CHECKSUM = 131072

#: Price levels per side of a book subscription (Bitfinex offers 1, 25, 100 and 250). A level
#: that leaves the top 100 comes as a removal (the capture never holds more than 100 a side),
#: so the book needs no trimming; the checksum covers the top 25.
BOOK_LENGTH = 100

#: Candle time frames by their length in seconds (``1M``, a calendar month, has no fixed one).
CANDLE_FRAMES = {
    60: "1m",
    300: "5m",
    900: "15m",
    1800: "30m",
    3600: "1h",
    10800: "3h",
    21600: "6h",
    43200: "12h",
    86400: "1D",
    604800: "1W",
    1209600: "14D",
}
CANDLES_PER_REQUEST = 10_000

# REST limits are per endpoint and IP, "between 10 and 90 requests a minute" (docs.bitfinex.com,
# Requirements and Limitations); the candles endpoint states 30 a minute. One bucket per
# exchange holds at most 90 calls in any minute (30 at once, then one a second); a candles call
# weighs 3, so they stay under 30 a minute.
REST_LIMIT = RateLimit(1, 30)
CANDLES_WEIGHT = 3

# The ``info`` code that asks to resubscribe every channel, maintenance being over. The others are
# reported: 20051 (the server restarts and closes the connection: the feed reconnects), 20060
# (maintenance starts).
MAINTENANCE_OVER = 20061

_BID, _ASK = BookSide.BID, BookSide.ASK
_NONE: list[MarketEvent] = []


class BitfinexParser:
    """One websocket connection's messages as events: build one per connection with
    :meth:`BitfinexAdapter.parser` and call :meth:`parse` with every message, in order.

    It learns the channel ids from ``subscribed`` (and forgets them on ``unsubscribed``), and
    once ``conf`` has confirmed SEQ_ALL checks that each channel message's sequence number
    follows the last one: a gap is a :class:`Resync` of every book (``pair`` None).
    """

    def __init__(self, pair_of: dict[str, Pair]):
        self.pair_of = pair_of
        self.channels: dict[int, tuple[Callable[[Pair, list, float], list[MarketEvent]], Pair]] = {}
        self.books: dict[Pair, int] = {}
        """The book channel of each pair, while it is subscribed and no resubscription is asked."""
        self.sequenced = False
        self.sequence = 0  # the last sequence number seen; the first message is 1
        self._kinds = {"book": self._book, "trades": self._trades, "ticker": self._ticker}

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """Book snapshots and updates, ``cs`` checksums, ``te`` trades and tickers as events;
        heartbeats, ``tu`` (a trade already seen as ``te``) and the snapshot of past trades
        sent on subscribing only move the sequence; error events become :class:`FeedError`."""
        msg = decimal_loads(message)
        if type(msg) is dict:
            return self._event(msg)
        events = _NONE
        if self.sequenced:
            sequence = msg[-1]
            if sequence != self.sequence + 1:
                events = [Resync(None, Problem.SEQUENCE_GAP, f"message {sequence} after {self.sequence}")]
            self.sequence = sequence
        channel = self.channels.get(msg[0])
        if channel is None:  # a heartbeat of a channel not confirmed (yet), or not ours
            return events
        handler, pair = channel
        found = handler(pair, msg, at)
        return found if events is _NONE else events + found

    # -- channels ---------------------------------------------------------------------------------

    def _book(self, pair: Pair, msg: list, at: float) -> list[MarketEvent]:
        payload = msg[1]
        if type(payload) is list:
            if payload and type(payload[0]) is not list:  # one level: [PRICE, COUNT, AMOUNT]
                price, count, amount = payload
                if amount > 0:
                    side, size = _BID, amount
                else:
                    side, size = _ASK, -amount
                size = to_decimal(size) if count else ZERO
                return [BookDelta(pair, ((side, to_decimal(price), size),))]
            bids = [(to_decimal(price), to_decimal(amount)) for price, _, amount in payload if amount > 0]
            asks = [(to_decimal(price), to_decimal(-amount)) for price, _, amount in payload if amount < 0]
            return [BookSnapshot(pair, bids, asks)]
        if payload == "cs":  # [chanId, "cs", CHECKSUM, seq]: the book after the updates so far
            return [BookDelta(pair, (), checksum=msg[2])]
        return _NONE  # "hb"

    def _trades(self, pair: Pair, msg: list, at: float) -> list[MarketEvent]:
        # A list payload is the snapshot of past trades: history, never fed as new trades.
        if msg[1] != "te":
            return _NONE
        trade_id, mts, amount, price = msg[2][:4]
        return [
            Trade(
                pair,
                str(trade_id),
                to_decimal(price),
                to_decimal(abs(amount)),
                Side.BUY if amount > 0 else Side.SELL,
                mts / 1000,
            )
        ]

    def _ticker(self, pair: Pair, msg: list, at: float) -> list[MarketEvent]:
        values = msg[1]
        if type(values) is not list:  # "hb"
            return _NONE
        # [BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]
        bid, bid_size, ask, ask_size, _, _, last, volume = map(_optional, values[:8])
        return [Ticker(pair, bid, ask, at, bid_size=bid_size, ask_size=ask_size, last=last, volume_24h=volume)]

    # -- events -----------------------------------------------------------------------------------

    def _event(self, msg: dict) -> list[MarketEvent]:
        kind = msg.get("event")
        if kind == "subscribed":
            channel, symbol = msg.get("channel"), msg.get("symbol")
            pair = self.pair_of.get(symbol) if isinstance(symbol, str) else None
            handler = self._kinds.get(channel) if isinstance(channel, str) else None
            if pair is not None and handler is not None:
                self.channels[msg["chanId"]] = (handler, pair)
                if channel == "book":
                    self.books[pair] = msg["chanId"]
        elif kind == "unsubscribed":
            chan_id = msg.get("chanId")
            channel = self.channels.pop(chan_id, None) if isinstance(chan_id, int) else None
            if channel is not None and self.books.get(channel[1]) == msg["chanId"]:
                del self.books[channel[1]]
        elif kind == "conf":
            if msg.get("status") != "OK":
                return [FeedError(f"conf flags {msg.get('flags')} refused: {msg.get('status')}")]
            self.sequenced = bool(msg.get("flags", 0) & SEQ_ALL)
        elif kind == "error":
            about = " ".join(str(msg[key]) for key in ("channel", "symbol") if key in msg)
            return [FeedError(f"{msg.get('msg', 'error')} (code {msg.get('code')})" + (f": {about}" if about else ""))]
        elif kind == "info":
            return self._info(msg)
        return _NONE

    def _info(self, msg: dict) -> list[MarketEvent]:
        code = msg.get("code")
        if code == MAINTENANCE_OVER:  # Bitfinex asks to resubscribe
            return [Resync(None, Problem.EXCHANGE_ERROR, f"maintenance over (info {code})")]
        if code is not None:
            return [FeedError(f"{msg.get('msg', 'info')} (info {code})")]
        platform = msg.get("platform")
        if isinstance(platform, dict) and platform.get("status") == 0:
            return [FeedError("platform in maintenance (info platform status 0)")]
        return _NONE


class BitfinexAdapter(Adapter):
    """Bitfinex market data: the pair list and candles over REST; ``book`` (P0, with SEQ_ALL and
    checksums), ``trades`` and ``ticker`` over the public websocket."""

    name = EXCHANGE
    rest_url = "https://api-pub.bitfinex.com"
    ws_url = "wss://api-pub.bitfinex.com/ws/2"
    markets_path = "/v2/conf/pub:list:pair:exchange"
    parse_markets = staticmethod(parse_markets)
    rest_limit = REST_LIMIT
    candles_per_request = CANDLES_PER_REQUEST
    candles_end_inclusive = True  # start and end both included
    # No message rate is documented, only 25 channels a connection and 20 connections a minute:
    # a connection's whole subscription (conf + 25 channels) may go at once, and again a second later.
    subscribe_limit = RateLimit(26, 26)
    silence_timeout = 25.0  # each channel sends a heartbeat after 15 s without data
    ping_interval = 20.0
    has_checksum = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._connection: BitfinexParser | None = None

    # -- the websocket ----------------------------------------------------------------------------

    def parser(self) -> BitfinexParser:
        """A parser for a new connection; resubscriptions use the channel ids it learns."""
        self._connection = BitfinexParser(self.pair_of)
        return self._connection

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The ``conf`` flags (sequence numbers and checksums), then the book, trades and ticker
        channels of every pair (three channels a pair: Bitfinex allows 25 a connection)."""
        symbols = [self.markets.to_symbol(pair) for pair in pairs]
        return (
            [_dumps({"event": "conf", "flags": SEQ_ALL | OB_CHECKSUM})]
            + [self._book_request(symbol) for symbol in symbols]
            + [
                _dumps({"event": "subscribe", "channel": channel, "symbol": symbol})
                for channel in ("trades", "ticker")
                for symbol in symbols
            ]
        )

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        """Unsubscribe every channel of ``pairs`` on the current connection, by channel id."""
        connection, wanted = self._connection, set(pairs)
        if connection is None:
            return []
        for pair in wanted:
            connection.books.pop(pair, None)
        return [_unsubscribe(chan_id) for chan_id, (_, pair) in connection.channels.items() if pair in wanted]

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """Unsubscribe each book's channel and subscribe the book again: a new channel, with a
        new snapshot. A book with no channel (its subscription is still on its way, with its
        snapshot) is left alone, which also keeps two resyncs in a row from subscribing twice."""
        connection = self._connection
        messages = []
        for pair in pairs:
            chan_id = connection.books.pop(pair, None) if connection is not None else None
            if chan_id is not None:
                messages += [_unsubscribe(chan_id), self._book_request(self.markets.to_symbol(pair))]
        return messages

    def _book_request(self, symbol: str) -> str:
        return _dumps(
            {
                "event": "subscribe",
                "channel": "book",
                "symbol": symbol,
                "prec": "P0",
                "freq": "F0",
                "len": str(BOOK_LENGTH),
            }
        )

    def checksum(self, book: OrderBook, market: Market) -> int:
        return bitfinex_checksum(book.bids, book.asks)

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /v2/candles/trade:{frame}:{symbol}/hist``: ``interval`` one of
        :data:`CANDLE_FRAMES`, the candles that start from ``start`` to ``end`` (Unix seconds,
        both included), at most :data:`CANDLES_PER_REQUEST`."""
        frame = CANDLE_FRAMES.get(interval)
        if frame is None:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_FRAMES)) + " seconds", interval)
        if not start < end or (end - start) / interval >= CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and less than {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(
            f"/v2/candles/trade:{frame}:{self.markets.to_symbol(pair)}/hist",
            {
                "start": round(start * 1000),
                "end": round(end * 1000),
                "limit": math.floor((end - start) / interval) + 1,
                "sort": 1,
            },
            weight=CANDLES_WEIGHT,
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows ``[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]`` (note: close before high and low)."""
        rows = column_rows(
            EXCHANGE,
            body,
            f"GET candles of {pair} on {EXCHANGE}",
            ("MTS", "open", "close", "high", "low", "volume"),
            f"{pair} candle",
        )
        return candles_of(rows, pair, interval, start="MTS", per_second=1000)


def to_decimal(value: Decimal | int) -> Decimal:
    """A JSON number as ``decimal_loads`` gives it (an int where it has no fraction) as a Decimal."""
    return value if type(value) is Decimal else Decimal(value)


def _optional(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


def _unsubscribe(chan_id: int) -> str:
    return _dumps({"event": "unsubscribe", "chanId": chan_id})


def _dumps(message: dict) -> str:
    return orjson.dumps(message).decode()
