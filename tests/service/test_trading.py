"""Paper trading through the whole service: the real Coinbase recording played into the books,
orders through the API class, records and money in the database, a restart in the middle."""
import asyncio
import tempfile
import time
import unittest
from decimal import Decimal as D
from pathlib import Path

from exchange_wrapper.config import load_settings
from exchange_wrapper.core.errors import (ExchangeUnavailable, InsufficientFunds, InvalidParameter, PrecisionError,
                                          UnknownPair)
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.service.server import Server
from exchange_wrapper.storage.verify import verify_ledger

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
REPLAY = [str(CAPTURES / "COINBASE.0"), str(CAPTURES / "COINBASE.ws.28.0")]
SKL = Pair("SKL", "USD")


class PaperTradingTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)
        self.settings = load_settings(None, env={}, overrides={
            "database_url": f"sqlite:///{self.directory.name}/xwrap.sqlite", "server.port": 0})
        self.server = await self.start_server()

    async def asyncTearDown(self):
        await self.server.stop()

    async def start_server(self):
        """A service on the recording, stepped by the test until the SKL-USD book is live."""
        server = Server(self.settings, replay=REPLAY, speed=None)
        await server.start()
        self.replay = server.replays[0]
        self.records = self.replay.records()
        self.step_until(lambda: server.hub.book("coinbase", SKL).live)
        return server

    def step_until(self, done):
        for record in self.records:
            self.replay.step(record, time.time())
            if done():
                return
        self.fail("the recording ended first")

    @property
    def api(self):
        return self.server.api

    async def funded_set(self, name="paper"):
        ws = await self.api.create_wallet_set(name=name, mode="paper")
        await self.api.fund_wallet_set(wallet_set_id=ws["id"], exchange="coinbase", currency="USD", amount="1000")
        await self.api.fund_wallet_set(wallet_set_id=ws["id"], exchange="coinbase", currency="SKL", amount="2000")
        return ws["id"]

    async def test_a_market_buy_fills_against_the_recorded_book_and_moves_the_money(self):
        ws = await self.funded_set()
        book = self.server.hub.book("coinbase", SKL)
        ask_price, ask_size = book.asks.best
        order = await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="buy",
                                          type="market", size="100", client_order_id="first")
        self.assertEqual(order["status"], "filled")
        self.assertEqual(order["client_order_id"], "first")
        self.assertLessEqual(D(100), ask_size)
        self.assertEqual([(f["price"], f["size"], f["liquidity"]) for f in order["fills"]],
                         [(str(ask_price.normalize()), "100", "taker")])
        fee = D(order["fees"])
        self.assertEqual(fee, ask_price * 100 * D("0.006"))
        usd = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="USD")
        skl = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="SKL")
        self.assertEqual(D(usd["balance"]), D(1000) - ask_price * 100 - fee)
        self.assertEqual((D(usd["hold"]), D(skl["balance"])), (D(0), D(2100)))
        again = await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="buy",
                                          type="market", size="100", client_order_id="first")
        self.assertEqual(again["id"], order["id"])
        self.assertEqual(len((await self.api.get_orders(wallet_set_id=ws, status="recent"))["orders"]), 1)
        self.assertTrue(verify_ledger(self.server.database).ok)

    async def test_resting_orders_hold_funds_and_cancel_releases_them(self):
        ws = await self.funded_set()
        bid = self.server.hub.book("coinbase", SKL).bids.best[0]
        order = await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="buy",
                                          price=str(bid - D("0.05")), size="100")
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
            await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="buy",
                                      price="0.5", size="5000")
        with self.assertRaises(PrecisionError) as caught:
            await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="buy",
                                      price="0.5", size="0.01")
        self.assertEqual(caught.exception.rule, "min_size")
        with self.assertRaises(InvalidParameter) as caught:
            await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="buy", size="1")
        self.assertEqual(caught.exception.field, "price")
        with self.assertRaises(UnknownPair):
            await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_JPY", side="buy",
                                      price="1", size="10")
        with self.assertRaises(ExchangeUnavailable):  # listed, but its book is not followed
            await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="BTC_USD", side="buy",
                                      price="1", size="10")
        usd = await self.api.get_wallet(wallet_set_id=ws, exchange="coinbase", currency="USD")
        self.assertEqual(D(usd["hold"]), 0)
        self.assertEqual((await self.api.get_orders(wallet_set_id=ws, status="recent"))["orders"], [])

    async def test_a_restart_reloads_open_orders_and_fills_nothing_twice(self):
        ws = await self.funded_set()
        book = self.server.hub.book("coinbase", SKL)
        far = await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="sell",
                                        price=str(book.asks.best[0] + D("0.1")), size="300")
        taken = await self.api.make_order(wallet_set_id=ws, exchange="coinbase", pair="SKL_USD", side="buy",
                                          type="market", size="50")
        await self.server.stop()
        self.server = await self.start_server()
        for _ in range(100):
            if far["id"] in self.server.trading.open and not self.server.trading._waiting:
                break
            await asyncio.sleep(0.05)
        self.assertEqual(self.server.trading._waiting, {})
        engine = self.server.trading.engines[("coinbase", SKL)]
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
