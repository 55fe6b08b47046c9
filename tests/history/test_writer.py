"""The writer: batches reach the sink from a thread of its own; a full queue, a stuck sink or a
failing one never holds up the caller (what is lost is counted, and logged once per episode)."""

import asyncio
import shutil
import tempfile
import threading
import unittest

from exchange_wrapper.core.marketdata import BookTop
from exchange_wrapper.history.database import DatabaseSink
from exchange_wrapper.history.sink import Batch, SourcedCandle, WriteResult
from exchange_wrapper.history.writer import HistoryWriter, batches
from exchange_wrapper.storage.database import open_database
from exchange_wrapper.storage.models import MarketTrade
from tests.history.captured import binance_klines, captured_trades


class GatedSink(DatabaseSink):
    """The real database sink, whose writes wait until ``gate`` is set (a disk or a server that
    stopped answering) and raise while ``failing`` is set (one that answers with errors)."""

    def __init__(self, db):
        super().__init__(db)
        self.gate = threading.Event()
        self.gate.set()
        self.failing = threading.Event()
        self.entered = threading.Event()  # a write has begun (and waits, while the gate is closed)
        self.writes = 0

    def write(self, batch: Batch) -> WriteResult:
        self.entered.set()
        self.gate.wait()
        self.writes += 1
        if self.failing.is_set():
            raise OSError("disk full")  # what a full disk raises
        return super().write(batch)


class WriterTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        folder = tempfile.mkdtemp(prefix="xwrap_test_")
        self.addCleanup(shutil.rmtree, folder, True)
        self.db = open_database(f"sqlite:///{folder}/xwrap.sqlite")
        self.sink = GatedSink(self.db)
        self.trades = captured_trades("coinbase")

    async def writer(self, queue_size=100000, **options):
        writer = HistoryWriter(self.sink, queue_size=queue_size, linger=0.01, **options)
        await writer.start()
        self.addAsyncCleanup(writer.stop)
        return writer

    async def settled(self, writer, condition):
        for _ in range(500):
            if condition():
                return
            await asyncio.sleep(0.01)
        self.fail(f"never reached; counts {writer.counts}")

    async def test_every_record_reaches_the_sink_once(self):
        writer = await self.writer(batch_max=10)
        for trade in self.trades:
            self.assertTrue(writer.put("coinbase", trade))
        for trade in self.trades:  # again: nothing new
            writer.put("coinbase", trade)
        await writer.stop()
        self.assertEqual(97, writer.counts["written"])
        self.assertEqual(97, MarketTrade.select().count())
        self.assertGreaterEqual(self.sink.writes, 97 * 2 // 10, "batches of at most 10")
        self.assertEqual(0, writer.counts["dropped_queue_full"] + writer.counts["sink_errors"])

    async def test_a_stuck_sink_never_holds_up_the_caller_and_what_is_dropped_is_counted(self):
        self.sink.gate.clear()
        writer = await self.writer(queue_size=20, batch_max=5)
        first, rest = self.trades[0], self.trades[1:]
        self.assertTrue(writer.put("coinbase", first))
        await asyncio.to_thread(self.sink.entered.wait, 5)  # the writer's thread is stuck in the sink with it
        with self.assertLogs("exchange_wrapper.history.writer", "WARNING") as logged:
            accepted = sum(writer.put("coinbase", trade) for trade in rest)  # never waits
            self.assertEqual((20, 96 - 20), (accepted, writer.counts["dropped_queue_full"]))
            self.assertEqual(1 + 20, writer.outstanding())  # the one in the stuck write, and the queued
            self.sink.gate.set()
            await self.settled(writer, lambda: writer.outstanding() == 0)
            self.assertEqual(1 + 20, writer.counts["written"])  # outstanding 0: every accepted record stored
            self.assertTrue(writer.put("coinbase", first))  # room again: the episode ends
        self.assertEqual(2, len(logged.records), "one line when dropping starts, one when it ends")
        self.assertIn("queue is full", logged.records[0].getMessage())
        self.assertIn(f"after {96 - 20} records dropped", logged.records[1].getMessage())
        await writer.stop()
        self.assertEqual(1 + 20, writer.counts["written"])

    async def test_a_failing_sink_loses_its_batches_counted_and_the_writer_goes_on(self):
        self.sink.failing.set()
        writer = await self.writer(batch_max=10)
        with self.assertLogs("exchange_wrapper.history.writer", "WARNING") as logged:
            for trade in self.trades[:30]:
                writer.put("coinbase", trade)
            await self.settled(writer, lambda: writer.counts["dropped_sink_error"] == 30)
            self.assertGreaterEqual(writer.counts["sink_errors"], 3)
            self.sink.failing.clear()
            for trade in self.trades[30:]:
                writer.put("coinbase", trade)
            await self.settled(writer, lambda: writer.counts["written"] == 67)
        errors = [r for r in logged.records if r.levelname == "ERROR"]
        self.assertEqual(1, len(errors), "once per episode")
        self.assertIn("disk full", errors[0].getMessage())
        self.assertIn("writes again", logged.records[-1].getMessage())

    async def test_a_put_before_start_or_after_stop_is_dropped(self):
        writer = HistoryWriter(self.sink, queue_size=10)
        with self.assertLogs("exchange_wrapper.history.writer", "WARNING"):
            self.assertFalse(writer.put("coinbase", self.trades[0]))
        self.assertEqual(1, writer.counts["dropped_queue_full"])
        sample = tuple(BookTop(t.pair, t.time, t.price, t.size, None, None) for t in self.trades[:3])
        self.assertFalse(writer.put("coinbase", sample))  # a sample of book tops: one place, counted per top
        self.assertEqual(1 + 3, writer.counts["dropped_queue_full"])

    async def test_the_writer_reports_corrections(self):
        writer = await self.writer()
        trades = captured_trades("binance")
        for trade in trades:
            writer.put("binance", trade)
        for kline in binance_klines():
            writer.put("binance", SourcedCandle(kline._replace(close=kline.close + 1), False))  # made: built, differing
        await self.settled(writer, lambda: writer.counts["written"] == 4)
        for kline in binance_klines():
            writer.put("binance", SourcedCandle(kline, True))
        await writer.stop()
        self.assertEqual(2 + 2, writer.counts["written"])
        self.assertEqual(2, writer.counts["candles_corrected"])


class BatchesTest(unittest.TestCase):
    def test_grouped_by_exchange_in_order(self):
        coinbase, binance = captured_trades("coinbase")[:3], captured_trades("binance")
        kline = SourcedCandle(binance_klines()[0], True)
        records = [("coinbase", coinbase[0]), ("binance", binance[0]), ("binance", kline), ("coinbase", coinbase[1])]
        records += [("coinbase", coinbase[2]), ("binance", binance[1])]
        tops = [BookTop(t.pair, t.time, t.price, t.size, None, None) for t in coinbase]
        records += [("coinbase", tops[0]), ("coinbase", (tops[1], tops[2]))]  # one top, then a sample of two
        self.assertEqual(
            [Batch("coinbase", list(coinbase), [], tops, []), Batch("binance", list(binance), [kline], [], [])],
            batches(records),
        )


if __name__ == "__main__":
    unittest.main()
