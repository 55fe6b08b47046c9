"""Candles from the real trades of the captures: 1-minute candles built as trades arrive (in or out
of order), closed as time passes, and aggregated to every longer interval."""

import unittest
from collections import defaultdict
from decimal import Decimal

from exchange_wrapper.core.candles import (
    AMEND_MINUTES,
    CLOSE_GRACE,
    INTERVALS,
    CandleBuilder,
    aggregate,
    check_interval,
)
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.marketdata import Candle
from tests.history.captured import bitfinex_trades, captured_trades


def expected(trades, interval=60):
    """The candles of ``trades`` computed directly: per pair and bucket, open of the earliest trade,
    close of the latest, extremes and summed size."""
    groups = defaultdict(list)
    for trade in trades:
        groups[(trade.pair, int(trade.time // interval) * interval)].append(trade)
    out = {}
    for (pair, start), group in groups.items():
        ordered = sorted(group, key=lambda t: t.time)
        prices = [t.price for t in group]
        out[(pair, start)] = Candle(
            pair,
            start,
            interval,
            ordered[0].price,
            max(prices),
            min(prices),
            ordered[-1].price,
            sum((t.size for t in group), Decimal(0)),
        )
    return out


def build(trades):
    """Every candle a builder emits for ``trades`` fed in this order, then closed by a late clock."""
    builder = CandleBuilder()
    out = {}
    for trade in trades:
        for candle in builder.add(trade):
            out[(candle.pair, candle.start)] = candle
    for candle in builder.close(max(t.time for t in trades) + 3600):
        out[(candle.pair, candle.start)] = candle
    return out, builder


class BuildTest(unittest.TestCase):
    def test_coinbase_matches_make_one_candle_per_pair_and_minute_that_saw_trades(self):
        trades = captured_trades("coinbase")
        self.assertEqual(97, len(trades))
        built, builder = build(trades)
        self.assertEqual(expected(trades), built)
        self.assertEqual(0, builder.late)
        minutes = {start for _, start in built}
        self.assertEqual(2, len(minutes), "the capture crosses a minute boundary")
        skl = [c for (pair, _), c in built.items() if str(pair) == "SKL_USD"]
        self.assertEqual(2, len(skl))
        self.assertTrue(all(type(c.volume) is Decimal and type(c.open) is Decimal for c in built.values()))

    def test_binance_agg_trades(self):
        trades = captured_trades("binance")
        built, _ = build(trades)
        self.assertEqual(expected(trades), built)
        self.assertEqual({"NKN_USDT", "LRC_BTC"}, {str(pair) for pair, _ in built})

    def test_trades_out_of_order_within_an_open_minute(self):
        trades = captured_trades("coinbase")
        in_order, _ = build(trades)
        # newest first (trades stamped alike keep their order: it is the only order they have)
        backwards, _ = build(sorted(trades, key=lambda t: -t.time))  # the minutes stay open until the late close
        self.assertEqual(in_order, backwards)
        bitfinex, _ = build(bitfinex_trades())
        shuffled, _ = build(sorted(bitfinex_trades(), key=lambda t: (int(t.time // 60), -t.time)))
        self.assertEqual(bitfinex, shuffled)
        self.assertEqual(expected(bitfinex_trades()), bitfinex)

    def test_a_minute_is_emitted_once_time_passes_its_end(self):
        skl = [t for t in captured_trades("coinbase") if str(t.pair) == "SKL_USD"]
        first_minute = int(skl[0].time // 60) * 60
        builder = CandleBuilder()
        emitted = []
        for trade in skl:
            emitted += builder.add(trade)
            if trade.time < first_minute + 60 + CLOSE_GRACE:
                self.assertEqual([], emitted, "nothing before the minute's end and the grace")
        self.assertEqual([], builder.close(first_minute + 60 + CLOSE_GRACE - 0.001))
        closed = builder.close(first_minute + 60 + CLOSE_GRACE)
        self.assertEqual([first_minute], [c.start for c in emitted + closed])
        self.assertEqual(expected(skl)[(skl[0].pair, first_minute)], (emitted + closed)[0])
        self.assertEqual([], builder.close(first_minute + 120 + CLOSE_GRACE - 0.001), "the next minute is still open")
        self.assertEqual([first_minute + 60], [c.start for c in builder.close(first_minute + 120 + CLOSE_GRACE)])

    def test_a_late_trade_amends_its_closed_minute_and_a_too_late_one_is_counted(self):
        trades = sorted(bitfinex_trades(), key=lambda t: t.time)
        pair = trades[0].pair
        mine = [t for t in trades if t.pair == pair]
        late, rest = mine[0], mine[1:]
        builder = CandleBuilder()
        for trade in rest:
            builder.add(trade)
        builder.close(rest[-1].time + 3600)
        self.assertEqual([], builder.add(late), "hours behind the pair's newest trade: not amended")
        self.assertEqual(1, builder.late)
        # the newest minute is still kept: a trade of it (the last one again, as a second print) re-emits it
        again = rest[-1]._replace(trade_id="again", time=rest[-1].time - 0.001)
        amended = builder.add(again)
        start = int(again.time // 60) * 60
        self.assertEqual([start], [c.start for c in amended])
        self.assertEqual(expected([t for t in rest if t.time >= start] + [again])[(pair, start)], amended[0])
        self.assertLess(0, AMEND_MINUTES)


class AggregateTest(unittest.TestCase):
    def minutes(self, trades):
        built, _ = build(trades)
        by_pair = defaultdict(list)
        for candle in sorted(built.values(), key=lambda c: c.start):
            by_pair[candle.pair].append(candle)
        return by_pair

    def test_every_interval_from_the_bitfinex_minutes_equals_the_candles_of_the_trades(self):
        trades = bitfinex_trades()
        by_pair = self.minutes(trades)
        for interval in INTERVALS:
            want = expected(trades, interval)
            got = {(c.pair, c.start): c for candles in by_pair.values() for c in aggregate(candles, interval)}
            with self.subTest(interval=interval):
                self.assertEqual(want, got)
                self.assertTrue(all(start % interval == 0 for _, start in got))
        self.assertLess(len({s for _, s in expected(trades, 3600)}), len({s for _, s in expected(trades, 300)}))

    def test_boundaries_are_unix_epoch_multiples(self):
        # made: three minutes of one real trade's pair and price, placed at the edges of an hour and a day
        trade = bitfinex_trades()[0]
        day = 1618617600  # 2021-04-17 00:00 UTC
        starts = [day - 60, day, day + 3540, day + 3600]
        candles = [
            Candle(trade.pair, s, 60, trade.price, trade.price, trade.price, trade.price, Decimal(i + 1))
            for i, s in enumerate(starts)
        ]
        self.assertEqual(
            [(day - 3600, Decimal(1)), (day, Decimal(5)), (day + 3600, Decimal(4))],
            [(c.start, c.volume) for c in aggregate(candles, 3600)],
        )
        self.assertEqual([day - 86400, day], [c.start for c in aggregate(candles, 86400)])
        self.assertEqual([day - 14400, day], [c.start for c in aggregate(candles, 14400)])
        self.assertEqual(starts, [c.start for c in aggregate(candles, 60)])

    def test_unknown_intervals_are_refused_naming_the_interval(self):
        for bad in (120, 0, "60", True, 60.0, None):
            with self.subTest(bad=bad), self.assertRaises(InvalidParameter) as caught:
                check_interval(bad)
            self.assertEqual("interval", caught.exception.field)
        with self.assertRaises(InvalidParameter):
            list(aggregate([], 7200))
