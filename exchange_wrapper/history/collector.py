"""The collector: what market history takes from the market-data hub.

It subscribes to the hub's public trades (every followed pair of every exchange), builds 1-minute
candles from them (:class:`~exchange_wrapper.core.candles.CandleBuilder`) and samples the best bid
and ask of every live book every ``book_top_seconds``; all of it goes to the writer's queue. Time is
the injected ``clock`` (a replay drives it with recorded time), except that a pair's own trades
close its minutes as their exchange times pass them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from decimal import Decimal

from ..core.candles import CandleBuilder
from ..core.marketdata import BookTop, Trade
from ..marketdata.hub import MarketDataHub
from .sink import SourcedCandle
from .writer import HistoryWriter

log = logging.getLogger(__name__)

#: Seconds between two closings of quiet minutes at most (book tops may be sampled more often).
TICK = 1.0


class Collector:
    """Taps ``hub`` into ``writer`` from :meth:`start` to :meth:`stop` (in the event loop)."""

    def __init__(
        self,
        hub: MarketDataHub,
        writer: HistoryWriter,
        *,
        book_top_seconds: Decimal,
        clock: Callable[[], float] = time.time,
        collects: Callable[[str], bool] = lambda exchange: True,
    ):
        self.hub, self.writer, self.clock = hub, writer, clock
        self.collects = collects  # a cluster node: only the exchanges it runs (the others' books are copies)
        self.book_top_seconds = float(book_top_seconds)
        self.builders: dict[str, CandleBuilder] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task | None = None
        self._last_sample: float | None = None
        self._period = min(TICK, self.book_top_seconds) if self.book_top_seconds > 0 else TICK
        self._due = -math.inf  # when :meth:`follow` ticks next

    def start(self, *, timer: bool = True) -> None:
        """Subscribe to the hub's trades; ``timer``: tick every period of the wall's time. Without it
        the owner calls :meth:`follow` as its (recorded) time moves on."""
        self._unsubscribe = self.hub.on_trade(self.on_trade)
        if timer:
            self._task = asyncio.create_task(self._ticks())

    def follow(self, now: float) -> None:
        """Time has moved on to ``now`` (a replay's recorded clock): tick once a period has passed
        since the last tick, so that book tops are sampled at recorded moments, not the wall's."""
        if now >= self._due:
            self._due = now + self._period
            self.tick(now)

    async def stop(self) -> None:
        """Stop collecting. Minutes still open are not written: a partial candle would be wrong
        (the exchange's candles, backfilled, fill them)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def on_trade(self, exchange: str, trade: Trade, at: float) -> None:
        """The hub's trade callback: the trade, and the candles it closed or amended, to the writer."""
        if not self.collects(exchange):
            return
        put = self.writer.put
        put(exchange, trade)
        builder = self.builders.get(exchange)
        if builder is None:
            builder = self.builders[exchange] = CandleBuilder()
        for candle in builder.add(trade):
            put(exchange, SourcedCandle(candle, from_exchange=False))

    def tick(self, now: float) -> None:
        """Close the minutes ``now`` has passed, and sample the book tops if they are due."""
        for exchange, builder in self.builders.items():
            for candle in builder.close(now):
                self.writer.put(exchange, SourcedCandle(candle, from_exchange=False))
        if self.book_top_seconds > 0 and (
            self._last_sample is None or now - self._last_sample >= self.book_top_seconds
        ):
            self._last_sample = now
            self.sample_tops(now)

    def sample_tops(self, now: float) -> None:
        """The best bid and ask (with sizes) of every live book, stamped ``now``: one hand-off to
        the writer per exchange."""
        hub = self.hub
        for exchange in hub.started_exchanges():
            if not self.collects(exchange):
                continue
            tops = []
            for pair, book in hub.books(exchange):
                if not book.live:
                    continue
                bid, ask = book.bids.best, book.asks.best
                tops.append(
                    BookTop(
                        pair,
                        now,
                        bid[0] if bid else None,
                        bid[1] if bid else None,
                        ask[0] if ask else None,
                        ask[1] if ask else None,
                    )
                )
            if tops:
                self.writer.put(exchange, tuple(tops))

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self._period)
            try:
                self.tick(self.clock())
            except Exception:  # a bug here must not end the collection for good
                log.exception("market history: a collector tick failed")
