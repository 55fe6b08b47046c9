"""OHLCV candles: 1-minute candles built from public trades, and longer ones aggregated from them.

History stores 1-minute candles only (built here from the trades xWrap sees, or the exchange's own)
and answers every longer interval by aggregating them, so that one stored series serves every
interval. Pure: time is what the caller passes (a trade's own time, or its clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from .errors import InvalidParameter
from .ledger import EXACT
from .marketdata import Candle, Trade
from .pairs import Pair

MINUTE = 60

#: The intervals history answers, in seconds: 1m, 5m, 15m, 1h, 4h, 1d.
INTERVALS = (60, 300, 900, 3600, 14400, 86400)

#: Seconds past a minute's end before it is closed: trades reach us a little after they happen.
CLOSE_GRACE = 2.0

#: Minutes of a pair kept after they closed, behind its newest trade: a trade this late still amends
#: its minute's candle (which is emitted again); an older one is only counted.
AMEND_MINUTES = 5


def check_interval(interval: object) -> int:
    """``interval`` if history answers it (:data:`INTERVALS`), else InvalidParameter naming ``interval``."""
    if type(interval) is not int or interval not in INTERVALS:
        raise InvalidParameter("interval", f"one of {', '.join(map(str, INTERVALS))} (seconds)", interval)
    return interval


def minute_of(time: float) -> int:
    """The open time of the minute ``time`` (Unix seconds) falls in."""
    return int(time // MINUTE) * MINUTE


@dataclass
class _Minute:
    """One minute's trades so far: open is the earliest trade by time, close the latest (a tie goes
    to the one that arrived later), whatever order they arrived in."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    first_time: float
    last_time: float
    closed: bool = False

    def add(self, trade: Trade) -> None:
        price = trade.price
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        if trade.time < self.first_time:
            self.open, self.first_time = price, trade.time
        if trade.time >= self.last_time:
            self.close, self.last_time = price, trade.time
        with localcontext(EXACT):
            self.volume += trade.size

    def candle(self, pair: Pair) -> Candle:
        return Candle(pair, self.start, MINUTE, self.open, self.high, self.low, self.close, self.volume)


@dataclass
class _PairMinutes:
    minutes: dict[int, _Minute] = field(default_factory=dict)  # open, and closed within AMEND_MINUTES
    newest: int = 0  # the newest minute that saw a trade


class CandleBuilder:
    """1-minute candles of one exchange's trades, one per pair and minute that saw trades.

    :meth:`add` each trade; a minute is emitted once time passes its end by :data:`CLOSE_GRACE`:
    the pair's own trades move time on as they arrive, and :meth:`close` with the caller's clock
    closes the minutes of quiet pairs. A trade for a minute already emitted amends it and emits it
    again (the later candle replaces the earlier); one older than :data:`AMEND_MINUTES` behind the
    pair's newest trade is only counted in :attr:`late`.
    """

    def __init__(self, grace: float = CLOSE_GRACE) -> None:
        self.grace = grace
        self.pairs: dict[Pair, _PairMinutes] = {}
        self.late = 0

    def add(self, trade: Trade) -> list[Candle]:
        """Take ``trade``; return the candles it closed or amended (usually none)."""
        state = self.pairs.get(trade.pair)
        if state is None:
            state = self.pairs[trade.pair] = _PairMinutes()
        start = minute_of(trade.time)
        minute = state.minutes.get(start)
        if minute is None:
            if start < state.newest - AMEND_MINUTES * MINUTE:
                self.late += 1
                return []
            price = trade.price
            minute = state.minutes[start] = _Minute(
                start, price, price, price, price, trade.size, trade.time, trade.time
            )
        else:
            minute.add(trade)
        out = [minute.candle(trade.pair)] if minute.closed else []
        if start > state.newest:
            state.newest = start
            self._forget(state)
        return out + self._close_pair(trade.pair, state, trade.time)

    def close(self, now: float) -> list[Candle]:
        """The minutes of every pair that ended at least :data:`CLOSE_GRACE` before ``now``, oldest first."""
        out: list[Candle] = []
        for pair, state in self.pairs.items():
            out += self._close_pair(pair, state, now)
        return out

    def _close_pair(self, pair: Pair, state: _PairMinutes, now: float) -> list[Candle]:
        out = []
        for minute in state.minutes.values():
            if not minute.closed and minute.start + MINUTE + self.grace <= now:
                minute.closed = True
                out.append(minute.candle(pair))
        out.sort(key=lambda candle: candle.start)
        return out

    def _forget(self, state: _PairMinutes) -> None:
        oldest = state.newest - AMEND_MINUTES * MINUTE
        for start in [s for s, minute in state.minutes.items() if minute.closed and s < oldest]:
            del state.minutes[start]


def aggregate(candles: Iterable[Candle], interval: int) -> Iterator[Candle]:
    """Candles of ``interval`` seconds from 1-minute ``candles`` of one pair, oldest first: each
    covers the minutes of one Unix-epoch multiple of ``interval`` (a day from 00:00 UTC), its open
    the first minute's, close the last's, high and low the extremes, volume the sum. A bucket with
    no minute has no candle. Lazy: a bucket is yielded when the next one starts (or the input ends)."""
    if check_interval(interval) == MINUTE:
        yield from candles
        return
    first: Candle | None = None  # the bucket's first minute; its extremes, close and volume so far:
    high = low = close = volume = Decimal(0)
    for candle in candles:
        bucket = candle.start - candle.start % interval
        if first is not None and first.start - first.start % interval == bucket:
            if candle.high > high:
                high = candle.high
            if candle.low < low:
                low = candle.low
            close = candle.close
            with localcontext(EXACT):  # not around the yields: the caller would run in it
                volume += candle.volume
            continue
        if first is not None:
            yield Candle(
                first.pair, first.start - first.start % interval, interval, first.open, high, low, close, volume
            )
        first, high, low, close, volume = candle, candle.high, candle.low, candle.close, candle.volume
    if first is not None:
        yield Candle(first.pair, first.start - first.start % interval, interval, first.open, high, low, close, volume)
