"""The L2 order book: one per (exchange, pair), fed by snapshots and deltas.

Prices and sizes are Decimal at the API. Inside, each side keys its levels by an integer tick:
int(price * 10**scale), negated on the bid side so that on both sides the smallest key is the
best price. Keys are monotone in price; when two different prices land on one key (a price with
more decimals than the scale: Bitfinex prices have 5 significant digits, so their decimals
vary), the side sees the stored price differ and re-keys itself at a finer scale. Turning a
Decimal into an int costs about four times str(Decimal) plus a dict hit, so a level is also
found by its price's text: updates to a known level never do the arithmetic.

The best price is the top of a binary heap of keys whose top is always a live level; levels
removed below the top stay in the heap until they surface, and the heap is rebuilt when such
dead entries outnumber the live levels. So a change costs O(1) or O(log n) whatever the depth,
and ``best`` is kept current by every change, which makes reading the top of the book free.

Reads of more than the best level (walks, ``top``, checksums) go through a sorted list of the
best keys, made by the first such read and then kept by the changes: a level added or removed
at a key up to the list's last one is put in or taken out (a bisection in a short list), one
further down costs a comparison, a size change nothing. The list holds at most ``_KEEP_MOST``
keys, so that changes in deep books stay cheap; a read that goes further sorts all the keys.
Keeping the list costs the changes about as much as sorting the keys again once they number
a sixteenth of the levels, so when that many come without a read in between, the list is
dropped until the next read (rent or buy: a feed read after every message keeps it, a feed
read now and then pays at most twice the cheaper of the two).

The book is pure: no I/O, no clock. Times are passed in; the state (:class:`BookState`) and the
sequence hooks serve the adapters, which decide what to do on a gap, a crossed book or a bad
checksum.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import cache
from heapq import heapify, heappop, heappush
from itertools import chain, repeat
from math import gcd
from typing import Any

from .errors import InvalidParameter
from .money import ZERO, quantize_down

Level = tuple[Decimal, Decimal]
"""One price level: (price, size)."""
_Entry = list[Any]  # a ladder's level as it keeps it: [price: Decimal, size: Decimal, key: int], changed in place


class BookSide(str, Enum):
    BID = "bid"
    ASK = "ask"


class BookState(str, Enum):
    """Whether the book can be trusted: the virtual exchange fills only against a LIVE book."""

    LIVE = "live"
    STALE = "stale"
    RESYNCING = "resyncing"


class SequenceCheck(str, Enum):
    """How an update's sequence numbers relate to the last one applied."""

    FOLLOWS = "follows"  # apply it
    GAP = "gap"  # updates were missed: resynchronise
    OLD = "old"  # already contained in the book: drop it


_BID, _ASK = BookSide.BID, BookSide.ASK  # module constants: Enum attribute access is slow

# The sorted keys a ladder keeps for reads: at least this many once read, at most _KEEP_MOST.
_KEEP_LEAST, _KEEP_MOST = 32, 256
_NO_KEY, _ANY_KEY = float("-inf"), float("inf")  # what the sorted keys cover: no key, every key
_PRICE_SIZE = operator.itemgetter(0, 1)  # a level list [price, size, key] as the (price, size) read


@dataclass(frozen=True)
class Walk:
    """What taking liquidity from one side would fill, level by level (best first)."""

    levels: tuple[Level, ...]  # (price, size taken at that price)
    filled: Decimal
    cost: Decimal  # sum of price * size taken, in quote currency

    @property
    def average_price(self) -> Decimal | None:
        """cost / filled, or None when nothing was filled."""
        return self.cost / self.filled if self.filled else None


class Ladder:
    """One side of a book: price levels, best first.

    ``best`` is the (price, size) of the best level, or None when the side is empty; every
    change keeps it current, so reading it costs nothing. Iterating yields (price, size) best
    first; do not change the ladder while iterating.
    """

    def __init__(self, side: BookSide):
        self.side = side
        self.best: Level | None = None
        self._sign = -1 if side is _BID else 1
        self._worse = operator.lt if side is _BID else operator.gt
        # A level is a list [price, size, key], found by its key and by its price's text;
        # size ZERO marks a removed level that a text may still point to.
        self._levels: dict[int, _Entry] = {}
        self._set_scale(0)
        self._rebuild()
        self._forget_order()

    # --- changes -------------------------------------------------------------------------

    def apply(self, price: Decimal, size: Decimal) -> Decimal:
        """Set the size at ``price`` (size 0 removes the level); return the size it had before.

        ``price`` and ``size`` must be Decimal (parse exchange JSON with parse_float=Decimal).
        Removing a level that is not there is allowed and returns 0.
        """
        text = str(price)
        level = self._by_text.get(text)
        if level is None or not level[1]:
            return self._apply_slow(price, size, text, level)
        before: Decimal = level[1]
        if size > ZERO:
            level[1] = size
            if level[2] == self._heap[0]:
                self.best = (level[0], size)
        elif not size:
            level[1] = ZERO
            key = level[2]
            del self._levels[key]
            if self._sorted and key <= self._sorted_to:
                self._resort(key, False)
            if key == self._heap[0]:
                self._pop_dead_top()
        else:
            raise _invalid_level(price, size)
        return before

    def _apply_slow(self, price: Decimal, size: Decimal, text: str, known: _Entry | None) -> Decimal:
        # The price's text is new, or names a removed level: find the level by its key.
        if known is None:
            try:
                key = int(price * self._mult)
            except (TypeError, ArithmeticError, ValueError):
                raise InvalidParameter("price", "a finite decimal", price) from None
        else:
            key = known[2]
        if type(price) is not Decimal:
            raise InvalidParameter("price", "a finite decimal", price)
        levels = self._levels
        level = levels.get(key)
        if level is not None:
            if level[0] != price:
                # Two prices on one key: re-key at a scale that tells them apart.
                self._rescale(max(_decimals(price), _decimals(level[0])))
            else:  # the same price written another way ("1.50" and "1.5")
                self._by_text[text] = level
            return self.apply(price, size)
        if size > ZERO and price > ZERO:
            if known is None:
                level = self._by_text[text] = [price, size, key]
            else:  # the removed level comes back
                level = known
                level[1] = size
            levels[key] = level
            heap = self._heap
            heappush(heap, key)
            if heap[0] == key:
                self.best = (price, size)
            if self._sorted and key <= self._sorted_to:
                self._resort(key, True)
            if len(heap) > self._heap_limit:
                self._rebuild(texts=len(self._by_text) > 4 * len(levels) + 4096)
            return ZERO
        if size == ZERO:
            return ZERO
        raise _invalid_level(price, size)

    def replace(self, levels: Iterable[Level], field: str) -> None:
        """Drop every level and load ``levels`` (price, size) instead; size 0 entries are skipped.

        ``field`` names the input in errors (e.g. "bids").
        """
        entries = list(levels)
        prices: Sequence[Decimal]
        sizes: Sequence[Decimal]
        try:
            prices, sizes = _valid_columns(entries)
        except (TypeError, ValueError):  # name the first entry that is wrong
            prices, sizes = _checked_columns(entries, field)
        if not all(sizes):
            kept = [(price, size) for price, size in zip(prices, sizes) if size]
            prices, sizes = [price for price, _ in kept], [size for _, size in kept]
        texts = list(map(str, prices))
        keys = self._keys_of(prices, texts)
        loaded: list[_Entry] = list(map(list, zip(prices, sizes, keys)))
        self._levels = dict(zip(keys, loaded))
        if len(self._levels) == len(loaded):
            self._by_text: dict[str, _Entry] = dict(zip(texts, loaded))
            self._rebuild(False)
        else:  # a price given twice: the last one counts, and only its text finds it
            self._rebuild()
        self._forget_order()

    def _keys_of(self, prices: Sequence[Decimal], texts: list[str]) -> list[int]:
        # Keys at the least scale that tells the prices apart: keyed at the decimals their texts
        # allow, then the tens every key has in common are taken out (keys stay small ints).
        decimals = _most_decimals(prices, texts)
        self._set_scale(decimals)
        keys = list(map(int, map(self._mult.__mul__, prices)))
        common, spare = gcd(*keys), 0
        while spare < decimals and not common % 10 ** (spare + 1):
            spare += 1
        if spare:
            self._set_scale(decimals - spare)
            keys = list(map(operator.floordiv, keys, repeat(10**spare)))
        return keys

    def _pop_dead_top(self) -> None:
        heap, levels = self._heap, self._levels
        heappop(heap)
        while heap and heap[0] not in levels:
            heappop(heap)
        self.best = _level(levels[heap[0]]) if heap else None

    def _rebuild(self, texts: bool = True) -> None:
        # Forget removed levels (heap keys, and texts if asked); set the best from scratch.
        levels = self._levels
        self._heap = list(levels)
        heapify(self._heap)
        self._heap_limit = 2 * len(levels) + 64
        if texts:
            self._by_text = {str(level[0]): level for level in levels.values()}
        self.best = _level(levels[self._heap[0]]) if levels else None

    def _forget_order(self) -> None:
        # Drop the sorted keys; the next read that needs them sorts again.
        self._sorted: list[int] = []  # the best keys in order; when not empty, every live key <= _sorted_to
        self._sorted_to: float | int = _NO_KEY
        self._unread = 0  # changes the sorted keys are kept through without a read

    def _resort(self, key: int, added: bool) -> None:
        # A level was added or removed at a key the sorted keys cover.
        self._unread -= 1
        if self._unread < 0:
            self._forget_order()
        elif added:
            insort(self._sorted, key)
        else:
            ordered = self._sorted
            del ordered[bisect_left(ordered, key)]

    def _set_scale(self, decimals: int) -> None:
        self._mult = _multiplier(self._sign, decimals)

    def _rescale(self, decimals: int) -> None:
        self._set_scale(decimals)
        mult, live = self._mult, self._levels.values()
        self._levels = {}
        for level in live:
            level[2] = int(level[0] * mult)
            self._levels[level[2]] = level
        self._rebuild()
        self._forget_order()

    def _key(self, price: Decimal) -> int:
        try:
            return int(price * self._mult)
        except (TypeError, ArithmeticError, ValueError):
            raise InvalidParameter("price", "a finite decimal", price) from None

    # --- reads ---------------------------------------------------------------------------

    def size_at(self, price: Decimal) -> Decimal:
        """The size at exactly ``price`` (0 when there is no such level)."""
        level = self._by_text.get(str(price))
        if level is None or not level[1]:  # the level may live under another spelling
            level = self._levels.get(self._key(price))
        size: Decimal = level[1] if level is not None and level[0] == price else ZERO
        return size

    def top(self, depth: int) -> list[Level]:
        """The ``depth`` best levels, best first."""
        if not isinstance(depth, int) or depth < 0:
            raise InvalidParameter("depth", "an integer of 0 or more", depth)
        return list(map(_PRICE_SIZE, map(self._levels.__getitem__, self._best_keys(depth)[:depth])))

    def __iter__(self) -> Iterator[Level]:
        return map(_PRICE_SIZE, self._best_levels())

    def __len__(self) -> int:
        return len(self._levels)

    def _best_keys(self, count: int) -> list[int]:
        # At least the ``count`` best keys in order (all of them when the side has fewer).
        self._unread = len(self._levels) // 16 + 8  # changes that cost about what sorting the keys does
        ordered = self._sorted
        if len(ordered) >= count or len(ordered) == len(self._levels):
            return ordered
        ordered = sorted(self._levels)  # insertion order: the snapshot's, best first, then newer levels
        keep = min(max(2 * count, _KEEP_LEAST), _KEEP_MOST)
        if len(ordered) <= keep:
            self._sorted, self._sorted_to = ordered, _ANY_KEY
        else:
            self._sorted = ordered[:keep]
            self._sorted_to = ordered[keep - 1]
        return ordered

    def _best_levels(self) -> Iterator[_Entry]:
        # The level lists best first: the kept sorted keys, then (sorted when reached) the rest.
        levels = self._levels
        ordered = self._best_keys(1)
        found = map(levels.__getitem__, ordered)
        if len(ordered) < len(levels):
            return chain(found, self._levels_after(len(ordered)))
        return found

    def _levels_after(self, count: int) -> Iterator[_Entry]:
        yield from map(self._levels.__getitem__, self._best_keys(len(self._levels))[count:])

    def size_up_to(self, price: Decimal) -> Decimal:
        """Total size at prices as good as ``price`` or better (``price`` included)."""
        total, worse = ZERO, self._worse
        for level in self._best_levels():
            if worse(level[0], price):
                break
            total += level[1]
        return total

    def walk(self, size: Decimal, limit: Decimal | None = None) -> Walk:
        """Take ``size`` from this side best price first, not beyond ``limit`` if given.

        ``filled`` is less than ``size`` when the side (or the part within ``limit``) runs out.
        """
        _require_positive(size, "size")
        taken, remaining, cost, worse = [], size, ZERO, self._worse
        for price, available, _ in self._best_levels():
            if limit is not None and worse(price, limit):
                break
            take = available if available < remaining else remaining
            taken.append((price, take))
            cost += price * take
            remaining -= take
            if not remaining:
                break
        return _new_walk(tuple(taken), size - remaining, cost)

    def walk_funds(self, funds: Decimal, step: Decimal | None = None, limit: Decimal | None = None) -> Walk:
        """Spend up to ``funds`` (quote currency) on this side, best price first.

        At the last level the size is funds left / price, rounded down to ``step`` (the
        market's size increment) when given, else to the Decimal context's precision.
        """
        _require_positive(funds, "funds")
        taken, filled, cost, worse = [], ZERO, ZERO, self._worse
        for price, available, _ in self._best_levels():
            if limit is not None and worse(price, limit):
                break
            take = available
            left = funds - cost
            if price * available > left:
                take = left / price
                if step is not None:
                    take = quantize_down(take, step)
            if take:
                taken.append((price, take))
                filled += take
                cost += price * take
            if take != available:
                break
        return _new_walk(tuple(taken), filled, cost)


class OrderBook:
    """The L2 book of one pair on one exchange.

    Feed it with :meth:`apply_snapshot` then :meth:`apply_delta`; read it through ``bids`` and
    ``asks`` (:class:`Ladder`; ``book.bids.best`` is the best bid). A new book is RESYNCING
    until its first snapshot.
    """

    def __init__(self, exchange: str, pair: str):
        self.exchange, self.pair = exchange, pair
        self.bids = Ladder(BookSide.BID)
        self.asks = Ladder(BookSide.ASK)
        self.state = BookState.RESYNCING
        self.stale_reason: str | None = None
        self.sequence: int | None = None  # the adapter records it after applying an update
        self.updated_at: float | None = None
        self.exchange_time: float | None = None  # the exchange's own time of this state, where it says

    def ladder(self, side: BookSide) -> Ladder:
        if side is _BID:
            return self.bids
        if side is _ASK:
            return self.asks
        raise InvalidParameter("side", "BookSide.BID or BookSide.ASK", side)

    def apply_snapshot(
        self, bids: Iterable[Level], asks: Iterable[Level], at: float, sequence: int | None = None
    ) -> None:
        """Rebuild the book from a full snapshot (nothing from before survives); it becomes LIVE."""
        self.bids.replace(bids, "bids")
        self.asks.replace(asks, "asks")
        self.sequence = sequence
        self.updated_at = at
        self.state, self.stale_reason = BookState.LIVE, None

    def apply_delta(self, side: BookSide, price: Decimal, size: Decimal, at: float) -> Decimal:
        """Set one level (size 0 removes it) and return the size it had before (0 if none)."""
        self.updated_at = at
        if side is _BID:
            return self.bids.apply(price, size)
        if side is _ASK:
            return self.asks.apply(price, size)
        raise InvalidParameter("side", "BookSide.BID or BookSide.ASK", side)

    def best_bid(self) -> Level | None:
        """(price, size) of the best bid, or None; the attribute ``book.bids.best`` is cheaper."""
        return self.bids.best

    def best_ask(self) -> Level | None:
        """(price, size) of the best ask, or None; the attribute ``book.asks.best`` is cheaper."""
        return self.asks.best

    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask: the book cannot be right."""
        bid, ask = self.bids.best, self.asks.best
        return bid is not None and ask is not None and bid[0] >= ask[0]

    def check_sequence(self, first: int, last: int | None = None) -> SequenceCheck:
        """Classify an update covering sequence numbers ``first``..``last`` (``last`` defaults
        to ``first``) against :attr:`sequence`.

        OLD when it ends at or before the last one applied; FOLLOWS when it starts at or before
        the next one (Binance's first event after a snapshot straddles it); GAP otherwise, and
        always GAP when no sequence is known yet. Poloniex passes ``lastId + 1, id``.
        """
        if last is None:
            last = first
        if self.sequence is None:
            return SequenceCheck.GAP
        if last <= self.sequence:
            return SequenceCheck.OLD
        if first <= self.sequence + 1:
            return SequenceCheck.FOLLOWS
        return SequenceCheck.GAP

    def mark_stale(self, reason: str) -> None:
        """Stop trusting the book (gap, bad checksum, crossed, silent feed...)."""
        if not isinstance(reason, str) or not reason:
            raise InvalidParameter("reason", "a non-empty string", reason)
        self.state, self.stale_reason = BookState.STALE, reason

    def mark_resyncing(self) -> None:
        """A new snapshot has been asked for; the next :meth:`apply_snapshot` makes it LIVE."""
        self.state, self.stale_reason = BookState.RESYNCING, None

    @property
    def live(self) -> bool:
        return self.state is BookState.LIVE


def _decimals(price: Decimal) -> int:
    exponent = price.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # a finite price: only NaN and the infinities have a letter here
    return -exponent if exponent < 0 else 0


def _most_decimals(prices: Sequence[Decimal], texts: list[str]) -> int:
    # As many decimals as any price has or more, read from the texts at a tenth of ``_decimals``'
    # cost: a price written in n characters has at most n - 2. Prices written with an exponent
    # (4.1E-7) give their own; past 15 characters every price does (a price of 15 digits times
    # 10**13 is the most Decimal's 28 digits keep exact).
    most = 0
    if "E" in "".join(texts):
        most = max(_decimals(price) for price, text in zip(prices, texts) if "E" in text)
        texts = [text for text in texts if "E" not in text]
    if not texts:
        return most
    longest = max(map(len, texts))
    if longest > 15:
        return max(map(_decimals, prices))
    return most if most > longest - 2 else longest - 2


@cache
def _multiplier(sign: int, decimals: int) -> Decimal:
    return Decimal(sign).scaleb(decimals)  # 1E+k or -1E+k: exact products


def _level(level: _Entry) -> Level:
    return level[0], level[1]


def _new_walk(levels: tuple[Level, ...], filled: Decimal, cost: Decimal) -> Walk:
    # Walk(levels, filled, cost) without the frozen dataclass's __init__, which sets each field
    # through object.__setattr__: that was a third of a walk that takes one level.
    walk = object.__new__(Walk)
    object.__setattr__(walk, "__dict__", {"levels": levels, "filled": filled, "cost": cost})
    return walk


def _invalid_level(price: Decimal, size: Decimal) -> InvalidParameter:
    if isinstance(size, Decimal) and size > ZERO:
        return InvalidParameter("price", "a decimal greater than 0", price)
    return InvalidParameter("size", "a decimal of 0 or more", size)


def _require_positive(value: Decimal, field: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidParameter(field, "a decimal greater than 0", value)


def _valid_columns(entries: list[Any]) -> tuple[tuple[Decimal, ...], tuple[Decimal, ...]]:
    # (prices, sizes) of snapshot entries checked all at once; ValueError or TypeError when any
    # entry is wrong (then _checked_columns finds which).
    if not entries:
        return (), ()
    if set(map(len, entries)) != {2}:
        raise ValueError("not (price, size) pairs")
    prices, sizes = zip(*entries)
    is_finite = Decimal.is_finite  # TypeError for anything not a Decimal
    if not (all(map(is_finite, prices)) and all(map(is_finite, sizes)) and min(prices) > ZERO and min(sizes) >= ZERO):
        raise ValueError("a price or size out of range")
    return prices, sizes


def _checked_columns(entries: list[Any], field: str) -> tuple[list[Decimal], list[Decimal]]:
    checked = [_checked_level(entry, f"{field}[{index}]") for index, entry in enumerate(entries)]
    return [price for price, _ in checked], [size for _, size in checked]


def _checked_level(entry: Any, field: str) -> Level:
    try:
        price, size = entry
    except (TypeError, ValueError):
        raise InvalidParameter(field, "a (price, size) pair", entry) from None
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        raise InvalidParameter(f"{field}.price", "a decimal greater than 0", price)
    if not isinstance(size, Decimal) or not size.is_finite() or size < 0:
        raise InvalidParameter(f"{field}.size", "a decimal of 0 or more", size)
    return price, size
