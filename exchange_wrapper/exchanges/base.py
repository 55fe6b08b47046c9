"""What every exchange adapter shares: the shape of its market-data side.

An exchange module declares an :class:`Adapter` subclass: endpoints, limits and feed rules as class
attributes, and methods that translate (subscribe messages out, wire messages in as
:mod:`~exchange_wrapper.core.marketdata` events). It does no I/O:
:class:`~exchange_wrapper.connectors.feed.ExchangeFeed` runs it live (metadata over REST, the
websocket with reconnects, resyncs, heartbeats, the status the service shows), and the replay
(:mod:`exchange_wrapper.replay`) drives the same adapter from recorded traffic.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, Protocol, TypeVar

from ..core.book import OrderBook
from ..core.errors import ExchangeUnavailable, UnknownExchange
from ..core.exchanges import EXCHANGE_NAMES
from ..core.marketdata import Candle, MarketEvent
from ..core.markets import Market
from ..core.pacing import RateLimit
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from .http import Request

_DECIMAL_DECODER = json.JSONDecoder(parse_float=Decimal)


def decimal_loads(text: str | bytes) -> Any:
    """JSON with every fractional number a Decimal: parse with it where the wire sends amounts as JSON
    numbers (Bitfinex, Kraken v2). Where amounts are strings (Coinbase, Binance, Poloniex) parse with
    ``orjson.loads``, twice as fast, which would give floats for numbers. (One decoder for every
    call: ``json.loads`` with arguments builds a new one each time, 2.5 times slower.)"""
    return _DECIMAL_DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))


@dataclass(frozen=True)
class Credentials:
    """API keys, where the settings have them (some public channels need them: Coinbase level2)."""

    key: str
    secret: str
    passphrase: str = ""

    def __repr__(self) -> str:
        return f"Credentials(key={self.key[:4]}...)"


class Books(Protocol):
    """Where an adapter registers the books it follows (the market-data hub)."""

    def add_book(
        self,
        exchange: str,
        pair: Pair,
        *,
        checksum: Callable[[OrderBook], int] | None,
        depth: int | None,
        buffer_deltas: bool,
    ) -> Any: ...


class MarketsParser(Protocol):
    """An exchange's ``parse_markets``: the market metadata's body (Bitfinex takes a second, optional one)."""

    def __call__(self, body: str | bytes, /) -> list[Market]: ...


class Parser(Protocol):
    """What :meth:`Adapter.parser` gives: the adapter itself, or a per-connection parser (Bitfinex's)."""

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]: ...


class Translator:
    """What either side of an exchange declares for :func:`find_adapter`."""

    name: ClassVar[str]
    side: ClassVar[str]  # the module of the exchange's package that declares it
    missing: ClassVar[str]  # why an exchange that declares none cannot do it


T = TypeVar("T", bound=Translator)


class Adapter(Translator):
    """One exchange's market data, translated. Subclass it per exchange; see docs/architecture.md.

    Build it with the exchange's markets (a SymbolTable from ``parse_markets``) and the pairs to
    follow. Parsing methods take the wire text and the receive time and return events.
    """

    side = "public"
    missing = "no market-data adapter yet"
    rest_url: ClassVar[str]  # public REST base URL (settings rest_url overrides)
    ws_url: ClassVar[str]  # public websocket URL (settings ws_url overrides)
    markets_path: ClassVar[str]  # GET path of the market metadata
    markets_weight: ClassVar[float] = 1  # what that call costs of the REST limit
    parse_markets: ClassVar[MarketsParser]  # the module's parse_markets, as a staticmethod
    rest_limit: ClassVar[RateLimit]  # the documented public REST limit
    subscribe_limit: ClassVar[RateLimit] = RateLimit(5, 5)  # websocket messages we may send
    silence_timeout: ClassVar[float] = 30.0  # seconds without a message before the feed is silent
    ping_interval: ClassVar[float | None] = 20.0  # websocket pings we send (None: the server pings)
    app_ping: ClassVar[str | None] = None  # an application-level ping message to send, if any
    app_ping_interval: ClassVar[float] = 20.0
    connection_lifetime: ClassVar[float | None] = None  # the exchange closes connections after this
    snapshot_over_rest: ClassVar[bool] = False  # books start from a REST snapshot (deltas buffered)
    book_depth: ClassVar[int | None] = None  # the exchange truncates books to this depth
    has_checksum: ClassVar[bool] = False  # implement :meth:`checksum` too
    resync_by_reconnect: ClassVar[bool] = False  # a book's new snapshot comes only with a new connection (Luno)
    # each connection streams one market its messages do not name (Luno): connection_parser(url) knows it
    market_per_connection: ClassVar[bool] = False
    # What :meth:`candles_request` may ask, for a backfill to page within (history/backfill.py):
    candles_per_request: ClassVar[int] = 0  # candles one request may ask at most (0: no candles endpoint)
    candles_end_inclusive: ClassVar[bool] = False  # a candle opening at ``end`` comes too (a page ends before)
    candles_recent: ClassVar[int | None] = None  # only the last this many candles are served (None: any past)

    def __init__(self, markets: SymbolTable, pairs: Iterable[Pair], credentials: Credentials | None = None):
        self.markets = markets
        self.pairs = list(pairs)
        self.credentials = credentials
        self.pair_of: dict[str, Pair] = {}
        """Every name the exchange uses for a market (REST and websocket) -> its unified pair."""
        for market in markets:
            for symbol in (market.symbol, market.ws_symbol, *market.alt_symbols):
                if symbol is not None:
                    self.pair_of[symbol] = market.pair

    # -- the websocket ----------------------------------------------------------------------------

    def ws_address(self, base_url: str) -> str:
        """The URL to connect to (Binance names its streams in it)."""
        return base_url

    def connections(self, base_url: str) -> list[tuple[str, list[Pair]]]:
        """The websocket connections to keep, each URL with the pairs it streams: one for every
        pair by default; one per pair where the exchange streams a market a connection (Luno)."""
        return [(self.ws_address(base_url), self.pairs)]

    def stream_refused(self) -> str | None:
        """Why no stream can be opened with these settings (Luno's needs an API key), or None."""
        return None

    def connection_parser(self, url: str) -> Parser:
        """A parser for a new connection to ``url``: :meth:`parser`, except where the messages do
        not name their market and the URL does (Luno)."""
        return self.parser()

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The messages that subscribe ``pairs``' books, trades and tickers; ``now`` signs them."""
        raise NotImplementedError

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        raise NotImplementedError

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The messages that bring fresh snapshots of ``pairs``' books on the open connection."""
        return self.unsubscribe(pairs) + self.subscribe(pairs, now)

    def granted_depths(self, message: str) -> dict[Pair, int]:
        """The book depth a subscription acknowledgement in ``message`` granted, by pair, where
        :attr:`book_depth` is set (the exchange truncates books to it); empty for any other
        message. A replay keeps each book to the depth its recording subscribed with."""
        return {}

    def parser(self) -> Parser:
        """A parser for one new connection; override where parsing keeps per-connection state
        (Bitfinex channel ids), returning an object with :meth:`parse`."""
        return self

    def parse(self, message: str | bytes, at: float) -> list[MarketEvent]:
        """The events in one websocket message received at ``at`` (none for acks, heartbeats)."""
        raise NotImplementedError

    # -- REST -------------------------------------------------------------------------------------

    def snapshot_request(self, pair: Pair) -> Request:
        """The REST call of ``pair``'s book snapshot (where :attr:`snapshot_over_rest`)."""
        raise NotImplementedError

    def parse_rest(self, url: str, body: str) -> list[MarketEvent]:
        """Events in a REST response other than the metadata (Binance's depth snapshots), from
        its URL (path and query); none by default."""
        return []

    def candles_request(self, pair: Pair, interval: int, start: float, end: float) -> Request:
        raise NotImplementedError

    def parse_candles(self, body: str, pair: Pair, interval: int) -> list[Candle]:
        """Candles oldest first."""
        raise NotImplementedError

    def checksum(self, book: OrderBook, market: Market) -> int:
        """The exchange's checksum of ``book`` (where :attr:`has_checksum`)."""
        raise NotImplementedError

    @staticmethod
    def published_rest_limit(body: str) -> RateLimit | None:
        """The public REST limit the metadata response states, where the exchange publishes one
        (Binance's ``rateLimits``); None keeps :attr:`rest_limit`."""
        return None

    # -- shared helpers ---------------------------------------------------------------------------

    def add_books(self, hub: Books, pairs: Iterable[Pair]) -> None:
        """Register ``pairs``' books in ``hub`` with this exchange's integrity rules."""
        for pair in pairs:
            check = partial(self.checksum, market=self.markets.market(pair)) if self.has_checksum else None
            hub.add_book(self.name, pair, checksum=check, depth=self.book_depth, buffer_deltas=self.snapshot_over_rest)


def find_adapter(exchange: str, kind: type[T]) -> type[T]:
    """The subclass of ``kind`` (:class:`Adapter`: market data, :class:`~.private.PrivateAdapter`:
    the account) that ``exchanges/<exchange>/<kind.side>.py`` declares, found by its ``name``;
    :class:`ExchangeUnavailable` with ``kind.missing`` where the exchange has none."""
    if exchange not in EXCHANGE_NAMES:
        raise UnknownExchange(exchange)
    where = f"{__package__}.{exchange}.{kind.side}"
    try:
        declared = vars(importlib.import_module(where)).values()
    except ModuleNotFoundError as error:
        if error.name != where:
            raise
        declared = {}.values()
    for value in declared:
        if isinstance(value, type) and issubclass(value, kind) and getattr(value, "name", None) == exchange:
            return value
    raise ExchangeUnavailable(exchange, kind.missing)


def adapter_class(exchange: str) -> type[Adapter]:
    """The market-data :class:`Adapter` of ``exchange`` (:func:`find_adapter`)."""
    return find_adapter(exchange, Adapter)
