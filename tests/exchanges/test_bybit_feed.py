"""The Bybit adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against the
loopback simulator replaying the Bybit capture (made up, in Bybit's documented v5 formats:
tests/fixtures/README.md). Each book is compared with one rebuilt here from the same capture with
plain json and a dict per side.

The feed pings every 0.1 s here (20 s live): after the recording Bybit sends nothing unasked, so
its pongs are all that keeps the feed from counting as silent."""

import asyncio
import json
import unittest
from decimal import Decimal

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.bybit.public import PING, BybitAdapter
from exchange_wrapper.exchanges.http import Request
from tests.exchanges.feed_case import AppPingFeedCase, SilenceCase, gone_while_away
from tests.simulator.bybit import BOOK, CANDLES_PATH, bybit_protocol
from tests.simulator.candles import MadeUpCandles
from tests.simulator.server import CAPTURES, ExchangeSimulator

HUB_LOG = "exchange_wrapper.marketdata.hub"
PROTOCOL = bybit_protocol()
RECORDING = [json.loads(message) for message in PROTOCOL.recording]
BOOK_MESSAGES = [msg for msg in RECORDING if msg.get("topic", "").startswith(BOOK)]
SYMBOLS = sorted({msg["data"]["s"] for msg in BOOK_MESSAGES})
# Bybit runs the codes together: the instruments answer names them (tests/fixtures/bybit/instruments.json)
PAIRS = {"BTCUSDT": Pair("BTC", "USDT"), "ETHUSDT": Pair("ETH", "USDT"), "SOLUSDT": Pair("SOL", "USDT")}
SENT = [
    line.partition(": ")[2]
    for line in (CAPTURES / "BYBIT.ws.0.0").read_text().splitlines()
    if " <- " in line.partition(": ")[0]
]
BTC = Pair("BTC", "USDT")


def model_after(messages):
    """symbol -> (bids, asks) as {Decimal price: Decimal size}, rebuilt from the parsed messages."""
    books = {}
    for msg in messages:
        if not msg.get("topic", "").startswith(BOOK):
            continue
        data = msg["data"]
        if msg["type"] == "snapshot":
            books[data["s"]] = ({}, {})
        for levels, rows in zip(books[data["s"]], (data["b"], data["a"])):
            for price, size in rows:
                levels[Decimal(price)] = Decimal(size)
                if not Decimal(size):
                    del levels[Decimal(price)]
    return books


def changed_prices(messages):
    """symbol -> every price a delta of ``messages`` touches."""
    prices = {}
    for msg in messages:
        if msg.get("type") == "delta" and msg.get("topic", "").startswith(BOOK):
            data = msg["data"]
            prices.setdefault(data["s"], set()).update(Decimal(level[0]) for side in ("b", "a") for level in data[side])
    return prices


def deltas_of(symbol):
    return [msg["data"] for msg in BOOK_MESSAGES if msg["data"]["s"] == symbol and msg["type"] == "delta"]


FINAL = model_after(RECORDING)


class BybitFeedCase(AppPingFeedCase):
    exchange, pairs, final, adapter_class = "bybit", PAIRS, FINAL, BybitAdapter

    def make_protocol(self):
        return bybit_protocol()


class StreamTest(BybitFeedCase):
    async def test_books_trades_and_tickers_equal_the_capture(self):
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 1)
        self.assertEqual(self.requests(), SENT)  # what the adapter sends is what the capture's client sent
        counters = self.counters()
        # the restart's snapshot (u 1) replaced BTCUSDT's book: no gap, no resync
        self.assertIn(1, [msg["data"]["u"] for msg in BOOK_MESSAGES if msg["type"] == "snapshot"])
        self.assertEqual((counters["resyncs"], counters["reconnects"], counters[Problem.SEQUENCE_GAP.value]), (0, 0, 0))
        trades = [t for msg in RECORDING if msg.get("topic", "").startswith("publicTrade") for t in msg["data"]]
        self.assertEqual(counters["trades"], len(trades))
        data = self.hub.exchange("bybit")
        self.assertEqual(
            [(t.trade_id, t.price, t.size, t.taker_side.value, t.time) for t in data.trades[BTC]][-5:],
            [
                (t["i"], Decimal(t["p"]), Decimal(t["v"]), t["S"].lower(), t["T"] / 1000)
                for t in trades
                if t["s"] == "BTCUSDT"
            ][-5:],
        )
        last_ticker = [msg for msg in RECORDING if msg.get("topic") == "tickers.SOLUSDT"][-1]
        ticker = data.tickers[Pair("SOL", "USDT")]
        self.assertEqual(
            (ticker.bid, ticker.ask, ticker.last, ticker.volume_24h, ticker.time),
            (
                None,
                None,
                Decimal(last_ticker["data"]["lastPrice"]),
                Decimal(last_ticker["data"]["volume24h"]),
                last_ticker["ts"] / 1000,
            ),
        )
        # nothing comes after the recording but the pongs: the feed stays up past its silence timeout
        pings = self.sim.received.count(PING)
        await asyncio.sleep(3 * self.silence)
        self.assertGreater(self.sim.received.count(PING), pings + 5)
        self.assertEqual(self.hub.status("bybit", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}"))

    async def test_candles_over_rest(self):
        start = 1_795_262_400
        self.protocol.candles["BTCUSDT"] = MadeUpCandles(start, start + 3600, price=Decimal("97000.00"), places=2)
        await self.until(lambda: self.feeds["bybit"].adapter is not None)
        candles = await self.feeds["bybit"].candles(BTC, 60, start + 600, start + 1200)
        made_up = self.protocol.candles["BTCUSDT"].between(start + 600, start + 1199)
        self.assertEqual(candles, [Candle(BTC, m.start, 60, m.open, m.high, m.low, m.close, m.volume) for m in made_up])
        self.assertEqual(
            self.sim.rest_calls[-1],
            f"{CANDLES_PATH}?category=spot&symbol=BTCUSDT&interval=1&start={(start + 600) * 1000}"
            f"&end={(start + 1200) * 1000 - 1}&limit=10",
        )


class DropTest(BybitFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 300
        self.sim.drop_after(700, skip=skip)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 2)
        gone = gone_while_away(model_after, changed_prices, RECORDING, self.sim.stopped_at, skip)
        self.assertGreater(sum(map(len, gone.values())), 10)
        for symbol, prices in gone.items():
            for price in prices:
                book = self.book(symbol)
                self.assertEqual((book.bids.size_at(price), book.asks.size_at(price)), (0, 0))
        counters = self.counters()
        self.assertEqual((counters["reconnects"], counters[Problem.DISCONNECTED.value]), (1, len(PAIRS)))
        self.assertEqual((counters["resyncs"], counters[Problem.SEQUENCE_GAP.value]), (0, 0))  # no resync
        self.assertEqual(self.requests(), SENT + SENT)  # subscribed again, the same way


class GapTest(BybitFeedCase):
    async def test_a_lost_delta_is_a_jump_of_u_and_the_book_alone_is_resubscribed(self):
        lost, following = deltas_of("ETHUSDT")[150:152]
        self.protocol.lose_update("ETHUSDT", lost["u"])
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.counters()[Problem.SEQUENCE_GAP.value] == 1)
            await self.finished_and_live()
        self.assertBooksAre(FINAL)
        topic = [f"{BOOK}.ETHUSDT"]
        self.assertEqual(
            [json.loads(m) for m in self.requests()[len(SENT) :]],
            [{"op": "unsubscribe", "args": topic}, {"op": "subscribe", "args": topic}],
        )
        self.assertEqual((self.counters()["resyncs"], self.sim.connections), (1, 1))
        self.assertEqual(
            logs.output,
            [
                f"WARNING:{HUB_LOG}:bybit ETH_USDT book stale, resyncing: sequence_gap: update {following['u']} "
                f"does not follow {lost['u'] - 1}"
            ],
        )


class SilenceTest(SilenceCase, BybitFeedCase):
    pass


class RateLimitTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_429_pauses_every_call(self):
        async with ExchangeSimulator(bybit_protocol()) as sim:
            now, slept = [1000.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("bybit", sim.http_url, BybitAdapter.rest_limit, clock=lambda: now[0], sleep=sleep)
            self.addCleanup(client.close)
            sim.fail_rest(429, {"Retry-After": "2"})
            request = Request(CANDLES_PATH, {"category": "spot", "symbol": "BTCUSDT", "interval": "1"})
            with self.assertRaises(RateLimited) as raised:
                await client.call(request)
            self.assertEqual(raised.exception.retry_after, 2.0)
            body = await client.call(request)
            self.assertEqual(slept, [2.0])
            self.assertEqual(json.loads(body)["retCode"], 0)


if __name__ == "__main__":
    unittest.main()
