"""The service's memory with five exchanges of 20 live books each (issue 15: within 300 MB RSS).

    .venv/bin/python bench/bench_memory.py      # about 20 s

One process, measured as it goes (resident set size from /proc/self/status), side by side:

1. the anchor: the interpreter with xWrap imported and nothing started;
2. the whole service (every door, the paper venue, the history writer on SQLite) started on the replays
   of the five recordings (Coinbase, Binance, Kraken, Bitfinex, Poloniex), each fed through to its end
   (the recordings are of different years: one timeline would play them years apart): the books those
   recordings hold, live;
3. the same after each exchange is brought to 20 live books, each with the virtual exchange's matching
   engine attached: the added books are online markets of the exchange's recorded metadata whose levels
   are copied from the deepest book the recording holds for that exchange (made up: the recordings
   hold fewer than 20 books each; copying the deepest makes the figure a ceiling of what each
   exchange's own depth costs). Kraken's recorded metadata lists its 4 followed markets only, so it
   stays at 4;
4. the same after 2,000 resting paper orders spread over those books.

It prints the RSS at each step, the books and levels held, and the bytes per level the books cost
(step 3 minus step 2, over the levels added).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from decimal import ROUND_CEILING
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange_wrapper.config import load_settings  # noqa: E402
from exchange_wrapper.core.errors import XWrapError  # noqa: E402
from exchange_wrapper.core.marketdata import BookSnapshot  # noqa: E402
from exchange_wrapper.core.markets import MarketStatus  # noqa: E402
from exchange_wrapper.service.server import Server  # noqa: E402

CAPTURES = ROOT / "tests" / "captures"
RECORDINGS = {
    "coinbase": ["COINBASE.0", "COINBASE.ws.28.0"],
    "binance": ["BINANCE.0", "BINANCE.http.0.0", "BINANCE.ws.1.0"],
    "kraken": ["KRAKEN.0", "KRAKEN.ws.0.0"],
    "bitfinex": ["BITFINEX.0", "BITFINEX.ws.11.0"],
    "poloniex": ["POLONIEX.0", "POLONIEX.ws.1.0"],
}
BOOKS_PER_EXCHANGE = 20
ORDERS = 2000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def levels_held(server: Server) -> tuple[int, int]:
    """(books, levels) the hub holds."""
    books = levels = 0
    for exchange in RECORDINGS:
        for _, book in server.hub.books(exchange):
            if len(book.bids) + len(book.asks):
                books += 1
                levels += len(book.bids) + len(book.asks)
    return books, levels


def fill_up(server: Server, exchange: str) -> int:
    """Bring ``exchange`` to :data:`BOOKS_PER_EXCHANGE` live books, copies of its deepest one; the
    books added."""
    hub = server.hub
    held = [(pair, book) for pair, book in hub.books(exchange) if len(book.bids) + len(book.asks)]
    deepest = max(held, key=lambda entry: len(entry[1].bids) + len(entry[1].asks))[1]
    bids, asks = deepest.bids.top(len(deepest.bids)), deepest.asks.top(len(deepest.asks))
    markets = hub.markets(exchange)
    spare = [p for p, m in markets.items() if m.status is MarketStatus.ONLINE and not hub.follows(exchange, p)]
    added = 0
    for pair in spare[: BOOKS_PER_EXCHANGE - len(held)]:
        keeper = hub.add_book(exchange, pair)
        keeper.snapshot(BookSnapshot(pair, bids, asks), server.clock())
        server.trading.paper_venue.engine(
            exchange, pair
        )  # the virtual exchange's engine on it, as a paper order would make
        added += 1
    return added


async def rest_orders(server: Server) -> int:
    """:data:`ORDERS` paper limit buys resting at each book's deepest bid, spread over the books (a
    book whose market refuses such an order, its maximum size below its minimums, is left out)."""
    api = server.api
    wallet_set = (await api.call("create_wallet_set", {"name": "memory", "mode": "paper"}))["id"]
    books = [
        (exchange, pair, book) for exchange in RECORDINGS for pair, book in server.hub.books(exchange) if book.live
    ]
    funded: set[tuple[str, str]] = set()
    placed = index = 0
    while placed < ORDERS and books:
        exchange, pair, book = books[index % len(books)]
        index += 1
        market = server.hub.market(exchange, pair)
        if not len(book.bids):
            continue
        if (exchange, pair.quote) not in funded:
            await api.call(
                "fund_wallet_set",
                {"wallet_set_id": wallet_set, "exchange": exchange, "currency": pair.quote, "amount": "1000000000"},
            )
            funded.add((exchange, pair.quote))
        price = book.bids.top(len(book.bids))[-1][0]  # the deepest bid: a valid price, far below the best
        least = max(market.min_size, market.size_step, market.min_notional / price)  # the market's minimums
        size = (least * 2 / market.size_step).to_integral_value(ROUND_CEILING) * market.size_step
        try:
            order = await api.call(
                "make_order",
                {
                    "wallet_set_id": wallet_set,
                    "exchange": exchange,
                    "pair": str(pair),
                    "side": "buy",
                    "type": "limit",
                    "price": str(price),
                    "size": str(size),
                },
            )
        except XWrapError:
            books.remove((exchange, pair, book))
            continue
        placed += order["status"] == "open"
    return placed


async def main() -> None:
    anchor = rss_mb()
    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(
            None, env={}, overrides={"database_url": f"sqlite:///{directory}/xwrap.sqlite", "server.port": 0}
        )
        files = [str(CAPTURES / name) for names in RECORDINGS.values() for name in names]
        server = Server(settings, replay=files, speed=None)  # the replays stepped here, not played
        await server.start()
        try:
            for replay in server.replays:  # each recording fed through, its books left live
                replay.run()
            started = rss_mb()
            recorded_books, recorded_levels = levels_held(server)
            added = sum(fill_up(server, exchange) for exchange in RECORDINGS)
            full = rss_mb()
            books, levels = levels_held(server)
            per_exchange = {exchange: sum(1 for _ in server.hub.books(exchange)) for exchange in RECORDINGS}
            placed = await rest_orders(server)
            with_orders = rss_mb()
        finally:
            await server.stop()
    print(f"{'step':58} {'RSS MB':>8} {'books':>6} {'levels':>8}")
    print(f"{'anchor: interpreter with xWrap imported, nothing started':58} {anchor:8.1f} {0:6d} {0:8d}")
    row = "service on the five recordings, their books live"
    print(f"{row:58} {started:8.1f} {recorded_books:6d} {recorded_levels:8d}")
    row = f"each exchange up to {BOOKS_PER_EXCHANGE} live books (+{added} copies), engines"
    print(f"{row:58} {full:8.1f} {books:6d} {levels:8d}")
    print(f"{f'the same with {placed} resting paper orders':58} {with_orders:8.1f} {books:6d} {levels:8d}")
    print("books per exchange:", ", ".join(f"{exchange} {count}" for exchange, count in per_exchange.items()))
    added_levels = levels - recorded_levels
    if added_levels:
        per_level = (full - started) * 1024 * 1024 / added_levels
        print(f"books' cost: {per_level:,.0f} bytes per level added ({added_levels:,} levels)")
    print(f"aim: within 300 MB RSS: {'met' if with_orders <= 300 else 'missed'} ({with_orders:.1f} MB)")


if __name__ == "__main__":
    asyncio.run(main())
