"""Any other exchange through ccxt: its markets loaded, its books and trades streamed or polled into the hub.

:class:`CcxtFeed` is the feed of the settings' ``ccxt`` entry (docs/ccxt.md). It builds the ccxt
exchange object of ``exchanges.ccxt.exchange_id`` (asyncio flavour, ccxt's own pacing off: REST calls
go under xWrap's :class:`~exchange_wrapper.core.pacing.TokenBucket`, at the exchange's ``rateLimit``)
and loads the markets with retries. Where ccxt streams the exchange's books (ccxt.pro
``watch_order_book``) and ``stream`` is on, it follows each book as ccxt keeps it; otherwise it fetches
every followed book every ``poll_seconds``. The first book of a pair, and any after it went stale,
is a snapshot; later ones go to the hub as the level changes from the book it holds
(:func:`~exchange_wrapper.core.integrity.snapshot_as_delta`), so the virtual exchange consumes
liquidity on a polled book by the same rule as on a streamed one. Public trades come the same way
(ccxt.pro ``watch_trades``, or ``fetch_trades`` after each book), each once. The status says which (streamed
or polled, and how often); each book's age is the time since ccxt last gave it. A rate-limit answer
(HTTP 429, ccxt's ``DDoSProtection``) pauses every call for its ``Retry-After``. The translation is
:mod:`exchange_wrapper.exchanges.ccxt.public`'s.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from decimal import localcontext
from typing import Any

from ..config import CcxtExchangeSettings
from ..core.book import BookState
from ..core.errors import ExchangeUnavailable, XWrapError
from ..core.integrity import snapshot_as_delta
from ..core.marketdata import BookSnapshot, Candle, FeedStatus, MarketEvent, Trade
from ..core.pacing import Backoff, RateLimit, TokenBucket
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..exchanges.ccxt import public as translate
from ..exchanges.http import retry_after
from ..marketdata.hub import MarketDataHub

log = logging.getLogger(__name__)

NAME = translate.EXCHANGE


#: ccxt's options that keep its markets to the markets where keys are set (Binance would also ask
#: its signed currency and margin-pair lists).
MARKETS_ONLY = {"fetchCurrencies": False, "fetchMargins": False}


def ccxt_exchange(settings: CcxtExchangeSettings) -> Any:
    """The asyncio ccxt exchange object of ``settings.exchange_id``: ccxt.pro's where ccxt has
    websockets for it and ``stream`` is on (its books are floats, read through their repr), else one
    whose REST book levels are exact; numbers as text, ccxt's own rate limiter off (xWrap paces),
    spot markets only, its REST URLs pointed at ``rest_url`` and its websocket URLs at ``ws_url``
    where set. Close it with ``await exchange.close()``."""
    pro = importlib.import_module("ccxt.pro")  # ccxt's websocket classes, where it streams the exchange
    if settings.stream and settings.exchange_id in pro.exchanges:
        # ccxt.pro keeps its books keyed by float prices: exact REST levels would sit beside them
        cls = getattr(pro, settings.exchange_id)
    else:
        base = getattr(importlib.import_module("ccxt.async_support"), settings.exchange_id)
        cls = type(f"Exact{base.__name__}", (translate.ExactBookLevels, base), {})
    return configured(cls, settings)


def configured(cls: Any, settings: CcxtExchangeSettings, **options: Any) -> Any:
    """An object of the ccxt exchange class ``cls`` as xWrap runs it: numbers as text, ccxt's own
    rate limiter off, spot markets only (and ``options``), the settings' keys, its REST URLs pointed
    at ``rest_url`` and its websocket URLs at ``ws_url`` where set."""
    exchange = cls(
        {
            "enableRateLimit": False,
            "options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}, **MARKETS_ONLY, **options},
            **({"apiKey": settings.api_key, "secret": settings.api_secret} if settings.api_key else {}),
            **({"password": settings.passphrase} if settings.passphrase else {}),
        }
    )
    exchange.number = str
    urls = exchange.urls["api"]
    streams = urls.pop("ws", None) if isinstance(urls, dict) else None
    if settings.rest_url:
        urls = translate.pointed_at(urls, settings.rest_url)
    if streams is not None:
        urls["ws"] = translate.pointed_at(streams, settings.ws_url) if settings.ws_url else streams
    exchange.urls["api"] = urls
    return exchange


class CcxtFeed:
    """Runs the ccxt entry's market data into ``hub``: ``start()``, then ``await stop()``.

    Never raises for the network: it retries with backoff, and the hub shows the exchange ``down``
    with the reason meanwhile. ``clock``, ``sleep`` and ``backoff`` are injected for tests;
    ``exchange`` (a ccxt exchange object) replaces the one :func:`ccxt_exchange` builds. The other
    options :func:`~.feed.start_feeds` gives every feed (``silence_timeout``) are the websocket
    feeds' and mean nothing here."""

    def __init__(
        self,
        settings: CcxtExchangeSettings,
        hub: MarketDataHub,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        backoff: Backoff | None = None,
        exchange: Any = None,
        **_: Any,
    ):
        self.settings, self.hub, self.clock, self.sleep = settings, hub, clock, sleep
        self.backoff = backoff or Backoff()
        self.ccxt = exchange if exchange is not None else ccxt_exchange(settings)
        self.errors = importlib.import_module("ccxt.base.errors")
        # ccxt's rateLimit: the milliseconds it leaves between two calls to this exchange
        self.bucket = TokenBucket(RateLimit(1000 / max(float(self.ccxt.rateLimit), 1.0), 1), clock())
        self.streams = settings.stream and bool(self.ccxt.has.get("watchOrderBook"))
        """Books come through ccxt's websocket support (ccxt.pro ``watch_order_book``), not polled."""
        self.trades = bool(self.ccxt.has.get("watchTrades" if self.streams else "fetchTrades"))
        """Public trades come too: ccxt.pro ``watch_trades`` with streamed books, else ``fetch_trades``
        after each book."""
        self.markets: SymbolTable | None = None
        self.pairs: list[Pair] = []
        self.seen: dict[Pair, tuple[float, set[str]]] = {}  # per pair: the newest trade time, its trade ids
        self._task: asyncio.Task[None] | None = None
        hub.exchange(NAME)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.ccxt.close()

    async def run(self) -> None:
        """Load the markets, then stream or poll the books for ever (until the task is cancelled)."""
        try:
            await self._load_markets()
            if self.streams:
                trades = [self._stream_trades(pair) for pair in self.pairs] if self.trades else []
                await asyncio.gather(*(self._stream(pair) for pair in self.pairs), *trades)
            else:
                await self._poll()
        finally:
            self.hub.set_connection(NAME, FeedStatus.DOWN, "stopped")

    async def candles(self, pair: Pair, interval: int, start: float, end: float) -> list[Candle]:
        """The exchange's candles of ``pair`` from ``start`` (``fetch_ohlcv``), oldest first, those
        opening before ``end``; ``interval`` one of :data:`~.translate.TIMEFRAMES`' lengths."""
        if self.markets is None:
            raise ExchangeUnavailable(NAME, "markets not loaded yet")
        symbol = self.markets.to_symbol(pair)
        rows = await self._call(self.ccxt.fetch_ohlcv, symbol, translate.TIMEFRAMES[interval], int(start * 1000))
        return [c for c in translate.parse_candles(pair, rows, interval) if c.start < end]

    # -- start-up ---------------------------------------------------------------------------------

    async def _load_markets(self) -> None:
        where = f"ccxt {self.settings.exchange_id}"
        while True:
            self.hub.set_connection(NAME, FeedStatus.CONNECTING, f"loading markets of {where}")
            try:
                loaded = await self._call(self.ccxt.load_markets)
                markets = translate.parse_markets(loaded, self.ccxt.precisionMode)
                break
            except XWrapError as error:
                self.hub.set_connection(NAME, FeedStatus.DOWN, f"markets not loaded: {error}")
            await self.sleep(self.backoff.next_delay())
        self.backoff.reset()
        self.markets = table = SymbolTable(NAME, markets)
        self.hub.add_markets(NAME, markets)
        for text in self.settings.pairs:
            pair = Pair.parse(text)
            if pair in table:
                self.pairs.append(pair)
            else:
                log.warning("%s does not list %s: not followed", where, pair)
        for pair in self.pairs:
            self.hub.add_book(NAME, pair, checksum=None, depth=None, buffer_deltas=False)

    # -- polling ----------------------------------------------------------------------------------

    async def _poll(self) -> None:
        assert self.markets is not None
        period = float(self.settings.poll_seconds)
        polled = f"polling {len(self.pairs)} books of ccxt {self.settings.exchange_id} every {period:g} s"
        while True:
            started, failure = self.clock(), None
            for pair in self.pairs:
                try:
                    answer = await self._call(
                        self.ccxt.fetch_order_book, self.markets.to_symbol(pair), self.settings.book_levels
                    )
                    snapshot = translate.parse_book(pair, answer)
                except XWrapError as error:  # the book waits for its next fetch, not trusted meanwhile
                    log.warning("ccxt %s %s book not fetched: %s", self.settings.exchange_id, pair, error)
                    self.hub.resyncing(NAME, [pair])
                    failure = error
                    continue
                self._apply(snapshot)
                self.hub.set_connection(NAME, FeedStatus.READY, polled)
                if self.trades:
                    await self._poll_trades(pair)
            if failure is not None and self.pairs and not any(b.live for _, b in self.hub.books(NAME)):
                self.hub.set_connection(NAME, FeedStatus.DOWN, f"no book fetched: {failure}")
                await self.sleep(self.backoff.next_delay())
                continue
            self.backoff.reset()
            await self.sleep(max(period - (self.clock() - started), 0.0))

    async def _stream(self, pair: Pair) -> None:
        """Follow ``pair``'s book as ccxt.pro keeps it (its websocket, its snapshot and sequence
        checks); a failure leaves the book resyncing until ccxt has it again, after a backoff."""
        assert self.markets is not None
        symbol, backoff = self.markets.to_symbol(pair), Backoff(self.backoff.base, self.backoff.cap)
        streaming = f"streaming {len(self.pairs)} books of ccxt {self.settings.exchange_id} through ccxt.pro"
        while True:
            try:
                answer = await self._translated(self.ccxt.watch_order_book, symbol, self.settings.book_levels)
                snapshot = translate.parse_book(pair, answer)
            except XWrapError as error:
                log.warning("ccxt %s %s book stream failed: %s", self.settings.exchange_id, pair, error)
                self.hub.resyncing(NAME, [pair])
                await self.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self._apply(snapshot)
            self.hub.set_connection(NAME, FeedStatus.READY, streaming)

    async def _poll_trades(self, pair: Pair) -> None:
        """The trades of ``pair`` since its last fetch to the hub (the first fetch only marks where
        they start: trades from before xWrap followed the pair are history, not news)."""
        assert self.markets is not None
        try:
            answer = await self._call(self.ccxt.fetch_trades, self.markets.to_symbol(pair))
            trades = translate.parse_trades(pair, answer)
        except XWrapError as error:  # the book is still good: the trades wait for the next fetch
            log.warning("ccxt %s %s trades not fetched: %s", self.settings.exchange_id, pair, error)
            return
        first = pair not in self.seen
        fresh = self._fresh(pair, trades)
        if fresh and not first:
            self.hub.handle(NAME, list[MarketEvent](fresh), self.clock())

    async def _stream_trades(self, pair: Pair) -> None:
        """Follow ``pair``'s public trades as ccxt.pro hands them over (each call: those since the last)."""
        assert self.markets is not None
        symbol, backoff = self.markets.to_symbol(pair), Backoff(self.backoff.base, self.backoff.cap)
        while True:
            try:
                trades = translate.parse_trades(pair, await self._translated(self.ccxt.watch_trades, symbol))
            except XWrapError as error:
                log.warning("ccxt %s %s trade stream failed: %s", self.settings.exchange_id, pair, error)
                await self.sleep(backoff.next_delay())
                continue
            backoff.reset()
            fresh = self._fresh(pair, trades)
            if fresh:
                self.hub.handle(NAME, list[MarketEvent](fresh), self.clock())

    def _fresh(self, pair: Pair, trades: list[Trade]) -> list[Trade]:
        """``trades`` (oldest first) not handed over before: newer than the newest seen, or as new
        with another id. An answer of the last N trades that missed some between two fetches
        (more than N) cannot show them."""
        newest, ids = self.seen.setdefault(pair, (float("-inf"), set()))
        fresh = [t for t in trades if t.time > newest or (t.time == newest and t.trade_id not in ids)]
        if fresh:
            latest = fresh[-1].time
            self.seen[pair] = (
                latest,
                {t.trade_id for t in trades if t.time == latest} | (ids if latest == newest else set()),
            )
        return fresh

    def _apply(self, snapshot: BookSnapshot) -> None:
        """A fetched book to the hub: whole while the book is not live, else as its level changes."""
        book = self.hub.book(NAME, snapshot.pair)
        live = book.state is BookState.LIVE
        self.hub.handle(NAME, [snapshot_as_delta(book, snapshot) if live else snapshot], self.clock())

    async def _call(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """One ccxt call under xWrap's budget; ccxt's errors translated (a rate-limit answer pauses
        every call for its Retry-After)."""
        wait = self.bucket.reserve(self.clock())
        if wait > 0:
            await self.sleep(wait)
        return await self._translated(method, *args)

    async def _translated(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """``method(*args)`` with ccxt's errors translated, in a decimal context of its own: ccxt's
        number formatting sets the current context's rounding to half-up and traps underflow, which
        would otherwise change every Decimal operation of the event loop after it."""
        errors = self.errors
        try:
            with localcontext():
                return await method(*args)
        except (errors.DDoSProtection, errors.RateLimitExceeded) as error:  # 429, 418
            headers = getattr(self.ccxt, "last_response_headers", None) or {}
            seconds = retry_after(headers.get("Retry-After"), self.clock())
            now = self.clock()
            self.bucket.pause(now, seconds)
            self.hub.rest_paused(NAME, now + seconds)
            raise ExchangeUnavailable(NAME, f"rate limited, paused {seconds:g} s: {error}") from None
        except errors.NetworkError as error:
            raise ExchangeUnavailable(NAME, f"{type(error).__name__}: {error}") from None
        except errors.BaseError as error:
            raise ExchangeUnavailable(NAME, f"{type(error).__name__}: {error}") from None
