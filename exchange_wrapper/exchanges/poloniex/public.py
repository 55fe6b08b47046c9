"""Poloniex (spot API v3): its wire formats translated to xWrap's types.

Pure translation, no I/O: :class:`PoloniexAdapter` says what to send and reads what comes;
:class:`~...connectors.feed.ExchangeFeed` and the replay do the I/O. Symbols are ``BASE_QUOTE``
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

from collections.abc import Sequence
from decimal import Decimal

import orjson

from ...core.book import BookSide
from ...core.errors import InvalidParameter
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ...core.markets import Market, MarketStatus
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ..base import Adapter
from ..http import Request
from ..wire import Fields, candles_of, column_rows, entry, expect, load_json, unified_pair

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
        pair=unified_pair(
            EXCHANGE, market.text("baseCurrencyName"), market.text("quoteCurrencyName"), market.label("pair")
        ),
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
CANDLE_INTERVALS = {
    60: "MINUTE_1",
    300: "MINUTE_5",
    600: "MINUTE_10",
    900: "MINUTE_15",
    1800: "MINUTE_30",
    3600: "HOUR_1",
    7200: "HOUR_2",
    14400: "HOUR_4",
    21600: "HOUR_6",
    43200: "HOUR_12",
    86400: "DAY_1",
    259200: "DAY_3",
    604800: "WEEK_1",
}
CANDLES_PER_REQUEST = 500
#: The columns of one candle row, in the order Poloniex writes them.
CANDLE_COLUMNS = (
    "low",
    "high",
    "open",
    "close",
    "amount",
    "quantity",
    "buyTakerAmount",
    "buyTakerQuantity",
    "tradeCount",
    "ts",
    "weightedAverage",
    "interval",
    "startTime",
    "closeTime",
)

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
    candles_per_request = CANDLES_PER_REQUEST
    # endTime filters the candles' open times, taken as inclusive: a page ends before it
    candles_end_inclusive = True
    markets_weight = 20
    subscribe_limit = RateLimit(500, 500)  # websocket requests: 500/s per connection
    app_ping = '{"event":"ping"}'
    app_ping_interval = 15.0  # the server drops a session that sends nothing for 30 s
    ping_interval = None  # the application ping is the keep-alive; the server pings nobody
    silence_timeout = 30.0  # two pings without a pong (or anything else)

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """``book_lv2`` snapshots and updates, ``trades``, ``ticker`` and ``error`` events become
        events; subscription acks and pongs are only signs of life."""
        msg = orjson.loads(message)
        if msg.get("action") == "update":  # nearly every message: no dispatch
            deltas: list[MarketEvent] = []
            for data in msg["data"]:
                pair = self.pair_of.get(data["symbol"])
                if pair is not None:
                    changes = [(_BID, Decimal(price), Decimal(size)) for price, size in data["bids"]]
                    changes += [(_ASK, Decimal(price), Decimal(size)) for price, size in data["asks"]]
                    deltas.append(
                        BookDelta(pair, changes, data["lastId"] + 1, data["id"], time=data["createTime"] / 1000)
                    )
            return deltas
        if "data" not in msg:
            return self._event(msg)
        channel = msg["channel"]
        if channel == BOOK_CHANNEL:
            if msg.get("action") != "snapshot":
                raise InvalidParameter(
                    "action of a book_lv2 message on poloniex", "snapshot or update", msg.get("action")
                )
            return [
                BookSnapshot(pair, _levels(data["bids"]), _levels(data["asks"]), data["id"], data["createTime"] / 1000)
                for pair, data in self._entries(msg)
            ]
        if channel == "trades":
            return [
                Trade(
                    pair,
                    str(data["id"]),
                    Decimal(data["price"]),
                    Decimal(data["quantity"]),
                    _TAKER[data["takerSide"]],
                    data["createTime"] / 1000,
                )
                for pair, data in self._entries(msg)
            ]
        if channel == "ticker":
            return [self._ticker(pair, data) for pair, data in self._entries(msg)]
        return _NONE

    def _entries(self, msg: dict) -> list[tuple[Pair, dict]]:
        return [(self.pair_of[data["symbol"]], data) for data in msg["data"] if data["symbol"] in self.pair_of]

    def _ticker(self, pair: Pair, data: dict) -> Ticker:
        # 24-hour statistics; the best bid and ask are there only in later versions of the channel
        bid, ask, bid_size, ask_size = (
            Decimal(data[name]) if name in data else None for name in ("bid", "ask", "bidQuantity", "askQuantity")
        )
        return Ticker(
            pair,
            bid,
            ask,
            data["ts"] / 1000,
            bid_size=bid_size,
            ask_size=ask_size,
            last=Decimal(data["close"]),
            volume_24h=Decimal(data["quantity"]),
        )

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
        return orjson.dumps(
            {"event": event, "channel": [channel], "symbols": [self.markets.to_symbol(pair) for pair in pairs]}
        ).decode()

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /markets/{symbol}/candles``: ``interval`` (seconds) a key of
        :data:`CANDLE_INTERVALS`, at most :data:`CANDLES_PER_REQUEST` candles from ``start`` to
        ``end`` (Unix seconds)."""
        if interval not in CANDLE_INTERVALS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_INTERVALS)) + " seconds", interval)
        if not start < end or (end - start) / interval > CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(
            f"/markets/{self.markets.to_symbol(pair)}/candles",
            {
                "interval": CANDLE_INTERVALS[interval],
                "startTime": round(start * 1000),
                "endTime": round(end * 1000),
                "limit": CANDLES_PER_REQUEST,
            },
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows of :data:`CANDLE_COLUMNS`: prices and volumes as strings, times in milliseconds."""
        rows = column_rows(EXCHANGE, body, f"GET candles of {pair} on {EXCHANGE}", CANDLE_COLUMNS, f"{pair} candle")
        return candles_of(rows, pair, interval, start="startTime", per_second=1000, volume="quantity")


def _levels(rows: list) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(size)) for price, size in rows]
