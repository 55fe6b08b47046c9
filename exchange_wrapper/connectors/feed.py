"""The market-data feed: one exchange's adapter run live into the hub.

:class:`ExchangeFeed` loads the metadata over REST, then keeps the websocket (or one per market,
where the adapter's ``connections`` say so: Luno), each a :class:`~.stream.Reconnecting`
(reconnects with backoff and jitter), subscribes paced by the
exchange's message limit, reads with a silence timeout, hands every message's events to the hub,
acts on the resyncs it returns (resubscribe, or a REST snapshot), sends the application pings the
exchange wants, replaces connections the exchange closes on a timer, and keeps the status the
service shows. The adapter (:mod:`exchange_wrapper.exchanges`) only translates. Given a
:class:`~.traffic.TrafficLog`, its websocket connections and REST answers are recorded as they happen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from ..config import ExchangeSettings, Settings
from ..core.errors import ExchangeUnavailable, XWrapError
from ..core.exchanges import EXCHANGE_NAMES
from ..core.marketdata import Candle, FeedStatus, Problem, Resync
from ..core.pacing import Backoff, TokenBucket
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..exchanges.base import Adapter, Credentials, adapter_class
from ..exchanges.http import Request
from ..marketdata.hub import MarketDataHub
from .rest import RestClient
from .stream import Reconnecting, Websocket
from .traffic import TrafficLog

log = logging.getLogger(__name__)


def start_feeds(
    settings: Settings, hub: MarketDataHub, *, traffic: Callable[[str], TrafficLog] | None = None, **options: Any
) -> dict[str, Any]:
    """Start an :class:`ExchangeFeed` for every enabled exchange that has an adapter (a
    :class:`~.ccxt_feed.CcxtFeed` for the ``ccxt`` entry), as ``xwrap serve`` does;
    ``traffic(name)``, if given, is the log recording that exchange's traffic;
    ``options`` go to each feed (tests inject clocks, backoff, timeouts). Call ``await
    feed.stop()`` on each to stop; an exchange with no adapter yet shows ``down``."""
    feeds: dict[str, Any] = {}
    for name in EXCHANGE_NAMES:
        if settings.exchange(name).enabled:
            feed = start_feed(settings, hub, name, traffic=traffic, **options)
            if feed is not None:
                feeds[name] = feed
    return feeds


def start_feed(
    settings: Settings,
    hub: MarketDataHub,
    name: str,
    *,
    traffic: Callable[[str], TrafficLog] | None = None,
    **options: Any,
) -> Any:
    """Start exchange ``name``'s :class:`ExchangeFeed` (a :class:`~.ccxt_feed.CcxtFeed` for the ``ccxt``
    entry; as :func:`start_feeds` does for each, and a
    cluster node for each exchange whose lease it takes); None, and the exchange ``down``, where it
    has no adapter yet."""
    if name == "ccxt":  # any other exchange, through ccxt (the optional extra)
        from .ccxt_feed import CcxtFeed

        polled = CcxtFeed(settings.exchanges.ccxt, hub, **options)
        polled.start()
        return polled
    try:
        cls = adapter_class(name)
    except ExchangeUnavailable as error:
        hub.exchange(name)
        hub.set_connection(name, FeedStatus.DOWN, error.reason)
        return None
    feed = ExchangeFeed(cls, settings.exchange(name), hub, traffic=traffic(name) if traffic else None, **options)
    feed.start()
    return feed


class ExchangeFeed:
    """Runs one exchange's market data into ``hub``: ``await run()`` until cancelled.

    Never raises for the network: it retries with backoff, and the hub shows the exchange
    ``down`` with the reason meanwhile. ``clock`` (Unix seconds), ``sleep`` and ``rng`` are
    injected so tests run fast; ``silence_timeout`` overrides the adapter's. ``traffic`` records the
    websocket connections and the REST answers (of the client it builds; an injected ``rest`` keeps its own).
    """

    def __init__(
        self,
        adapter_class: type[Adapter],
        settings: ExchangeSettings,
        hub: MarketDataHub,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        backoff: Backoff | None = None,
        silence_timeout: float | None = None,
        traffic: TrafficLog | None = None,
    ):
        self.adapter_class = adapter_class
        self.name = adapter_class.name
        self.settings, self.hub, self.clock, self.sleep = settings, hub, clock, sleep
        self.traffic = traffic
        self.stream = Reconnecting(clock=clock, sleep=sleep, backoff=backoff, traffic=traffic)
        self.backoff = self.stream.backoff
        self.streams = [self.stream]  # one per connection the adapter keeps (Luno: one per pair)
        self.silence_timeout = silence_timeout or adapter_class.silence_timeout
        self.rest = RestClient(
            self.name,
            settings.rest_url or adapter_class.rest_url,
            adapter_class.rest_limit,
            clock=clock,
            sleep=sleep,
            on_pause=self._rest_paused,
            traffic=traffic,
        )
        self.adapter: Adapter | None = None
        self._subscribe_bucket = TokenBucket(adapter_class.subscribe_limit, clock())
        self._task: asyncio.Task[None] | None = None
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
            for stream in self.streams:
                await stream.cancel()
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
        credentials = (
            Credentials(self.settings.api_key, self.settings.api_secret, self.settings.passphrase)
            if self.settings.api_key and self.settings.api_secret
            else None
        )
        adapter = cls(table, pairs, credentials)
        adapter.add_books(self.hub, pairs)
        return adapter

    # -- the websocket ----------------------------------------------------------------------------

    async def _stream(self, adapter: Adapter) -> None:
        """Keep the adapter's connections (one, or one per pair where the exchange streams a
        market a connection), each reconnecting on its own."""
        connections = adapter.connections(self.settings.ws_url or adapter.ws_url)
        while len(self.streams) < len(connections):
            self.streams.append(
                Reconnecting(clock=self.clock, sleep=self.sleep, backoff=self.backoff, traffic=self.traffic)
            )
        await asyncio.gather(
            *(self._connection(adapter, url, pairs, stream) for (url, pairs), stream in zip(connections, self.streams))
        )

    async def _connection(self, adapter: Adapter, url: str, pairs: list[Pair], stream: Reconnecting) -> None:
        async def session() -> str:
            refused = adapter.stream_refused()
            if refused is not None:
                return refused
            self.hub.set_connection(self.name, FeedStatus.CONNECTING, f"connecting to {url}")
            return await self._pump(adapter, await self._open(adapter, url, pairs, stream), url, pairs, stream)

        def down(reason: str) -> None:
            self.hub.fail_all(self.name, Problem.DISCONNECTED, reason, pairs)
            self.hub.set_connection(self.name, FeedStatus.DOWN, reason)
            self.hub.exchange(self.name).counts["reconnects"] += 1

        await stream.run(session, down)

    async def _open(self, adapter: Adapter, url: str, pairs: list[Pair], stream: Reconnecting) -> Websocket:
        """Connect and subscribe ``pairs``; their books start over from new snapshots."""
        ws = await stream.open(  # an adapter with keys may sign its subscriptions (Coinbase's level2)
            url,
            ping_interval=adapter.ping_interval,
            ping_timeout=adapter.ping_interval,
            signed=bool(adapter.credentials),
        )
        try:
            await self._send(ws, adapter.subscribe(pairs, self.clock()))
        except BaseException:
            await ws.close()
            raise
        self._asked_snapshots(adapter, pairs, counted=False)
        return ws

    async def _pump(self, adapter: Adapter, ws: Websocket, url: str, pairs: list[Pair], stream: Reconnecting) -> str:
        """Read ``ws`` until it ends; return why. Replaces the connection before its lifetime."""
        parser, opened, heard = adapter.connection_parser(url), self.clock(), False
        pinger = (
            stream.spawn(stream.pings(ws, adapter.app_ping, adapter.app_ping_interval)) if adapter.app_ping else None
        )
        lifetime = adapter.connection_lifetime
        try:
            while True:
                timeout = self.silence_timeout
                if lifetime is not None:
                    left = opened + lifetime - self.clock()
                    if left <= 0:
                        new = await self._open(adapter, url, pairs, stream)
                        await ws.close()
                        ws, parser, opened = new, adapter.connection_parser(url), self.clock()
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
                    self.hub.fail_all(self.name, Problem.SILENT, detail, pairs)
                    return f"silent feed: {detail}"
                at = self.clock()
                if not heard:
                    heard = True
                    self.backoff.reset()
                    self.hub.set_connection(self.name, FeedStatus.READY, f"streaming from {url}")
                try:
                    events = parser.parse(message, at)
                except (XWrapError, ValueError, KeyError, TypeError, IndexError) as error:
                    self.hub.fail_all(self.name, Problem.MALFORMED, f"{type(error).__name__}: {error}", pairs)
                    return f"unreadable message: {str(message)[:120]}"
                resyncs = self.hub.handle(self.name, events, at)
                if resyncs:
                    if adapter.resync_by_reconnect:  # the new state comes with a new connection only
                        return "resync: " + "; ".join(f"{r.pair} {r.problem.value}" for r in resyncs)
                    await self._resync(adapter, ws, resyncs)
        finally:
            if pinger is not None:
                pinger.cancel()
            await ws.close()

    async def _resync(self, adapter: Adapter, ws: Websocket, resyncs: Sequence[Resync]) -> None:
        pairs = list(dict.fromkeys(r.pair for r in resyncs if r.pair is not None))
        if not adapter.snapshot_over_rest:
            await self._send(ws, adapter.resubscribe(pairs, self.clock()))
        self._asked_snapshots(adapter, pairs, counted=True)

    def _asked_snapshots(self, adapter: Adapter, pairs: Sequence[Pair], *, counted: bool) -> None:
        self.hub.resyncing(self.name, pairs, counted=counted)
        if adapter.snapshot_over_rest:
            for pair in pairs:
                self.stream.spawn(self._rest_snapshot(adapter, pair))

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

    async def _send(self, ws: Websocket, messages: Iterable[str]) -> None:
        for message in messages:
            wait = self._subscribe_bucket.reserve(self.clock())
            if wait > 0:
                await self.sleep(wait)
            await ws.send(message)

    # -- helpers ----------------------------------------------------------------------------------

    def _rest_paused(self, until: float) -> None:
        self.hub.rest_paused(self.name, until)

    def _ready_adapter(self) -> Adapter:
        if self.adapter is None:
            raise ExchangeUnavailable(self.name, "markets not loaded yet")
        return self.adapter
