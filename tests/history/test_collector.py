"""The collector on a hub fed by a real capture: every trade, the candles built from them and the
sampled tops of live books reach the store; a stuck store never holds the feed up."""

import asyncio
import shutil
import tempfile
import unittest
from decimal import Decimal

from exchange_wrapper.core.candles import CLOSE_GRACE, CandleBuilder
from exchange_wrapper.history.collector import Collector
from exchange_wrapper.history.database import DatabaseSink
from exchange_wrapper.history.writer import HistoryWriter
from exchange_wrapper.replay.source import Replay
from exchange_wrapper.storage.database import open_database
from exchange_wrapper.storage.models import MarketBookTop, MarketTrade
from tests.core.test_candles import expected
from tests.history.captured import captured_trades, files
from tests.history.test_writer import GatedSink


class CollectorTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        folder = tempfile.mkdtemp(prefix="xwrap_test_")
        self.addCleanup(shutil.rmtree, folder, True)
        self.db = open_database(f"sqlite:///{folder}/xwrap.sqlite")
        self.sink = GatedSink(self.db)
        self.replay = Replay("coinbase", files("coinbase"))
        self.hub = self.replay.hub

    async def collect(self, queue_size=100000, book_top_seconds=Decimal(1)):
        self.writer = HistoryWriter(self.sink, queue_size=queue_size, linger=0.01)
        await self.writer.start()
        self.addAsyncCleanup(self.writer.stop)
        self.collector = Collector(self.hub, self.writer, book_top_seconds=book_top_seconds, clock=lambda: 0.0)
        self.collector.start()
        self.addAsyncCleanup(self.collector.stop)

    def trades(self):
        seen = []
        unsubscribe = self.hub.on_trade(lambda exchange, trade, at: seen.append(trade))
        self.addCleanup(unsubscribe)
        return seen

    async def test_trades_and_their_candles_are_stored(self):
        await self.collect()
        seen = self.trades()
        self.replay.run()
        self.assertEqual(97, len(seen))
        last = max(t.time for t in seen)
        self.collector.tick(last + 60 + CLOSE_GRACE)  # the clock passes the last minute
        await self.writer.stop()
        self.assertEqual(97, MarketTrade.select().count())
        sink = DatabaseSink(self.db)
        stored = {}
        for pair in {t.pair for t in seen}:
            for candle in sink.candles("coinbase", pair, 0, 2**40, 100):
                stored[(pair, candle.start)] = candle
        self.assertEqual(expected(seen), stored)
        self.assertEqual(0, self.writer.counts["dropped_queue_full"])

    async def test_a_stuck_store_never_holds_up_the_feed(self):
        self.sink.gate.clear()
        await self.collect(queue_size=10)
        self.writer.put("binance", captured_trades("binance")[0])
        await asyncio.to_thread(self.sink.entered.wait, 5)  # the writer's thread is stuck in the store with it
        seen = self.trades()
        report = self.replay.run()  # synchronous: a put that waited would never return
        self.assertEqual(97, report["trades"])
        self.assertEqual(97, len(seen))
        builder = CandleBuilder()
        closed_by_trades = sum(len(builder.add(trade)) for trade in seen)  # the candles put as the replay ran
        self.assertGreater(closed_by_trades, 0)
        self.assertEqual(97 + closed_by_trades - 10, self.writer.counts["dropped_queue_full"], "all but the queue's 10")
        self.sink.gate.set()
        await self.writer.stop()
        self.assertEqual(1 + 10, self.writer.counts["written"])

    async def test_tops_of_live_books_only_at_the_configured_interval(self):
        await self.collect(book_top_seconds=Decimal("2.5"))
        self.replay.run()
        followed = self.hub.followed("coinbase")
        live = [pair for pair in followed if self.hub.book("coinbase", pair).live]
        self.assertGreater(len(live), 2)
        stale = live.pop()
        self.hub.book("coinbase", stale).mark_stale("made stale by the test")
        for now in (1000.0, 1001.0, 1002.4, 1002.5, 1003.0):
            self.collector.tick(now)
        await self.writer.stop()
        rows = list(MarketBookTop.select().order_by(MarketBookTop.time, MarketBookTop.pair))
        self.assertEqual({1000_000000, 1002_500000}, {row.time for row in rows})
        self.assertEqual(sorted(str(p) for p in live), sorted(row.pair for row in rows if row.time == 1000_000000))
        sink = DatabaseSink(self.db)
        for pair in live:
            book = self.hub.book("coinbase", pair)
            (top, _) = sink.tops("coinbase", pair, 0, 2**40, 10)
            self.assertEqual((book.bids.best, book.asks.best), ((top.bid, top.bid_size), (top.ask, top.ask_size)))

    async def test_no_tops_when_the_interval_is_0_and_nothing_after_stop(self):
        await self.collect(book_top_seconds=Decimal(0))
        self.replay.run()
        self.collector.tick(1000.0)
        await self.collector.stop()
        await self.writer.stop()
        self.assertEqual(0, MarketBookTop.select().count())
        self.assertEqual(97, MarketTrade.select().count())
        self.replay.run()  # the recording again: a collector still listening would put to the stopped writer
        self.assertEqual(0, self.writer.counts["dropped_queue_full"])


if __name__ == "__main__":
    unittest.main()
