"""How fast the virtual exchange takes liquidity and keeps its books, against real Coinbase books.

Run from the repository root:  .venv/bin/python bench/bench_matching.py  (about 5 s)

Books: the 10 Coinbase level2 books of tests/captures/COINBASE.ws.28.0 (about 100 to 1,341
levels a side), each built from its snapshot and then every recorded l2update, with the
products' real rules from COINBASE.0. Compared side by side in one run, each figure the best of
PASSES passes:

 - taker orders walking exactly 1, 10 and 100 levels: market orders sized to the cumulative size
   of the first N levels, one buy and one sell per book, through
     * a SortedDict-with-Decimal-keys book (the baseline, written here) walked into a list of
       per-level (price, size) fills,
     * xWrap's own walk of the book, ``Ladder.walk`` (a Walk of per-level (price, size), filled
       and cost), and
     * ``MatchingEngine.submit`` (the whole taker path: order opened, one fill per level with its
       fee and cause, order filled, events returned);
   every engine order meets the same book and a fresh engine (built before timing: one per book
   and round, taking one buy and one sell, which do not touch each other's side), so nothing an
   earlier order took is hidden from it;
 - the bookkeeping cost per book update: the recorded l2update stream replayed through
   ``book.apply_delta`` alone, and through ``engine.apply_delta`` with no virtual order and with
   RESTING resting virtual orders on each book (half a side, a tenth of them at the best price,
   the rest at real levels among the best 300 or on any tick in that range).
"""

from __future__ import annotations

import random
import sys
import time
from decimal import Decimal
from pathlib import Path

from sortedcontainers import SortedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_book import coinbase_stream  # noqa: E402  (this directory)

from exchange_wrapper.core.book import BookSide, OrderBook  # noqa: E402
from exchange_wrapper.core.matching import MatchingEngine  # noqa: E402
from exchange_wrapper.core.orders import Order, OrderStatus, OrderType, Side  # noqa: E402
from exchange_wrapper.exchanges.coinbase.public import parse_markets  # noqa: E402
from exchange_wrapper.replay.capture import find_response  # noqa: E402

CAPTURES = ROOT / "tests" / "captures"
BID, ASK = BookSide.BID, BookSide.ASK
WALKS = (1, 10, 100)
PASSES = 7
ROUNDS = 20  # taker orders per book, side and pass
RESTING = 1_000  # resting virtual orders per book in the bookkeeping case
AT = 2.0e9  # the time given to every call (after the capture)


def coinbase_capture():
    """({product: (bids, asks)}, [(product, side, price, size)], {product: Market})."""
    snapshots, updates = coinbase_stream()
    products = parse_markets(find_response(CAPTURES / "COINBASE.0", "https://api.pro.coinbase.com/products").body)
    return snapshots, updates, {market.symbol: market for market in products if market.symbol in snapshots}


def fresh_books(snapshots):
    books = {}
    for product, (bids, asks) in snapshots.items():
        books[product] = OrderBook("coinbase", product)
        books[product].apply_snapshot(bids, asks, at=0.0)
    return books


def final_books(snapshots, updates):
    """The books as the capture leaves them: snapshot, then every update."""
    books = fresh_books(snapshots)
    for product, side, price, size in updates:
        books[product].apply_delta(side, price, size, 1.0)
    return books


_ids = iter(range(1, 1 << 62))


def new_order(market, side: Side, type: OrderType, size: Decimal, price: Decimal | None = None) -> Order:
    number = next(_ids)
    return Order(
        id=f"o{number}",
        client_order_id=f"c{number}",
        wallet_set_id=1,
        exchange="coinbase",
        pair=str(market.pair),
        side=side,
        type=type,
        size=size,
        price=price,
    )


# --- taker walks --------------------------------------------------------------------------------


def sorted_dict_walk(levels: SortedDict, size: Decimal, best_last: bool) -> list[tuple[Decimal, Decimal]]:
    """The baseline: take ``size`` from a SortedDict side, best price first, into (price, size) fills."""
    fills = []
    remaining = size
    for price in reversed(levels) if best_last else levels:
        available = levels[price]
        if available < remaining:
            fills.append((price, available))
            remaining -= available
        else:
            fills.append((price, remaining))
            break
    return fills


class TakerCase:
    """One walk depth: for each book and side, the size of its first ``depth`` levels."""

    def __init__(self, depth: int, books, markets):
        self.depth, self.books, self.markets = depth, books, markets
        self.sizes = []  # (product, taker side, size)
        for product, book in books.items():
            for side, ladder in ((Side.BUY, book.asks), (Side.SELL, book.bids)):
                self.sizes.append((product, side, sum(size for _, size in ladder.top(depth))))
        self.sorted_dicts = {
            product: (SortedDict(book.bids.top(len(book.bids))), SortedDict(book.asks.top(len(book.asks))))
            for product, book in books.items()
        }

    def count(self) -> int:
        return len(self.sizes) * ROUNDS

    def time_sorted_dict(self) -> float:
        jobs = [
            (self.sorted_dicts[product][side is Side.BUY], size, side is Side.SELL)
            for product, side, size in self.sizes
        ] * ROUNDS
        start = time.perf_counter()
        for levels, size, best_last in jobs:
            sorted_dict_walk(levels, size, best_last)
        elapsed = time.perf_counter() - start
        assert all(len(sorted_dict_walk(*job)) == self.depth for job in jobs[: len(self.sizes)])
        return elapsed

    def time_ladder(self) -> float:
        jobs = [
            (self.books[product].asks if side is Side.BUY else self.books[product].bids, size)
            for product, side, size in self.sizes
        ] * ROUNDS
        start = time.perf_counter()
        for ladder, size in jobs:
            ladder.walk(size)
        elapsed = time.perf_counter() - start
        assert all(len(ladder.walk(size).levels) == self.depth for ladder, size in jobs[: len(self.sizes)])
        return elapsed

    def time_engine(self) -> float:
        jobs = []
        for _ in range(ROUNDS):
            engines = {
                product: MatchingEngine(market, self.books[product], rng=random.Random(0))
                for product, market in self.markets.items()
            }
            jobs += [
                (engines[product], new_order(self.markets[product], side, OrderType.MARKET, size))
                for product, side, size in self.sizes
            ]
        start = time.perf_counter()
        for engine, order in jobs:
            engine.submit(order, AT)
        elapsed = time.perf_counter() - start
        for _, order in jobs:
            assert order.status is OrderStatus.FILLED and len(order.fill_ids) == self.depth, order
        return elapsed


# --- bookkeeping ----------------------------------------------------------------------------------


def resting_orders(book: OrderBook, market, count: int, rng: random.Random) -> list[Order]:
    """``count`` limit orders that rest: half a side each; a tenth at the best price, the rest
    at real levels among the best 300 or on any tick in that range."""
    orders = []
    for side, ladder in ((Side.BUY, book.bids), (Side.SELL, book.asks)):
        levels = [price for price, _ in ladder.top(300)]
        sign = -1 if side is Side.BUY else 1
        for index in range(count // 2):
            if index % 10 == 0:
                price = levels[0]
            elif index % 2:
                price = rng.choice(levels)
            else:
                price = levels[0] + sign * market.tick_size * rng.randint(1, len(levels))
            size = market.min_size * rng.randint(1, 20)
            orders.append(new_order(market, side, OrderType.LIMIT, size, price))
    return orders


class BookkeepingCase:
    def __init__(self, snapshots, updates, markets):
        self.snapshots, self.updates, self.markets = snapshots, updates, markets
        self.fills = 0

    def count(self) -> int:
        return len(self.updates)

    def time_book(self) -> float:
        books = fresh_books(self.snapshots)
        items = [(books[product], side, price, size) for product, side, price, size in self.updates]
        start = time.perf_counter()
        for book, side, price, size in items:
            book.apply_delta(side, price, size, AT)
        return time.perf_counter() - start

    def engines(self, resting: int) -> list:
        """The updates as (engine, side, price, size), each book with ``resting`` virtual orders."""
        books = fresh_books(self.snapshots)
        rng = random.Random(1)
        engines = {}
        for product, book in books.items():
            engine = engines[product] = MatchingEngine(self.markets[product], book, rng=rng)
            for order in resting_orders(book, self.markets[product], resting, rng):
                engine.submit(order, 0.0)
            assert len(engine.open_orders()) == resting
        return [(engines[product], side, price, size) for product, side, price, size in self.updates]

    def time_engine(self, resting: int) -> float:
        items = self.engines(resting)
        events = []
        start = time.perf_counter()
        for engine, side, price, size in items:
            events += engine.apply_delta(side, price, size, AT)
        elapsed = time.perf_counter() - start
        self.fills = sum(event.fill is not None for event in events)
        return elapsed


# --- the table ------------------------------------------------------------------------------------


def main() -> None:
    started = time.perf_counter()
    snapshots, updates, markets = coinbase_capture()
    books = final_books(snapshots, updates)
    takers = [TakerCase(depth, books, markets) for depth in WALKS]
    bookkeeping = BookkeepingCase(snapshots, updates, markets)
    # (case, implementation, timer, operations per timing); the first row of a case is its baseline
    rows = []
    for case in takers:
        title = f"walk {case.depth} level{'s' if case.depth > 1 else ''}"
        rows += [
            (title, "SortedDict-Decimal walk", case.time_sorted_dict, case.count),
            (title, "xWrap Ladder.walk", case.time_ladder, case.count),
            (title, "MatchingEngine.submit", case.time_engine, case.count),
        ]
    rows += [
        ("book update bookkeeping", "book.apply_delta alone", bookkeeping.time_book, bookkeeping.count),
        (
            "book update bookkeeping",
            "engine.apply_delta, no order",
            lambda: bookkeeping.time_engine(0),
            bookkeeping.count,
        ),
        (
            "book update bookkeeping",
            f"engine.apply_delta, {RESTING:,} resting",
            lambda: bookkeeping.time_engine(RESTING),
            bookkeeping.count,
        ),
    ]
    best = [float("inf")] * len(rows)
    for _ in range(PASSES):  # implementations interleaved, so the machine's load hits them alike
        for index, (_, _, timer, count) in enumerate(rows):
            best[index] = min(best[index], timer() / count())

    depths = [len(ladder) for book in books.values() for ladder in (book.bids, book.asks)]
    print(
        f"Python {sys.version.split()[0]}; best of {PASSES} passes; {len(books)} Coinbase books of "
        f"{min(depths)} to {max(depths)} levels a side; x base and +ns/op against the first row of each case"
    )
    header = f"{'case':<24} {'implementation':<34} {'µs/op':>9} {'ops/s':>11} {'x base':>7} {'+ns/op':>10}"
    print(header)
    print("-" * len(header))
    previous = None
    for (case, name, _, _), per_op in zip(rows, best):
        if case != previous:
            base, previous, shown = per_op, case, case
        else:
            shown = ""
        print(
            f"{shown:<24} {name:<34} {per_op * 1e6:>9.3f} {1 / per_op:>11,.0f} {per_op / base:>7.2f} "
            f"{(per_op - base) * 1e9:>10,.0f}"
        )
    print(
        f"{len(updates):,} book updates ({bookkeeping.fills} fills of resting orders crossed by the book in "
        f"the last pass); {ROUNDS * 2 * len(books)} taker orders per walk and pass; "
        f"total {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
