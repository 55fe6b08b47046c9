"""LiveAccount against the loopback Binance, without the service: the limits it paces under (the
published ones, and what the exchange's headers say was spent from elsewhere on the same IP), and
the user data stream's gap after a reconnection filled by queries. The behaviours through the
whole service are in tests/service/test_live_trading.py."""

import asyncio
import unittest
from decimal import Decimal as D

import requests

from exchange_wrapper.config import ExchangeSettings
from exchange_wrapper.connectors.account import LiveAccount
from exchange_wrapper.core.orders import Order, OrderType, Side
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.exchanges.binance.private import BinancePrivate
from exchange_wrapper.exchanges.private import Quota
from exchange_wrapper.marketdata.hub import MarketDataHub
from tests.service.live_case import Clock
from tests.simulator.binance_private import API_KEY, API_SECRET, BinanceExchange


class Owner:
    """Keeps what the account hands over."""

    def __init__(self):
        self.events, self.reconciled = [], []

    async def store_events(self, events):
        self.events += events

    async def store_client_id(self, order, client_id):
        pass

    async def reconcile(self, exchange, balances):
        self.reconciled.append(balances)
        return []


class LiveAccountTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)
        self.clock = Clock()
        self.clock.skip(60 - self.clock() % 60 + 1)  # a second into a minute: the weight window does not roll
        self.sim = await BinanceExchange(balances={"BTC": D("0.5")}, clock=self.clock).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        settings = ExchangeSettings(
            mode="live",
            api_key=API_KEY,
            api_secret=API_SECRET,
            rest_url=self.sim.rest_url,
            ws_url=self.sim.ws_url,
            pairs=["LRC_BTC"],
        )
        self.owner = Owner()
        self.account = LiveAccount(
            BinancePrivate, settings, MarketDataHub(), self.owner, clock=self.clock, backoff=Backoff(0.3, 0.3)
        )
        self.addAsyncCleanup(self.account.stop)
        await self.account.open()
        await self.account.recover([], {}, {})
        self.account.set_ready()

    async def test_the_published_limits_and_the_weight_counted_from_elsewhere(self):
        self.assertEqual(self.account.quotas["REQUEST_WEIGHT 1m"], Quota("REQUEST_WEIGHT 1m", "weight", 1200, 60))
        self.assertEqual(self.account.quotas["ORDERS 10s"], Quota("ORDERS 10s", "orders", 50, 10))
        for _ in range(25):  # another client on the same IP (the market-data feed) spends 500 weight
            await asyncio.to_thread(requests.get, self.sim.rest_url + "/api/v3/exchangeInfo", timeout=5)
        await self.account.balances()
        # the exchange counts 20 (exchangeInfo) + 1 (time) + 80 (open orders) + 500 + 20 (account): 621 of
        # 1200 this minute. Half the limit is the burst: the account holds 600 - 621, a debt to wait out at
        # 10 weight a second, where its own count (121 spent) would have left 479.
        self.assertEqual(self.sim.limits[0][2].used, 621)
        bucket = self.account.buckets["REQUEST_WEIGHT 1m"]
        self.assertAlmostEqual(bucket.reserve(self.clock(), 1), 2.2, delta=0.1)

    async def test_fills_while_the_stream_was_away_are_fetched_after_it_comes_back(self):
        await asyncio.wait_for(self._subscribed(), 5)
        order = Order(
            id="1",
            client_order_id="c1",
            wallet_set_id=1,
            exchange="binance",
            pair="LRC_BTC",
            side=Side.BUY,
            type=OrderType.LIMIT,
            size=D(1000),
            price=D("0.0000063"),
        )
        await self.account.place(order)
        self.assertEqual(order.status.value, "open")
        await self.sim.drop_streams()
        await self.sim.fill(self.sim.account.orders[int(order.exchange_order_id)], D(300))  # nobody listening
        self.assertEqual(order.filled_size, 0)
        async with asyncio.timeout(5):
            while order.filled_size != 300:
                await asyncio.sleep(0.01)
        self.assertEqual(
            [e.fill.trade_id for e in self.owner.events if e.fill], [str(self.sim.account.trades[0].trade_id)]
        )
        self.assertEqual(self.sim.calls.count("GET", "/api/v3/myTrades"), 1)
        self.assertIn("subscribed", self.account.stream_state)

    async def _subscribed(self):
        while "subscribed" not in self.account.stream_state:
            await asyncio.sleep(0.01)


if __name__ == "__main__":
    unittest.main()
