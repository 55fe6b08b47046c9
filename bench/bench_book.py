"""How fast the L2 book takes updates when the top of the book is read after each one.

Run from the repository root:  .venv/bin/python bench/bench_book.py  (about a minute)

Compares xWrap's OrderBook with a SortedDict-with-Decimal-keys book (written here as the
baseline) and the `order-book` package (C extension; skipped if not installed), on
 - the real Coinbase level2 stream in tests/captures/COINBASE.ws.28.0 (10 books, 9,719 updates),
 - synthetic books of 1k, 10k and 50k levels per side (0.01 grid, random levels, a third of
   the updates at the top).
Messages are parsed into (book, side, Decimal price, Decimal size) before timing. Each figure
is the best of several passes over the stream, each pass on books freshly built from the
snapshots (so caches start cold); a pass is cut short after BUDGET seconds for slow books.
"""

from __future__ import annotations

import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

from sortedcontainers import SortedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange_wrapper.core.book import BookSide, OrderBook  # noqa: E402
from exchange_wrapper.replay.capture import WsReceived, read_capture  # noqa: E402

try:
    import order_book
except ImportError:  # pragma: no cover - optional comparison
    order_book = None

BID, ASK = BookSide.BID, BookSide.ASK
PASSES = 5
BUDGET = 1.0  # seconds per pass at most
CHUNK = 500


class Ours:
    name = "xWrap OrderBook"

    @staticmethod
    def build(bids, asks):
        book = OrderBook("bench", "BENCH")
        book.apply_snapshot(bids, asks, at=0.0)
        return book

    @staticmethod
    def run(items, read_top):
        for book, side, price, size in items:
            book.apply_delta(side, price, size, 1.0)
            if read_top:
                _ = book.bids.best, book.asks.best


class SortedDictBook:
    name = "SortedDict-Decimal"

    @staticmethod
    def build(bids, asks):
        return SortedDict(bids), SortedDict(asks)

    @staticmethod
    def run(items, read_top):
        for (bids, asks), side, price, size in items:
            levels = bids if side is BID else asks
            if size:
                levels[price] = size
            else:
                levels.pop(price, None)
            if read_top:
                if bids:
                    bids.peekitem(-1)
                if asks:
                    asks.peekitem(0)


class OrderBookPackage:
    name = "order-book (C ext)"

    @staticmethod
    def build(bids, asks):
        book = order_book.OrderBook()
        for price, size in bids:
            book.bids[price] = size
        for price, size in asks:
            book.asks[price] = size
        return book

    @staticmethod
    def run(items, read_top):
        for book, side, price, size in items:
            levels = book.bids if side is BID else book.asks
            if size:
                levels[price] = size
            elif price in levels:
                del levels[price]
            if read_top:
                if len(book.bids):
                    book.bids.index(0)
                if len(book.asks):
                    book.asks.index(0)


IMPLEMENTATIONS = [Ours, SortedDictBook] + ([OrderBookPackage] if order_book else [])


def coinbase_stream():
    """({product: (bids, asks)}, [(product, side, price, size)]) from the Coinbase capture."""
    snapshots, updates = {}, []
    for record in read_capture(ROOT / "tests" / "captures" / "COINBASE.ws.28.0"):
        if not isinstance(record, WsReceived):
            continue
        message = json.loads(record.message)
        if message["type"] == "snapshot":
            snapshots[message["product_id"]] = (
                [(Decimal(p), Decimal(s)) for p, s in message["bids"]],
                [(Decimal(p), Decimal(s)) for p, s in message["asks"]],
            )
        elif message["type"] == "l2update":
            for side, price, size in message["changes"]:
                updates.append((message["product_id"], BID if side == "buy" else ASK, Decimal(price), Decimal(size)))
    return snapshots, updates


def synthetic_stream(depth: int, count: int = 20_000, seed: int = 1):
    """One book of ``depth`` levels a side around 30000.00, and ``count`` updates on it."""
    rng = random.Random(seed)
    tick, mid = Decimal("0.01"), 3_000_000

    def size():
        return Decimal(rng.randint(1, 10**9)).scaleb(-8)

    bids = [(Decimal(mid - 1 - i) * tick, size()) for i in range(depth)]
    asks = [(Decimal(mid + 1 + i) * tick, size()) for i in range(depth)]
    updates = []
    for step in range(count):
        side = BID if rng.random() < 0.5 else ASK
        offset = rng.randint(0, 5) if step % 3 == 0 else rng.randint(0, depth + depth // 10)
        price = Decimal(mid - 1 - offset if side is BID else mid + 1 + offset) * tick
        updates.append(("BOOK", side, price, Decimal(0) if rng.random() < 0.4 else size()))
    return {"BOOK": (bids, asks)}, updates


def rate(implementation, read_top: bool, snapshots, updates) -> float:
    """Best updates per second over PASSES passes, each on freshly built books."""
    best = 0.0
    for _ in range(PASSES):
        books = {product: implementation.build(bids, asks) for product, (bids, asks) in snapshots.items()}
        items = [(books[product], side, price, size) for product, side, price, size in updates]
        chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        done, elapsed = 0, 0.0
        for chunk in chunks:
            start = time.perf_counter()
            implementation.run(chunk, read_top)
            elapsed += time.perf_counter() - start
            done += len(chunk)
            if elapsed > BUDGET:
                break
        best = max(best, done / elapsed)
    return best


def main() -> None:
    started = time.perf_counter()
    snapshots, updates = coinbase_stream()
    cases = [(f"Coinbase level2, {len(snapshots)} books, {len(updates):,} updates", snapshots, updates)]
    for depth in (1_000, 10_000, 50_000):
        book, stream = synthetic_stream(depth)
        cases.append((f"synthetic, {depth:,} levels/side, {len(stream):,} updates", book, stream))

    print(f"Python {sys.version.split()[0]}; best of {PASSES} passes; M = million updates per second")
    header = f"{'case':<48} {'book':<20} {'update+top/s':>13} {'x ours':>7} {'updates/s':>10} {'x ours':>7}"
    print(header)
    print("-" * len(header))
    for title, case_snapshots, case_updates in cases:
        ours = None
        for implementation in IMPLEMENTATIONS:
            with_top = rate(implementation, True, case_snapshots, case_updates)
            alone = rate(implementation, False, case_snapshots, case_updates)
            ours = ours or (with_top, alone)
            print(
                f"{title:<48} {implementation.name:<20} {with_top / 1e6:>11.3f} M {with_top / ours[0]:>7.2f}"
                f" {alone / 1e6:>8.3f} M {alone / ours[1]:>7.2f}"
            )
            title = ""
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
