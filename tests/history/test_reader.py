"""Reading history back as the API will: candles of every interval aggregated from the stored
minutes, trades and tops, paged with a next cursor; bad input named."""

import shutil
import tempfile
import unittest
from collections import defaultdict
from decimal import Decimal

from exchange_wrapper.core.candles import INTERVALS, aggregate
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.marketdata import BookTop
from exchange_wrapper.history import reader
from exchange_wrapper.history.database import DatabaseSink
from exchange_wrapper.history.reader import History
from exchange_wrapper.history.sink import NO_EXCHANGE, Batch, EquitySample, SourcedCandle
from exchange_wrapper.storage.database import open_database
from tests.core.test_candles import build
from tests.history.captured import bitfinex_trades, captured_trades


class ReaderTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        folder = tempfile.mkdtemp(prefix="xwrap_test_")
        self.addCleanup(shutil.rmtree, folder, True)
        self.sink = DatabaseSink(open_database(f"sqlite:///{folder}/xwrap.sqlite"))
        self.history = History(self.sink, "database")
        self.addAsyncCleanup(self.history.close)
        built, _ = build(bitfinex_trades())
        self.minutes = defaultdict(list)
        for candle in sorted(built.values(), key=lambda c: c.start):
            self.minutes[candle.pair].append(candle)
        self.sink.write(Batch("bitfinex", candles=[SourcedCandle(c, True) for c in built.values()]))
        self.pair = max(self.minutes, key=lambda p: len(self.minutes[p]))

    async def pages(self, read, *args, limit, full=True):
        """Every page from the first, following the cursors: (items, number of pages). ``full``:
        every page but the last holds ``limit`` items (else it may hold fewer, never none)."""
        items, count, start = [], 0, args[-2]
        while True:
            page = await read(*args[:-2], start, args[-1], limit)
            items += page.items
            count += 1
            if page.next is None:
                return items, count
            if full:
                self.assertEqual(limit, len(page.items))
            self.assertTrue(0 < len(page.items) <= limit)
            self.assertGreater(page.next, start)
            start = page.next

    async def test_every_interval_paged_equals_the_aggregate_of_all_minutes(self):
        minutes = self.minutes[self.pair]
        self.assertGreater(len(minutes), 20)
        for interval in INTERVALS:
            want = list(aggregate(minutes, interval))
            for limit in (1, 3, 1000):
                with self.subTest(interval=interval, limit=limit):
                    got, count = await self.pages(
                        self.history.candles, "bitfinex", self.pair, interval, 0, 2e9, limit=limit
                    )
                    self.assertEqual(want, got)
                    self.assertEqual(max(1, -(-len(want) // limit)), count)

    async def test_the_range_is_of_open_times_and_end_is_excluded(self):
        minutes = self.minutes[self.pair]
        hours = list(aggregate(minutes, 3600))
        self.assertGreater(len(hours), 2)
        second = hours[1].start
        page = await self.history.candles("bitfinex", self.pair, 3600, second - 1, second + 3600, 100)
        self.assertEqual([hours[1]], page.items, "the hour opening at or after start; its minutes all counted")
        page = await self.history.candles("bitfinex", self.pair, 3600, second + 1, hours[-1].start, 100)
        self.assertEqual(hours[2:-1], page.items)
        page = await self.history.candles("bitfinex", self.pair, 60, second, second, 100)
        self.assertEqual(([], None), (page.items, page.next))

    async def test_a_day_of_minutes_is_read_in_chunks(self):
        minutes = self.minutes[self.pair]
        original = reader.CHUNK
        reader.CHUNK = 2  # the chunked read, on few rows
        self.addCleanup(setattr, reader, "CHUNK", original)
        page = await self.history.candles("bitfinex", self.pair, 86400, 0, 2e9, 10)
        self.assertEqual(list(aggregate(minutes, 86400)), page.items)

    async def test_trades_paged_never_split_a_time(self):
        trades = captured_trades("coinbase")
        self.sink.write(Batch("coinbase", trades))
        skl = [t for t in trades if str(t.pair) == "SKL_USD"]
        pair = skl[0].pair
        ordered = sorted(skl, key=lambda t: t.time)
        times = [t.time for t in ordered]
        tied = next(t for t in times if times.count(t) > 1)
        self.assertLess(times.count(tied), 5)
        got, count = await self.pages(self.history.trades, "coinbase", pair, 0, 2e9, limit=5, full=False)
        self.assertEqual(ordered, got)
        self.assertGreater(count, len(ordered) // 5)
        with self.assertRaises(InvalidParameter) as caught:
            await self.history.trades("coinbase", pair, tied, 2e9, 1)
        self.assertEqual("limit", caught.exception.field)

    async def test_tops_paged(self):
        trade = captured_trades("coinbase")[0]
        # made: tops shaped as the collector samples them, at a real trade's price, a second apart
        tops = [BookTop(trade.pair, 1618677817.0 + i, trade.price, Decimal(i + 1), None, None) for i in range(7)]
        self.sink.write(Batch("coinbase", tops=tops))
        got, count = await self.pages(self.history.tops, "coinbase", trade.pair, 0, 2e9, limit=3)
        self.assertEqual((tops, 3), (got, count))

    async def test_bad_input_is_named(self):
        history, pair = self.history, self.pair
        cases = [
            ("interval", history.candles("bitfinex", pair, 120, 0, 10, 10)),
            ("interval", history.candles("bitfinex", pair, "1h", 0, 10, 10)),
            ("start", history.candles("bitfinex", pair, 60, 20, 10, 10)),
            ("start", history.trades("bitfinex", pair, 20, 10, 10)),
            ("start", history.tops("bitfinex", pair, float("nan"), 10, 10)),
            ("end", history.trades("bitfinex", pair, 0, "tomorrow", 10)),
            ("limit", history.candles("bitfinex", pair, 60, 0, 10, 0)),
            ("limit", history.tops("bitfinex", pair, 0, 10, reader.MAX_LIMIT + 1)),
            ("timeseries.backend", History(None, "none").candles("bitfinex", pair, 60, 0, 10, 10)),
            ("timeseries.backend", History(None, "none").trades("bitfinex", pair, 0, 10, 10)),
        ]
        for field, call in cases:
            with self.subTest(field=field), self.assertRaises(InvalidParameter) as caught:
                await call
            self.assertEqual(field, caught.exception.field)
        with self.assertRaises(InvalidParameter) as caught:
            await History(None, "none").tops("bitfinex", pair, 0, 10, 10)
        self.assertIn("none", str(caught.exception))


if __name__ == "__main__":
    unittest.main()


class EquityReadTest(unittest.IsolatedAsyncioTestCase):
    async def test_the_last_sample_of_each_interval_paged_with_the_next_start(self):
        folder = tempfile.mkdtemp(prefix="xwrap_test_")
        self.addCleanup(shutil.rmtree, folder, True)
        history = History(DatabaseSink(open_database(f"sqlite:///{folder}/xwrap.sqlite")), "database")
        self.addAsyncCleanup(history.close)
        hour = 1618675200  # 16:00 UTC of the capture's day
        # made: three hours of samples as the equity sampler takes them, one a minute, half a second in
        samples = [EquitySample(1, hour + 60 * k + 0.5, Decimal(1000 + k)) for k in range(180)]
        history.sink.write(Batch(NO_EXCHANGE, equity=samples))
        first = await history.equity(1, 3600, hour, hour + 3 * 3600, 2)
        self.assertEqual((first.items, first.next), ([samples[59], samples[119]], hour + 2 * 3600))
        rest = await history.equity(1, 3600, first.next, hour + 3 * 3600, 2)
        self.assertEqual((rest.items, rest.next), ([samples[179]], None))
        minutes = await history.equity(1, 60, hour + 60, hour + 240, 100)
        self.assertEqual(minutes.items, samples[1:4])
        self.assertEqual((await history.equity(2, 60, hour, hour + 3600, 10)).items, [])
        with self.assertRaises(InvalidParameter) as caught:
            await history.equity(1, 120, hour, hour + 60, 10)
        self.assertEqual(caught.exception.field, "interval")
