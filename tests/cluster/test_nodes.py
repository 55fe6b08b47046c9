"""Three xWrap nodes as real processes on one PostgreSQL and one Redis, the recorded Coinbase
traffic as their market (issue 14, docs/scaling.md).

A client on node B trades on Coinbase, which node A runs; a Socket.IO client on node C watches the
orders; A is killed (SIGKILL) while the client trades; another node takes Coinbase over within the
lease time and the client goes on. Every acknowledged order and fill is then in the database,
none twice, and ``xwrap ledger verify`` passes. Transfers, withdrawals and orders on one wallet set
from all three nodes at once never overdraw it; one client order id sent to two nodes at once
makes one order.

``XWRAP_SOAK_NODES=SECONDS`` trades for that long before and after the kill (a soak run).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import unittest
from collections import Counter
from decimal import Decimal
from typing import Any

import socketio

from exchange_wrapper.client import ClientError
from tests.cluster.nodes import PAIR, Cluster, Database, Node
from tests.service.recorded import TRADE_TOKEN
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.server import ExchangeSimulator

#: The lease time of the test's nodes (seconds; 10 in the shipped settings).
LEASE = 3
#: Seconds of trading before the kill, and after the takeover.
TRADING = float(os.environ.get("XWRAP_SOAK_NODES", "2"))
#: What the machine may add to a takeover's time: three processes on two shared cores.
SLACK = 1.5


class ThreeNodes(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.database = Database()
        self.addCleanup(self.database.drop)
        self.simulator = ExchangeSimulator(coinbase_protocol(), pace=0.004)
        await self.simulator.__aenter__()
        self.addAsyncCleanup(self.simulator.__aexit__, None, None, None)
        self.cluster = Cluster(self.database, self.simulator, lease_seconds=LEASE)
        self.addCleanup(self.cluster.close)
        self.a = self.cluster.node("a")
        self.a.start()
        await self.a.ready()
        await self.until(lambda: self.owner_seen_by(self.a, "a"), "node a to take coinbase")
        self.b, self.c = self.cluster.node("b"), self.cluster.node("c")
        self.b.start()
        self.c.start()
        await asyncio.gather(self.b.ready(), self.c.ready())
        for node in (self.a, self.b, self.c):  # every node answers reads: the owner's book, or its copy
            await self.until(lambda node=node: self.book_live(node), f"node {node.name}'s coinbase book")

    async def until(self, check: Any, what: str, timeout: float = 20) -> float:
        """Wait until ``await check()`` is true; the monotonic time it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await check():
                return time.monotonic()
            await asyncio.sleep(0.05)
        self.fail(f"waited {timeout} s for {what}\n{self.cluster.logs()}")

    async def owner_seen_by(self, node: Node, *owners: str) -> bool:
        """Whether ``node`` says one of ``owners`` runs Coinbase."""
        return (await node.status())["cluster"]["exchanges"]["coinbase"]["owner"] in owners

    async def book_live(self, node: Node) -> bool:
        status = (await node.status())["exchanges"]["coinbase"]
        return status["status"] == "ready" and status["pairs"] == [PAIR]

    def verify_ledger(self) -> None:
        found = subprocess.run(
            [sys.executable, "-m", "exchange_wrapper.cli", "ledger", "verify", "--config", str(self.b.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(found.returncode, 0, found.stdout + found.stderr)

    async def test_an_owner_killed_under_load_is_replaced_and_nothing_is_lost_or_doubled(self) -> None:
        watcher = socketio.AsyncClient(reconnection=False)
        seen: list[dict[str, Any]] = []
        watcher.on("orders", seen.append)
        await watcher.connect(self.c.url, auth={"token": TRADE_TOKEN}, transports=["websocket"])
        self.addAsyncCleanup(watcher.disconnect)
        answer = await watcher.call("subscribe", {"topics": ["orders"]}, timeout=5)
        self.assertIn("result", answer)

        trader = self.b.client(timeout=3 * LEASE, reconnect=False)
        await trader.connect()
        self.addAsyncCleanup(trader.close)
        wallet_set = await trader.create_wallet_set(
            name="strategy", allocations=[{"exchange": "coinbase", "currency": "USD", "amount": "5000"}]
        )
        acknowledged: dict[str, dict[str, Any]] = {}  # order id -> the last answer about it
        count = 0

        async def ask(operation: str, **params: Any) -> dict[str, Any]:
            """The operation's answer, asked again while Coinbase has no owner (a client order id
            makes a repeated order the same one)."""
            while True:
                try:
                    found = await trader.call(operation, **params)
                except ClientError as error:
                    if error.kind != "exchange_unavailable":
                        raise
                    await asyncio.sleep(0.1)
                    continue
                acknowledged[found["id"]] = found
                return found

        async def trade(seconds: float) -> None:
            """Taker buys at the best ask (filled at once) and resting bids, every other one cancelled."""
            nonlocal count
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                book = await trader.get_book(exchange="coinbase", pair=PAIR, depth=1)
                best_bid, best_ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
                count += 1
                order = dict(wallet_set_id=wallet_set["id"], exchange="coinbase", pair=PAIR, side="buy", size="10")
                if count % 2:
                    await ask("make_order", **order, price=str(best_ask), client_order_id=f"taker-{count}")
                else:
                    price = (best_bid * Decimal("0.8")).quantize(Decimal("0.0001"))
                    resting = await ask("make_order", **order, price=str(price), client_order_id=f"rest-{count}")
                    if count % 4 == 0:
                        await ask("cancel_order", order_id=resting["id"])

        await trade(TRADING)
        before_kill = len(acknowledged)
        resting_before = [o for o in acknowledged.values() if o["status"] == "open"]
        trading = asyncio.create_task(trade(LEASE + TRADING))
        await asyncio.sleep(0.3)  # under load
        self.a.kill()
        killed_at = time.monotonic()
        taken_at = await self.until(lambda: self.owner_seen_by(self.b, "b", "c"), "b or c to take coinbase", 3 * LEASE)
        new_owner = (await self.b.status())["cluster"]["exchanges"]["coinbase"]["owner"]
        self.assertIn(new_owner, ("b", "c"))
        self.assertLessEqual(taken_at - killed_at, LEASE + SLACK, self.cluster.logs())
        await trading
        self.assertGreater(len(acknowledged), before_kill + 4, "the client went on trading")
        # the orders resting when A died were taken over from the database: cancelled through B now
        self.assertTrue(resting_before)
        for order in resting_before:
            self.assertEqual((await ask("cancel_order", order_id=order["id"]))["status"], "cancelled")
        owner = self.cluster.nodes[new_owner]
        self.assertIn('xwrap_lease_held{exchange="coinbase"} 1.0', await owner.metrics())
        lease = (await owner.status())["cluster"]["exchanges"]["coinbase"]
        self.assertGreater(lease["epoch"], 1)  # taken over: a new epoch fences a's writes
        self.assertGreater(lease["lease_left"], 0)
        if new_owner == "c":  # b's book is now a copy of c's
            reason = (await self.b.status())["exchanges"]["coinbase"]["reason"]
            self.assertEqual(reason, "a copy of node c's books")

        # every acknowledged order and fill is in the database, none twice
        stored = {
            str(id): (client_id, status)
            for id, client_id, status in self.database.rows('SELECT id, client_order_id, status FROM "orders"')
        }
        for order_id, answer in acknowledged.items():
            self.assertIn(order_id, stored)
            if answer["status"] in ("filled", "cancelled"):
                self.assertEqual(stored[order_id][1], answer["status"])
        client_ids = [client_id for client_id, _ in stored.values()]
        self.assertEqual(len(client_ids), len(set(client_ids)))
        fills = self.database.rows('SELECT order_id, trade_id FROM "fill"')
        self.assertEqual(len(fills), len(set(fills)))
        stored_fills = {(str(order_id), trade_id) for order_id, trade_id in fills}
        answered_fills = {(f["order_id"], f["trade_id"]) for o in acknowledged.values() for f in o["fills"]}
        self.assertTrue(answered_fills)
        self.assertLessEqual(answered_fills, stored_fills)
        self.verify_ledger()

        # node C's Socket.IO client saw every acknowledged order, each event once
        await asyncio.sleep(0.5)
        events = Counter((e["id"], e["status"], e["filled_size"], e["updated_at"], e["price"]) for e in seen)
        self.assertEqual([event for event, times in events.items() if times > 1], [])
        self.assertLessEqual(set(acknowledged), {e["id"] for e in seen})

    async def test_one_wallet_set_from_three_nodes_at_once_is_never_overdrawn(self) -> None:
        clients = [node.client(timeout=20) for node in (self.a, self.b, self.c)]
        for client in clients:
            await client.connect()
            self.addAsyncCleanup(client.close)
        first = clients[0]
        # reads on any node: b's copy of Coinbase's latest trades are the owner's (at most 0.5 s behind)
        owners = {t["trade_id"] for t in await first.get_trades(exchange="coinbase", pair=PAIR, limit=1000)}
        copied = await clients[1].get_trades(exchange="coinbase", pair=PAIR, limit=50)
        self.assertTrue(copied)
        self.assertLessEqual({t["trade_id"] for t in copied}, owners)
        self.assertIsNotNone((await clients[1].get_pricing(exchange="coinbase"))[0]["last"])
        watched: list[tuple[str, dict[str, Any]]] = []  # JSON-RPC notifications on node c
        for topic in ("orders", "wallets"):
            await clients[2].on(topic, lambda topic, payload: watched.append((topic, payload)))
        funded = await first.create_wallet_set(
            name="shared", allocations=[{"exchange": "coinbase", "currency": "USD", "amount": "100"}]
        )
        other = await first.create_wallet_set(name="other")
        book = await first.get_book(exchange="coinbase", pair=PAIR, depth=1)
        price = (Decimal(book["bids"][0][0]) * Decimal("0.8")).quantize(Decimal("0.0001"))
        size = (Decimal(9) / price).quantize(Decimal(1))  # about 9 USD held (plus the fee)
        outcomes: Counter[str] = Counter()
        moved = Decimal(0)

        async def spend(client: Any, index: int) -> None:
            nonlocal moved
            try:
                if index % 3 == 0:
                    await client.transfer(
                        from_wallet_set_id=funded["id"],
                        to_wallet_set_id=other["id"],
                        exchange="coinbase",
                        currency="USD",
                        amount="9",
                    )
                    moved += 9
                    outcomes["transfer"] += 1
                elif index % 3 == 1:
                    await client.withdraw(wallet_set_id=funded["id"], exchange="coinbase", currency="USD", amount="9")
                    moved += 9
                    outcomes["withdraw"] += 1
                else:
                    await client.make_order(
                        wallet_set_id=funded["id"],
                        exchange="coinbase",
                        pair=PAIR,
                        side="buy",
                        price=str(price),
                        size=str(size),
                    )
                outcomes["done"] += 1
            except ClientError as error:
                outcomes[error.kind] += 1

        await asyncio.gather(*(spend(client, i) for i in range(15) for client in clients))
        self.assertEqual(outcomes["done"] + outcomes["insufficient_funds"], 45, outcomes)
        self.assertGreater(outcomes["insufficient_funds"], 0)  # 405 USD asked of 100
        self.assertGreater(outcomes["done"], 0)
        wallet = await clients[1].get_wallet(wallet_set_id=funded["id"], exchange="coinbase", currency="USD")
        self.assertEqual(Decimal(wallet["balance"]), 100 - moved)
        self.assertGreaterEqual(Decimal(wallet["available"]), 0)
        self.assertLessEqual(Decimal(wallet["hold"]), Decimal(wallet["balance"]))
        self.verify_ledger()
        # node c's JSON-RPC client was told of every order placed on any node, once each, and of every
        # transfer and withdrawal made on any node (the set's balance as each left it, each once)
        await asyncio.sleep(0.5)
        placed = self.database.rows('SELECT id FROM "orders" WHERE wallet_set_id = %s', (funded["id"],))
        orders = Counter((payload["id"], payload["status"]) for topic, payload in watched if topic == "orders")
        self.assertEqual({id for id, _ in orders}, {str(id) for (id,) in placed})
        self.assertEqual(set(orders.values()), {1})
        changes = Counter(p["change"] for t, p in watched if t == "wallets")
        self.assertEqual(changes["transfer"], 2 * outcomes["transfer"])  # both sets' wallets
        self.assertEqual(changes["withdraw"], outcomes["withdraw"])

        # one client order id sent to two nodes at once makes one order
        await first.fund_wallet_set(wallet_set_id=other["id"], exchange="coinbase", currency="USD", amount="50")
        order = dict(wallet_set_id=other["id"], exchange="coinbase", pair=PAIR, side="buy", price=str(price))
        both = await asyncio.gather(
            clients[1].make_order(**order, size="10", client_order_id="once"),
            clients[2].make_order(**order, size="10", client_order_id="once"),
        )
        self.assertEqual(both[0]["id"], both[1]["id"])
        self.assertEqual(
            self.database.rows('SELECT count(*) FROM "orders" WHERE client_order_id = %s', ("once",)), [(1,)]
        )
