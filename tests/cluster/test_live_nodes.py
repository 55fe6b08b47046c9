"""A live exchange's account in cluster mode: two xWrap nodes as real processes on one PostgreSQL
and one Redis, Binance in live mode on its loopback simulator (signed REST, the user data stream,
LRCBTC's recorded book), which runs in this process (issue 14, docs/scaling.md).

A client on node B places live orders on Binance, whose lease (and so whose account) node A holds:
one rests and is partly filled; another's placement reaches the exchange but its answer is lost.
Node A is killed (SIGKILL), and the exchange fills the resting order while no node owns Binance.
Node B takes the lease, opens the account as a restart does, and the orders come out right: the
fill made meanwhile applied once, the unanswered placement found by its client id (never sent
again), the ledger reconciled and ``xwrap ledger verify`` passing. And node A paused (SIGSTOP) past
its lease with a fill waiting on its stream: B takes over and applies it; A, resumed, records
nothing (its account stopped, its late write refused by the fence) and lets the account go; B then
stops, and A takes the account back with a new one, applying the fill made meanwhile.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import unittest
from decimal import Decimal as D
from typing import Any

from exchange_wrapper.client import ClientError
from tests.cluster.nodes import Cluster, Database, Node
from tests.simulator.binance_private import API_KEY, API_SECRET, BinanceExchange

#: The lease time of the test's nodes (seconds).
LEASE = 3
PAIR = "LRC_BTC"
PRICE = D("0.0000063")  # LRCBTC's recorded book: best bid 0.00000637, best ask 0.00000638: rests
PLACEMENT = ("POST", "/api/v3/order")
FEE_RATE = D("0.001")  # the simulator's, taken from what a trade brings in (LRC)


class LiveAccountTakeover(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.database = Database()
        self.addCleanup(self.database.drop)
        self.sim = await BinanceExchange(balances={"BTC": D("0.5"), "LRC": D("20000")}, fee_rate=FEE_RATE).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        binance = {
            "mode": "live",
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "rest_url": self.sim.rest_url,
            "ws_url": self.sim.ws_url,
            "pairs": [PAIR],
        }
        self.cluster = Cluster(self.database, lease_seconds=LEASE, exchanges={"binance": binance})
        self.addCleanup(self.cluster.close)
        self.a = self.cluster.node("a")
        self.a.start()
        await self.a.ready()
        await self.until(lambda: self.account_ready(self.a), "node a to run the binance account")
        self.b = self.cluster.node("b")
        self.b.start()
        await self.b.ready()

    async def until(self, check: Any, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await check():
                return
            await asyncio.sleep(0.05)
        self.fail(f"waited {timeout} s for {what}\n{self.cluster.logs()}")

    async def account_ready(self, node: Node) -> bool:
        """Whether ``node`` owns Binance and runs its account, recovered and reconciled."""
        status = await node.status()
        account = status["exchanges"]["binance"].get("account")
        owner = status["cluster"]["exchanges"]["binance"]["owner"]
        return owner == node.name and account is not None and account["state"] == "ready"

    def sim_order(self, order: dict[str, Any]) -> Any:
        return self.sim.account.orders[int(order["exchange_order_id"])]

    async def trade_on_b(self) -> None:
        """A client on node B, a live wallet set funded with 0.1 BTC, and :attr:`order`'s fields."""
        self.trader = trader = self.b.client(timeout=2 * LEASE, reconnect=False)
        await trader.connect()
        self.addAsyncCleanup(trader.close)
        status = await self.b.status()  # b answers for binance without running its account
        self.assertNotIn("account", status["exchanges"]["binance"])
        self.wallet_set = (await trader.create_wallet_set(name="live", mode="live"))["id"]
        await trader.fund_wallet_set(wallet_set_id=self.wallet_set, exchange="binance", currency="BTC", amount="0.1")
        self.order = dict(wallet_set_id=self.wallet_set, exchange="binance", pair=PAIR, side="buy", price=str(PRICE))

    async def ask(self, operation: str, **params: Any) -> dict[str, Any]:
        """The answer, asked again while Binance has no owner (or its account is recovering)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return await self.trader.call(operation, **params)
            except ClientError as error:
                if error.kind != "exchange_unavailable" or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)

    async def test_a_killed_owners_account_is_taken_over_and_its_orders_come_out_right(self) -> None:
        await self.trade_on_b()
        trader, order, ask = self.trader, self.order, self.ask
        resting = await ask("make_order", **order, size="1000", client_order_id="resting")  # forwarded to a
        self.assertEqual(resting["status"], "open")
        await self.sim.fill(self.sim_order(resting), D(300))
        await self.until(lambda: self.fills(trader, resting, 1), "the first fill recorded")
        self.sim.lose_next(*PLACEMENT)  # placed on the exchange, its answer never comes
        lost = await ask("make_order", **order, size="500", client_order_id="lost")
        self.assertEqual(self.sim.calls.count(*PLACEMENT), 2)
        self.a.kill()
        killed = time.monotonic()
        await self.sim.fill(self.sim_order(resting), D(200))  # nobody owns binance: nobody hears it

        await self.until(lambda: self.account_ready(self.b), "node b to take binance over")
        took = time.monotonic() - killed
        # within the lease time, plus opening and recovering the account (about 2.2 s in all here)
        self.assertLess(took, LEASE + 3, self.cluster.logs())
        found = await self.until_order(trader, resting["id"], lambda o: len(o["fills"]) == 2)
        self.assertEqual((found["status"], found["filled_size"]), ("partially_filled", "500"))
        self.assertEqual([f["size"] for f in found["fills"]], ["300", "200"])
        # the placement a never heard of was asked about by its client id, not sent again
        again = await ask("make_order", **order, size="500", client_order_id="lost")
        self.assertEqual(again["id"], lost["id"])
        placed = await self.until_order(trader, lost["id"], lambda o: o["status"] == "open")
        self.assertEqual((self.sim_order(placed).quantity, len(self.sim.account.orders)), (D(500), 2))
        self.assertEqual(self.sim.calls.count(*PLACEMENT), 2)

        # b trades on: a fill the new owner hears, a cancel it sends
        await self.sim.fill(self.sim_order(resting), D(100))
        found = await self.until_order(trader, resting["id"], lambda o: len(o["fills"]) == 3)
        self.assertEqual([f["size"] for f in found["fills"]], ["300", "200", "100"])
        cancelled = await ask("cancel_order", order_id=resting["id"])
        self.assertEqual((cancelled["status"], cancelled["filled_size"]), ("cancelled", "600"))
        self.assertEqual(self.sim_order(resting).status, "cancelled")
        fills = self.database.rows('SELECT count(*), count(DISTINCT trade_id) FROM "fill"')
        self.assertEqual(fills, [(3, 3)])
        btc = await trader.get_wallet(wallet_set_id=self.wallet_set, exchange="binance", currency="BTC")
        lrc = await trader.get_wallet(wallet_set_id=self.wallet_set, exchange="binance", currency="LRC")
        self.assertEqual(D(btc["balance"]), D("0.1") - 600 * PRICE)
        self.assertEqual(D(lrc["balance"]), 600 * (1 - FEE_RATE))
        held = D(btc["hold"])  # only the open "lost" order's: 500 at the price, with the taker fee
        self.assertGreaterEqual(held, 500 * PRICE)
        self.assertLess(held, 500 * PRICE * D("1.01"))
        # what the ledger says the real account holds is what the exchange holds
        (view,) = await trader.get_accounts(exchange="binance")
        for account in view["live"]:
            recorded = D(account["allocated"]) + D(account["unallocated"])
            self.assertEqual(recorded, self.sim.account.total(account["currency"]), account["currency"])
        self.verify_ledger()

    async def test_an_owner_that_lost_its_lease_stops_acting_for_the_account_at_once(self) -> None:
        await self.trade_on_b()
        resting = await self.ask("make_order", **self.order, size="1000", client_order_id="resting")
        await self.sim.fill(self.sim_order(resting), D(300))
        await self.until(lambda: self.fills(self.trader, resting, 1), "the first fill recorded")
        self.a.pause()  # alive, its connections open, but it neither renews nor hears
        self.addCleanup(self.a.resume)
        await self.sim.fill(self.sim_order(resting), D(200))  # pushed to a's stream, where nobody reads it
        await self.until(lambda: self.account_ready(self.b), "node b to take binance over")
        found = await self.until_order(self.trader, resting["id"], lambda o: len(o["fills"]) == 2)
        self.assertEqual([f["size"] for f in found["fills"]], ["300", "200"])
        # a wakes with the fill's report waiting on its stream: its account is stopped and its late
        # writes refused by the fence, before or after it reads the lease
        self.a.resume()

        async def a_let_go() -> bool:
            status = await self.a.status()
            return (
                status["cluster"]["exchanges"]["binance"]["owner"] == "b"
                and "account" not in status["exchanges"]["binance"]
            )

        await self.until(a_let_go, "node a to give the account up")
        await self.sim.fill(self.sim_order(resting), D(100))
        found = await self.until_order(self.trader, resting["id"], lambda o: len(o["fills"]) == 3)
        self.assertEqual(([f["size"] for f in found["fills"]], found["filled_size"]), (["300", "200", "100"], "600"))
        await asyncio.sleep(1)  # what a might still write (nothing: it holds no lease)
        self.assertEqual(self.database.rows('SELECT count(*) FROM "fill"'), [(3,)])

        # b stops (its lease given up, its account stopped): a takes binance back with a new account
        self.b.stop()
        await self.sim.fill(self.sim_order(resting), D(50))
        await self.until(lambda: self.account_ready(self.a), "node a to take binance back")
        self.trader = self.a.client(timeout=2 * LEASE, reconnect=False)
        await self.trader.connect()
        self.addAsyncCleanup(self.trader.close)
        found = await self.until_order(self.trader, resting["id"], lambda o: len(o["fills"]) == 4)
        self.assertEqual(found["filled_size"], "650")
        cancelled = await self.ask("cancel_order", order_id=resting["id"])
        self.assertEqual((cancelled["status"], self.sim_order(resting).status), ("cancelled", "cancelled"))
        self.assertEqual(self.database.rows('SELECT count(*) FROM "fill"'), [(4,)])
        self.assertEqual(self.sim.calls.count(*PLACEMENT), 1)
        self.assertEqual(self.sim.calls.count("DELETE", "/api/v3/order"), 1)
        self.verify_ledger()

    async def fills(self, trader: Any, order: dict[str, Any], count: int) -> bool:
        return len((await trader.get_order(order_id=order["id"]))["fills"]) == count

    async def until_order(self, trader: Any, order_id: str, condition: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}

        async def check() -> bool:
            found.update(await trader.get_order(order_id=order_id))
            return bool(condition(found))

        await self.until(check, f"order {order_id}")
        return found

    def verify_ledger(self) -> None:
        found = subprocess.run(
            [sys.executable, "-m", "exchange_wrapper.cli", "ledger", "verify", "--config", str(self.b.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(found.returncode, 0, found.stdout + found.stderr)
