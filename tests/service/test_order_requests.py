"""Requests on one order against each other and against the market: amends stored before their
answer, amends racing cancels and each other, holds that always cover the rest, and nothing
announced before it is committed. On the real Coinbase recording, on SQLite and PostgreSQL."""

import asyncio
import os
import random
import time
import unittest
from decimal import ROUND_CEILING
from decimal import Decimal as D

from exchange_wrapper.config import load_settings
from exchange_wrapper.core.errors import (
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidParameter,
    OrderNotFound,
    PrecisionError,
)
from exchange_wrapper.storage.verify import verify_ledger
from tests.storage.dbs import DatabaseCase, OnPostgres, OnSqlite

from .stepped import SKL, SteppedReplay

TAKER = D("0.006")  # Coinbase's taker fee in the recorded metadata's tier, which holds include
ROUNDS = int(os.environ.get("XWRAP_RACE_ROUNDS", "12"))  # XWRAP_RACE_ROUNDS=200 for a long run


def buy_hold(rest: D, price: D) -> D:
    return (rest * price * (1 + TAKER)).quantize(D("1e-18"), rounding=ROUND_CEILING)


class OrderRequestCases(SteppedReplay, DatabaseCase):
    """A service on the recording (stepped by the test) over ``self.url``'s database."""

    async def asyncSetUp(self):
        self.settings = load_settings(None, env={}, overrides={"database_url": self.url, "server.port": 0})
        self.server = await self.start_server()

    async def funded_set(self, usd="1000", skl="2000"):
        ws = await self.api.call("create_wallet_set", {"name": f"set{time.monotonic_ns()}", "mode": "paper"})
        await self.api.call(
            "fund_wallet_set", {"wallet_set_id": ws["id"], "exchange": "coinbase", "currency": "USD", "amount": usd}
        )
        await self.api.call(
            "fund_wallet_set", {"wallet_set_id": ws["id"], "exchange": "coinbase", "currency": "SKL", "amount": skl}
        )
        return ws["id"]

    async def stored(self, order_id):
        """The order as the database holds it (with its fills), read behind every queued write."""
        order, fills = await self.server.trading.db(self.server.trading.orders.view, order_id)
        return order, fills

    async def usd_hold(self, ws):
        return D((await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="USD"))["hold"])

    def assert_ledger_ok(self):
        report = verify_ledger(self.server.database)
        self.assertTrue(report.ok, report.as_json())

    async def resting_buy(self, ws, size="100", below=D("0.05")):
        bid = self.server.hub.book("coinbase", SKL).bids.best[0]
        price = bid - below
        order = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "price": str(price),
                "size": size,
            },
        )
        self.assertEqual(order["status"], "open")
        return order, price

    async def test_an_acknowledged_amend_is_stored_with_its_event_and_hold_before_the_answer(self):
        ws = await self.funded_set()
        order, price = await self.resting_buy(ws)
        new_price = price - D("0.01")
        answer = await self.api.call("amend_order", {"order_id": order["id"], "size": "150", "price": str(new_price)})
        self.assertEqual((D(answer["size"]), D(answer["price"])), (D(150), new_price))
        stored, _ = await self.stored(order["id"])
        self.assertEqual((stored.size, stored.price), (D(150), new_price))
        self.assertEqual(await self.usd_hold(ws), buy_hold(D(150), new_price))
        smaller = await self.api.call(
            "amend_order", {"order_id": order["id"], "size": "40"}
        )  # same price: keeps its place
        self.assertEqual(D(smaller["size"]), D(40))
        self.assertEqual(await self.usd_hold(ws), buy_hold(D(40), new_price))
        self.assert_ledger_ok()
        await self.server.stop()  # a restart reads what was acknowledged
        self.server = await self.start_server()
        again = await self.api.get_order(order_id=order["id"])
        self.assertEqual((D(again["size"]), D(again["price"]), again["status"]), (D(40), new_price, "open"))
        self.assertEqual(
            [e["reason"] for e in again["events"] if e["reason"].startswith("amended")],
            [f"amended: price {new_price.normalize()}, size 150", f"amended: price {new_price.normalize()}, size 40"],
        )
        self.assertEqual(await self.usd_hold(ws), buy_hold(D(40), new_price))
        self.assert_ledger_ok()

    async def test_an_amend_racing_a_cancel_changes_nothing_when_it_loses(self):
        ws = await self.funded_set()
        for round_ in range(ROUNDS):
            order, _ = await self.resting_buy(ws, size="50")
            requests = [
                self.api.cancel_order(order_id=order["id"]),
                self.api.call("amend_order", {"order_id": order["id"], "size": "90"}),
            ]
            if round_ % 2:
                requests.reverse()
            results = await asyncio.gather(*requests, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    self.assertIsInstance(result, OrderNotFound)
            stored, _ = await self.stored(order["id"])
            self.assertEqual(stored.status.value, "cancelled")
            self.assertEqual(await self.usd_hold(ws), 0, f"round {round_}: a hold is left on a cancelled order")
        self.assert_ledger_ok()

    async def test_concurrent_amends_leave_the_hold_of_the_size_that_won_and_its_fills_settle(self):
        ws = await self.funded_set(usd="5000")
        order, price = await self.resting_buy(ws, size="10")
        sizes = [str(s) for s in range(11, 21)]
        answers = await asyncio.gather(
            *(self.api.call("amend_order", {"order_id": order["id"], "size": s}) for s in sizes)
        )
        self.assertEqual(sorted(D(a["size"]) for a in answers), [D(s) for s in sizes])
        stored, _ = await self.stored(order["id"])
        self.assertEqual(stored.size, D(answers[-1]["size"]))  # one at a time, in the order they came
        self.assertEqual(await self.usd_hold(ws), buy_hold(stored.size, price))
        ask = self.server.hub.book("coinbase", SKL).asks.best[0]
        taken = await self.api.call(
            "amend_order", {"order_id": order["id"], "price": str(ask)}
        )  # crosses: fills as a taker
        stored, fills = await self.stored(order["id"])
        self.assertEqual((taken["filled_size"], taken["status"]), (str(stored.filled_size), stored.status.value))
        self.assertEqual(sum(f.size for f in fills), stored.filled_size)
        self.assertGreater(stored.filled_size, 0)
        if stored.is_open:
            self.assertEqual(await self.usd_hold(ws), buy_hold(stored.size - stored.filled_size, ask))
        else:
            self.assertEqual(await self.usd_hold(ws), 0)
        self.assert_ledger_ok()

    async def test_a_partly_filled_buy_holds_what_its_rest_needs_no_more(self):
        ws = await self.funded_set(usd="5000")
        ask, ask_size = self.server.hub.book("coinbase", SKL).asks.best
        size = ask_size + 100  # takes the best level, rests with the rest at the ask
        order = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "price": str(ask),
                "size": str(size),
            },
        )
        stored, fills = await self.stored(order["id"])
        self.assertEqual(stored.status.value, "partially_filled")
        self.assertEqual(await self.usd_hold(ws), buy_hold(size - stored.filled_size, ask))
        self.assert_ledger_ok()

    async def test_nothing_is_announced_before_it_is_committed(self):
        ws = await self.funded_set(usd="5000", skl="5000")
        orders = self.server.trading.orders
        problems = []
        publish = self.server.trading.publish

        def checked(topic, payload):  # runs where the service announces: the database must have it already
            if topic == "orders":
                row, _ = orders.view(payload["id"])
                if row.filled_size < D(payload["filled_size"]) or (
                    payload["status"] != "pending" and row.status.value == "pending"
                ):
                    problems.append(("order ahead of the database", payload, row.to_json()))
            if topic == "fills":
                _, fills = orders.view(payload["order_id"])
                if payload["trade_id"] not in {f.trade_id for f in fills}:
                    problems.append(("fill not in the database", payload))
            publish(topic, payload)

        self.server.trading.publish = checked
        book = self.server.hub.book("coinbase", SKL)
        resting = []
        for side, best in (("buy", book.bids.best[0]), ("sell", book.asks.best[0])):
            for step in range(3):  # resting at and near the best price: the recording's trades reach them
                order = await self.api.call(
                    "make_order",
                    {
                        "wallet_set_id": ws,
                        "exchange": "coinbase",
                        "pair": "SKL_USD",
                        "side": side,
                        "size": "200",
                        "price": str(best + (-1 if side == "buy" else 1) * D("0.0001") * step),
                    },
                )
                resting.append(self.server.trading.open[order["id"]])
        self.step_until(lambda: sum(1 for o in resting if o.filled_size) >= 3)
        await asyncio.sleep(0.2)
        await self.server.trading.db(lambda: None)
        self.assertEqual(problems, [])
        for order in (await self.api.get_orders(wallet_set_id=ws, status="recent"))["orders"]:
            self.assertEqual(sum(D(f["size"]) for f in order["fills"]), D(order["filled_size"]))
        self.assert_ledger_ok()

    async def test_amends_cancels_and_fills_racing_leave_every_order_and_hold_right(self):
        """The stress run: clients placing, amending and cancelling at once on the same orders while
        the recording's trades and the other clients' orders fill them; the ledger verifies after."""
        rng = random.Random(ROUNDS)
        sets = [await self.funded_set(usd="20000", skl="20000") for _ in range(3)]
        book = self.server.hub.book("coinbase", SKL)
        acting = asyncio.Event()
        refused = (OrderNotFound, InsufficientFunds, InvalidParameter, PrecisionError, ExchangeUnavailable)

        async def market() -> None:  # the recording goes on while the clients act
            for record in self.records:
                if acting.is_set():
                    return
                self.replay.step(record, time.time())
                await asyncio.sleep(0)

        async def client(ws: int) -> None:
            mine: list[str] = []
            for _ in range(ROUNDS * 4):
                try:
                    action = rng.random()
                    open_ones = [i for i in mine if i in self.server.trading.open]
                    if action < 0.4 or not open_ones:
                        side = rng.choice(["buy", "sell"])
                        best = (book.bids if side == "buy" else book.asks).best[0]
                        price = best + D("0.0001") * rng.randint(-3, 2) * (1 if side == "sell" else -1)
                        order = await self.api.call(
                            "make_order",
                            {
                                "wallet_set_id": ws,
                                "exchange": "coinbase",
                                "pair": "SKL_USD",
                                "side": side,
                                "price": str(price),
                                "size": str(rng.randint(5, 90)),
                            },
                        )
                        mine.append(order["id"])
                    elif action < 0.8:
                        target = self.server.trading.open[rng.choice(open_ones)]
                        await asyncio.gather(
                            *(
                                self.api.call(
                                    "amend_order",
                                    {"order_id": target.id, "size": str(target.filled_size + rng.randint(1, 90))},
                                )
                                for _ in range(rng.randint(1, 3))
                            )
                        )
                    else:
                        target_id = rng.choice(open_ones)
                        await asyncio.gather(
                            self.api.cancel_order(order_id=target_id),
                            self.api.call("amend_order", {"order_id": target_id, "size": "95"}),
                            return_exceptions=False,
                        )
                except refused:
                    pass

        stepping = asyncio.create_task(market())
        await asyncio.gather(*(client(ws) for ws in sets))
        acting.set()
        await stepping
        await asyncio.sleep(0.05)
        await self.server.trading.db(lambda: None)
        self.assert_ledger_ok()
        amended = filled = 0
        for ws in sets:
            for order in (await self.api.get_orders(wallet_set_id=ws, status="recent", limit=1000))["orders"]:
                self.assertEqual(sum(D(f["size"]) for f in order["fills"]), D(order["filled_size"]), order)
                filled += bool(order["fills"])
                amended += any(
                    e["reason"].startswith("amended")
                    for e in (await self.api.get_order(order_id=order["id"]))["events"]
                )
        self.assertGreater(min(amended, filled), 2, "the run raced too little to show anything")


class OrderRequestSqlite(OrderRequestCases, OnSqlite, unittest.IsolatedAsyncioTestCase):
    pass


class OrderRequestPostgres(OrderRequestCases, OnPostgres, unittest.IsolatedAsyncioTestCase):
    pass
