"""Keeping one book right: snapshots and delta batches applied with the exchange's integrity rules.

Written once for every exchange; an adapter only says which rules its feed has (update ids on
deltas, a checksum function, a depth the exchange truncates to, snapshots fetched over REST while
the stream runs). On a sequence gap, a checksum mismatch, a crossed book or a malformed update the
book goes STALE with the reason, and the call returns a :class:`Stale` once, on that change: the
caller counts it, logs it and resynchronises. Deltas that arrive while the book is not LIVE are
dropped, or kept until the snapshot when the snapshot comes over REST (Binance).

When a matching engine is attached every change goes through it, and its order events are
returned for the caller to publish.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .book import BookSide, BookState, OrderBook, SequenceCheck
from .errors import InvalidParameter
from .marketdata import BookDelta, BookSnapshot, Change, Problem
from .money import ZERO
from .orders import OrderEvent

#: Deltas kept while waiting for a REST snapshot; past this the oldest go (the gap is then seen).
BUFFER_LIMIT = 20_000

_LIVE, _RESYNCING = BookState.LIVE, BookState.RESYNCING
_BID = BookSide.BID
_OLD, _GAP = SequenceCheck.OLD, SequenceCheck.GAP


@dataclass(frozen=True, slots=True)
class Stale:
    """The book has just gone stale: count it, log it once, resynchronise it."""

    problem: Problem
    detail: str


Applied = tuple[list[OrderEvent], Stale | None]
"""What one call did: the matching engine's order events, and the book going stale if it did."""

NOTHING: Applied = ([], None)


class BookKeeper:
    """Feeds one :class:`OrderBook` from snapshots and delta batches, checking each batch.

    ``checksum(book)`` computes the exchange's checksum of the book (None: the feed has none);
    ``depth`` trims each side to the depth the exchange keeps (Kraken truncates to the subscribed
    depth without sending removals); ``buffer_deltas`` keeps deltas that arrive while the book is
    resynchronising, for the snapshot to pick up (set it where the snapshot comes over REST).
    """

    def __init__(
        self,
        book: OrderBook,
        *,
        checksum: Callable[[OrderBook], int] | None = None,
        depth: int | None = None,
        buffer_deltas: bool = False,
    ):
        self.book = book
        self.checksum = checksum
        self.depth = depth
        self.engine: Any = None
        self.buffer: deque[BookDelta] | None = deque(maxlen=BUFFER_LIMIT) if buffer_deltas else None
        self.checksums_verified = 0
        self.checksums_failed = 0

    def attach(self, engine: Any) -> None:
        """Route every book change through ``engine`` (a MatchingEngine on this book), or stop with None."""
        if engine is not None and engine.book is not self.book:
            raise InvalidParameter("engine", f"the matching engine of {self.book.pair}'s book", engine)
        self.engine = engine

    # -- the feed ---------------------------------------------------------------------------------

    def snapshot(self, snapshot: BookSnapshot, at: float) -> Applied:
        """Rebuild the book from ``snapshot`` (nothing from before survives); it becomes LIVE,
        then deltas kept meanwhile are applied on top (those it already contains are dropped)."""
        book, engine = self.book, self.engine
        book.exchange_time = snapshot.time  # before the engine matches, so that its fills name it
        if engine is None:
            book.apply_snapshot(snapshot.bids, snapshot.asks, at, snapshot.sequence)
            events: list[OrderEvent] = []
        else:
            events = engine.apply_snapshot(snapshot.bids, snapshot.asks, at, snapshot.sequence)
        stale = self._check(None, at, events)
        if stale is None and self.buffer:
            kept = list(self.buffer)
            self.buffer.clear()
            for delta in kept:
                more, stale = self.delta(delta, at)
                events += more
                if stale is not None:
                    break
        return events, stale

    def delta(self, delta: BookDelta, at: float) -> Applied:
        """Apply one batch if it follows what the book holds, then check the book."""
        book = self.book
        if book.state is not _LIVE:
            if self.buffer is not None and book.state is _RESYNCING:
                self.buffer.append(delta)
            return NOTHING
        _, changes, first, last, checksum, time = delta
        if first is not None:
            order = book.check_sequence(first, last)
            if order is _OLD:
                return NOTHING
            if order is _GAP:
                return [], self._stale(Problem.SEQUENCE_GAP, f"update {first} does not follow {book.sequence}")
        events: list[OrderEvent] = []
        book.exchange_time = time
        try:
            if self.engine is None:
                bids, asks = book.bids, book.asks
                for side, price, size in changes:
                    (bids if side is _BID else asks).apply(price, size)
                book.updated_at = at
                if last is not None:
                    book.sequence = last
            else:
                events = self.engine.before_update(at)  # what falls due meets the book as it was
                if last is not None:
                    book.sequence = last  # the fills this batch causes name it
                apply = self.engine.apply_delta
                for side, price, size in changes:
                    events += apply(side, price, size, at)
                book.updated_at = at  # a batch of no change still says the book was so at ``at``
        except InvalidParameter as error:
            return events, self._stale(Problem.MALFORMED, str(error))
        if self.depth is None and checksum is None and not events:  # the common case, checked inline
            bid, ask = book.bids.best, book.asks.best
            if bid is None or ask is None or bid[0] < ask[0]:
                return NOTHING
        return events, self._check(checksum, at, events)

    def fail(self, problem: Problem, detail: str) -> Stale | None:
        """Stop trusting the book for a reason found outside it (a silent feed, a lost
        connection); returns the :class:`Stale` if the book was not stale already."""
        if self.book.state is BookState.STALE:
            return None
        return self._stale(problem, detail)

    def resyncing(self) -> None:
        """A new snapshot has been asked for: the book waits for it (keeping deltas if it buffers)."""
        self.book.mark_resyncing()
        if self.buffer is not None:
            self.buffer.clear()

    # -- checks -----------------------------------------------------------------------------------

    def _check(self, checksum: int | None, at: float, events: list[OrderEvent] | None = None) -> Stale | None:
        book = self.book
        if self.depth is not None:
            self._trim(self.depth, at, events)
        bid, ask = book.bids.best, book.asks.best
        if bid is not None and ask is not None and bid[0] >= ask[0]:
            return self._stale(Problem.CROSSED, f"best bid {bid[0]} >= best ask {ask[0]}")
        if checksum is not None and self.checksum is not None:
            ours = self.checksum(book)
            if ours != checksum:
                self.checksums_failed += 1
                return self._stale(Problem.CHECKSUM, f"exchange checksum {checksum}, book's {ours}")
            self.checksums_verified += 1
        return None

    def _trim(self, depth: int, at: float, events: list[OrderEvent] | None) -> None:
        for ladder in (self.book.bids, self.book.asks):
            if len(ladder) > depth:
                for price, _ in ladder.top(len(ladder))[depth:]:
                    if self.engine is None:
                        self.book.apply_delta(ladder.side, price, ZERO, at)
                    else:
                        found = self.engine.apply_delta(ladder.side, price, ZERO, at)
                        if events is not None:
                            events += found

    def _stale(self, problem: Problem, detail: str) -> Stale:
        self.book.mark_stale(f"{problem.value}: {detail}")
        return Stale(problem, detail)


def snapshot_as_delta(book: OrderBook, snapshot: BookSnapshot) -> BookDelta:
    """A polled ``snapshot`` of a LIVE ``book`` as the level changes that turn the book into it
    (levels it no longer shows removed), so that the matching engine treats a polled book as a
    streamed one: liquidity its virtual orders consumed at a price stays consumed until that
    level changes, and shrinks by what the level loses (the rule of docs/matching.md), where a
    snapshot applied as one would keep only what the new size allows."""
    changes: list[Change] = []
    for side, levels in ((_BID, snapshot.bids), (BookSide.ASK, snapshot.asks)):
        ladder, shown = book.ladder(side), dict(levels)
        changes += [(side, price, ZERO) for price, _ in ladder if price not in shown]
        changes += [(side, price, size) for price, size in shown.items() if ladder.size_at(price) != size]
    return BookDelta(snapshot.pair, changes, time=snapshot.time)
