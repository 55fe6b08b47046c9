"""The feed runner's own behaviour: no network, refused connections, scheduled replacement."""

import asyncio
import socket
import unittest

from exchange_wrapper.config import ExchangeSettings
from exchange_wrapper.connectors.feed import ExchangeFeed
from exchange_wrapper.core.marketdata import FeedStatus, Problem
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.coinbase.public import CoinbaseAdapter
from exchange_wrapper.marketdata.hub import MarketDataHub
from tests.exchanges.test_coinbase_feed import FINAL, PAIRS, PRODUCTS, book_levels
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.server import ExchangeSimulator


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FeedCase(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)
        self.hub = MarketDataHub()
        self.waits, self.statuses = [], []

    async def sleep(self, seconds):
        self.waits.append(seconds)
        self.statuses.append(self.hub.status("coinbase", 0))
        await asyncio.sleep(0.001)

    def feed(self, settings, adapter=CoinbaseAdapter, **options):
        feed = ExchangeFeed(adapter, settings, self.hub, sleep=self.sleep, backoff=Backoff(0.5, 8.0), **options)
        feed.start()
        self.addAsyncCleanup(feed.stop)
        return feed

    async def until(self, condition, timeout=8.0):
        async def wait():
            while not condition():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(wait(), timeout)


class NoNetworkTest(FeedCase):
    async def test_without_the_exchange_it_shows_down_with_the_reason_and_retries_with_backoff(self):
        port = closed_port()
        self.feed(ExchangeSettings(pairs=PAIRS, rest_url=f"http://127.0.0.1:{port}", ws_url=f"ws://127.0.0.1:{port}/"))
        await self.until(lambda: len(self.waits) >= 6)
        for status, reason in self.statuses:  # as it waits to try again
            self.assertEqual(status, FeedStatus.DOWN)
            self.assertEqual(
                reason,
                "markets not loaded: coinbase unavailable: no answer from /products: "
                "ConnectionError (Connection refused)",
            )
        ceilings = [0.5, 1, 2, 4, 8, 8]
        for wait, ceiling in zip(self.waits, ceilings):
            self.assertTrue(ceiling / 2 <= wait <= ceiling, (wait, ceiling))

    async def test_a_refused_websocket_is_retried_and_counted(self):
        async with ExchangeSimulator(coinbase_protocol()) as sim:
            self.feed(ExchangeSettings(pairs=PAIRS, rest_url=sim.http_url, ws_url=f"ws://127.0.0.1:{closed_port()}/"))
            await self.until(lambda: self.hub.counters("coinbase")["reconnects"] >= 3)
            for status, reason in self.statuses:
                self.assertEqual(status, FeedStatus.DOWN)
                self.assertTrue(reason.startswith("cannot connect: ConnectionRefusedError"), reason)


class ShortLivedCoinbase(CoinbaseAdapter):
    connection_lifetime = 0.25


class ReplacementTest(FeedCase):
    async def test_a_connection_is_replaced_before_its_lifetime_and_the_books_stay_right(self):
        async with ExchangeSimulator(coinbase_protocol()) as sim:
            self.feed(ExchangeSettings(pairs=PAIRS, rest_url=sim.http_url, ws_url=sim.ws_url), ShortLivedCoinbase)

            def book(product):
                return self.hub.book("coinbase", Pair.parse(product.replace("-", "_")))

            try:
                await self.until(
                    lambda: sim.finished.is_set() and all(book_levels(book(p)) == FINAL[p] for p in PRODUCTS),
                    timeout=10,
                )
            except TimeoutError:
                pass
            for product in PRODUCTS:
                self.assertEqual(book_levels(book(product)), FINAL[product])
            self.assertGreaterEqual(sim.connections, 2)
            counters = self.hub.counters("coinbase")
            self.assertEqual((counters["reconnects"], counters[Problem.DISCONNECTED.value]), (0, 0))


if __name__ == "__main__":
    unittest.main()
