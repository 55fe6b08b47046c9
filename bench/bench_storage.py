"""The storage side of a paper order: make_order through Trading, in one process, on both databases.

The service runs on the recorded Coinbase traffic (stepped until the SKL-USD book is live, then
still) with one funded paper wallet set; every order is persisted (order, events, hold, ledger)
before make_order returns. Cases:

- **resting**: a limit buy far below the book (SKL-USD at 0.5 for 10): order, two events, a hold;
- **taker**: a market buy of 10 SKL (about 8 USD; the minimum is 5 USD): also a fill, its
  settlement and the release of the rest of the hold.

For each: sequential make_order calls (µs each: p50 and mean), the database thread's calls per
order (how many, and µs inside each by the wall clock and by the thread's CPU time, which other
processes on the machine disturb less), then 8 concurrent callers for a few seconds (orders per
second); at the end ``verify_ledger`` must pass.

Run from the repository root: ``.venv/bin/python bench/bench_storage.py [sqlite] [postgres]``
(both by default; about 1 min; ``--quick`` for a smoke run). PostgreSQL is the server at
``XWRAP_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``), where the bench
creates a database of its own and drops it after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange_wrapper.config import load_settings  # noqa: E402
from exchange_wrapper.core.orders import OrderStatus, OrderType, Side  # noqa: E402
from exchange_wrapper.core.pairs import Pair  # noqa: E402
from exchange_wrapper.service.server import Server  # noqa: E402
from exchange_wrapper.storage.verify import verify_ledger  # noqa: E402
from exchange_wrapper.trading.order_path import OrderRequest  # noqa: E402
from tests.storage.dbs import ADMIN_URL, admin  # noqa: E402

CAPTURES = ROOT / "tests" / "captures"
REPLAY = [str(CAPTURES / "COINBASE.0"), str(CAPTURES / "COINBASE.ws.28.0")]
SKL = Pair("SKL", "USD")
CLIENTS = 8
DATABASES = ("sqlite", "postgres")


def cases(wallet_set_id: int) -> dict[str, tuple[OrderRequest, OrderStatus]]:
    """Each case's request and the status its order must reach."""
    return {
        "resting": (
            OrderRequest(
                wallet_set_id, "coinbase", SKL, Side.BUY, OrderType.LIMIT, size=Decimal(10), price=Decimal("0.5")
            ),
            OrderStatus.OPEN,
        ),
        "taker": (
            OrderRequest(wallet_set_id, "coinbase", SKL, Side.BUY, OrderType.MARKET, size=Decimal(10)),
            OrderStatus.FILLED,
        ),
    }


async def start_service(url: str) -> tuple[Server, int]:
    settings = load_settings(None, env={}, overrides={"database_url": url, "server.port": 0, "log_level": "WARNING"})
    server = Server(settings, replay=REPLAY, speed=None)
    await server.start()
    replay = server.replays[0]
    for record in replay.records():
        replay.step(record, time.time())
        if server.hub.book("coinbase", SKL).live:
            break
    wallet_set = await server.api.call("create_wallet_set", {"name": "bench", "mode": "paper"})
    for currency in ("USD", "SKL"):
        await server.api.call(
            "fund_wallet_set",
            {"wallet_set_id": wallet_set["id"], "exchange": "coinbase", "currency": currency, "amount": "1000000000"},
        )
    return server, wallet_set["id"]


class StorageCalls:
    """Wraps ``trading.db``: counts the database thread's calls and times them inside the thread,
    by the wall clock and by the thread's CPU time (which other processes on the machine disturb less)."""

    def __init__(self, trading: Any):
        self.db = trading.db
        self.inside: dict[str, list[tuple[float, float]]] = defaultdict(list)
        trading.db = self.timed

    async def timed(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.inside[function.__qualname__].append((time.perf_counter() - wall, time.thread_time() - cpu))

        return await self.db(run)


async def bench_case(
    server: Server, request: OrderRequest, status: OrderStatus, count: int, seconds: float
) -> dict[str, Any]:
    trading = server.trading

    async def make() -> None:
        order, _ = await trading.make_order(request)
        if order.status is not status:
            raise RuntimeError(f"the order is {order.status.value}, not {status.value}: {order.to_json()}")

    for _ in range(50):
        await make()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await make()
        times.append(time.perf_counter() - started)
    calls = StorageCalls(trading)
    for _ in range(count):
        await make()
    trading.db = calls.db
    done = 0
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await make()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    rate = done / (time.perf_counter() - started)
    return {
        "p50": statistics.median(times),
        "mean": statistics.mean(times),
        "rate": rate,
        "calls": {
            name: (len(v) / count, statistics.mean(w for w, _ in v), statistics.mean(c for _, c in v))
            for name, v in calls.inside.items()
        },
    }


async def bench_database(name: str, url: str, count: int, seconds: float) -> None:
    server, wallet_set_id = await start_service(url)
    try:
        results = {
            case: await bench_case(server, request, status, count, seconds)
            for case, (request, status) in cases(wallet_set_id).items()
        }
        report = verify_ledger(server.database)
        if not report.ok:
            raise RuntimeError(f"verify_ledger failed: {report.as_json()['differences'][:5]}")
    finally:
        await server.stop()
    print(
        f"\n{name}: make_order through Trading ({count} sequential, then {CLIENTS} concurrent callers for "
        f"{seconds:g} s); verify_ledger ok over {report.transactions} transactions"
    )
    print(
        f"{'case':10}{'p50 µs':>9}{'mean µs':>9}{'1 caller/s':>12}{f'{CLIENTS} callers/s':>13}   "
        "database thread per order: calls × µs inside (of it CPU)"
    )
    for case, r in results.items():
        calls = ", ".join(
            f"{name} {n:g}×{inside * 1e6:.0f} ({cpu * 1e6:.0f})"
            for name, (n, inside, cpu) in sorted(r["calls"].items(), key=lambda item: -item[1][0] * item[1][1])
        )
        print(f"{case:10}{r['p50'] * 1e6:9.0f}{r['mean'] * 1e6:9.0f}{1 / r['mean']:12.0f}{r['rate']:13.0f}   {calls}")


def postgres_database() -> tuple[str, Callable[[], None]]:
    """A new database on the server at ADMIN_URL, and the function that drops it."""
    name = f"xwrap_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin(ADMIN_URL, f'CREATE DATABASE "{name}"')
    return (
        urlsplit(ADMIN_URL)._replace(path=f"/{name}").geturl(),
        lambda: admin(ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "databases", nargs="*", choices=DATABASES, default=list(DATABASES), help="sqlite, postgres (default: both)"
    )
    args = parser.parse_args()
    count, seconds = (200, 1.0) if args.quick else (2000, 4.0)
    for name in args.databases:
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as directory:
                asyncio.run(bench_database(name, f"sqlite:///{directory}/bench.sqlite", count, seconds))
        else:
            url, drop = postgres_database()
            try:
                asyncio.run(bench_database(name, url, count, seconds))
            finally:
                drop()


if __name__ == "__main__":
    main()
