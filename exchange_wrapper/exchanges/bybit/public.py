"""Bybit (API v5, spot): its wire formats translated to xWrap's types.

Pure translation, no I/O. Bybit names a spot market by its ``symbol``, base and quote run together
(``BTCUSDT``); the pair comes from the instrument's ``baseCoin`` and ``quoteCoin``, never from
cutting the name. Precision and minimums come from ``GET /v5/market/instruments-info?category=spot``
(one page for spot: it takes no cursor): ``priceFilter.tickSize``, ``lotSizeFilter.basePrecision``
(the size step), ``minOrderQty``/``maxOrderQty``, ``minOrderAmt``/``maxOrderAmt`` (the order's
value in the quote currency) and ``quotePrecision`` (the step of a market buy's quote amount).
Every REST answer is ``{"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":...}``;
another ``retCode`` is Bybit's refusal, 10006 its rate limit.

The public spot websocket (``wss://stream.bybit.com/v5/public/spot``) takes
``{"op":"subscribe","args":["orderbook.200.BTCUSDT",...]}``, ten topics a request at most. The
``orderbook.200`` topic sends a ``snapshot`` then ``delta`` messages every 200 ms, each level
``[price, size]`` (size ``"0"`` removes it), with the update id ``u``, which goes up by one per
message of the topic: a delta whose ``u`` is not the last one plus one is a gap (the book is
resubscribed for a fresh snapshot). Any snapshot replaces the book, and one with ``u`` 1 is
Bybit's sign that its service restarted (the ids start again). ``publicTrade`` names the taker's
side ``S``; spot ``tickers`` carry the last price and 24 h volume, no best bid and ask. The feed
sends ``{"op":"ping"}`` every 20 s, as Bybit asks, and Bybit answers with a ``pong``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import orjson

from ...core.book import BookSide
from ...core.errors import ExchangeRejected, InvalidParameter, RateLimited
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ...core.markets import Market, MarketStatus
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ..base import Adapter
from ..http import DEFAULT_RETRY_AFTER, Request
from ..wire import Fields, column_rows, entry, expect, load_json, unified_pair

EXCHANGE = "bybit"

# Bybit spot fee schedule, non-VIP (bybit.com/en/help-center, "Trading fee structure"): maker
# and taker 0.1 %.
MAKER_FEE = Decimal("0.001")
TAKER_FEE = Decimal("0.001")

#: Bybit's code for "Too many visits!" (its per-UID API rate limit, in a 200's body).
RATE_LIMITED_CODE = 10006

MARKETS_PATH = "/v5/market/instruments-info?category=spot"


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /v5/market/instruments-info?category=spot`` answer, one per
    ``symbol``. Only ``status`` "Trading" trades. Raises :class:`InvalidParameter` naming the field
    and symbol for missing or malformed values."""
    result = response_result(body, "GET /v5/market/instruments-info")
    instruments = expect(result.value("list"), list, result.label("list"), "a JSON list")
    return [_market(entry(EXCHANGE, raw, index, "symbol")) for index, raw in enumerate(instruments)]


def _market(instrument: Fields) -> Market:
    lots, prices = instrument.nested("lotSizeFilter"), instrument.nested("priceFilter")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(
            EXCHANGE, instrument.text("baseCoin"), instrument.text("quoteCoin"), instrument.label("baseCoin/quoteCoin")
        ),
        symbol=instrument.symbol,
        tick_size=prices.decimal("tickSize", positive=True),
        size_step=lots.decimal("basePrecision", positive=True),
        min_size=lots.decimal("minOrderQty"),
        max_size=lots.optional_decimal("maxOrderQty"),
        min_notional=lots.decimal("minOrderAmt"),
        max_notional=lots.optional_decimal("maxOrderAmt"),
        funds_step=lots.optional_decimal("quotePrecision"),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=MarketStatus.ONLINE if instrument.text("status") == "Trading" else MarketStatus.OFFLINE,
    )


def response_result(body: str | bytes, what: str) -> Fields:
    """The ``result`` object of a Bybit REST answer to ``what`` (``"GET /v5/market/kline"``), after
    its ``retCode``: 0 is success, :data:`RATE_LIMITED_CODE` is :class:`RateLimited` (the body
    states no wait: the default pause), any other :class:`ExchangeRejected` with Bybit's code and
    ``retMsg``."""
    response = Fields(EXCHANGE, what, load_json(body, f"{what} on {EXCHANGE}"))
    code = expect(response.value("retCode"), int, response.label("retCode"), "a whole number")
    if code == RATE_LIMITED_CODE:
        raise RateLimited(EXCHANGE, DEFAULT_RETRY_AFTER)
    if code != 0:
        raise ExchangeRejected(EXCHANGE, 200, f"{code} {response.raw.get('retMsg', '')}".strip())
    return response.nested("result")


# -- market data ---------------------------------------------------------------------------------

#: The book topic: 200 levels a side, a delta every 200 ms (spot also has 1 and 50 levels, sent
#: more often: deep books matter more here than 20 ms).
BOOK_DEPTH = 200
BOOK_TOPIC = f"orderbook.{BOOK_DEPTH}"
TOPICS = (BOOK_TOPIC, "publicTrade", "tickers")
#: Topics per subscribe request: Bybit's spot websocket takes ten ``args`` a request at most.
TOPICS_PER_REQUEST = 10
PING = '{"op":"ping"}'

#: ``GET /v5/market/kline`` intervals, by seconds (``M``, a calendar month, has no fixed length).
CANDLE_INTERVALS = {
    60: "1",
    180: "3",
    300: "5",
    900: "15",
    1800: "30",
    3600: "60",
    7200: "120",
    14400: "240",
    21600: "360",
    43200: "720",
    86400: "D",
    604800: "W",
}
#: kline returns at most 1000 rows a request (``limit``, default 200).
CANDLES_PER_REQUEST = 1000
#: The columns of a kline row, all strings: open time (ms), prices, volume in the base currency,
#: turnover in the quote currency.
CANDLE_COLUMNS = ("startTime", "openPrice", "highPrice", "lowPrice", "closePrice", "volume", "turnover")

_TAKER = {"Buy": Side.BUY, "Sell": Side.SELL}
_NONE: list[MarketEvent] = []


class BybitAdapter(Adapter):
    """Bybit spot market data: instruments and klines over REST; ``orderbook.200`` (with its
    update ids), ``publicTrade`` and ``tickers`` over the public websocket."""

    name = EXCHANGE
    rest_url = "https://api.bybit.com"
    ws_url = "wss://stream.bybit.com/v5/public/spot"
    markets_path = MARKETS_PATH
    parse_markets = staticmethod(parse_markets)
    # HTTP, per IP: 600 requests in any 5 s, public and private together (a 403 "access too
    # frequent" bans the address for 10 minutes). The public side keeps to half of it: 50/s with
    # a burst of 50, so that no 5 s spends more than 300.
    rest_limit = RateLimit(50, 50)
    candles_per_request = CANDLES_PER_REQUEST  # candles_request asks up to, not including, end
    # Bybit states no message rate for the public websocket; we send one subscription, two
    # requests per resync and a ping every 20 s.
    subscribe_limit = RateLimit(5, 5)
    app_ping = PING
    app_ping_interval = 20.0  # "send the ping heartbeat packet every 20 seconds"
    ping_interval = None  # the application ping is the keep-alive
    silence_timeout = 45.0  # two pings without a pong (or anything else)

    # -- the websocket ----------------------------------------------------------------------------

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The three topics of every pair, :data:`TOPICS_PER_REQUEST` a request."""
        return self._requests("subscribe", TOPICS, pairs)

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return self._requests("unsubscribe", TOPICS, pairs)

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The book topic alone, out and in again: Bybit answers with new snapshots."""
        return [
            *self._requests("unsubscribe", (BOOK_TOPIC,), pairs),
            *self._requests("subscribe", (BOOK_TOPIC,), pairs),
        ]

    def _requests(self, op: str, topics: Sequence[str], pairs: Sequence[Pair]) -> list[str]:
        args = [f"{topic}.{self.markets.to_symbol(pair)}" for pair in pairs for topic in topics]
        return [
            orjson.dumps({"op": op, "args": args[first : first + TOPICS_PER_REQUEST]}).decode()
            for first in range(0, len(args), TOPICS_PER_REQUEST)
        ]

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """Book snapshots and deltas (with their update id), trades and tickers as events; a
        refused request (``"success":false``) as a :class:`FeedError`; acknowledgements and pongs
        are only signs of life."""
        msg = orjson.loads(message)
        topic = msg.get("topic")
        if topic is None:
            if msg.get("success") is False:
                return [FeedError(f"{msg.get('op')}: {msg.get('ret_msg')}")]
            return _NONE
        kind, _, symbol = topic.rpartition(".")
        pair = self.pair_of.get(symbol)
        if pair is None:
            return _NONE
        data = msg["data"]
        if kind == BOOK_TOPIC:
            # the matching engine's time of this book state (it matches the trades' T), else the feed's
            return [self._book(pair, msg["type"], data, msg.get("cts", msg["ts"]) / 1000)]
        if kind == "publicTrade":
            return [
                Trade(pair, trade["i"], Decimal(trade["p"]), Decimal(trade["v"]), _TAKER[trade["S"]], trade["T"] / 1000)
                for trade in data
            ]
        if kind == "tickers":
            return [
                Ticker(
                    pair,
                    None,
                    None,
                    msg["ts"] / 1000,
                    last=Decimal(data["lastPrice"]),
                    volume_24h=Decimal(data["volume24h"]),  # spot: in the base currency
                )
            ]
        return _NONE

    @staticmethod
    def _book(pair: Pair, kind: str, data: dict, time: float) -> MarketEvent:
        update = data["u"]
        if kind == "snapshot":
            bids = [(Decimal(price), Decimal(size)) for price, size in data["b"]]
            asks = [(Decimal(price), Decimal(size)) for price, size in data["a"]]
            return BookSnapshot(pair, bids, asks, update, time)
        if kind != "delta":
            raise InvalidParameter(f"type of an {BOOK_TOPIC} message on {EXCHANGE}", "snapshot or delta", kind)
        changes = [(BookSide.BID, Decimal(price), Decimal(size)) for price, size in data["b"]]
        changes += [(BookSide.ASK, Decimal(price), Decimal(size)) for price, size in data["a"]]
        return BookDelta(pair, changes, first=update, last=update, time=time)

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /v5/market/kline``: ``interval`` (seconds) a key of :data:`CANDLE_INTERVALS`, the
        candles opening from ``start`` up to, not including, ``end`` (Unix seconds), at most
        :data:`CANDLES_PER_REQUEST`. Bybit's ``start`` and ``end`` are both inclusive: ``end`` is
        asked one millisecond before."""
        if interval not in CANDLE_INTERVALS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_INTERVALS)) + " seconds", interval)
        count = -(-(end - start) // interval)
        if not 0 < count <= CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(
            "/v5/market/kline",
            {
                "category": "spot",
                "symbol": self.markets.to_symbol(pair),
                "interval": CANDLE_INTERVALS[interval],
                "start": round(start * 1000),
                "end": round(end * 1000) - 1,
                "limit": int(count),
            },
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows of :data:`CANDLE_COLUMNS`, newest first on the wire; oldest first here."""
        what = f"GET klines of {pair}"
        result = response_result(body, what)
        rows = column_rows(EXCHANGE, result.value("list"), f"{what} on {EXCHANGE}", CANDLE_COLUMNS, f"{pair} kline")
        candles = [
            Candle(
                pair,
                row.milliseconds("startTime") // 1000,
                interval,
                row.decimal("openPrice"),
                row.decimal("highPrice"),
                row.decimal("lowPrice"),
                row.decimal("closePrice"),
                row.decimal("volume"),
            )
            for row in rows
        ]
        return sorted(candles, key=lambda candle: candle.start)
