"""Market history on SQLite: get_ohlc's read of one day of 1-minute candles, at 1m and at 1h.

The database holds one day of 1-minute candles for each of 20 pairs (28,800 rows, written through
the database sink as the writer writes them), and a day of trades of one pair. Timed, per pair:

- **History.candles** at 60 and 3600 s: what the API's get_ohlc calls (the reader's thread, the
  sink's SQL, the MONEY columns to Decimals, the aggregation to hours, the page);
- **sink.candles**: the sink's read alone, on the calling thread (no thread hop, no aggregation);
- **sqlite3 SELECT**: the anchor, the same rows fetched with the standard library's sqlite3 on its
  own connection, values left as the TEXT they are stored as.

Then the sink's write rate: batches of 5,000 trades (as the writer hands them), rows per second.

The candles and trades are made (no capture holds a day): a random walk from the first price of
the Coinbase capture's SKL-USD trades, with its sizes; the read cost depends on the row count and
the widths of the values, which match the real ones.

Run from the repository root: ``.venv/bin/python bench/bench_history.py`` (about 20 s).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange_wrapper.core.marketdata import Candle, Trade  # noqa: E402
from exchange_wrapper.core.orders import Side  # noqa: E402
from exchange_wrapper.core.pairs import Pair  # noqa: E402
from exchange_wrapper.history.database import DatabaseSink  # noqa: E402
from exchange_wrapper.history.reader import History  # noqa: E402
from exchange_wrapper.history.sink import Batch, SourcedCandle  # noqa: E402
from exchange_wrapper.storage.database import open_database  # noqa: E402

DAY = 1618617600  # 2021-04-17 00:00 UTC, the day of the Coinbase capture
PAIRS = [Pair(base, "USD") for base in ("SKL", "BTC", "ETH", "LTC", "XLM", "ADA", "DOT", "SOL", "UNI", "LINK")] + [
    Pair(base, "EUR") for base in ("SKL", "BTC", "ETH", "LTC", "XLM", "ADA", "DOT", "SOL", "UNI", "LINK")
]
START_PRICE = Decimal("0.7909")  # SKL-USD's first trade in tests/captures/COINBASE.ws.28.0
ROUNDS = 5
TRADES = 100_000
BATCH = 5000


def walk(pair: Pair, rng: random.Random) -> list[Candle]:
    """A day of made 1-minute candles of ``pair``."""
    price, out = START_PRICE, []
    for minute in range(1440):
        prices = [price]
        for _ in range(3):
            price = max(Decimal("0.0001"), price + Decimal(rng.randint(-20, 20)) / 10000)
            prices.append(price)
        volume = Decimal(rng.randint(1, 500000)) / 10
        out.append(Candle(pair, DAY + 60 * minute, 60, prices[0], max(prices), min(prices), prices[-1], volume))
    return out


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def summary(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:8.2f} {statistics.mean(seconds) * 1000:8.2f} {max(seconds) * 1000:8.2f}"


async def main() -> None:
    folder = tempfile.mkdtemp(prefix="xwrap_bench_")
    path = f"{folder}/xwrap.sqlite"
    db = open_database(f"sqlite:///{path}")
    sink = DatabaseSink(db)
    rng = random.Random(11)
    for pair in PAIRS:
        sink.write(Batch("coinbase", candles=[SourcedCandle(c, True) for c in walk(pair, rng)]))
    history = History(sink, "database")
    anchor = sqlite3.connect(path)
    select = (
        'SELECT "start", "open", "high", "low", "close", "volume" FROM "market_candle" WHERE "exchange" = ? '
        'AND "pair" = ? AND "interval" = 60 AND "start" >= ? AND "start" < ? ORDER BY "start" LIMIT ?'
    )
    loop = asyncio.get_running_loop()
    rows: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        for pair in PAIRS:
            for interval, count in ((60, 1440), (3600, 24)):
                started = loop.time()
                page = await history.candles("coinbase", pair, interval, DAY, DAY + 86400, 1440)
                rows.setdefault(f"History.candles {interval // 60}m".replace("60m", "1h"), []).append(
                    loop.time() - started
                )
                assert len(page.items) == count and page.next is None, (len(page.items), page.next)
            rows.setdefault("sink.candles (1m rows)", []).append(
                timed(lambda pair=pair: sink.candles("coinbase", pair, DAY, DAY + 86400, 1441))  # type: ignore[misc]
            )
            rows.setdefault("anchor: sqlite3 SELECT", []).append(
                timed(
                    lambda pair=pair: anchor.execute(  # type: ignore[misc]
                        select, ("coinbase", str(pair), DAY, DAY + 86400, 1441)
                    ).fetchall()
                )
            )
    print(f"one day of 1-minute candles of one pair of {len(PAIRS)} (1,440 rows), {ROUNDS} rounds over the pairs")
    print(f"{'read':28} {'p50 ms':>8} {'mean ms':>8} {'max ms':>8}   x anchor (p50)")
    anchor_p50 = statistics.median(rows["anchor: sqlite3 SELECT"])
    for name, seconds in rows.items():
        print(f"{name:28} {summary(seconds)}   {statistics.median(seconds) / anchor_p50:6.1f}")
    await history.close()

    trades = [
        Trade(PAIRS[0], str(n), START_PRICE + Decimal(n % 400) / 10000, Decimal(n % 997 + 1), Side.BUY, DAY + n * 0.5)
        for n in range(TRADES)
    ]
    started = time.perf_counter()
    for first in range(0, TRADES, BATCH):
        sink.write(Batch("coinbase", trades=trades[first : first + BATCH]))
    seconds = time.perf_counter() - started
    print(f"sink.write of {TRADES:,} trades in batches of {BATCH:,}: {TRADES / seconds:,.0f} rows/s")
    started = time.perf_counter()
    for first in range(0, TRADES, BATCH):
        sink.write(Batch("coinbase", trades=trades[first : first + BATCH]))
    seconds = time.perf_counter() - started
    print(f"the same again (all present, nothing written): {TRADES / seconds:,.0f} rows/s")


if __name__ == "__main__":
    asyncio.run(main())
