"""A backtest, run twice: the service on the real Coinbase capture in recorded time, stepped from one
recorded moment to the next, a scripted strategy sending orders over JSON-RPC at each moment (market
orders, resting limits that public trades and the book reach, a GTD expiry, a cancel), with paper
latency drawn at random from the seed. Every fill of the second run is the first run's: price, size,
liquidity, time and cause."""

import asyncio
import math
import tempfile
import unittest
from decimal import Decimal as D

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.config import load_settings
from exchange_wrapper.replay.playback import MAX_SPEED, PlaybackOptions
from exchange_wrapper.service.server import Server

from ..service.recorded import REPLAY
from .test_playback import FIRST, LAST

START = FIRST + 1.5  # every Coinbase snapshot came in the first half second
LATENCY = {
    "paper.latency.model": "uniform",
    "paper.latency.order_ms": "60",
    "paper.latency.cancel_ms": "40",
    "paper.latency.jitter_ms": "50",
}
PAIR = {"exchange": "coinbase", "pair": "SKL_USD"}


class Backtest:
    """One run: a fresh database, the service stepped by the script, what the orders' fills were."""

    def __init__(self, seed=0):
        self.seed = seed

    async def run(self):
        with tempfile.TemporaryDirectory() as directory:
            settings = load_settings(
                None,
                env={},
                overrides={"database_url": f"sqlite:///{directory}/xwrap.sqlite", "server.port": 0, **LATENCY},
            )
            options = PlaybackOptions(start=START, recorded_clock=True, steps=True, seed=self.seed)
            self.server = Server(settings, replay=REPLAY, speed=MAX_SPEED, playback=options)
            await self.server.start()
            try:
                client = self.client = await AsyncClient(f"ws://127.0.0.1:{self.server.port}").connect()
                try:
                    return await self.strategy(client)
                finally:
                    await client.close()
            finally:
                await self.server.stop()

    async def at(self, moment):
        """Let the replay play up to ``moment`` and hold there, as a script asks it (advance_replay);
        the moment it holds at (infinity once the recording has ended)."""
        replay = await self.client.advance_replay(until=moment)
        return math.inf if replay["state"] == "finished" else replay["time"]

    async def strategy(self, client):
        wallet_set = (await client.create_wallet_set(name="backtest"))["id"]
        for currency, amount in (("USD", "20000"), ("SKL", "50000")):
            await client.fund_wallet_set(
                wallet_set_id=wallet_set, exchange="coinbase", currency=currency, amount=amount
            )
        orders = []  # client order ids, in the order sent

        async def send(**order):
            name = f"o{len(orders) + 1}"
            orders.append(name)
            await client.make_order(wallet_set_id=wallet_set, client_order_id=name, **PAIR, **order)

        async def top():
            book = await client.get_book(**PAIR, depth=1)
            return D(book["bids"][0][0]), D(book["asks"][0][0])

        await self.at(START)
        tick = D("0.0001")
        for second in range(0, 26, 2):  # a moment every two recorded seconds
            moment = START + second + 0.125
            assert await self.at(moment) == moment
            bid, ask = await top()
            await send(side="buy", type="market", size="150")  # takes the asks
            await send(side="buy", type="limit", price=str(bid), size="400")  # rests at the bid: trades reach it
            await send(side="sell", type="limit", price=str(ask), size="400")
            if second % 4 == 0:
                await send(side="sell", type="market", size="120")
                await send(
                    side="buy",
                    type="limit",
                    price=str(bid - tick),
                    size="300",
                    time_in_force="GTD",
                    expire_time=moment + 1.5,
                )
            if second == 6:  # one cancel: its latency lets a fill in meanwhile, or not
                await client.cancel_order(client_order_id="o2", wallet_set_id=wallet_set)
        assert await self.at(LAST + 10) == math.inf  # the recording ends first
        fills, statuses = {}, {}
        for name in orders:
            order = await client.get_order(client_order_id=name, wallet_set_id=wallet_set)
            statuses[name] = (order["status"], order["reason"], order["updated_at"], order["filled_size"])
            fills[name] = [
                (f["price"], f["size"], f["liquidity"], f["time"], f["cause"])
                for f in await client.get_fills(order_id=order["id"])
            ]
        return fills, statuses


class BacktestTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # the replay is played in the test's loop, 10,000 records a run

    async def test_the_same_orders_at_the_same_recorded_moments_fill_the_same_run_after_run(self):
        first = await Backtest().run()
        second = await Backtest().run()
        fills, statuses = first
        self.assertEqual(second, first)
        every = [fill for order in fills.values() for fill in order]
        causes = {fill[4]["type"] for fill in every}
        self.assertTrue({"book_level", "public_trade"} <= causes, causes)  # takers, and makers reached by trades
        self.assertEqual({fill[2] for fill in every}, {"maker", "taker"})
        self.assertTrue(all(START < fill[3] <= LAST for fill in every))  # recorded time, not the wall's
        self.assertIn("expired", {status for status, _, _, _ in statuses.values()})
        expired = [(name, at) for name, (status, _, at, _) in statuses.items() if status == "expired"]
        self.assertTrue(all(START < at <= LAST for _, at in expired), expired)
        self.assertEqual(statuses["o2"][0], "cancelled")
        for fill in every:
            cause = fill[4]
            if cause["type"] == "book_level":  # the book state it took, as the recording has it
                self.assertTrue(START - 1 < cause["book_time"] <= fill[3], cause)
            if cause["type"] == "public_trade":
                self.assertTrue(cause["trade_id"].isdigit(), cause)

    async def test_another_seed_draws_other_latencies(self):
        first, _ = await Backtest(seed=0).run()
        other, _ = await Backtest(seed=1).run()
        times = sorted(fill[3] for fills in first.values() for fill in fills if fill[2] == "taker")
        other_times = sorted(fill[3] for fills in other.values() for fill in fills if fill[2] == "taker")
        self.assertNotEqual(times, other_times)


if __name__ == "__main__":
    unittest.main()
