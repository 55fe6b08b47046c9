"""Coinbase Exchange (formerly Coinbase Pro): its wire formats translated to xWrap's types.

Pure translation, no I/O: :class:`CoinbaseAdapter` says what to send and reads what comes;
:class:`~...connectors.feed.ExchangeFeed` and the replay do the I/O. Symbols are ``BASE-QUOTE`` (``BTC-USD``),
the currency codes being the common ones.

The books come from ``level2_batch`` (public; ``level2`` when API keys are configured, as it now
needs authentication): a ``snapshot`` then ``l2update`` changes, with no sequence numbers and no
checksum, so a book's integrity rests on the crossed-book check and on silence, which the
``heartbeat`` channel (one message a second per product) makes quick to see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from ...core.book import BookSide
from ...core.errors import InvalidParameter
from ...core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, MarketEvent, Ticker, Trade
from ...core.markets import Market, MarketStatus
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ..base import Adapter, Credentials
from ..http import Request
from ..wire import Fields, candles_of, column_rows, entry, expect, load_json, unified_pair

EXCHANGE = "coinbase"

# Coinbase Exchange fee schedule, lowest tier ($0-10K traded in 30 days): maker 0.40 %, taker
# 0.60 % (help.coinbase.com/en/exchange/trading-and-funding/exchange-fees).
MAKER_FEE = Decimal("0.004")
TAKER_FEE = Decimal("0.006")


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /products`` response, one per product.

    ``base_min_size``, ``base_max_size`` and ``max_market_funds`` were removed from the API on
    2022-06-30 (``min_market_funds`` became the minimum notional of every order): where absent,
    the minimum size is the size step and there is no maximum. Raises :class:`InvalidParameter`
    naming the field and product for missing or malformed values.
    """
    what = f"GET /products on {EXCHANGE}"
    products = expect(load_json(body, what), list, what, "a JSON list of products")
    return [_market(entry(EXCHANGE, raw, index, "id")) for index, raw in enumerate(products)]


def _market(product: Fields) -> Market:
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(
            EXCHANGE, product.text("base_currency"), product.text("quote_currency"), product.label("pair")
        ),
        symbol=product.symbol,
        tick_size=product.decimal("quote_increment", positive=True),
        size_step=product.decimal("base_increment", positive=True),
        min_size=product.optional_decimal("base_min_size") or Decimal(0),
        max_size=product.optional_decimal("base_max_size"),
        min_notional=product.decimal("min_market_funds"),
        max_notional=product.optional_decimal("max_market_funds"),
        funds_step=product.decimal("quote_increment", positive=True),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_status(product),
    )


def _status(product: Fields) -> MarketStatus:
    # status is "online", "offline", "internal" or "delisted"; the flags narrow an online market.
    if product.flag("trading_disabled") or product.text("status") != "online":
        return MarketStatus.OFFLINE
    if product.flag("cancel_only"):
        return MarketStatus.CANCEL_ONLY
    if product.flag("post_only"):
        return MarketStatus.POST_ONLY
    if product.flag("limit_only"):
        return MarketStatus.LIMIT_ONLY
    return MarketStatus.ONLINE


# -- market data ---------------------------------------------------------------------------------

#: ``GET /products/{id}/candles`` granularities, in seconds.
CANDLE_INTERVALS = (60, 300, 900, 3600, 21600, 86400)
CANDLES_PER_REQUEST = 300

_SIDE = {"buy": BookSide.BID, "sell": BookSide.ASK}
# A match's ``side`` is the maker's: a sell maker means a buyer took it.
_TAKER = {"sell": Side.BUY, "buy": Side.SELL}
_NONE: list[MarketEvent] = []


class CoinbaseAdapter(Adapter):
    """Coinbase Exchange market data: products and candles over REST; level2_batch (or level2),
    matches, ticker and heartbeat over the websocket feed."""

    name = EXCHANGE
    rest_url = "https://api.exchange.coinbase.com"
    ws_url = "wss://ws-feed.exchange.coinbase.com"
    markets_path = "/products"
    parse_markets = staticmethod(parse_markets)
    rest_limit = RateLimit(10, 15)  # public endpoints: 10 requests/s per IP, bursts of 15
    candles_per_request = CANDLES_PER_REQUEST
    candles_end_inclusive = True  # candles from start to end, both included
    subscribe_limit = RateLimit(8, 20)  # websocket requests: 8/s per IP, bursts of 20
    silence_timeout = 10.0  # heartbeats come every second for every product
    ping_interval = 20.0

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.book_channel = "level2" if self.credentials is not None else "level2_batch"
        self._handlers: dict[str, Callable[[dict, float], list[MarketEvent]]] = {
            "snapshot": self._snapshot,
            "match": self._match,
            "ticker": self._ticker,
            "error": self._error,
        }

    # -- the websocket ----------------------------------------------------------------------------

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        return [self._request("subscribe", pairs, [self.book_channel, "matches", "ticker", "heartbeat"], now)]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return [self._request("unsubscribe", pairs, [self.book_channel], None)]

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """Unsubscribe then subscribe the book channel only: Coinbase answers with new snapshots."""
        return self.unsubscribe(pairs) + [self._request("subscribe", pairs, [self.book_channel], now)]

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """``snapshot``, ``l2update``, ``match``, ``ticker`` and ``error`` become events;
        ``subscriptions``, ``heartbeat`` and ``last_match`` (a trade from before we subscribed)
        are only signs of life."""
        msg = orjson.loads(message)
        kind = msg.get("type")
        if kind == "l2update":  # nearly every message: no dispatch
            pair = self.pair_of.get(msg["product_id"])
            if pair is None:
                return _NONE
            changes, stamp = msg["changes"], msg.get("time")
            time = iso_seconds(stamp) if stamp is not None else None
            if len(changes) == 1:  # most batches: no list comprehension to set up
                ((side, price, size),) = changes
                return [BookDelta(pair, ((_SIDE[side], Decimal(price), Decimal(size)),), time=time)]
            return [
                BookDelta(pair, [(_SIDE[s], Decimal(price), Decimal(size)) for s, price, size in changes], time=time)
            ]
        handler = self._handlers.get(kind)
        return handler(msg, at) if handler is not None else _NONE

    def _snapshot(self, msg: dict, at: float) -> list[MarketEvent]:
        pair = self.pair_of.get(msg["product_id"])
        if pair is None:
            return _NONE
        return [
            BookSnapshot(
                pair,
                [(Decimal(p), Decimal(s)) for p, s in msg["bids"]],
                [(Decimal(p), Decimal(s)) for p, s in msg["asks"]],
            )
        ]

    def _match(self, msg: dict, at: float) -> list[MarketEvent]:
        pair = self.pair_of.get(msg["product_id"])
        if pair is None:
            return _NONE
        return [
            Trade(
                pair,
                str(msg["trade_id"]),
                Decimal(msg["price"]),
                Decimal(msg["size"]),
                _TAKER[msg["side"]],
                iso_seconds(msg["time"]),
            )
        ]

    def _ticker(self, msg: dict, at: float) -> list[MarketEvent]:
        pair = self.pair_of.get(msg["product_id"])
        if pair is None:
            return _NONE
        return [
            Ticker(
                pair,
                _decimal(msg.get("best_bid")),
                _decimal(msg.get("best_ask")),
                iso_seconds(msg["time"]) if "time" in msg else at,
                bid_size=_decimal(msg.get("best_bid_size")),
                ask_size=_decimal(msg.get("best_ask_size")),
                last=_decimal(msg.get("price")),
                volume_24h=_decimal(msg.get("volume_24h")),
            )
        ]

    def _error(self, msg: dict, at: float) -> list[MarketEvent]:
        return [FeedError(f"{msg.get('message', 'error')}: {msg.get('reason', '')}".rstrip(": "))]

    def _request(self, kind: str, pairs: Sequence[Pair], channels: list[str], now: float | None) -> str:
        request: dict[str, Any] = {
            "type": kind,
            "product_ids": [self.markets.to_symbol(p) for p in pairs],
            "channels": channels,
        }
        if self.credentials is not None and now is not None:
            request.update(self._signature(now))
        return orjson.dumps(request).decode()

    def _signature(self, now: float) -> dict[str, str]:
        assert self.credentials is not None
        return ws_authentication(self.credentials, now)

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /products/{id}/candles``: ``interval`` one of :data:`CANDLE_INTERVALS`, at most
        :data:`CANDLES_PER_REQUEST` candles from ``start`` to ``end`` (Unix seconds)."""
        if interval not in CANDLE_INTERVALS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_INTERVALS)) + " seconds", interval)
        if not start < end or (end - start) / interval > CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        return Request(
            f"/products/{self.markets.to_symbol(pair)}/candles",
            {"granularity": interval, "start": _iso(start), "end": _iso(end)},
        )

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Rows ``[time, low, high, open, close, volume]``, newest first on the wire."""
        rows = column_rows(
            EXCHANGE,
            body,
            f"GET candles of {pair} on {EXCHANGE}",
            ("time", "low", "high", "open", "close", "volume"),
            f"{pair} candle",
        )
        return candles_of(rows, pair, interval, start="time")


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def iso_seconds(text: str) -> float:
    """Coinbase's ``2021-04-17T16:43:30.244075Z`` as Unix seconds (a time without a zone, as an
    order's ``expire_time`` ``2022-03-02 17:50:06.66``, is UTC too)."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the authenticated channels (level2 with API keys) -----------------------------------------

#: The request path the websocket's log-in signs (a GET of it, no body).
WS_VERIFY_PATH = "/users/self/verify"


def signature(secret: str, timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """``CB-ACCESS-SIGN``: the base64 of the HMAC-SHA256, keyed with the base64-decoded secret, of
    the timestamp, the method in capitals, the request path (with its query string) and the body,
    run together."""
    message = f"{timestamp}{method.upper()}{request_path}{body}".encode()
    return base64.b64encode(hmac.new(base64.b64decode(secret), message, hashlib.sha256).digest()).decode()


def ws_authentication(credentials: Credentials, now: float) -> dict[str, str]:
    """The fields that authenticate a websocket subscribe message: a GET of ``/users/self/verify``
    signed as a REST request."""
    timestamp = str(int(now))
    return {
        "signature": signature(credentials.secret, timestamp, "GET", WS_VERIFY_PATH),
        "key": credentials.key,
        "passphrase": credentials.passphrase,
        "timestamp": timestamp,
    }
