"""A day (or any range) of 1-minute candles for the simulators' candle endpoints.

MADE UP: no capture holds a day of any exchange's candles, so the candles are generated, the same
run after run: a seeded random walk of the price, a volume and a trade count per minute, and minutes
with no candle at all, as every exchange publishes none for a minute without trades (Coinbase's
documentation: "No data is published for intervals where there are no ticks"). Each simulator writes
them in its exchange's own rows (:mod:`tests.simulator.coinbase` and the others); the values are only
numbers of a plausible market, not a record of one.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

MINUTE = 60


@dataclass(frozen=True)
class MadeUpMinute:
    """One minute's candle: open time (Unix seconds), prices, volume in the base currency, trades."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int

    @property
    def quote_volume(self) -> Decimal:
        """The volume in the quote currency, at the minute's average price."""
        return (self.volume * self.vwap).quantize(Decimal("0.00000001"))

    @property
    def vwap(self) -> Decimal:
        return ((self.open + self.high + self.low + self.close) / 4).quantize(self.close)


class MadeUpCandles:
    """The candles of the minutes opening in [start, end) but the gaps (about ``gap_rate`` of them),
    from ``price`` on, with ``places`` decimals; ``seed`` makes another walk."""

    def __init__(
        self, start: int, end: int, *, price: Decimal, places: int = 2, seed: int = 11, gap_rate: float = 0.03
    ):
        rng, tick = random.Random(seed), Decimal(1).scaleb(-places)
        self.start, self.end = start, end
        self.minutes: list[MadeUpMinute] = []
        close = price
        for opened in range(start, end, MINUTE):
            if rng.random() < gap_rate:
                continue
            open_ = close
            close = max(tick, (open_ * Decimal(1 + rng.gauss(0, 0.0008))).quantize(tick))
            high = max(open_, close) + tick * rng.randrange(0, 20)
            low = max(tick, min(open_, close) - tick * rng.randrange(0, 20))
            volume = Decimal(rng.randrange(1, 5_000_000)).scaleb(-6)
            self.minutes.append(MadeUpMinute(opened, open_, high, low, close, volume, rng.randrange(1, 60)))
        self._starts = [m.start for m in self.minutes]

    def between(self, first: int, last: int) -> list[MadeUpMinute]:
        """The candles opening from ``first`` to ``last``, both included, oldest first."""
        return self.minutes[bisect.bisect_left(self._starts, first) : bisect.bisect_right(self._starts, last)]

    def gaps(self, start: int, end: int) -> int:
        """The minutes opening in [start, end) (within the generated range) that have no candle."""
        first, stop = max(start, self.start), min(end, self.end)
        return max(stop - first, 0) // MINUTE - len(self.between(first, stop - 1))


def query_of(path: str) -> tuple[str, dict[str, str]]:
    """A request path's path and its query's parameters (the first value of each)."""
    parts = urlsplit(path)
    return parts.path, {name: values[0] for name, values in parse_qs(parts.query).items()}
