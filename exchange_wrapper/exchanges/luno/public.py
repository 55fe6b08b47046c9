"""Luno: its wire formats translated to xWrap's types.

Pure translation, no I/O. Luno names a market by its ``market_id``, base and counter currency run
together (``XBTZAR``), and spells bitcoin ``XBT`` (``XBTZAR`` is ``BTC_ZAR``). Precision and
minimums come from ``GET /api/exchange/1/markets``: ``price_scale`` and ``volume_scale`` are
decimal places, ``min_volume`` the smallest order, ``trading_status`` ``ACTIVE`` when it trades.

The market stream (``wss://ws.luno.com/api/1/stream/<market_id>``, one connection a market) is
market-by-order: the client first sends its API key (``{"api_key_id":...,"api_key_secret":...}``;
the stream is for key holders only), then gets the book's state as individual orders
(``{"sequence":"...","asks":[{"id","price","volume"}],"bids":[...],"status":...}``), then update
messages, each with the next ``sequence``, Luno's ``timestamp`` (the books' exchange time) and at
most a ``create_update`` (an order added), a ``delete_update`` (an order gone), ``trade_updates`` (a
maker order reduced by ``base``: a public trade) and a ``status_update``. A message whose sequence
is not the next one means the client cannot go on: it reconnects for a new state
(:attr:`LunoAdapter.resync_by_reconnect`). A ``""`` message is Luno's keep-alive.

xWrap's books are L2: :class:`LunoParser` keeps the orders of its connection and turns each
message into the changed levels' new totals (the sum of the orders at a price), which the book
keeper applies with the message's sequence as the update id (its integrity rule here).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from ...core.book import BookSide
from ...core.errors import ExchangeRejected, InvalidParameter, RateLimited
from ...core.marketdata import BookDelta, BookSnapshot, Candle, Change, MarketEvent, Trade
from ...core.markets import Market, MarketStatus
from ...core.money import ZERO
from ...core.orders import Side
from ...core.pacing import RateLimit
from ...core.pairs import Pair
from ..base import Adapter, Credentials
from ..http import DEFAULT_RETRY_AFTER, Request
from ..wire import Fields, candles_of, entry, expect, load_json, unified_pair

EXCHANGE = "luno"

# Luno's fee schedule (luno.com/en/countries fees), the lowest volume tier of its main markets:
# maker 0 %, taker 0.10 %.
MAKER_FEE = Decimal("0")
TAKER_FEE = Decimal("0.001")

# trading_status: ACTIVE, POST_ONLY (a market being launched) or SUSPENDED (high volatility,
# post-only orders only): only ACTIVE takes every order.
_STATUS = {"ACTIVE": MarketStatus.ONLINE}

STREAM_PATH = "/api/1/stream/"
KEEP_ALIVE = ('""', b'""')

#: ``GET /api/exchange/1/candles`` durations, in seconds (Luno names them so too).
CANDLE_DURATIONS = (60, 300, 900, 1800, 3600, 10800, 14400, 28800, 86400, 259200, 604800)
#: Candles one request returns at most, from ``since`` on.
CANDLES_PER_REQUEST = 1000


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /api/exchange/1/markets`` response, one per ``market_id``.

    Price tick ``10**-price_scale``, size step ``10**-volume_scale``, minimum order ``min_volume``
    (in the base currency), pair from ``base_currency`` and ``counter_currency`` (``XBT`` read as
    ``BTC``). Raises :class:`InvalidParameter` naming the field and market for missing or
    malformed values."""
    what = f"GET /api/exchange/1/markets on {EXCHANGE}"
    response = load_json(body, what)
    listed = Fields(EXCHANGE, "GET /api/exchange/1/markets", response).value("markets", "a JSON list")
    markets = expect(listed, list, f"markets of {what}", "a JSON list")
    return [_market(entry(EXCHANGE, raw, index, "market_id")) for index, raw in enumerate(markets)]


def _market(info: Fields) -> Market:
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(
            EXCHANGE, info.text("base_currency"), info.text("counter_currency"), info.label("base/counter_currency")
        ),
        symbol=info.symbol,
        tick_size=info.places("price_scale"),
        size_step=info.places("volume_scale"),
        min_size=info.decimal("min_volume"),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_STATUS.get(info.text("trading_status"), MarketStatus.OFFLINE),
    )


def basic_auth(credentials: Credentials) -> dict[str, str]:
    """The ``Authorization`` header of Luno's HTTP basic authentication: key id and secret."""
    token = base64.b64encode(f"{credentials.key}:{credentials.secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def check_answer(body: str | bytes, what: str) -> dict:
    """A Luno REST answer as a JSON object, or its refusal: ``{"error":..., "error_code":...}``
    is :class:`ExchangeRejected` with Luno's code and text (``ErrTooManyRequests``:
    :class:`RateLimited`, the default pause)."""
    answer = expect(load_json(body, f"{what} on {EXCHANGE}"), dict, f"{what} on {EXCHANGE}", "a JSON object")
    code = answer.get("error_code")
    if code is not None or "error" in answer:
        if code == "ErrTooManyRequests":
            raise RateLimited(EXCHANGE, DEFAULT_RETRY_AFTER)
        raise ExchangeRejected(EXCHANGE, 200, f"{code or ''} {answer.get('error', '')}".strip())
    return answer


# -- market data ---------------------------------------------------------------------------------

_BID, _ASK = BookSide.BID, BookSide.ASK
_SIDES = {"BID": _BID, "ASK": _ASK}
_TAKER = {_BID: Side.SELL, _ASK: Side.BUY}  # a trade reduces a maker order: the taker was on the other side
_NONE: list[MarketEvent] = []


class LunoParser:
    """One market's stream, the orders it holds as price levels: build one per connection with
    :meth:`LunoAdapter.connection_parser` and call :meth:`parse` with every message, in order.

    The initial state is a :class:`BookSnapshot` at its sequence; each later message one
    :class:`BookDelta` numbered by its ``sequence`` (the levels its orders changed, at their new
    totals), after which come its trades. A message at or before the last one is dropped (Luno's
    own client does so); one past the next is handed on, for the book keeper to call it a gap.
    """

    def __init__(self, pair: Pair | None):
        self.pair = pair
        self.sequence: int | None = None
        self.orders: dict[str, tuple[BookSide, Decimal, Decimal]] = {}
        self.levels: dict[BookSide, dict[Decimal, Decimal]] = {_BID: {}, _ASK: {}}

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """The state as a snapshot, updates as a numbered delta and trades; keep-alives are
        only signs of life, and so is everything on a connection of no followed market."""
        if message in KEEP_ALIVE or self.pair is None:
            return _NONE
        msg = orjson.loads(message)
        if not isinstance(msg, dict):
            raise InvalidParameter(f"message on {EXCHANGE}", "a JSON object", msg)
        if "asks" in msg or "bids" in msg:
            return [self._state(msg)]
        if self.sequence is None:
            return _NONE  # no state yet: nothing to apply an update to
        sequence = _sequence(msg)
        if sequence <= self.sequence:
            return _NONE
        changed: dict[tuple[BookSide, Decimal], Decimal] = {}
        trades = [
            self._trade(trade, f"{sequence}.{index}", msg, changed)
            for index, trade in enumerate(msg.get("trade_updates") or ())
        ]
        create = msg.get("create_update")
        if create is not None:
            side = _SIDES.get(create.get("type"))
            if side is None:
                raise InvalidParameter(f"create_update.type on {EXCHANGE}", "BID or ASK", create.get("type"))
            self._remove(create["order_id"], changed)
            self._add(create["order_id"], side, Decimal(create["price"]), Decimal(create["volume"]), changed)
        delete = msg.get("delete_update")
        if delete is not None:
            self._remove(delete["order_id"], changed)
        changes: list[Change] = [(side, price, size) for (side, price), size in changed.items()]
        self.sequence = sequence
        return [
            BookDelta(self.pair, changes, sequence, sequence, time=_milliseconds(msg.get("timestamp")) / 1000),
            *trades,
        ]

    def _state(self, msg: dict) -> BookSnapshot:
        assert self.pair is not None
        self.sequence = _sequence(msg)
        self.orders.clear()
        self.levels = {_BID: {}, _ASK: {}}
        for side, key in ((_BID, "bids"), (_ASK, "asks")):
            for order in msg.get(key) or ():
                self._add(order["id"], side, Decimal(order["price"]), Decimal(order["volume"]), None)
        bids = sorted(self.levels[_BID].items(), reverse=True)
        asks = sorted(self.levels[_ASK].items())
        stamp = msg.get("timestamp")
        return BookSnapshot(
            self.pair, bids, asks, self.sequence, None if stamp is None else _milliseconds(stamp) / 1000
        )

    def _trade(
        self, trade: dict, fallback_id: str, msg: dict, changed: dict[tuple[BookSide, Decimal], Decimal]
    ) -> Trade:
        assert self.pair is not None
        base, maker = Decimal(trade["base"]), str(trade["maker_order_id"])
        if base <= ZERO:
            raise InvalidParameter(f"trade_updates.base on {EXCHANGE}", "an amount above 0", trade["base"])
        known = self.orders.get(maker)
        if known is None:
            raise InvalidParameter(f"trade_updates.maker_order_id on {EXCHANGE}", "an order of the book", maker)
        side, price, volume = known
        if base > volume:
            raise InvalidParameter(f"trade_updates.base on {EXCHANGE}", f"at most the order's {volume}", base)
        self._remove(maker, changed)
        if base < volume:
            self._add(maker, side, price, volume - base, changed)
        trade_id = str(trade["sequence"]) if trade.get("sequence") is not None else fallback_id
        return Trade(self.pair, trade_id, price, base, _TAKER[side], _milliseconds(msg.get("timestamp")) / 1000)

    def _add(
        self,
        order_id: str,
        side: BookSide,
        price: Decimal,
        volume: Decimal,
        changed: dict[tuple[BookSide, Decimal], Decimal] | None,
    ) -> None:
        self.orders[order_id] = (side, price, volume)
        levels = self.levels[side]
        total = levels[price] = levels.get(price, ZERO) + volume
        if changed is not None:
            changed[side, price] = total

    def _remove(self, order_id: str, changed: dict[tuple[BookSide, Decimal], Decimal]) -> None:
        known = self.orders.pop(order_id, None)
        if known is None:
            return  # already gone (filled by a trade of this message, or never seen)
        side, price, volume = known
        levels = self.levels[side]
        total = levels[price] - volume
        if total:
            levels[price] = total
        else:
            del levels[price]
        changed[side, price] = total


def _sequence(msg: dict) -> int:
    value = msg.get("sequence")
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise InvalidParameter(f"sequence on {EXCHANGE}", "a whole number (as a string of digits)", value)


def _milliseconds(value: Any) -> int:
    if isinstance(value, int) and value >= 0:
        return value
    raise InvalidParameter(f"timestamp on {EXCHANGE}", "a time in milliseconds", value)


class LunoAdapter(Adapter):
    """Luno market data: markets and candles over REST; one market-by-order stream per market,
    aggregated to price levels, its trades taken from the trade updates."""

    name = EXCHANGE
    rest_url = "https://api.luno.com"
    ws_url = "wss://ws.luno.com"
    markets_path = "/api/exchange/1/markets"
    parse_markets = staticmethod(parse_markets)
    # Luno's Rate-Limiting: 300 calls a minute; at most half as a burst, so that no minute spends more.
    rest_limit = RateLimit(2.5, 150)
    candles_per_request = CANDLES_PER_REQUEST
    subscribe_limit = RateLimit(1, 5)  # one message a connection: the key
    silence_timeout = 60.0  # Luno sends "" when there is nothing else to send
    resync_by_reconnect = True
    market_per_connection = True

    def connections(self, base_url: str) -> list[tuple[str, list[Pair]]]:
        """One stream per followed market, named in its URL."""
        base = base_url.rstrip("/")
        return [(f"{base}{STREAM_PATH}{self.markets.to_symbol(pair)}", [pair]) for pair in self.pairs]

    def stream_refused(self) -> str | None:
        if self.credentials is None:
            return "Luno's market stream needs an API key: set exchanges.luno.api_key and api_secret"
        return None

    def connection_parser(self, url: str) -> LunoParser:
        """The parser of the stream at ``url``: its market is the URL's last part."""
        symbol = url.rstrip("/").rpartition("/")[2]
        return LunoParser(self.pair_of.get(symbol))

    def parser(self) -> LunoParser:
        """A parser of no connection yet: Luno's messages do not name their market, so it knows none."""
        return LunoParser(None)

    # -- the websocket ----------------------------------------------------------------------------

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The API key, the one message a stream takes (no connection is opened without one:
        :meth:`stream_refused`)."""
        if self.credentials is None:
            return []
        return [orjson.dumps({"api_key_id": self.credentials.key, "api_key_secret": self.credentials.secret}).decode()]

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        return []  # a stream ends with its connection

    # -- REST -------------------------------------------------------------------------------------

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        """``GET /api/exchange/1/candles``: ``interval`` (seconds) one of :data:`CANDLE_DURATIONS`,
        the candles from ``start`` (``since``, Unix milliseconds) on; Luno returns at most
        :data:`CANDLES_PER_REQUEST`, so ``end`` may be at most that many intervals after ``start``.
        Luno asks for the API key on this call: it goes with it where the settings have one."""
        if interval not in CANDLE_DURATIONS:
            raise InvalidParameter("interval", "one of " + ", ".join(map(str, CANDLE_DURATIONS)) + " seconds", interval)
        if not start < end or (end - start) / interval > CANDLES_PER_REQUEST:
            raise InvalidParameter("end", f"after start, and at most {CANDLES_PER_REQUEST} intervals after it", end)
        headers = basic_auth(self.credentials) if self.credentials is not None else {}
        params = {"pair": self.markets.to_symbol(pair), "since": round(start * 1000), "duration": interval}
        return Request("/api/exchange/1/candles", params, headers=headers)

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """``{"candles":[{"timestamp","open","close","high","low","volume"}],...}``, oldest first."""
        what = f"GET candles of {pair}"
        answer = check_answer(body, what)
        rows = expect(answer.get("candles") or [], list, f"candles of {what} on {EXCHANGE}", "a JSON list")
        fields = [Fields(EXCHANGE, f"{pair} candle {index}", raw) for index, raw in enumerate(rows)]
        return candles_of(fields, pair, interval, start="timestamp", per_second=1000)
