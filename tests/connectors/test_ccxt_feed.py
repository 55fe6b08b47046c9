"""The ccxt entry's feed against the Binance simulator: markets loaded, books polled into the hub
(the status says so, each book has its age), a 429 pausing every call for its Retry-After, candles;
books streamed through ccxt.pro where ccxt streams the exchange."""

import asyncio
import decimal
import json
import unittest
from decimal import Decimal

from ccxt.base.decimal_to_precision import DECIMAL_PLACES, ROUND, decimal_to_precision

from exchange_wrapper.config import CcxtExchangeSettings
from exchange_wrapper.connectors.ccxt_feed import CcxtFeed
from exchange_wrapper.core.book import BookState
from exchange_wrapper.core.marketdata import FeedStatus, Trade
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.binance import public as binance
from exchange_wrapper.marketdata.hub import MarketDataHub
from tests.simulator.binance import binance_protocol
from tests.simulator.candles import MadeUpCandles
from tests.simulator.server import ExchangeSimulator

LRC = Pair("LRC", "BTC")
D = Decimal


class PolledFeedTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)
        self.protocol = binance_protocol()
        self.sim = await ExchangeSimulator(self.protocol).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        self.hub = MarketDataHub()
        settings = CcxtExchangeSettings(
            enabled=True,
            exchange_id="binance",
            rest_url=self.sim.http_url,
            pairs=["LRC_BTC", "NKN_USDT", "XYZ_ABC"],
            poll_seconds=D("0.05"),
            book_levels=20,
            stream=False,  # ccxt streams Binance: polled here, streamed below
        )
        self.feed = CcxtFeed(settings, self.hub, backoff=Backoff(0.01, 0.05))
        self.feed.start()
        self.addAsyncCleanup(self.feed.stop)

    async def until(self, condition, timeout=8.0):
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)

    def depth_calls(self):
        return [path for path in self.sim.rest_calls if path.startswith("/api/v3/depth")]

    async def test_books_are_polled_and_marked_so(self):
        await self.until(lambda: len(self.depth_calls()) >= 6)  # three rounds of the two listed pairs
        self.assertEqual(self.hub.followed("ccxt"), [LRC, Pair("NKN", "USDT")])  # XYZ_ABC not listed
        status, reason = self.hub.status("ccxt", self.feed.clock())
        self.assertEqual((status, reason), (FeedStatus.READY, "polling 2 books of ccxt binance every 0.05 s"))
        book = self.hub.book("ccxt", LRC)
        self.assertIs(book.state, BookState.LIVE)
        served = json.loads(self.protocol.books["LRCBTC"].snapshot(20))
        self.assertEqual(book.bids.top(20), [(D(p), D(s)) for p, s in served["bids"]])
        self.assertEqual(book.asks.top(20), [(D(p), D(s)) for p, s in served["asks"]])
        self.assertEqual(self.depth_calls()[0], "/api/v3/depth?symbol=LRCBTC&limit=20")
        before = book.updated_at
        await self.until(lambda: book.updated_at > before)  # a poll that changes nothing still ages it anew
        self.assertLess(self.feed.clock() - book.updated_at, 1)

    async def test_public_trades_are_polled_each_once_from_the_first_fetch_on(self):
        trades = lambda: [p for p in self.sim.rest_calls if p.startswith("/api/v3/aggTrades?symbol=LRCBTC")]  # noqa: E731
        await self.until(lambda: len(trades()) >= 1)
        self.assertEqual(trades()[0], "/api/v3/aggTrades?symbol=LRCBTC")
        [recorded] = [m for m in self.protocol.recording if '"lrcbtc@aggTrade"' in m]
        self.protocol.advance(recorded)  # the exchange's trade, after xWrap began to follow the pair
        await self.until(lambda: self.hub.recent_trades("ccxt", LRC))
        fetched = len(trades())
        await self.until(lambda: len(trades()) >= fetched + 2)  # fetched again: the same trade, not news
        self.assertEqual(
            list(self.hub.recent_trades("ccxt", LRC)),
            [Trade(LRC, "9213679", D("0.00000638"), D(177), Side.BUY, 1633998534.486)],  # m false: the buyer took
        )
        self.assertIs(self.hub.book("ccxt", LRC).state, BookState.LIVE)

    async def test_a_429_pauses_every_call_for_its_retry_after(self):
        await self.until(lambda: self.hub.status("ccxt", self.feed.clock())[0] is FeedStatus.READY)  # books live
        self.sim.fail_rest(429, {"Retry-After": "1"})
        await self.until(lambda: self.hub.status("ccxt", self.feed.clock())[0] is FeedStatus.DEGRADED)
        paused_at, calls = self.feed.clock(), len(self.sim.rest_calls)
        status, reason = self.hub.status("ccxt", paused_at)
        self.assertIn("REST calls paused", reason)
        await asyncio.sleep(0.5)
        self.assertEqual(len(self.sim.rest_calls), calls)  # nothing sent while paused
        await self.until(lambda: len(self.sim.rest_calls) > calls)
        self.assertGreaterEqual(self.feed.clock() - paused_at, 0.9)
        await self.until(lambda: self.hub.status("ccxt", self.feed.clock())[0] is FeedStatus.READY)
        self.assertTrue(self.hub.book("ccxt", LRC).live)

    async def test_markets_retried_until_loaded(self):
        await self.feed.stop()
        hub = self.hub = MarketDataHub()
        self.sim.fail_rest(503, times=3)
        settings = CcxtExchangeSettings(
            enabled=True, exchange_id="binance", rest_url=self.sim.http_url, pairs=["LRC_BTC"], stream=False
        )
        self.feed = CcxtFeed(settings, hub, backoff=Backoff(0.01, 0.05))
        self.feed.start()
        self.addAsyncCleanup(self.feed.stop)
        await self.until(lambda: hub.status("ccxt", 0)[0] is FeedStatus.DOWN)
        self.assertIn("markets not loaded: ccxt unavailable", hub.status("ccxt", 0)[1])
        await self.until(lambda: hub.markets_loaded("ccxt"))
        await self.until(lambda: hub.book("ccxt", LRC).live)

    async def test_candles_are_the_native_adapters(self):
        await self.until(lambda: self.feed.markets is not None)
        start, end = 1633996800, 1633996800 + 3600
        self.protocol.candles["LRCBTC"] = MadeUpCandles(start - 3600, end + 3600, price=D("0.00000637"), places=8)
        candles = await self.feed.candles(LRC, 60, start, end)
        query = f"symbol=LRCBTC&interval=1m&startTime={start * 1000}&endTime={end * 1000 - 1}&limit=1000"
        native = binance.BinanceAdapter.parse_candles(None, self.protocol.rest_body("/api/v3/klines?" + query), LRC, 60)
        self.assertTrue(candles)
        self.assertEqual(candles, native)

    async def test_ccxt_formatting_a_number_leaves_the_loops_decimal_context_as_it_was(self):
        async def place():  # what ccxt's amount_to_precision does as it builds an order
            return decimal_to_precision("0.125", ROUND, 2, DECIMAL_PLACES)

        self.assertEqual(await self.feed._translated(place), "0.13")  # half-up, in ccxt's own context
        context = decimal.getcontext()
        self.assertEqual((context.rounding, context.traps[decimal.Underflow]), (decimal.ROUND_HALF_EVEN, False))
        self.assertEqual(D("0.125").quantize(D("0.01")), D("0.12"))  # the loop's rounding: half-even


class StreamedFeedTest(unittest.IsolatedAsyncioTestCase):
    """ccxt.pro's binance on the simulator's websocket: the book ccxt keeps from the depth stream over
    its REST snapshot, in the hub, equal to the simulator's own book once the recording is played."""

    async def test_books_are_streamed_where_ccxt_streams_the_exchange(self):
        asyncio.get_running_loop().set_debug(False)
        protocol = binance_protocol()
        # paced as an exchange streams: ccxt hands a book over on each update that comes while it is
        # awaited, so a burst read before the next await would be seen only at the next update
        sim = await ExchangeSimulator(protocol, pace=0.02).__aenter__()
        self.addAsyncCleanup(sim.__aexit__, None, None, None)
        hub = MarketDataHub()
        settings = CcxtExchangeSettings(
            enabled=True,
            exchange_id="binance",
            rest_url=sim.http_url,
            ws_url=sim.ws_url,
            pairs=["LRC_BTC"],
            book_levels=1000,
        )
        feed = CcxtFeed(settings, hub, backoff=Backoff(0.01, 0.05))
        feed.ccxt.options["watchTrades"] = {"name": "aggTrade"}  # the stream the recording has
        feed.start()
        self.addAsyncCleanup(feed.stop)
        book = None
        async with asyncio.timeout(20):
            while not (sim.finished.is_set() and hub.follows("ccxt", LRC) and hub.book("ccxt", LRC).live):
                await asyncio.sleep(0.02)
            served = json.loads(protocol.books["LRCBTC"].snapshot(1000))
            expected = ([(D(p), D(s)) for p, s in served["bids"]], [(D(p), D(s)) for p, s in served["asks"]])
            while (book := hub.book("ccxt", LRC)) and (list(book.bids), list(book.asks)) != expected:
                await asyncio.sleep(0.02)
        self.assertEqual(
            sorted(json.loads(m)["params"] for m in sim.received), [["lrcbtc@aggTrade"], ["lrcbtc@depth@100ms"]]
        )
        self.assertEqual(
            [(t.trade_id, t.price, t.size, t.taker_side) for t in hub.recent_trades("ccxt", LRC)],
            [("9213679", D("0.00000638"), D(177), Side.BUY)],  # the recorded trade, through ccxt.pro
        )
        self.assertEqual(
            hub.status("ccxt", feed.clock()), (FeedStatus.READY, "streaming 1 books of ccxt binance through ccxt.pro")
        )
        self.assertEqual(
            [p for p in sim.rest_calls if p.startswith("/api/v3/depth")][:1], ["/api/v3/depth?symbol=LRCBTC&limit=1000"]
        )
