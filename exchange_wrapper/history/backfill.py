"""Backfill: an exchange's own 1-minute candles over a past range, paged within its limits, into a history sink.

The range is cut into windows of as many minutes as one request of the exchange may ask (the adapter
declares it: :attr:`~exchange_wrapper.exchanges.base.Adapter.candles_per_request`), each asked once and
written as one :class:`~.sink.Batch`. A window whose first and last minutes are stored from the exchange
is not asked again: a page is written whole, in one transaction, so the minutes missing between them
are minutes the exchange had no candle for (it publishes none for a minute without trades). That is
how a rerun resumes where an interrupted one stopped, and how a repeated backfill costs no request.
(A window whose own first or last minute is such a gap is asked again on a rerun: nothing in the store
says that it was asked before.)

Requests go through the exchange's :class:`~exchange_wrapper.connectors.rest.RestClient` (its token
bucket and 429 pauses): a rate-limit answer is waited out and the window asked again, a few times;
any other error stops the backfill with what was done so far in its summary.

The sink blocks on its disk or network: its calls run on a :class:`~exchange_wrapper.storage.worker.
DatabaseThread` of the backfill's own, one thread, so that the event loop (the service's books and
orders, or the command's progress) never waits on them and the calls keep their order.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..connectors.rest import RestClient
from ..core.errors import InvalidParameter, RateLimited, XWrapError
from ..core.marketdata import Candle
from ..core.pairs import Pair
from ..core.symbols import SymbolTable
from ..exchanges.base import Adapter
from ..exchanges.http import Request
from ..storage.worker import DatabaseThread
from .sink import Batch, HistorySink, SourcedCandle, WriteResult

log = logging.getLogger(__name__)

#: The interval of the candles a backfill fetches and the store keeps (seconds).
MINUTE = 60

#: Rate-limit answers waited out for one window before the backfill gives up.
RATE_LIMIT_RETRIES = 5


class CandleSource(Protocol):
    """Where the candles come from: an exchange's REST candles, as
    :meth:`~exchange_wrapper.connectors.feed.ExchangeFeed.candles` (the service's feeds) and
    :class:`RestCandles` (the command) give them."""

    async def candles(self, pair: Pair, interval: int, start: float, end: float) -> list[Candle]: ...


@dataclass(frozen=True)
class Unavailable:
    """Minutes [start, end) the backfill could not ask the exchange for, and why."""

    start: int
    end: int
    reason: str

    @property
    def minutes(self) -> int:
        return (self.end - self.start) // MINUTE


@dataclass
class BackfillSummary:
    """What one backfill did (so far, while it runs): requests sent, candles written anew, minutes
    skipped because stored, minutes the exchange has no candle for (its own gaps), the minutes it
    cannot serve, and the error that stopped it, if one did."""

    exchange: str
    pair: Pair
    start: int
    end: int
    requests: int = 0
    candles_written: int = 0
    candles_corrected: int = 0
    minutes_stored: int = 0
    gaps: int = 0
    unavailable: list[Unavailable] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "pair": str(self.pair),
            "from": self.start,
            "to": self.end,
            "requests": self.requests,
            "candles_written": self.candles_written,
            "candles_corrected": self.candles_corrected,
            "minutes_stored": self.minutes_stored,
            "gaps": self.gaps,
            "unavailable": [
                {"from": u.start, "to": u.end, "minutes": u.minutes, "reason": u.reason} for u in self.unavailable
            ],
            "error": self.error,
        }


#: Told (minutes done, minutes in all) after every window.
Progress = Callable[[int, int], None]

#: Told what each write changed (the service counts the built candles corrected in /metrics).
WriteReport = Callable[[WriteResult], None]


class Backfill:
    """Backfills ``pair`` of ``adapter`` (the class: its candle declarations) from ``source`` into
    ``sink``: ``await run(start, end, now)``. :attr:`summary` holds what was done so far, also after
    the task was cancelled; ``progress`` is told the minutes done after each window, ``on_write``
    what each write changed; ``sleep`` waits out a rate limit (tests inject it)."""

    def __init__(
        self,
        source: CandleSource,
        adapter: type[Adapter],
        sink: HistorySink,
        pair: Pair,
        *,
        thread: DatabaseThread,
        progress: Progress | None = None,
        on_write: WriteReport | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        retries: int = RATE_LIMIT_RETRIES,
    ):
        if adapter.candles_per_request <= 0:
            raise InvalidParameter("exchange", "an exchange with a candles endpoint", adapter.name)
        self.source, self.adapter, self.sink, self.pair, self.thread = source, adapter, sink, pair, thread
        self.progress, self.on_write, self.sleep, self.retries = progress, on_write, sleep, retries
        self.summary = BackfillSummary(adapter.name, pair, 0, 0)

    async def run(self, start: float, end: float, now: float) -> BackfillSummary:
        """Backfill the candles that open in [start, end) (Unix seconds) that are closed at ``now``.
        Raises :class:`InvalidParameter` for a range that is empty or reversed; an error of the
        exchange ends the run with the summary's ``error`` set (what was written stays)."""
        first, stop = check_range(start, end)
        summary = self.summary = BackfillSummary(self.adapter.name, self.pair, first, stop)
        first, stop = self._servable(first, stop, now)
        total, done = max(stop - first, 0) // MINUTE, 0
        page = self.adapter.candles_per_request * MINUTE
        for window in range(first, stop, page):
            window_end = min(window + page, stop)
            try:
                await self._window(window, window_end)
            except XWrapError as error:
                summary.error = str(error)
                log.warning("backfill of %s %s stopped: %s", self.adapter.name, self.pair, error)
                break
            done += (window_end - window) // MINUTE
            if self.progress is not None:
                self.progress(done, total)
        return summary

    def _servable(self, first: int, stop: int, now: float) -> tuple[int, int]:
        """[first, stop) narrowed to the minutes closed at ``now`` that the exchange serves; the rest
        goes to the summary's ``unavailable``."""
        summary, running = self.summary, math.floor(now / MINUTE) * MINUTE
        if stop > running:
            summary.unavailable.append(Unavailable(max(first, running), stop, "not closed yet"))
            stop = max(first, running)
        recent = self.adapter.candles_recent
        if recent is not None:
            earliest = running - (recent - 1) * MINUTE  # the running candle is one of them
            if first < earliest:
                reason = f"{self.adapter.name} serves only its {recent} most recent candles"
                summary.unavailable.insert(0, Unavailable(first, min(stop, earliest), reason))
                first = min(stop, earliest)
        return first, stop

    async def _window(self, start: int, end: int) -> None:
        summary, minutes = self.summary, (end - start) // MINUTE
        stored = await self.thread.run(self.sink.stored_minutes, self.adapter.name, self.pair, start, end)
        if start in stored and end - MINUTE in stored:
            summary.minutes_stored += len(stored)
            summary.gaps += minutes - len(stored)
            return
        candles = {
            c.start: c for c in await self._fetch(start, end) if start <= c.start < end and c.start % MINUTE == 0
        }
        batch = Batch(self.adapter.name, candles=[SourcedCandle(c, from_exchange=True) for c in candles.values()])
        result = await self.thread.run(self.sink.write, batch)
        summary.candles_written += result.written
        summary.candles_corrected += result.candles_corrected
        if self.on_write is not None:
            self.on_write(result)
        summary.gaps += minutes - len(candles)

    async def _fetch(self, start: int, end: int) -> list[Candle]:
        # an exchange whose end is inclusive is asked up to a second before the next window
        asked_end = end - 1 if self.adapter.candles_end_inclusive else end
        waited = 0
        while True:
            self.summary.requests += 1
            try:
                return await self.source.candles(self.pair, MINUTE, start, asked_end)
            except RateLimited as error:
                if waited == self.retries:
                    raise
                waited += 1
                log.info(
                    "backfill of %s %s: rate limited, waiting %.1f s", self.adapter.name, self.pair, error.retry_after
                )
                await self.sleep(error.retry_after)


def check_range(start: float, end: float) -> tuple[int, int]:
    """The open times of the first minute at or after ``start`` and of the first at or after
    ``end``: the minutes [first, stop) to backfill. Raises :class:`InvalidParameter` naming ``to``
    when ``end`` is not after ``start`` or no minute opens between them."""
    for name, value in (("from", start), ("to", end)):
        if not math.isfinite(value):
            raise InvalidParameter(name, "a time in Unix seconds", value)
    first, stop = math.ceil(start / MINUTE) * MINUTE, math.ceil(end / MINUTE) * MINUTE
    if not end > start:
        raise InvalidParameter("to", f"a time after from ({start!r})", end)
    if stop <= first:
        raise InvalidParameter("to", f"a time that leaves a minute's open between from ({start!r}) and it", end)
    return first, stop


class RestCandles:
    """An exchange's REST candles without a running feed (the ``xwrap backfill`` command): the
    adapter built from the markets loaded over ``rest``. Build it with :meth:`open`."""

    def __init__(self, adapter: Adapter, rest: RestClient):
        self.adapter, self.rest = adapter, rest

    @classmethod
    async def open(cls, adapter_class: type[Adapter], rest: RestClient, pairs: Iterable[Pair]) -> RestCandles:
        """Load the markets over ``rest`` (a RestClient of the exchange) and pace later calls
        under the limit they publish; :class:`InvalidParameter` naming ``pair`` for a pair the
        exchange does not list."""
        body = await rest.call(Request(adapter_class.markets_path, weight=adapter_class.markets_weight))
        table = SymbolTable(adapter_class.name, adapter_class.parse_markets(body))
        limit = adapter_class.published_rest_limit(body)
        if limit is not None:
            rest.set_limit(limit)
        pairs = list(pairs)
        for pair in pairs:
            if pair not in table:
                raise InvalidParameter("pair", f"a pair {adapter_class.name} lists", str(pair))
        return cls(adapter_class(table, pairs), rest)

    async def candles(self, pair: Pair, interval: int, start: float, end: float) -> list[Candle]:
        body = await self.rest.call(self.adapter.candles_request(pair, interval, start, end))
        return self.adapter.parse_candles(body, pair, interval)


class FollowedFeed(Protocol):
    """What :func:`backfill_followed` asks of a service's feed (:class:`~exchange_wrapper.connectors.
    feed.ExchangeFeed`): its adapter's class, the adapter once the markets are loaded (its ``pairs``
    are the followed ones the exchange lists), and its candles."""

    adapter_class: type[Adapter]
    adapter: Adapter | None

    async def candles(self, pair: Pair, interval: int, start: float, end: float) -> list[Candle]: ...


async def backfill_followed(
    feeds: Mapping[str, FollowedFeed],
    sink: HistorySink,
    hours: int,
    now: Callable[[], float],
    *,
    on_write: WriteReport | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ready_poll: float = 1.0,
) -> list[BackfillSummary]:
    """The start-up backfill: the last ``hours`` (``timeseries.backfill_hours``) of every followed
    pair of every feed, an exchange's pairs one after the other and the exchanges side by side (each
    under its own rate limit). Waits for each feed's markets (polled every ``ready_poll`` s);
    ``now()`` is read when an exchange's markets are there; ``on_write`` is told what each write
    changed, in the event loop (its ``candles_corrected``: the built candles the exchange's replaced,
    for /metrics). An error ends that pair's backfill (logged, in its summary) or that exchange's
    (logged), never the others' nor the service.

    ``sink`` is called from a thread of this function's own while the service's writer thread
    writes too: :class:`~.database.DatabaseSink` takes that (a connection per thread)."""
    if hours <= 0:
        return []
    thread = DatabaseThread()

    async def exchange(feed: FollowedFeed) -> list[BackfillSummary]:
        while feed.adapter is None:
            await sleep(ready_poll)
        summaries, moment = [], now()
        for pair in feed.adapter.pairs:
            job = Backfill(feed, feed.adapter_class, sink, pair, thread=thread, on_write=on_write, sleep=sleep)
            summary = await job.run(moment - hours * 3600, moment, moment)
            log.info("backfill at start: %s", summary.as_json())
            summaries.append(summary)
        return summaries

    named = [(name, feed) for name, feed in feeds.items() if feed.adapter_class.candles_per_request]
    try:
        done = await asyncio.gather(*(exchange(feed) for _, feed in named), return_exceptions=True)
    finally:
        await thread.close()
    summaries = []
    for (name, _), result in zip(named, done, strict=True):
        if isinstance(result, BaseException):
            log.error("backfill at start of %s failed: %r", name, result)
        else:
            summaries += result
    return summaries
