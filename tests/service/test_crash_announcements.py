"""Nothing announced is taken back by a crash: a real ``xwrap serve`` on the Coinbase recording, clients
over JSON-RPC trading against its books and each other while recording every answer and notification,
SIGKILL at a random moment under load. The database as the kill left it (read before any restart) holds
every fill, order state and balance a client was told; after a restart the same client order ids make no
second order and ``xwrap ledger verify`` passes. On SQLite and PostgreSQL.

``XWRAP_KILLS`` sets the number of kills per database (the suite's short run: 2; say 20 for a long one)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from collections import defaultdict
from decimal import Decimal as D
from typing import Any

from exchange_wrapper.client import AsyncClient, ClientError
from exchange_wrapper.core.money import ZERO
from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.models import Fill, LedgerPosting, Order
from tests.storage.dbs import OnPostgres
from tests.test_cli import ROOT, free_port

KILLS = int(os.environ.get("XWRAP_KILLS", "2"))
CLIENTS = 4
IN_FLIGHT = 4  # requests each client keeps going at once: the database's queue grows, so does any window
REPLAY = ["tests/captures/COINBASE.0", "tests/captures/COINBASE.ws.28.0"]
FINAL = {"filled", "cancelled", "rejected", "expired"}
#: How far along its life an order status is: what the database holds may be later, never earlier.
STAGE = {"pending": 0, "open": 1, "partially_filled": 2, **{status: 3 for status in FINAL}}


class Told:
    """Everything the clients were told: answers and notifications."""

    def __init__(self) -> None:
        self.orders: dict[str, list[dict[str, Any]]] = defaultdict(list)  # order id -> states told
        self.fills: dict[str, set[str]] = defaultdict(set)  # order id -> trade ids told
        self.balances: list[dict[str, Any]] = []  # wallets told
        self.client_ids: dict[tuple[int, str], str] = {}  # (set, client order id) -> order id

    def order(self, order: dict[str, Any]) -> None:
        self.orders[order["id"]].append(order)
        for fill in order.get("fills", ()):
            self.fills[order["id"]].add(fill["trade_id"])

    def notified(self, topic: str, payload: Any) -> None:
        if topic == "orders":
            self.order(payload)
        elif topic == "fills":
            self.fills[payload["order_id"]].add(payload["trade_id"])
        elif topic == "wallets":
            self.balances.extend({**w, "wallet_set_id": payload["wallet_set_id"]} for w in payload["wallets"])


class CrashCases:
    url: str

    def database_url(self) -> str:
        raise NotImplementedError

    def test_what_was_announced_survives_sigkill_and_nothing_is_duplicated(self) -> None:
        self.url = self.database_url()
        rng = random.Random(int(os.environ.get("XWRAP_SEED", str(time.time_ns()))))
        told = Told()
        sent: list[dict[str, Any]] = []  # every order request made, answered or not
        sets: list[int] = []
        for kill in range(KILLS):
            with self.subTest(kill=kill):
                asyncio.run(self.trade_then_kill(rng, told, sent, sets))
                self.check_database(told)
        self.assertTrue(sum(map(len, told.fills.values())) > 10 and told.balances, "too little was told to check")
        asyncio.run(self.resend(told, sent))
        verify = subprocess.run(
            [sys.executable, "-m", "exchange_wrapper.cli", "ledger", "verify", "--database-url", self.url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    # -- one life of the server ---------------------------------------------------------------------

    def start(self) -> tuple[subprocess.Popen, str]:
        port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("XWRAP_")}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "exchange_wrapper.cli",
                "serve",
                "--replay",
                *REPLAY,
                "--speed",
                "2",
                "--port",
                str(port),
                "--database-url",
                self.url,
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.addCleanup(process.kill)
        return process, f"ws://127.0.0.1:{port}"

    async def connected(self, url: str, process: subprocess.Popen) -> AsyncClient:
        deadline = time.monotonic() + 60
        while True:
            try:
                client = await AsyncClient(url, timeout=10, reconnect=False).connect()
                book = await client.call("get_book", exchange="coinbase", pair="SKL_USD", depth=1)
                if book["bids"] and book["asks"]:
                    return client
                await client.close()
            except (OSError, ClientError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                self.fail(f"the service did not come up: {process.stderr.read().decode()[-2000:]}")
            await asyncio.sleep(0.1)

    async def trade_then_kill(
        self, rng: random.Random, told: Told, sent: list[dict[str, Any]], sets: list[int]
    ) -> None:
        process, url = self.start()
        clients = [await self.connected(url, process) for _ in range(CLIENTS)]
        for client in clients:
            for topic in ("orders", "fills", "wallets"):
                await client.on(topic, told.notified)
        if not sets:
            for n in range(CLIENTS):
                ws = await clients[0].call("create_wallet_set", name=f"crash{n}", mode="paper")
                for currency, amount in (("USD", "100000"), ("SKL", "100000")):
                    await clients[0].call(
                        "fund_wallet_set", wallet_set_id=ws["id"], exchange="coinbase", currency=currency, amount=amount
                    )
                sets.append(ws["id"])
        stop = asyncio.Event()
        workers = [
            asyncio.create_task(self.trade(client, ws, rng, told, sent, stop))
            for client, ws in zip(clients, sets)
            for _ in range(IN_FLIGHT)
        ]
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        process.send_signal(signal.SIGKILL)  # under load, mid-flight
        process.wait(timeout=30)
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
        for client in clients:
            await client.close()

    async def trade(
        self,
        client: AsyncClient,
        ws: int,
        rng: random.Random,
        told: Told,
        sent: list[dict[str, Any]],
        stop: asyncio.Event,
    ) -> None:
        """Orders at and around the best prices, some crossing: they fill on the book, on the
        recording's trades and against the other clients' resting orders."""
        while not stop.is_set():
            try:
                book = await client.call("get_book", exchange="coinbase", pair="SKL_USD", depth=1)
                side = rng.choice(["buy", "sell"])
                crossing = rng.random() < 0.4  # takes from the book or another client's resting order
                best = D((book["bids"] if (side == "buy") != crossing else book["asks"])[0][0])
                tick = D("0.0001") * rng.randint(-3, 3)
                request = dict(
                    wallet_set_id=ws,
                    exchange="coinbase",
                    pair="SKL_USD",
                    side=side,
                    price=str(best + tick),
                    size=str(rng.randint(5, 80)),
                    client_order_id=f"c{len(sent)}-{rng.getrandbits(32)}",
                )
                sent.append(request)
                order = await client.call("make_order", **request)
                told.order(order)
                told.client_ids[(ws, request["client_order_id"])] = order["id"]
                if rng.random() < 0.2 and order["status"] not in FINAL:
                    told.order(await client.call("cancel_order", order_id=order["id"]))
            except ClientError as error:
                if error.kind in ("connection_lost", "exchange_unavailable", "insufficient_funds", "order_not_found"):
                    if error.kind == "connection_lost":
                        return
                    continue
                raise

    # -- what the kill left -------------------------------------------------------------------------

    def check_database(self, told: Told) -> None:
        db = open_database(self.url)
        try:
            stored = {str(o.id): o for o in Order.select()}
            fills: dict[str, set[str]] = defaultdict(set)
            for fill in Fill.select(Fill.order, Fill.trade_id):
                fills[str(fill.order_id)].add(fill.trade_id)
            running = self.running_balances()
        finally:
            close_database(db)
        for order_id, states in told.orders.items():
            self.assertIn(order_id, stored, "an order a client was told of is not in the database")
            row = stored[order_id]
            for state in states:
                self.assertGreaterEqual(row.filled_size, D(state["filled_size"]), (state, row.status))
                self.assertGreaterEqual(STAGE[row.status], STAGE[state["status"]], (state, row.status))
                if state["status"] in FINAL:
                    self.assertEqual(row.status, state["status"], state)
        for order_id, trade_ids in told.fills.items():
            self.assertLessEqual(trade_ids, fills[order_id], f"order {order_id}: fills told, never stored")
        for wallet in told.balances:
            key = (wallet["wallet_set_id"], wallet["exchange"], wallet["currency"])
            self.assertIn(D(wallet["balance"]), running[key], f"a balance told that the ledger never had: {wallet}")

    @staticmethod
    def running_balances() -> dict[tuple[int, str, str], set[D]]:
        """Every balance each wallet had after each committed transaction (its available plus its holds)."""
        totals: dict[tuple[int, str, str], D] = defaultdict(lambda: ZERO)
        seen: dict[tuple[int, str, str], set[D]] = defaultdict(lambda: {ZERO})
        query = (
            LedgerPosting.select(
                LedgerPosting.transaction,
                LedgerPosting.account,
                LedgerPosting.wallet_set,
                LedgerPosting.exchange,
                LedgerPosting.currency,
                LedgerPosting.amount,
            )
            .where(LedgerPosting.wallet_set.is_null(False))
            .order_by(LedgerPosting.transaction, LedgerPosting.id)
        )
        last: dict[tuple[int, str, str], int] = {}
        for posting in query:
            key = (posting.wallet_set_id, posting.exchange, posting.currency)
            if key in last and last[key] != posting.transaction_id:
                seen[key].add(totals[key])
            totals[key] += posting.amount
            last[key] = posting.transaction_id
        for key, total in totals.items():
            seen[key].add(total)
        return seen

    # -- after the last kill ----------------------------------------------------------------------

    async def resend(self, told: Told, sent: list[dict[str, Any]]) -> None:
        process, url = self.start()
        client = await self.connected(url, process)
        try:
            for request in sent:
                key = (request["wallet_set_id"], request["client_order_id"])
                try:
                    order = await client.call("make_order", **request)
                except ClientError as error:  # refused now (the book moved): it must never have been made
                    self.assertNotIn(key, told.client_ids, error)
                    continue
                if key in told.client_ids:
                    self.assertEqual(order["id"], told.client_ids[key], "a resent order was made twice")
            listed = await client.call("get_orders", status="recent", limit=1000)
            ids = [(o["wallet_set_id"], o["client_order_id"]) for o in listed["orders"]]
            self.assertEqual(len(ids), len(set(ids)))
        finally:
            await client.close()
            process.terminate()
            process.wait(timeout=30)


class CrashSqlite(CrashCases, unittest.TestCase):
    def database_url(self) -> str:
        directory = tempfile.mkdtemp(prefix="xwrap_crash_")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", directory]))
        return f"sqlite:///{directory}/xwrap.sqlite"


class CrashPostgres(CrashCases, OnPostgres, unittest.TestCase):
    def setUp(self) -> None:
        super().setUp()
        close_database(self.db)

    def database_url(self) -> str:
        return self.url
