"""Several nodes (issue 14, docs/scaling.md): what the hop to an exchange's owner costs, and what
clients spread over three nodes place against clients on one.

1. ``make_order`` over JSON-RPC, sequential round trips (p50, p99), taken in turns: on a service
   alone (no cluster, the same PostgreSQL and market: the baseline), on the node that runs Coinbase
   (its owner: the lease's fence in each order's transaction, notifications through Redis) and on
   another node, which forwards each request to the owner over Redis and relays its answer. The
   difference between the last two is the hop's cost.
2. Orders a second with ``CLIENTS`` clients, each one request at a time, for a few seconds: every
   client on the owner, then the clients spread over the three nodes (two of three forwarding);
   twice, in turns.

The nodes are ``xwrap serve`` processes (tests/cluster/nodes.py) on a PostgreSQL database made for
the run and a Redis key prefix of its own, the recorded Coinbase traffic served by the loopback
simulator; the orders are resting paper limit buys (SKL-USD at 80 % of the best bid, 10 SKL), each
persisted (order, event, hold) before its answer. On this machine (2 cores shared by three nodes,
PostgreSQL, Redis and the load) the throughput is a sanity figure, not a capacity: the nodes compete
for the same two cores. Run from the repository root: ``.venv/bin/python bench/bench_nodes.py``
(about 60 s; ``--quick``: a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.nodes import PAIR, Cluster, Database, Node  # noqa: E402
from tests.simulator.coinbase import coinbase_protocol  # noqa: E402
from tests.simulator.server import ExchangeSimulator  # noqa: E402

CLIENTS = 6


async def started(cluster: Cluster) -> tuple[Node, Node, Node]:
    a = cluster.node("a")
    a.start()
    await a.ready()
    while (await a.status())["cluster"]["exchanges"]["coinbase"]["owner"] != "a":
        await asyncio.sleep(0.05)
    b, c = cluster.node("b"), cluster.node("c")
    b.start()
    c.start()
    await asyncio.gather(b.ready(), c.ready())
    for node in (a, b, c):
        while (await node.status())["exchanges"]["coinbase"]["status"] != "ready":
            await asyncio.sleep(0.05)
    return a, b, c


async def order_params(node: Node) -> dict[str, Any]:
    async with node.client() as client:
        wallet_set = await client.create_wallet_set(
            name=f"bench-{node.name}-{time.monotonic_ns()}",
            allocations=[{"exchange": "coinbase", "currency": "USD", "amount": "100000000"}],
        )
        book = await client.get_book(exchange="coinbase", pair=PAIR, depth=1)
    price = (Decimal(book["bids"][0][0]) * Decimal("0.8")).quantize(Decimal("0.0001"))
    return {
        "wallet_set_id": wallet_set["id"],
        "exchange": "coinbase",
        "pair": PAIR,
        "side": "buy",
        "price": str(price),
        "size": "10",
    }


async def sequential(nodes: list[tuple[Node, dict[str, Any]]], count: int) -> list[list[float]]:
    """``count`` round trips on each node, taken in turns (one on each, again and again), so that
    the machine's load, which varies by the second here, weighs on every node alike."""
    clients = [node.client() for node, _ in nodes]
    for client in clients:
        await client.connect()
    try:
        for _ in range(20):  # warm up
            for client, (_, params) in zip(clients, nodes, strict=True):
                await client.make_order(**params)
        times: list[list[float]] = [[] for _ in nodes]
        for _ in range(count):
            for client, (_, params), taken in zip(clients, nodes, times, strict=True):
                start = time.perf_counter()
                await client.make_order(**params)
                taken.append(time.perf_counter() - start)
    finally:
        for client in clients:
            await client.close()
    for node, params in nodes:
        await cancel_all(node, params)
    return times


async def cancel_all(node: Node, params: dict[str, Any]) -> None:
    """Cancel the phase's resting orders: the next phase starts with an engine as empty (and a node
    taking Coinbase over reloads none of them)."""
    async with node.client(timeout=120) as client:
        await client.cancel_all_orders(wallet_set_id=params["wallet_set_id"])


async def throughput(nodes: list[Node], params: dict[str, Any], seconds: float) -> float:
    done = 0

    async def one(node: Node) -> None:
        nonlocal done
        async with node.client() as client:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await client.make_order(**params)
                done += 1

    start = time.monotonic()
    await asyncio.gather(*(one(nodes[i % len(nodes)]) for i in range(CLIENTS)))
    rate = done / (time.monotonic() - start)
    await cancel_all(nodes[0], params)
    return rate


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * share))]


async def main(quick: bool) -> None:
    count, seconds = (100, 1.0) if quick else (1000, 5.0)
    database = Database()
    try:
        async with ExchangeSimulator(coinbase_protocol(), pace=0.004) as simulator:
            cluster = Cluster(database, simulator, lease_seconds=10)
            try:
                single = cluster.node("alone", clustered=False)
                single.start()
                await single.ready()
                while (await single.status())["exchanges"]["coinbase"]["status"] != "ready":
                    await asyncio.sleep(0.05)
                a, b, c = await started(cluster)
                params = await order_params(a)
                alone_times, owner, other = await sequential(
                    [(single, await order_params(single)), (a, params), (b, params)], count
                )
                single.stop()
                rates: dict[str, list[float]] = {"owner": [], "spread": []}
                for _ in range(2):  # in turns, as the round trips
                    rates["owner"].append(await throughput([a], params, seconds))
                    rates["spread"].append(await throughput([a, b, c], params, seconds))
            finally:
                cluster.close()
    finally:
        database.drop()
    print(f"make_order over JSON-RPC, {count} sequential round trips (µs)")
    print(f"    {'':32}{'p50':>10}{'p99':>10}")
    for name, times in (
        ("a service alone (no cluster)", alone_times),
        ("on the owner (a)", owner),
        ("on another node (b): forwarded", other),
    ):
        print(f"    {name:32}{statistics.median(times) * 1e6:>10.0f}{percentile(times, 0.99) * 1e6:>10.0f}")
    print(f"    the hop: {(statistics.median(other) - statistics.median(owner)) * 1e6:.0f} µs at p50")
    print(f"orders a second, {CLIENTS} clients, two runs of {seconds:g} s each (2 shared cores: a sanity figure)")
    for name, key in (("every client on the owner", "owner"), ("clients spread over the three nodes", "spread")):
        print(f"    {name:37}" + "".join(f"{rate:>8.0f}" for rate in rates[key]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    asyncio.run(main(parser.parse_args().quick))
