"""``xwrap serve`` with the ccxt entry: ccxt's binance class on the Binance simulator, its books polled,
paper orders filled against a polled book through the REST door, the liquidity they took staying taken
across polls that show the same level (as on a streamed book)."""

import asyncio
import tempfile
import unittest

from exchange_wrapper.config import load_settings
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.service.server import Server
from tests.simulator.binance import binance_protocol
from tests.simulator.server import ExchangeSimulator

from .recorded import http

V1 = "/xwrap/v1"


class CcxtServiceTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.sim = await ExchangeSimulator(binance_protocol()).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        settings = load_settings(
            None,
            env={},
            overrides={
                "database_url": f"sqlite:///{directory.name}/xwrap.sqlite",
                "server.port": 0,
                "timeseries.backend": "none",
                **{f"exchanges.{name}.enabled": False for name in EXCHANGE_NAMES},
                "exchanges.ccxt.enabled": True,
                "exchanges.ccxt.exchange_id": "binance",
                "exchanges.ccxt.rest_url": self.sim.http_url,
                "exchanges.ccxt.pairs": ["LRC_BTC"],
                "exchanges.ccxt.poll_seconds": "0.05",
                "exchanges.ccxt.stream": False,  # ccxt streams Binance: polled here
            },
        )
        self.server = Server(settings, feed_options={"backoff": Backoff(0.01, 0.05)})
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)
        self.base = f"http://127.0.0.1:{self.server.port}"

    async def ok(self, method, path, body=None):
        status, _, answer = await asyncio.to_thread(http, self.base + path, method, body)
        self.assertIn(status, (200, 201), answer)
        return answer

    async def polls(self, count):
        """Wait until the simulator has served ``count`` more depth snapshots."""
        target = len(self.depth_calls()) + count
        async with asyncio.timeout(5):
            while len(self.depth_calls()) < target:
                await asyncio.sleep(0.01)

    def depth_calls(self):
        return [path for path in self.sim.rest_calls if path.startswith("/api/v3/depth")]

    async def test_paper_orders_fill_against_the_polled_book(self):
        async with asyncio.timeout(8):
            while (await self.ok("GET", f"{V1}/exchanges"))["ccxt"]["status"] != "ready":
                await asyncio.sleep(0.05)
        exchange = (await self.ok("GET", f"{V1}/exchanges"))["ccxt"]
        self.assertEqual(exchange["reason"], "polling 1 books of ccxt binance every 0.05 s")
        book = await self.ok("GET", f"{V1}/book?exchange=ccxt&pair=LRC_BTC&depth=2")
        self.assertEqual((book["state"], book["asks"][0]), ("live", ["0.00000638", "24365"]))
        self.assertLess(book["age"], 1)
        market = (await self.ok("GET", f"{V1}/markets?exchange=ccxt&pair=LRC_BTC"))[0]
        self.assertEqual((market["tick_size"], market["size_step"], market["min_size"]), ("0.00000001", "1", "1"))

        wallet_set = (await self.ok("POST", f"{V1}/wallet_sets", {"name": "paper"}))["id"]
        fund = {"exchange": "ccxt", "currency": "BTC", "amount": "1"}
        await self.ok("POST", f"{V1}/wallet_sets/{wallet_set}/fund", fund)
        order = {"wallet_set_id": wallet_set, "exchange": "ccxt", "pair": "LRC_BTC", "side": "buy"}
        first = await self.ok("POST", f"{V1}/orders", {**order, "price": "0.00000638", "size": "20000"})
        self.assertEqual((first["status"], first["filled_size"]), ("filled", "20000"))
        await self.polls(3)  # the simulator's book has not moved: 24365 still shown at 0.00000638
        second = await self.ok("POST", f"{V1}/orders", {**order, "price": "0.00000638", "size": "10000"})
        self.assertEqual((second["status"], second["filled_size"]), ("partially_filled", "4365"))  # 24365 - 20000 left
        self.assertEqual([fill["price"] for fill in second["fills"]], ["0.00000638"])
        wallets = (await self.ok("GET", f"{V1}/wallet_sets/{wallet_set}"))["wallets"]
        lrc = next(w for w in wallets if w["currency"] == "LRC")
        self.assertEqual(lrc["balance"], "24365")
