"""The Binance adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against
the loopback simulator replaying the real capture and serving fresh depth snapshots of its own
book model. Each book is compared with one rebuilt here from the raw capture with plain json and a
dict per side, cut to 1000 levels a side where the simulator served a snapshot."""

import asyncio
import functools
import json
import unittest
from decimal import Decimal

from exchange_wrapper.connectors.feed import ExchangeFeed
from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem
from exchange_wrapper.core.pacing import Backoff, RateLimit
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.binance import public as binance
from exchange_wrapper.exchanges.binance.public import BinanceAdapter
from exchange_wrapper.exchanges.http import Request
from tests.exchanges.feed_case import FeedCase, gone_while_away
from tests.exchanges.test_binance import BODY as EXCHANGE_INFO
from tests.exchanges.test_binance import SNAPSHOTS, SYMBOLS, book_at, independent_book, recorded
from tests.simulator.binance import binance_protocol
from tests.simulator.server import ExchangeSimulator

RECORDING = binance_protocol().recording
PAIRS = [str(pair) for pair in SYMBOLS.values()]
HUB_LOG = "exchange_wrapper.marketdata.hub"

expected_book = functools.cache(independent_book)  # read only: each poll of the tests asks again


class BinanceFeedCase(FeedCase):
    exchange = "binance"
    pairs = SYMBOLS
    silence = 3.0
    pace = 0.0  # between streamed messages; above 0 the stream goes on while snapshots are fetched

    def make_protocol(self):
        return binance_protocol()

    def start(self):
        self.sim.pace = self.pace
        return super().start()

    async def until(self, condition, timeout=8.0):
        """Return as soon as ``condition()`` holds, in this task: what follows sees the same state
        (a connection replaced meanwhile would have its books waiting for snapshots)."""
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)

    @property
    def final(self):
        """symbol -> (bids, asks): the capture rebuilt from the last snapshot served of each book."""
        last = dict(self.protocol.served)
        return {symbol: expected_book(symbol, last[symbol]) for symbol in SYMBOLS}

    def served(self, symbol):
        return [update_id for name, update_id in self.protocol.served if name == symbol]

    def assertBooksAreTheCapture(self):
        self.assertBooksAre(self.final)
        for symbol in SYMBOLS:
            self.assertEqual(self.book(symbol).sequence, recorded("depth@100ms", symbol)[-1]["u"])


class StreamTest(BinanceFeedCase):
    async def test_books_trades_and_tickers_from_the_stream_equal_the_capture_read_independently(self):
        await self.finished_and_live()
        self.assertBooksAreTheCapture()
        self.assertEqual(self.sim.connections, 1)
        counters = self.hub.counters("binance")
        self.assertEqual(
            (
                counters["resyncs"],
                counters["reconnects"],
                counters[Problem.SEQUENCE_GAP.value],
                counters[Problem.CROSSED.value],
            ),
            (0, 0, 0, 0),
        )
        self.assertEqual(self.hub.status("binance", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}stream"))
        # one SUBSCRIBE for every stream; metadata then one snapshot per book, over REST
        self.assertEqual(json.loads(self.sim.received[0])["method"], "SUBSCRIBE")
        self.assertEqual(len(json.loads(self.sim.received[0])["params"]), 12)
        self.assertEqual(self.sim.rest_calls[0], "/api/v3/exchangeInfo")
        self.assertEqual(
            sorted(self.sim.rest_calls[1:]), sorted(f"/api/v3/depth?symbol={symbol}&limit=1000" for symbol in SYMBOLS)
        )
        # the REST weight is the one exchangeInfo published (1200 a minute in the capture)
        self.assertEqual(self.feeds["binance"].rest.bucket.limit, RateLimit(10, 600))
        data = self.hub.exchange("binance")
        self.assertEqual(counters["trades"], 2)
        last_trade = recorded("aggTrade", "LRCBTC")[-1]
        trade = data.trades[Pair("LRC", "BTC")][-1]
        self.assertEqual(
            (trade.trade_id, trade.price, trade.size, trade.taker_side.value, trade.time),
            (
                str(last_trade["a"]),
                Decimal(last_trade["p"]),
                Decimal(last_trade["q"]),
                "sell" if last_trade["m"] else "buy",
                last_trade["T"] / 1000,
            ),
        )
        last_ticker = recorded("bookTicker", "NKNUSDT")[-1]
        ticker = data.tickers[Pair("NKN", "USDT")]
        self.assertEqual(
            (ticker.bid, ticker.bid_size, ticker.ask, ticker.ask_size), tuple(Decimal(last_ticker[k]) for k in "bBaA")
        )

    async def test_candles_over_rest(self):
        await self.until(self.sim.finished.is_set)
        candles = await self.feeds["binance"].candles(Pair("NKN", "USDT"), 60, 1633998480, 1633998540)
        k = recorded("kline_1m", "NKNUSDT")[-1]["k"]
        self.assertEqual(
            candles,
            [
                Candle(
                    Pair("NKN", "USDT"),
                    k["t"] // 1000,
                    60,
                    Decimal(k["o"]),
                    Decimal(k["h"]),
                    Decimal(k["l"]),
                    Decimal(k["c"]),
                    Decimal(k["v"]),
                )
            ],
        )
        self.assertEqual(candles[0].close, Decimal("0.3528"))
        self.assertEqual(
            self.sim.rest_calls[-1],
            "/api/v3/klines?symbol=NKNUSDT&interval=1m&startTime=1633998480000&endTime=1633998539999&limit=1",
        )


def changed_prices(messages):
    """symbol -> every price a diff of ``messages`` touches."""
    prices = {}
    for text in messages:
        data = json.loads(text)["data"]
        if data.get("e") == "depthUpdate":
            prices.setdefault(data["s"], set()).update(Decimal(p) for p, _ in data["b"] + data["a"])
    return prices


def books_after(messages):
    """symbol -> (bids, asks) once the recorded ``messages`` have passed."""
    reached = {symbol: json.loads(SNAPSHOTS[symbol].body)["lastUpdateId"] for symbol in SYMBOLS}
    for text in messages:
        data = json.loads(text)["data"]
        if data.get("e") == "depthUpdate":
            reached[data["s"]] = max(reached[data["s"]], data["u"])
    return {symbol: book_at(symbol, update_id) for symbol, update_id in reached.items()}


class DropTest(BinanceFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 80
        self.sim.drop_after(60, skip=skip)
        await self.finished_and_live()
        self.assertBooksAreTheCapture()
        self.assertEqual(self.sim.connections, 2)
        self.assertEqual([len(self.served(symbol)) for symbol in SYMBOLS], [2] * 4)
        # Levels removed while the feed was away: only the new snapshot can leave them out.
        gone = gone_while_away(books_after, changed_prices, RECORDING, self.sim.stopped_at, skip)
        self.assertGreaterEqual(sum(map(len, gone.values())), 5)
        for symbol, prices in gone.items():
            book = self.book(symbol)
            for price in prices:
                self.assertEqual((book.bids.size_at(price), book.asks.size_at(price)), (0, 0))
        counters = self.hub.counters("binance")
        self.assertEqual(
            (counters["reconnects"], counters[Problem.DISCONNECTED.value], counters["resyncs"]), (1, len(SYMBOLS), 0)
        )  # a reconnect's snapshots are not resyncs


class SilenceTest(BinanceFeedCase):
    silence = 0.3

    async def test_a_silent_feed_is_detected_and_the_books_resync(self):
        self.sim.silence_after(120, skip=30)
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.hub.counters("binance")[Problem.SILENT.value] > 0, timeout=3)
            await self.finished_and_live()
        self.assertBooksAreTheCapture()
        self.assertEqual(self.hub.counters("binance")[Problem.SILENT.value], len(SYMBOLS))
        self.assertEqual(
            sorted(logs.output),
            sorted(
                [
                    f"WARNING:{HUB_LOG}:binance {pair} book stale, resyncing: silent_feed: no message in 0.3 s"
                    for pair in PAIRS
                ]
                + [f"WARNING:{HUB_LOG}:binance market data down: silent feed: no message in 0.3 s"]
            ),
        )
        self.assertEqual((self.sim.connections, self.hub.counters("binance")["reconnects"]), (2, 1))


class GapTest(BinanceFeedCase):
    pace = 0.002  # the stream goes on while the new snapshot is fetched

    async def test_a_gap_in_update_ids_is_caught_and_repaired_from_a_fresh_snapshot(self):
        await self.until(lambda: self.sim.sent >= 40 and self.book("NKNUSDT").live)
        self.protocol.lose("NKNUSDT")  # its next diff: the client sees U jump past its last u
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.hub.counters("binance")[Problem.SEQUENCE_GAP.value] > 0)
            await self.finished_and_live()
        [(symbol, lost)] = self.protocol.lost
        nkn = recorded("depth@100ms", "NKNUSDT")
        index = [diff["u"] for diff in nkn].index(lost)
        before, after = nkn[index - 1], nkn[index + 1]
        self.assertEqual(
            logs.output,
            [
                f"WARNING:{HUB_LOG}:binance NKN_USDT book stale, resyncing: sequence_gap: "
                f"update {after['U']} does not follow {before['u']}"
            ],
        )
        self.assertBooksAreTheCapture()
        self.assertEqual(len(self.served("NKNUSDT")), 2)
        self.assertGreaterEqual(self.served("NKNUSDT")[1], lost)  # the new snapshot holds the lost diff
        counters = self.hub.counters("binance")
        self.assertEqual((counters[Problem.SEQUENCE_GAP.value], counters["resyncs"], counters["reconnects"]), (1, 1, 0))
        self.assertEqual(self.sim.connections, 1)


class LifetimeTest(BinanceFeedCase):
    pace = 0.002

    def start(self):
        class ShortLived(BinanceAdapter):
            # 0.3 s instead of a little under 24 h; every new connection fetches its snapshots
            # again, so the weight limit is sped up as much
            connection_lifetime = 0.3
            rest_limit = RateLimit(10**6, 10**6)
            published_rest_limit = staticmethod(lambda body: None)

        self.sim.pace = self.pace
        feed = ExchangeFeed(
            ShortLived,
            self.settings.exchange("binance"),
            self.hub,
            backoff=Backoff(0.01, 0.05),
            silence_timeout=self.silence,
        )
        feed.start()
        return {"binance": feed}

    async def test_connections_are_replaced_before_the_exchange_closes_them(self):
        await self.finished_and_live()
        self.assertBooksAreTheCapture()
        self.assertGreaterEqual(self.sim.connections, 2)
        counters = self.hub.counters("binance")
        self.assertEqual(
            (counters["reconnects"], counters[Problem.DISCONNECTED.value], counters[Problem.SEQUENCE_GAP.value]),
            (0, 0, 0),
        )
        # one SUBSCRIBE per connection, ids counting on (the newest connection may be opening now)
        subscribes = [json.loads(m) for m in self.sim.received]
        self.assertEqual(
            [(m["method"], m["id"]) for m in subscribes], [("SUBSCRIBE", n) for n in range(1, len(subscribes) + 1)]
        )
        self.assertIn(self.sim.connections - len(subscribes), (0, 1))


class RateLimitTest(unittest.IsolatedAsyncioTestCase):
    async def test_weights_pace_the_calls_and_a_418_pauses_them_for_its_retry_after(self):
        asyncio.get_running_loop().set_debug(False)
        async with ExchangeSimulator(binance_protocol()) as sim:
            now, slept = [1000.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("binance", sim.http_url, BinanceAdapter.rest_limit, clock=lambda: now[0], sleep=sleep)
            self.addCleanup(client.close)
            client.set_limit(binance.published_rest_limit(EXCHANGE_INFO))  # 1200 a minute
            depth = Request("/api/v3/depth", {"symbol": "NKNUSDT", "limit": 1000}, weight=50)
            for _ in range(12):  # 12 snapshots of weight 50 take the burst of 600 at once
                await client.call(depth)
            self.assertEqual(slept, [])
            body = await client.call(depth)  # the 13th waits for 50 to come back at 10 a second
            self.assertEqual(slept, [5.0])
            self.assertEqual(json.loads(body)["lastUpdateId"], 499869752)  # no stream yet: the recorded one
            # an IP ban (after ignoring 429s) says how long in Retry-After; every call waits it out
            sim.fail_rest(418, {"Retry-After": "120"})
            with self.assertRaises(RateLimited) as raised:
                await client.call(Request("/api/v3/exchangeInfo", weight=20))
            self.assertEqual(raised.exception.retry_after, 120.0)
            self.assertEqual(slept, [5.0, 2.0])  # the 418 call itself waited for its weight of 20
            client.set_limit(BinanceAdapter.rest_limit)  # a new limit keeps the pause
            await client.call(Request("/api/v3/exchangeInfo", weight=20))
            self.assertEqual(slept, [5.0, 2.0, 120.0])


if __name__ == "__main__":
    unittest.main()
