"""Reading market history back, as the API asks: candles of any interval, trades and book tops, and
wallet sets' equity (the last sample of each interval), paged.

The sink's reads block (a disk, a network), so they run on a thread of their own, never on the
event loop. Candles longer than a minute are aggregated here from the stored 1-minute ones
(:func:`~exchange_wrapper.core.candles.aggregate`). A page holds at most ``limit`` items; ``next``
is the ``start`` of the following page, or None when the range is exhausted.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..core.candles import MINUTE, aggregate, check_interval
from ..core.errors import InvalidParameter
from ..core.marketdata import BookTop, Candle, Trade
from ..core.pairs import Pair
from .sink import EquitySample, HistorySink

T = TypeVar("T")
Timed = TypeVar("Timed", Trade, BookTop)

#: Items one page holds at most.
MAX_LIMIT = 10000

#: 1-minute candles read from the sink at once while aggregating.
CHUNK = 10000


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items oldest first, and the ``start`` that reads the next page (None: there is no more)."""

    items: list[T]
    next: float | None


class History:
    """The reads of market history on ``sink``; ``backend`` (the setting) names why there is none
    when ``sink`` is None, for the error every read then answers."""

    def __init__(self, sink: HistorySink | None, backend: str = "none"):
        self.sink, self.backend = sink, backend
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xwrap-history-read")

    async def candles(
        self, exchange: str, pair: Pair, interval: int, start: float, end: float, limit: int
    ) -> Page[Candle]:
        """Candles of ``interval`` seconds (one of :data:`~exchange_wrapper.core.candles.INTERVALS`)
        whose open time is in [start, end), aggregated from the stored 1-minute candles."""
        check_interval(interval)
        sink = self._checked(start, end, limit)
        return await self._run(_candle_page, sink, exchange, pair, interval, start, end, limit)

    async def trades(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> Page[Trade]:
        """Public trades with time in [start, end). Trades stamped with one time are never split
        between pages; more than ``limit`` of them is an error naming ``limit``."""
        sink = self._checked(start, end, limit)
        return await self._run(_timed_page, sink.trades, exchange, pair, start, end, limit)

    async def tops(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> Page[BookTop]:
        """Book tops sampled in [start, end)."""
        sink = self._checked(start, end, limit)
        return await self._run(_timed_page, sink.tops, exchange, pair, start, end, limit)

    async def equity(
        self, wallet_set_id: int, interval: int, start: float, end: float, limit: int
    ) -> Page[EquitySample]:
        """The last equity sample of each ``interval`` (seconds, as candles) in [start, end) that has one;
        ``next`` the start of the interval after the page's last."""
        check_interval(interval)
        sink = self._checked(start, end, limit)
        return await self._run(_equity_page, sink, wallet_set_id, interval, start, end, limit)

    async def close(self) -> None:
        """End the reading thread (after the reads under way)."""
        await asyncio.get_running_loop().run_in_executor(None, functools.partial(self._executor.shutdown, wait=True))

    def _checked(self, start: float, end: float, limit: int) -> HistorySink:
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidParameter(name, "a time in Unix seconds", value)
        if start > end:
            raise InvalidParameter("start", f"a time not after end ({end})", start)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidParameter("limit", f"an integer from 1 to {MAX_LIMIT}", limit)
        if self.sink is None:
            raise InvalidParameter(
                "timeseries.backend",
                "database or influxdb (market history is read from the store it names)",
                self.backend,
            )
        return self.sink

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(function, *args))


def _candle_page(
    sink: HistorySink, exchange: str, pair: Pair, interval: int, start: float, end: float, limit: int
) -> Page[Candle]:
    first = math.ceil(start / interval) * interval  # the first open time in [start, end)
    stop = math.ceil(end / interval) * interval  # the minutes of the last candle opening before end
    buckets = list(itertools.islice(aggregate(_minutes(sink, exchange, pair, first, stop), interval), limit + 1))
    if len(buckets) > limit:
        return Page(buckets[:limit], buckets[limit].start)
    return Page(buckets, None)


def _minutes(sink: HistorySink, exchange: str, pair: Pair, start: int, end: int) -> Iterator[Candle]:
    """The stored 1-minute candles in [start, end), read :data:`CHUNK` at a time as they are consumed."""
    while start < end:
        chunk = sink.candles(exchange, pair, start, end, CHUNK)
        yield from chunk
        if len(chunk) < CHUNK:
            return
        start = chunk[-1].start + MINUTE


def _timed_page(
    read: Callable[[str, Pair, float, float, int], list[Timed]],
    exchange: str,
    pair: Pair,
    start: float,
    end: float,
    limit: int,
) -> Page[Timed]:
    items = read(exchange, pair, start, end, limit + 1)
    if len(items) <= limit:
        return Page(items, None)
    next_time = items[limit].time
    page = [item for item in items[:limit] if item.time < next_time]
    if not page:
        raise InvalidParameter("limit", f"more than the {limit} records stamped {next_time} (a larger limit)", limit)
    return Page(page, next_time)


def _equity_page(
    sink: HistorySink, wallet_set_id: int, interval: int, start: float, end: float, limit: int
) -> Page[EquitySample]:
    last: dict[int, EquitySample] = {}  # interval's start -> its last sample so far
    while start < end:
        chunk = sink.equity(wallet_set_id, start, end, CHUNK)
        for sample in chunk:
            bucket = math.floor(sample.time / interval) * interval
            if bucket not in last and len(last) == limit:
                return Page(list(last.values()), bucket)
            last[bucket] = sample
        if len(chunk) < CHUNK:
            break
        start = math.nextafter(chunk[-1].time, math.inf)
    return Page(list(last.values()), None)
