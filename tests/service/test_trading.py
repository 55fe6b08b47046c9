"""Paper trading through the whole service: the real Coinbase recording played into the books,
orders through the API class, records and money in the database, a restart in the middle."""

import asyncio
import os
import tempfile
import time
import unittest
from decimal import Decimal as D

from exchange_wrapper.config import load_settings
from exchange_wrapper.core.errors import (
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidParameter,
    MarketClosed,
    PrecisionError,
    UnknownPair,
)
from exchange_wrapper.service.server import Server
from exchange_wrapper.storage.verify import verify_ledger

from .stepped import REPLAY, SKL, SteppedReplay


class PaperTradingTest(SteppedReplay, unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)
        self.settings = load_settings(
            None, env={}, overrides={"database_url": f"sqlite:///{self.directory.name}/xwrap.sqlite", "server.port": 0}
        )
        self.server = await self.start_server()

    async def funded_set(self, name="paper"):
        ws = await self.api.call("create_wallet_set", {"name": name, "mode": "paper"})
        await self.api.call(
            "fund_wallet_set", {"wallet_set_id": ws["id"], "exchange": "coinbase", "currency": "USD", "amount": "1000"}
        )
        await self.api.call(
            "fund_wallet_set", {"wallet_set_id": ws["id"], "exchange": "coinbase", "currency": "SKL", "amount": "2000"}
        )
        return ws["id"]

    async def test_a_market_buy_fills_against_the_recorded_book_and_moves_the_money(self):
        ws = await self.funded_set()
        book = self.server.hub.book("coinbase", SKL)
        ask_price, ask_size = book.asks.best
        order = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "type": "market",
                "size": "100",
                "client_order_id": "first",
            },
        )
        self.assertEqual(order["status"], "filled")
        self.assertEqual(order["client_order_id"], "first")
        self.assertLessEqual(D(100), ask_size)
        self.assertEqual(
            [(f["price"], f["size"], f["liquidity"]) for f in order["fills"]],
            [(str(ask_price.normalize()), "100", "taker")],
        )
        fee = D(order["fees"])
        self.assertEqual(fee, ask_price * 100 * D("0.006"))
        usd = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="USD")
        skl = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="SKL")
        self.assertEqual(D(usd["balance"]), D(1000) - ask_price * 100 - fee)
        self.assertEqual((D(usd["hold"]), D(skl["balance"])), (D(0), D(2100)))
        self.step_until(lambda: len(self.server.hub.exchanges["coinbase"].trades.get(SKL, ())) >= 3)
        trades = await self.api.call("get_trades", {"exchange": "coinbase", "pair": "SKL_USD", "limit": 2})
        recent = list(self.server.hub.exchanges["coinbase"].trades[SKL])
        self.assertEqual([t["trade_id"] for t in trades], [recent[-1].trade_id, recent[-2].trade_id])
        self.assertEqual(trades[0]["price"], str(recent[-1].price.normalize()))
        again = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "type": "market",
                "size": "100",
                "client_order_id": "first",
            },
        )
        self.assertEqual(again["id"], order["id"])
        self.assertEqual(len((await self.api.get_orders(wallet_set_id=ws, status="recent"))["orders"]), 1)
        self.assertTrue(verify_ledger(self.server.database).ok)

    async def test_resting_orders_hold_funds_and_cancel_releases_them(self):
        ws = await self.funded_set()
        bid = self.server.hub.book("coinbase", SKL).bids.best[0]
        order = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "price": str(bid - D("0.05")),
                "size": "100",
            },
        )
        self.assertEqual(order["status"], "open")
        usd = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="USD")
        self.assertEqual(D(usd["hold"]), (bid - D("0.05")) * 100 * D("1.006"))
        cancelled = await self.api.cancel_order(order_id=order["id"])
        self.assertEqual(cancelled["status"], "cancelled")
        usd = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="USD")
        self.assertEqual((D(usd["hold"]), D(usd["available"])), (D(0), D(1000)))
        detail = await self.api.get_order(order_id=order["id"])
        self.assertEqual([e["to"] for e in detail["events"]], ["pending", "open", "cancelled"])

    async def test_what_is_refused_and_why(self):
        ws = await self.funded_set()
        with self.assertRaises(InsufficientFunds):
            await self.api.call(
                "make_order",
                {
                    "wallet_set_id": ws,
                    "exchange": "coinbase",
                    "pair": "SKL_USD",
                    "side": "buy",
                    "price": "0.5",
                    "size": "5000",
                },
            )
        with self.assertRaises(PrecisionError) as caught:
            await self.api.call(
                "make_order",
                {
                    "wallet_set_id": ws,
                    "exchange": "coinbase",
                    "pair": "SKL_USD",
                    "side": "buy",
                    "price": "0.5",
                    "size": "0.01",
                },
            )
        self.assertEqual(caught.exception.rule, "min_size")
        with self.assertRaises(InvalidParameter) as caught:
            await self.api.call(
                "make_order",
                {"wallet_set_id": ws, "exchange": "coinbase", "pair": "SKL_USD", "side": "buy", "size": "1"},
            )
        self.assertEqual(caught.exception.field, "price")
        with self.assertRaises(UnknownPair):
            await self.api.call(
                "make_order",
                {
                    "wallet_set_id": ws,
                    "exchange": "coinbase",
                    "pair": "SKL_JPY",
                    "side": "buy",
                    "price": "1",
                    "size": "10",
                },
            )
        with self.assertRaises(MarketClosed) as caught:  # limit-only in the recorded metadata
            await self.api.call(
                "make_order",
                {
                    "wallet_set_id": ws,
                    "exchange": "coinbase",
                    "pair": "DAI_USD",
                    "side": "buy",
                    "type": "market",
                    "size": "10",
                },
            )
        self.assertEqual(caught.exception.reason, "market is limit_only")
        with self.assertRaises(ExchangeUnavailable):  # listed, but its book is not followed
            await self.api.call(
                "make_order",
                {
                    "wallet_set_id": ws,
                    "exchange": "coinbase",
                    "pair": "BTC_USD",
                    "side": "buy",
                    "price": "1",
                    "size": "10",
                },
            )
        usd = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="USD")
        self.assertEqual(D(usd["hold"]), 0)
        self.assertEqual((await self.api.get_orders(wallet_set_id=ws, status="recent"))["orders"], [])

    async def test_a_restart_reloads_open_orders_and_fills_nothing_twice(self):
        ws = await self.funded_set()
        book = self.server.hub.book("coinbase", SKL)
        far = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "sell",
                "price": str(book.asks.best[0] + D("0.1")),
                "size": "300",
            },
        )
        taken = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "type": "market",
                "size": "50",
            },
        )
        await self.server.stop()
        self.server = await self.start_server()
        for _ in range(100):
            if far["id"] in self.server.trading.open and not self.server.trading.paper_venue.waiting:
                break
            await asyncio.sleep(0.05)
        self.assertEqual(self.server.trading.paper_venue.waiting, {})
        engine = self.server.trading.paper_venue.engines[("coinbase", SKL)]
        self.assertIn(far["id"], [o.id for o in engine.open_orders()])
        again = await self.api.get_order(order_id=taken["id"])
        self.assertEqual((again["status"], len(again["fills"])), ("filled", 1))
        skl = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="SKL")
        self.assertEqual((D(skl["balance"]), D(skl["hold"])), (D(2050), D(300)))
        cancelled = await self.api.cancel_order(order_id=far["id"])
        self.assertEqual(cancelled["status"], "cancelled")
        self.assertTrue(verify_ledger(self.server.database).ok)


if __name__ == "__main__":
    unittest.main()


class PaperTradingPropertyTest(unittest.IsolatedAsyncioTestCase):
    """Random orders, amends and cancels over the whole recording, several seeds: the ledger
    balances, no wallet goes negative, every fill is one the book or a trade allowed."""

    SEEDS = range(int(os.environ.get("XWRAP_SEEDS", "2")))  # XWRAP_SEEDS=50 for a long run

    async def test_random_sessions(self):
        import random

        for seed in self.SEEDS:
            with self.subTest(seed=seed):
                await self.session(random.Random(seed))

    async def session(self, rng):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        settings = load_settings(
            None, env={}, overrides={"database_url": f"sqlite:///{directory.name}/xwrap.sqlite", "server.port": 0}
        )
        server = Server(settings, replay=REPLAY, speed=None)
        await server.start()
        try:
            api, hub = server.api, server.hub
            sets = []
            for name in ("a", "b"):
                ws = (await api.call("create_wallet_set", {"name": name, "mode": "paper"}))["id"]
                await api.call(
                    "fund_wallet_set", {"wallet_set_id": ws, "exchange": "coinbase", "currency": "USD", "amount": "300"}
                )
                await api.call(
                    "fund_wallet_set", {"wallet_set_id": ws, "exchange": "coinbase", "currency": "SKL", "amount": "400"}
                )
                sets.append(ws)
            replay = server.replays[0]
            placed = []
            for record in replay.records():
                replay.step(record, time.time())
                book = hub.book("coinbase", SKL)
                if not book.live or rng.random() > 0.015:
                    continue
                await asyncio.sleep(0)  # let stored events settle like the loop would
                ws = rng.choice(sets)
                side = rng.choice(["buy", "sell"])
                best = (book.asks if side == "buy" else book.bids).best[0]
                kind = rng.choice(["market", "limit", "limit", "limit"])
                params = dict(
                    wallet_set_id=ws,
                    exchange="coinbase",
                    pair="SKL_USD",
                    side=side,
                    type=kind,
                    size=str(rng.randint(1, 300)),
                )
                if kind == "limit":
                    params["price"] = str(best + D("0.0001") * rng.randint(-20, 20))
                    params["time_in_force"] = rng.choice(["GTC", "GTC", "IOC", "FOK"])
                try:
                    placed.append(await api.call("make_order", params))
                except (InsufficientFunds, PrecisionError):
                    pass
                open_orders = list(server.trading.open.values())
                if open_orders and rng.random() < 0.3:
                    target = rng.choice(open_orders)
                    if rng.random() < 0.5:
                        await api.cancel_order(order_id=target.id)
                    elif target.price is not None:
                        try:
                            await api.call(
                                "amend_order",
                                {"order_id": target.id, "size": str(max(target.filled_size + 1, target.size - 1))},
                            )
                        except (InsufficientFunds, InvalidParameter, ExchangeUnavailable):
                            pass
            await asyncio.sleep(0.1)
            await server.trading.db(lambda: None)
            self.assertTrue(placed)
            report = verify_ledger(server.database)
            self.assertTrue(report.ok, report.as_json())
            for ws in sets:
                for wallet in (await api.get_wallet_set(wallet_set_id=ws))["wallets"]:
                    self.assertGreaterEqual(D(wallet["available"]), 0, wallet)
                    self.assertGreaterEqual(D(wallet["hold"]), 0, wallet)
            for order in (await api.get_orders(status="recent", limit=1000))["orders"]:
                self.assertLessEqual(D(order["filled_size"]), D(order["size"]))
                self.assertEqual(sum(D(f["size"]) for f in order["fills"]), D(order["filled_size"]))
                for fill in order["fills"]:
                    if order["price"] is not None:  # a limit never fills beyond its price
                        better = (
                            D(fill["price"]) <= D(order["price"])
                            if order["side"] == "buy"
                            else D(fill["price"]) >= D(order["price"])
                        )
                        self.assertTrue(better, (order, fill))
        finally:
            await server.stop()
