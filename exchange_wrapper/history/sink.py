"""The one interface every history store implements, and the batch it is handed.

A sink is never called from the event loop: it may block on its disk or its network. Writes come
from the history writer's thread (and a backfill's), reads from the history reader's thread
(:mod:`.reader`): a sink takes calls from more than one thread (the database sink has a connection
per thread). Writes are idempotent, keyed as the issue of market history asks: a trade by (exchange,
pair, trade id), a candle by (exchange, pair, interval, open time), a book top by (exchange, pair,
time), an equity sample by (wallet set, time), so that a restart or a repeated backfill neither loses
nor duplicates anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ..core.marketdata import BookTop, Candle, Trade
from ..core.pairs import Pair


@dataclass(frozen=True)
class SourcedCandle:
    """A candle and where it came from: ``from_exchange`` for the exchange's own (REST or its stream),
    false for one xWrap built from the trades it saw. Where both exist for one minute, the exchange's
    wins: a built candle never replaces an exchange's one, an exchange's one always replaces a built one."""

    candle: Candle
    from_exchange: bool


@dataclass(frozen=True)
class EquitySample:
    """A wallet set's total value in USD at ``time`` (Unix seconds), and the currencies it held then
    that nothing valued (left out of ``value``): the equity history (docs/accounting.md)."""

    wallet_set_id: int
    time: float
    value: Decimal
    unvalued: tuple[str, ...] = ()


#: The "exchange" of a batch of equity samples: they belong to wallet sets, not to one exchange.
NO_EXCHANGE = ""


@dataclass(frozen=True)
class Batch:
    """What one exchange produced since the last batch, in the order seen (equity samples come in
    batches of their own, whose exchange is :data:`NO_EXCHANGE`)."""

    exchange: str
    trades: Sequence[Trade] = field(default_factory=tuple)
    candles: Sequence[SourcedCandle] = field(default_factory=tuple)
    tops: Sequence[BookTop] = field(default_factory=tuple)
    equity: Sequence[EquitySample] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.trades) + len(self.candles) + len(self.tops) + len(self.equity)


@dataclass(frozen=True)
class WriteResult:
    """What a write changed: rows new, and built candles an exchange's candle replaced with other
    values (counted in /metrics as the differences between xWrap's candles and the exchange's)."""

    written: int
    candles_corrected: int = 0


class HistorySink(Protocol):
    """A history store. Times are Unix seconds; ``start`` is inclusive and ``end`` exclusive; results
    are oldest first. Candles are read at 1 minute only: longer intervals are aggregated above the sink."""

    def write(self, batch: Batch) -> WriteResult:
        """Store ``batch`` (idempotently: see the module's docstring)."""
        ...

    def candles(self, exchange: str, pair: Pair, start: int, end: int, limit: int) -> list[Candle]:
        """At most ``limit`` 1-minute candles of ``pair`` whose open time is in [start, end)."""
        ...

    def trades(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> list[Trade]:
        """At most ``limit`` public trades of ``pair`` with time in [start, end)."""
        ...

    def tops(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> list[BookTop]:
        """At most ``limit`` book tops of ``pair`` sampled in [start, end)."""
        ...

    def equity(self, wallet_set_id: int, start: float, end: float, limit: int) -> list[EquitySample]:
        """At most ``limit`` equity samples of the wallet set taken in [start, end)."""
        ...

    def stored_minutes(self, exchange: str, pair: Pair, start: int, end: int) -> set[int]:
        """The open times of the 1-minute candles stored from the exchange in [start, end): what a
        backfill may skip."""
        ...

    def close(self) -> None:
        """Flush and release connections; the sink is not used after."""
        ...
