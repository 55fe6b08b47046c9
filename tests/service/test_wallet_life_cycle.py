"""A wallet set's life cycle through the service: created with allocations, withdrawn from, closed
while its orders rest, fill and move; on every door (REST, JSON-RPC, Socket.IO) and on SQLite and
PostgreSQL, with the wallets events each move publishes and ``ledger verify`` after each race.
On the real Coinbase recording. ``XWRAP_RACE_ROUNDS`` lengthens the races (a few in the suite)."""

import asyncio
import contextlib
import os
import random
import time
import unittest
from decimal import Decimal as D
from typing import Any

from exchange_wrapper.config import load_settings
from exchange_wrapper.contract import OPERATIONS
from exchange_wrapper.core.errors import (
    Conflict,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidParameter,
    OrderNotFound,
    PrecisionError,
    WalletSetClosed,
)
from exchange_wrapper.storage.verify import verify_ledger
from tests.storage.dbs import DatabaseCase, OnPostgres, OnSqlite

from .running import TRADE_TOKEN
from .stepped import SKL, SteppedReplay
from .test_rpc import request
from .test_socketio import SocketIOCase

ROUNDS = int(os.environ.get("XWRAP_RACE_ROUNDS", "3"))
ALLOCATIONS = [
    {"exchange": "coinbase", "currency": "USD", "amount": "1000"},
    {"exchange": "coinbase", "currency": "SKL", "amount": "2000"},
]


class LifeCycleCases(SteppedReplay, DatabaseCase):
    """A service on the recording (stepped by the test) over ``self.url``'s database."""

    async def asyncSetUp(self):
        self.settings = load_settings(None, env={}, overrides={"database_url": self.url, "server.port": 0})
        self.server = await self.start_server()
        self.events: list[tuple[str, Any]] = []
        publish = self.server.trading.publish

        def kept(topic, payload):
            self.events.append((topic, payload))
            publish(topic, payload)

        self.server.trading.publish = kept

    async def new_set(self, name=None, allocations=ALLOCATIONS):
        name = name or f"set{time.monotonic_ns()}"
        return (await self.api.call("create_wallet_set", {"name": name, "allocations": allocations}))["id"]

    async def resting(self, ws, side, away=D("0.02"), size="100"):
        book = self.server.hub.book("coinbase", SKL)
        best = (book.bids if side == "buy" else book.asks).best[0]
        price = best - away if side == "buy" else best + away
        order = {"wallet_set_id": ws, "exchange": "coinbase", "pair": "SKL_USD", "side": side}
        return await self.api.call("make_order", {**order, "price": str(price), "size": size})

    def assert_ledger_ok(self):
        report = verify_ledger(self.server.database)
        self.assertTrue(report.ok, report.as_json())

    def wallet_events(self, ws):
        return [p for topic, p in self.events if topic == "wallets" and p["wallet_set_id"] == ws]

    async def test_close_cancels_the_open_orders_returns_everything_and_refuses_what_follows(self):
        ws, other = await self.new_set(), await self.new_set()
        buy, sell = await self.resting(ws, "buy"), await self.resting(ws, "sell")
        closed = await self.api.call("close_wallet_set", {"wallet_set_id": ws})
        self.assertIsNotNone(closed["closed_at"])
        self.assertEqual({"0"}, {w[key] for w in closed["wallets"] for key in ("balance", "hold", "available")})
        self.assertEqual(
            {("USD", "-1000"), ("SKL", "-2000")},
            {(e["postings"][0]["currency"], e["postings"][0]["amount"]) for e in closed["returned"]},
        )
        for order in (buy, sell):
            self.assertEqual("cancelled", (await self.api.get_order(order_id=order["id"]))["status"])
        self.assertEqual(closed["closed_at"], (await self.api.get_wallet_set(wallet_set_id=ws))["closed_at"])
        summaries = {s["id"]: s["closed_at"] for s in await self.api.get_wallet_sets()}
        self.assertEqual((closed["closed_at"], None), (summaries[ws], summaries[other]))
        money = {"exchange": "coinbase", "currency": "USD", "amount": "1"}
        refusals = [
            (
                "make_order",
                {
                    "wallet_set_id": ws,
                    "exchange": "coinbase",
                    "pair": "SKL_USD",
                    "side": "buy",
                    "price": "0.5",
                    "size": "10",
                },
                "wallet_set_id",
            ),
            ("fund_wallet_set", {"wallet_set_id": ws, **money}, "wallet_set_id"),
            ("withdraw", {"wallet_set_id": ws, **money}, "wallet_set_id"),
            ("transfer", {"from_wallet_set_id": other, "to_wallet_set_id": ws, **money}, "to_wallet_set_id"),
            ("transfer", {"from_wallet_set_id": ws, "to_wallet_set_id": other, **money}, "from_wallet_set_id"),
            ("close_wallet_set", {"wallet_set_id": ws}, "wallet_set_id"),
        ]
        before = verify_ledger(self.server.database).transactions
        for method, params, parameter in refusals:
            with self.subTest(method=method, parameter=parameter), self.assertRaises(WalletSetClosed) as caught:
                await self.api.call(method, params)
            self.assertEqual((parameter, ws), (caught.exception.parameter, caught.exception.wallet_set_id))
        self.assertEqual(before, verify_ledger(self.server.database).transactions)
        self.assertEqual(2, len((await self.api.get_orders(wallet_set_id=ws, status="recent"))["orders"]))
        self.assert_ledger_ok()

    async def test_every_money_move_publishes_the_wallets_valued_in_usd(self):
        ws, other = await self.new_set(), await self.new_set(allocations=[])
        money = {"exchange": "coinbase", "currency": "USD"}
        await self.api.call("fund_wallet_set", {"wallet_set_id": ws, **money, "amount": "5"})
        await self.api.call("withdraw", {"wallet_set_id": ws, **money, "amount": "105"})
        await self.api.call("transfer", {"from_wallet_set_id": ws, "to_wallet_set_id": other, **money, "amount": "100"})
        await self.api.call("close_wallet_set", {"wallet_set_id": ws})
        changes = [(p["change"], {w["currency"]: w["balance"] for w in p["wallets"]}) for p in self.wallet_events(ws)]
        self.assertEqual(
            [
                ("create", {"USD": "1000", "SKL": "2000"}),
                ("fund", {"USD": "1005", "SKL": "2000"}),
                ("withdraw", {"USD": "900", "SKL": "2000"}),
                ("transfer", {"USD": "800", "SKL": "2000"}),
                ("close", {"USD": "0", "SKL": "0"}),
            ],
            changes,
        )
        book = self.server.hub.book("coinbase", SKL)
        mid = (book.bids.best[0] + book.asks.best[0]) / 2
        funded = self.wallet_events(ws)[1]["wallets"]
        self.assertEqual(
            {"USD": D("1005"), "SKL": 2000 * mid}, {w["currency"]: D(w["usd_value"]) for w in funded}
        )  # the book did not move between the call and this check: nothing was stepped
        self.assertEqual(
            [("transfer", {"USD": "100"})],
            [(p["change"], {w["currency"]: w["balance"] for w in p["wallets"]}) for p in self.wallet_events(other)],
        )

    async def test_bad_input_is_named_and_changes_nothing(self):
        ws = await self.new_set()
        await self.resting(ws, "buy", size="1000")  # holds about 790 USD
        before = verify_ledger(self.server.database).transactions
        with self.assertRaises(InsufficientFunds):
            await self.api.call(
                "withdraw", {"wallet_set_id": ws, "exchange": "coinbase", "currency": "USD", "amount": "300"}
            )
        bad = [
            ([ALLOCATIONS[0], {**ALLOCATIONS[1], "amount": "-1"}], "allocations[1].amount"),
            ([{"exchange": "coinbase", "currency": "USD"}], "allocations[0].amount"),
            ([{**ALLOCATIONS[0], "pair": "SKL_USD"}], "allocations[0].pair"),
            ([{**ALLOCATIONS[0], "currency": "JPY"}], "allocations[0].currency"),
            ([ALLOCATIONS[0], {**ALLOCATIONS[0], "exchange": "nasdaq"}], "allocations[1].exchange"),
            (["coinbase"], "allocations[0]"),
            ({"exchange": "coinbase"}, "allocations"),
        ]
        for allocations, field in bad:
            with self.subTest(field=field), self.assertRaises(InvalidParameter) as caught:
                await self.api.call("create_wallet_set", {"name": "refused", "allocations": allocations})
            self.assertEqual(field, caught.exception.field)
        self.assertEqual(before, verify_ledger(self.server.database).transactions)
        self.assertNotIn("refused", [s["name"] for s in await self.api.get_wallet_sets()])

    async def test_a_close_races_orders_fills_and_transfers(self):
        """Clients place, cancel and transfer on a set while the recording's trades fill its orders, and
        the set is closed among them: every order of it ends final, it holds nothing, each refusal is a
        clean one, and the ledger verifies."""
        refused = (WalletSetClosed, Conflict, InsufficientFunds, OrderNotFound, PrecisionError, ExchangeUnavailable)
        book = self.server.hub.book("coinbase", SKL)
        filled = [0]
        for round_ in range(ROUNDS):
            rng = random.Random(round_)
            ws, other = await self.new_set(), await self.new_set()
            done = asyncio.Event()
            outcomes: dict[str, int] = {}

            async def market() -> None:
                for record in self.records:
                    if done.is_set():
                        return
                    self.replay.step(record, time.time())
                    await asyncio.sleep(0.001)  # the recording lasts for every round

            async def client() -> None:
                while not done.is_set():
                    action = rng.choice(("order", "order", "cancel", "in", "out", "withdraw"))
                    try:
                        if action == "order":
                            side = rng.choice(("buy", "sell"))
                            best = (book.bids if side == "buy" else book.asks).best[0]
                            price = best + D("0.0001") * rng.randint(-2, 3) * (1 if side == "buy" else -1)
                            await self.api.call(
                                "make_order",
                                {
                                    "wallet_set_id": ws,
                                    "exchange": "coinbase",
                                    "pair": "SKL_USD",
                                    "side": side,
                                    "price": str(price),
                                    "size": str(rng.randint(5, 60)),
                                },
                            )
                        elif action == "cancel":
                            mine = [o.id for o in self.server.trading.open.values() if o.wallet_set_id == ws]
                            if mine:
                                await self.api.cancel_order(order_id=rng.choice(mine))
                        else:
                            source, target = (other, ws) if action == "in" else (ws, other)
                            params = {"exchange": "coinbase", "currency": "USD", "amount": str(rng.randint(1, 20))}
                            if action == "withdraw":
                                await self.api.call("withdraw", {"wallet_set_id": ws, **params})
                            else:
                                await self.api.call(
                                    "transfer", {"from_wallet_set_id": source, "to_wallet_set_id": target, **params}
                                )
                        outcome = action
                    except refused as error:
                        outcome = type(error).__name__
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    await asyncio.sleep(0)

            async def closer() -> Any:
                try:
                    with contextlib.suppress(TimeoutError):  # amid the trading: once an order of the set filled
                        async with asyncio.timeout(3):
                            while not any(t == "fills" and p["wallet_set_id"] == ws for t, p in self.events):
                                await asyncio.sleep(0.005)
                    await asyncio.sleep(rng.random() * 0.05)
                    return await self.api.call("close_wallet_set", {"wallet_set_id": ws})
                finally:
                    await asyncio.sleep(0.05)  # the clients go on a little against the closed set
                    done.set()

            results = await asyncio.gather(market(), client(), client(), client(), closer())
            closed = results[-1]
            await self.server.trading.db(lambda: None)
            with self.subTest(round=round_):
                self.assertIsNotNone(closed["closed_at"])
                self.assertEqual([], [o.id for o in self.server.trading.open.values() if o.wallet_set_id == ws])
                wallets = (await self.api.get_wallet_set(wallet_set_id=ws))["wallets"]
                self.assertEqual([], [w for w in wallets if D(w["balance"])])
                self.assertGreater(outcomes.get("WalletSetClosed", 0) + outcomes.get("Conflict", 0), 0, outcomes)
                self.assertGreater(outcomes.get("order", 0), 0, outcomes)
                orders = (await self.api.get_orders(wallet_set_id=ws, status="recent", limit=1000))["orders"]
                filled[0] += sum(1 for o in orders if o["fills"])
                self.assert_ledger_ok()
        self.assertGreater(filled[0], 0, "no order of the closing sets filled: the race showed nothing")


class LifeCycleSqlite(LifeCycleCases, OnSqlite, unittest.IsolatedAsyncioTestCase):
    pass


class LifeCyclePostgres(LifeCycleCases, OnPostgres, unittest.IsolatedAsyncioTestCase):
    pass


class DoorsTest(SocketIOCase):
    """Each operation of the life cycle, and its refusals, on each door; the wallets events on JSON-RPC."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.rpc = await self.raw_rpc()
        self.browser_ = await self.browser()

    async def via(self, door: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """``{"result": ...}`` or ``{"error": {"kind", "details"}}`` of ``method`` called through ``door``."""
        if door == "json-rpc":
            reply = await self.rpc.ask(request(method, params))
            if "error" in reply:
                return {"error": {"kind": reply["error"]["data"]["kind"], "details": reply["error"]["data"]["details"]}}
            return {"result": reply["result"]}
        if door == "socket.io":
            answer = await self.browser_.call(method, params)
            if "error" in answer:
                return {"error": {"kind": answer["error"]["kind"], "details": answer["error"]["details"]}}
            return answer
        verb, path = OPERATIONS[method].route.split(" ")
        body = dict(params)
        for name in list(body):
            if "{" + name + "}" in path:
                path = path.replace("{" + name + "}", str(body.pop(name)))
        status, _, answer = await self.call(verb, "/xwrap/v1" + path, body or None, token=TRADE_TOKEN)
        if status != 200:
            return {"error": {"kind": answer["error"]["kind"], "details": answer["error"]["details"]}}
        return {"result": answer}

    async def test_each_door(self):
        await self.rpc.ask(request("subscribe", {"topics": ["wallets"]}))
        other = (await self.via("rest", "create_wallet_set", {"name": "other", "allocations": ALLOCATIONS[:1]}))[
            "result"
        ]
        for door in ("rest", "json-rpc", "socket.io"):
            with self.subTest(door=door):
                created = await self.via(
                    door, "create_wallet_set", {"name": door.replace(".", "-"), "allocations": ALLOCATIONS}
                )
                ws = created["result"]["id"]
                self.assertEqual(
                    {"USD": "1000", "SKL": "2000"}, {w["currency"]: w["balance"] for w in created["result"]["wallets"]}
                )
                bid = self.book.bids.best[0]
                order = {"wallet_set_id": ws, "exchange": "coinbase", "pair": "SKL_USD", "side": "buy", "size": "1000"}
                placed = await self.via(door, "make_order", {**order, "price": str(bid - D("0.01"))})
                hold = D(placed["result"]["size"]) * D(placed["result"]["price"]) * D("1.006")
                usd = {"wallet_set_id": ws, "exchange": "coinbase", "currency": "USD"}
                too_much = await self.via(door, "withdraw", {**usd, "amount": str(1000 - hold + D("0.01"))})
                self.assertEqual("insufficient_funds", too_much["error"]["kind"])
                withdrawn = await self.via(door, "withdraw", {**usd, "amount": "100"})
                self.assertEqual(
                    ("900", "withdraw"),
                    (withdrawn["result"]["wallet"]["balance"], withdrawn["result"]["entry"]["kind"]),
                )
                closed = (await self.via(door, "close_wallet_set", {"wallet_set_id": ws}))["result"]
                self.assertIsNotNone(closed["closed_at"])
                self.assertEqual(2, len(closed["returned"]))
                again = await self.via(door, "close_wallet_set", {"wallet_set_id": ws})
                self.assertEqual("conflict", again["error"]["kind"])
                self.assertEqual(
                    ("wallet_set_id", ws),
                    (again["error"]["details"]["parameter"], again["error"]["details"]["wallet_set_id"]),
                )
                refused = await self.via(
                    door,
                    "transfer",
                    {
                        "from_wallet_set_id": other["id"],
                        "to_wallet_set_id": ws,
                        "exchange": "coinbase",
                        "currency": "USD",
                        "amount": "1",
                    },
                )
                self.assertEqual(
                    ("conflict", "to_wallet_set_id"),
                    (refused["error"]["kind"], refused["error"]["details"]["parameter"]),
                )
                refused = await self.via(door, "make_order", {**order, "price": "0.5"})
                self.assertEqual(
                    ("conflict", "wallet_set_id"), (refused["error"]["kind"], refused["error"]["details"]["parameter"])
                )
                bad = await self.via(
                    door, "create_wallet_set", {"name": "bad", "allocations": [{**ALLOCATIONS[0], "amount": "x"}]}
                )
                self.assertEqual(
                    ("invalid_parameter", "allocations[0].amount"),
                    (bad["error"]["kind"], bad["error"]["details"]["field"]),
                )
                read = (await self.via(door, "get_wallet_set", {"wallet_set_id": ws}))["result"]
                self.assertEqual(closed["closed_at"], read["closed_at"])
        events = await self.rpc.notifications(
            lambda seen: sum(1 for n in seen if n["params"]["change"] == "close") >= 3
        )
        by_change = {}
        for notification in events:
            payload = notification["params"]
            by_change.setdefault(payload["change"], []).append(payload)
        self.assertLessEqual({"create", "withdraw", "close"}, set(by_change))
        self.assertTrue(all(w["usd_value"] is not None for p in events for w in p["params"]["wallets"]))
