"""What every history sink must show (exchange_wrapper/history/sink.py), on the real trades and candles
of the captures: idempotent writes (a repeat or a restart neither loses nor duplicates), the exchange's
candle winning over a built one, exact Decimals, and the reads by range and limit.

A store's test module subclasses :class:`SinkContract` (with its own test case base) and gives
``self.sink``, :meth:`reopen` and the two counts of what is stored.
"""

from decimal import Decimal

from exchange_wrapper.core.candles import CandleBuilder
from exchange_wrapper.core.marketdata import BookTop
from exchange_wrapper.history.sink import NO_EXCHANGE, Batch, EquitySample, SourcedCandle, WriteResult
from tests.history.captured import binance_klines, captured_trades


def built_candles(trades):
    builder = CandleBuilder()
    out = [c for t in trades for c in builder.add(t)]
    return out + builder.close(max(t.time for t in trades) + 3600)


class SinkContract:
    def reopen(self):
        """A restart: the store closed and opened again, ``self.sink`` the new sink."""
        raise NotImplementedError

    def stored_trades(self):
        """How many trades the store holds, read from it directly."""
        raise NotImplementedError

    def stored_candles(self):
        """How many candles (one a minute) the store holds, read from it directly."""
        raise NotImplementedError

    def test_trades_written_once_however_often_and_across_a_restart(self):
        trades = captured_trades("coinbase")
        self.assertEqual(WriteResult(97), self.sink.write(Batch("coinbase", trades)))
        self.assertEqual(WriteResult(0), self.sink.write(Batch("coinbase", trades)))
        self.reopen()
        self.assertEqual(WriteResult(0), self.sink.write(Batch("coinbase", trades[40:])))
        self.assertEqual(97, self.stored_trades())
        for pair in {t.pair for t in trades}:
            got = self.sink.trades("coinbase", pair, 0, 2e9, 1000)
            self.assertEqual(sorted((t for t in trades if t.pair == pair), key=lambda t: t.time), got)
        self.assertEqual([], self.sink.trades("binance", trades[0].pair, 0, 2e9, 1000), "by exchange")

    def test_trade_reads_by_range_and_limit(self):
        trades = [t for t in captured_trades("coinbase") if str(t.pair) == "SKL_USD"]
        self.sink.write(Batch("coinbase", trades))
        ordered = sorted(trades, key=lambda t: t.time)
        cut = next(i for i in range(10, len(ordered)) if ordered[i - 1].time < ordered[i].time)  # not amid a tie
        middle, pair = ordered[cut].time, ordered[0].pair
        self.assertEqual(ordered[cut:], self.sink.trades("coinbase", pair, middle, 2e9, 1000))
        self.assertEqual(ordered[:cut], self.sink.trades("coinbase", pair, 0, middle, 1000), "end excluded")
        self.assertEqual(ordered[:3], self.sink.trades("coinbase", pair, 0, 2e9, 3))

    def test_the_exchanges_candle_wins(self):
        built = built_candles(captured_trades("binance"))
        klines = binance_klines()
        self.assertEqual({(c.pair, c.start) for c in built}, {(c.pair, c.start) for c in klines}, "the same minutes")
        nkn = next(c for c in klines if str(c.pair) == "NKN_USDT")
        self.assertNotEqual(nkn, next(c for c in built if c.pair == nkn.pair), "xWrap saw one trade of 30")
        self.assertEqual(
            WriteResult(2), self.sink.write(Batch("binance", candles=[SourcedCandle(c, False) for c in built]))
        )
        # an exchange candle replaces a built one; only the one with other values is a correction
        result = self.sink.write(Batch("binance", candles=[SourcedCandle(c, True) for c in klines]))
        self.assertEqual(WriteResult(0, candles_corrected=1), result)
        # a built candle never replaces the exchange's
        self.assertEqual(
            WriteResult(0), self.sink.write(Batch("binance", candles=[SourcedCandle(c, False) for c in built]))
        )
        self.reopen()
        self.assertEqual(
            WriteResult(0), self.sink.write(Batch("binance", candles=[SourcedCandle(c, True) for c in klines]))
        )
        for kline in klines:
            self.assertEqual([kline], self.sink.candles("binance", kline.pair, kline.start, kline.start + 60, 10))
        self.assertEqual(2, self.stored_candles())
        self.assertEqual({nkn.start}, self.sink.stored_minutes("binance", nkn.pair, 0, 2**33))

    def test_within_one_batch_the_exchanges_candle_wins_listed_first(self):
        self.check_one_batch_of_both(exchange_first=True)

    def test_within_one_batch_the_exchanges_candle_wins_listed_last(self):
        self.check_one_batch_of_both(exchange_first=False)

    def check_one_batch_of_both(self, exchange_first):
        klines = [SourcedCandle(k, True) for k in binance_klines()]
        built = [SourcedCandle(c, False) for c in built_candles(captured_trades("binance"))]
        mixed = klines + built if exchange_first else built + klines
        self.assertEqual(WriteResult(2), self.sink.write(Batch("binance", candles=mixed)))
        for kline in binance_klines():
            self.assertEqual([kline], self.sink.candles("binance", kline.pair, 0, 2**33, 10))
        self.reopen()
        self.assertEqual(WriteResult(0), self.sink.write(Batch("binance", candles=mixed)))
        self.assertEqual(2, self.stored_candles())

    def test_built_candles_replace_built_ones_and_stored_minutes_counts_only_the_exchanges(self):
        candles = built_candles(captured_trades("coinbase"))
        written = self.sink.write(Batch("coinbase", candles=[SourcedCandle(c, False) for c in candles])).written
        self.assertEqual(len(candles), written)
        first = candles[0]
        amended = first._replace(volume=first.volume + 1)  # made: the same minute with one more trade seen
        self.assertEqual(WriteResult(0), self.sink.write(Batch("coinbase", candles=[SourcedCandle(amended, False)])))
        self.assertEqual([amended], self.sink.candles("coinbase", first.pair, first.start, first.start + 60, 5))
        self.assertEqual(set(), self.sink.stored_minutes("coinbase", first.pair, 0, 2**33))
        self.assertEqual(len(candles), self.stored_candles())

    def test_candle_reads_by_range_and_limit(self):
        candles = sorted(built_candles(captured_trades("coinbase")), key=lambda c: c.start)
        self.sink.write(Batch("coinbase", candles=[SourcedCandle(c, False) for c in candles]))
        skl = [c for c in candles if str(c.pair) == "SKL_USD"]
        self.assertEqual(2, len(skl))
        pair = skl[0].pair
        self.assertEqual(skl, self.sink.candles("coinbase", pair, 0, 2**33, 10))
        self.assertEqual(skl[:1], self.sink.candles("coinbase", pair, 0, 2**33, 1))
        self.assertEqual(skl[:1], self.sink.candles("coinbase", pair, skl[0].start, skl[1].start, 10), "end excluded")
        self.assertEqual(skl[1:], self.sink.candles("coinbase", pair, skl[0].start + 1, 2**33, 10))

    def test_book_tops_once_per_time_and_exact(self):
        trade = captured_trades("coinbase")[0]
        # made: tops shaped as the collector samples them, at the capture's prices; one side empty
        tops = [
            BookTop(trade.pair, trade.time, trade.price, Decimal("0.000000000000000001"), trade.price + 1, Decimal(3)),
            BookTop(trade.pair, trade.time + 1, None, None, trade.price, Decimal("12345678901234567890.5")),
        ]
        self.assertEqual(WriteResult(2), self.sink.write(Batch("coinbase", tops=tops)))
        self.assertEqual(WriteResult(0), self.sink.write(Batch("coinbase", tops=tops)))
        self.reopen()
        self.assertEqual(tops, self.sink.tops("coinbase", trade.pair, 0, 2e9, 10))
        self.assertEqual(tops[1:], self.sink.tops("coinbase", trade.pair, trade.time + 0.5, 2e9, 10))
        self.assertEqual(tops[:1], self.sink.tops("coinbase", trade.pair, 0, 2e9, 1))

    def test_equity_samples_once_per_set_and_time_exact_and_by_set(self):
        trade = captured_trades("coinbase")[0]
        # made: samples shaped as the equity sampler takes them (history/equity.py), at the capture's time
        samples = [
            EquitySample(1, trade.time, Decimal("992.19852")),
            EquitySample(1, trade.time + 60, Decimal("12345678901234567890.000000000000000001"), ("EUR", "GBP")),
            EquitySample(2, trade.time, Decimal("0")),
        ]
        self.assertEqual(WriteResult(3), self.sink.write(Batch(NO_EXCHANGE, equity=samples)))
        self.assertEqual(WriteResult(0), self.sink.write(Batch(NO_EXCHANGE, equity=samples[1:])))
        self.reopen()
        self.assertEqual(samples[:2], self.sink.equity(1, 0, 2e9, 10))
        self.assertEqual(samples[2:], self.sink.equity(2, 0, 2e9, 10))
        self.assertEqual(samples[1:2], self.sink.equity(1, trade.time + 0.5, 2e9, 10))
        self.assertEqual(samples[:1], self.sink.equity(1, 0, 2e9, 1))
        self.assertEqual([], self.sink.equity(1, 0, trade.time, 10), "end excluded")
