"""What every exchange adapter shares: the adapter's shape, and the feed that runs it live.

An exchange module declares an :class:`Adapter` subclass: endpoints, limits and feed rules as class
attributes, and methods that translate (subscribe messages out, wire messages in as
:mod:`~exchange_wrapper.core.marketdata` events). It does no I/O. :class:`ExchangeFeed` runs it:
metadata over REST, the websocket with reconnects (exponential backoff with jitter),
resubscription and resyncs, heartbeats and silence detection, the scheduled replacement of
connections the exchange closes on a timer, and the status the service shows. The replay
(:mod:`exchange_wrapper.replay`) drives the same adapter from recorded traffic.
"""
from __future__ import annotations

import asyncio
import importlib
import json
import logging
import random
import time
from urllib.parse import urlencode
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Awaitable, Callable, ClassVar, Iterable, Sequence

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ..config import ExchangeSettings, Settings
from ..core.book import OrderBook
from ..core.errors import ExchangeUnavailable, UnknownExchange, XWrapError
from ..core.markets import Market
from ..core.marketdata import Candle, FeedStatus, MarketEvent, Problem, Resync
from ..core.pacing import Backoff, RateLimit, TokenBucket
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..marketdata.hub import MarketDataHub
from . import EXCHANGE_NAMES
from .rest import Request, RestClient

log = logging.getLogger(__name__)

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


class Adapter:
    """One exchange's market data, translated. Subclass it per exchange; see docs/architecture.md.

    Build it with the exchange's markets (a SymbolTable from ``parse_markets``) and the pairs to
    follow. Parsing methods take the wire text and the receive time and return events.
    """

    name: ClassVar[str]
    rest_url: ClassVar[str]                 # public REST base URL (settings rest_url overrides)
    ws_url: ClassVar[str]                   # public websocket URL (settings ws_url overrides)
    markets_path: ClassVar[str]             # GET path of the market metadata
    markets_weight: ClassVar[float] = 1     # what that call costs of the REST limit
    parse_markets: ClassVar[Callable[[str | bytes], list[Market]]]
    rest_limit: ClassVar[RateLimit]         # the documented public REST limit
    subscribe_limit: ClassVar[RateLimit] = RateLimit(5, 5)  # websocket messages we may send
    silence_timeout: ClassVar[float] = 30.0  # seconds without a message before the feed is silent
    ping_interval: ClassVar[float | None] = 20.0  # websocket pings we send (None: the server pings)
    app_ping: ClassVar[str | None] = None   # an application-level ping message to send, if any
    app_ping_interval: ClassVar[float] = 20.0
    connection_lifetime: ClassVar[float | None] = None  # the exchange closes connections after this
    snapshot_over_rest: ClassVar[bool] = False  # books start from a REST snapshot (deltas buffered)
    book_depth: ClassVar[int | None] = None  # the exchange truncates books to this depth
    has_checksum: ClassVar[bool] = False     # implement :meth:`checksum` too

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

    def subscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The messages that subscribe ``pairs``' books, trades and tickers; ``now`` signs them."""
        raise NotImplementedError

    def unsubscribe(self, pairs: Sequence[Pair]) -> list[str]:
        raise NotImplementedError

    def resubscribe(self, pairs: Sequence[Pair], now: float) -> list[str]:
        """The messages that bring fresh snapshots of ``pairs``' books on the open connection."""
        return self.unsubscribe(pairs) + self.subscribe(pairs, now)

    def parser(self) -> "Adapter":
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

    def add_books(self, hub: MarketDataHub, pairs: Iterable[Pair]) -> None:
        """Register ``pairs``' books in ``hub`` with this exchange's integrity rules."""
        for pair in pairs:
            check = partial(self.checksum, market=self.markets.market(pair)) if self.has_checksum else None
            hub.add_book(self.name, pair, checksum=check, depth=self.book_depth,
                         buffer_deltas=self.snapshot_over_rest)


def adapter_class(exchange: str) -> type[Adapter]:
    """The :class:`Adapter` subclass that the module ``exchanges/<exchange>.py`` defines."""
    if exchange not in EXCHANGE_NAMES:
        raise UnknownExchange(exchange)
    module = importlib.import_module(f"{__package__}.{exchange}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Adapter) and getattr(value, "name", None) == exchange:
            return value
    raise ExchangeUnavailable(exchange, "no market-data adapter yet")


def start_feeds(settings: Settings, hub: MarketDataHub, **options: Any) -> dict[str, "ExchangeFeed"]:
    """Start an :class:`ExchangeFeed` for every enabled exchange that has an adapter, as ``xwrap
    serve`` does; ``options`` go to each feed (tests inject clocks, backoff, timeouts). Call
    ``await feed.stop()`` on each to stop; an exchange with no adapter yet shows ``down``."""
    feeds = {}
    for name in EXCHANGE_NAMES:
        exchange = settings.exchange(name)
        if not exchange.enabled:
            continue
        try:
            cls = adapter_class(name)
        except ExchangeUnavailable as error:
            hub.exchange(name)
            hub.set_connection(name, FeedStatus.DOWN, error.reason)
            continue
        feeds[name] = ExchangeFeed(cls, exchange, hub, **options)
        feeds[name].start()
    return feeds


#: What a lost or refused connection raises.
CONNECTION_ERRORS = (OSError, asyncio.TimeoutError, ConnectionClosed, InvalidHandshake, InvalidURI)


class ExchangeFeed:
    """Runs one exchange's market data into ``hub``: ``await run()`` until cancelled.

    Never raises for the network: it retries with backoff, and the hub shows the exchange
    ``down`` with the reason meanwhile. ``clock`` (Unix seconds), ``sleep`` and ``rng`` are
    injected so tests run fast; ``silence_timeout`` overrides the adapter's.
    """

    def __init__(self, adapter_class: type[Adapter], settings: ExchangeSettings, hub: MarketDataHub, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 backoff: Backoff | None = None, silence_timeout: float | None = None,
                 rest: RestClient | None = None):
        self.adapter_class = adapter_class
        self.name = adapter_class.name
        self.settings, self.hub, self.clock, self.sleep = settings, hub, clock, sleep
        self.backoff = backoff or Backoff(0.5, 60.0, rng=random.Random())
        self.silence_timeout = silence_timeout or adapter_class.silence_timeout
        self.rest = rest or RestClient(self.name, settings.rest_url or adapter_class.rest_url,
                                       adapter_class.rest_limit, clock=clock, sleep=sleep)
        self.rest.on_pause = self._rest_paused
        self.adapter: Adapter | None = None
        self._subscribe_bucket = TokenBucket(adapter_class.subscribe_limit, clock())
        self._tasks: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None
        hub.exchange(self.name)

    def start(self) -> None:
        """Run :meth:`run` in a task of the running loop."""
        self._task = asyncio.ensure_future(self.run())

    async def stop(self) -> None:
        """Cancel the task :meth:`start` began and wait for it to end."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run(self) -> None:
        """Load the markets, then stream for ever (until the task is cancelled)."""
        try:
            adapter = self.adapter = await self._start_adapter()
            await self._stream(adapter)
        finally:
            for task in self._tasks:
                task.cancel()
            self.hub.set_connection(self.name, FeedStatus.DOWN, "stopped")
            self.rest.close()

    async def candles(self, pair: Pair, interval: int, start: float, end: float) -> list[Candle]:
        """OHLC candles of ``pair`` over REST, oldest first (raises RateLimited etc.)."""
        adapter = self._ready_adapter()
        body = await self.rest.call(adapter.candles_request(pair, interval, start, end))
        return adapter.parse_candles(body, pair, interval)

    # -- start-up ---------------------------------------------------------------------------------

    async def _start_adapter(self) -> Adapter:
        cls = self.adapter_class
        while True:
            self.hub.set_connection(self.name, FeedStatus.CONNECTING, f"loading markets from {cls.markets_path}")
            try:
                body = await self.rest.call(Request(cls.markets_path, weight=cls.markets_weight))
                markets, limit = cls.parse_markets(body), cls.published_rest_limit(body)
                break
            except XWrapError as error:
                self.hub.set_connection(self.name, FeedStatus.DOWN, f"markets not loaded: {error}")
            await self.sleep(self.backoff.next_delay())
        self.backoff.reset()
        if limit is not None:
            self.rest.set_limit(limit)
        table = SymbolTable(self.name, markets)
        self.hub.add_markets(self.name, markets)
        pairs = []
        for text in self.settings.pairs:
            pair = Pair.parse(text)
            if pair in table:
                pairs.append(pair)
            else:
                log.warning("%s does not list %s: not followed", self.name, pair)
        credentials = (Credentials(self.settings.api_key, self.settings.api_secret, self.settings.passphrase)
                       if self.settings.api_key and self.settings.api_secret else None)
        adapter = cls(table, pairs, credentials)
        adapter.add_books(self.hub, pairs)
        return adapter

    # -- the websocket ----------------------------------------------------------------------------

    async def _stream(self, adapter: Adapter) -> None:
        url = adapter.ws_address(self.settings.ws_url or adapter.ws_url)
        while True:
            self.hub.set_connection(self.name, FeedStatus.CONNECTING, f"connecting to {url}")
            try:
                reason = await self._pump(adapter, await self._open(adapter, url), url)
            except CONNECTION_ERRORS as error:
                reason = _describe(error)
            self.hub.fail_all(self.name, Problem.DISCONNECTED, reason)
            self.hub.set_connection(self.name, FeedStatus.DOWN, reason)
            self.hub.exchange(self.name).counts["reconnects"] += 1
            await self.sleep(self.backoff.next_delay())

    async def _open(self, adapter: Adapter, url: str) -> ClientConnection:
        """Connect and subscribe every followed pair; books start over from new snapshots."""
        ws = await connect(url, open_timeout=10, ping_interval=adapter.ping_interval,
                           ping_timeout=adapter.ping_interval, close_timeout=2, max_size=None, proxy=None)
        try:
            await self._send(ws, adapter.subscribe(adapter.pairs, self.clock()))
        except BaseException:
            await ws.close()
            raise
        self._asked_snapshots(adapter, adapter.pairs, counted=False)
        return ws

    async def _pump(self, adapter: Adapter, ws: ClientConnection, url: str) -> str:
        """Read ``ws`` until it ends; return why. Replaces the connection before its lifetime."""
        parser, opened, heard = adapter.parser(), self.clock(), False
        pinger = self._spawn(self._app_pings(adapter, ws)) if adapter.app_ping else None
        lifetime = adapter.connection_lifetime
        try:
            while True:
                timeout = self.silence_timeout
                if lifetime is not None:
                    left = opened + lifetime - self.clock()
                    if left <= 0:
                        new = await self._open(adapter, url)
                        await ws.close()
                        ws, parser, opened = new, adapter.parser(), self.clock()
                        log.info("%s connection replaced before its %g s lifetime", self.name, lifetime)
                        continue
                    timeout = min(timeout, left)
                try:
                    async with asyncio.timeout(timeout):  # not wait_for: in 3.11 it can swallow a cancel
                        message = await ws.recv()
                except TimeoutError:
                    if lifetime is not None and self.clock() >= opened + lifetime:
                        continue
                    detail = f"no message in {self.silence_timeout:g} s"
                    self.hub.fail_all(self.name, Problem.SILENT, detail)
                    return f"silent feed: {detail}"
                at = self.clock()
                if not heard:
                    heard = True
                    self.backoff.reset()
                    self.hub.set_connection(self.name, FeedStatus.READY, f"streaming from {url}")
                try:
                    events = parser.parse(message, at)
                except (XWrapError, ValueError, KeyError, TypeError, IndexError) as error:
                    self.hub.fail_all(self.name, Problem.MALFORMED, f"{type(error).__name__}: {error}")
                    return f"unreadable message: {str(message)[:120]}"
                resyncs = self.hub.handle(self.name, events, at)
                if resyncs:
                    await self._resync(adapter, ws, resyncs)
        finally:
            if pinger is not None:
                pinger.cancel()
            await ws.close()

    async def _resync(self, adapter: Adapter, ws: ClientConnection, resyncs: Sequence[Resync]) -> None:
        pairs = list(dict.fromkeys(r.pair for r in resyncs if r.pair is not None))
        if not adapter.snapshot_over_rest:
            await self._send(ws, adapter.resubscribe(pairs, self.clock()))
        self._asked_snapshots(adapter, pairs, counted=True)

    def _asked_snapshots(self, adapter: Adapter, pairs: Sequence[Pair], *, counted: bool) -> None:
        self.hub.resyncing(self.name, pairs, counted=counted)
        if adapter.snapshot_over_rest:
            for pair in pairs:
                self._spawn(self._rest_snapshot(adapter, pair))

    async def _rest_snapshot(self, adapter: Adapter, pair: Pair) -> None:
        request = adapter.snapshot_request(pair)
        while True:
            try:
                body = await self.rest.call(request)
                break
            except XWrapError as error:
                log.warning("%s %s snapshot not loaded, retrying: %s", self.name, pair, error)
                await self.sleep(self.backoff.next_delay())
        url = request.path + ("?" + urlencode(request.params) if request.params else "")
        at = self.clock()
        resyncs = self.hub.handle(self.name, adapter.parse_rest(url, body), at)
        for resync in resyncs:  # the snapshot did not join the buffered stream: ask again
            if resync.pair is not None:
                self._asked_snapshots(adapter, [resync.pair], counted=True)

    async def _send(self, ws: ClientConnection, messages: Iterable[str]) -> None:
        for message in messages:
            wait = self._subscribe_bucket.reserve(self.clock())
            if wait > 0:
                await self.sleep(wait)
            await ws.send(message)

    async def _app_pings(self, adapter: Adapter, ws: ClientConnection) -> None:
        assert adapter.app_ping is not None
        while True:
            await self.sleep(adapter.app_ping_interval)
            await ws.send(adapter.app_ping)

    # -- helpers ----------------------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _rest_paused(self, until: float) -> None:
        self.hub.exchange(self.name).rest_paused_until = until

    def _ready_adapter(self) -> Adapter:
        if self.adapter is None:
            raise ExchangeUnavailable(self.name, "markets not loaded yet")
        return self.adapter


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionClosed):
        code = error.rcvd.code if error.rcvd is not None else 1006
        reason = error.rcvd.reason if error.rcvd is not None else "no close frame"
        return f"connection closed ({code} {reason})" if reason else f"connection closed ({code})"
    if isinstance(error, asyncio.TimeoutError):
        return "connection timed out"
    return f"cannot connect: {type(error).__name__}: {error}"

