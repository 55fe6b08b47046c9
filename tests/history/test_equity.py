"""The equity sampler on its own: one sample per minute of the clock it follows, each set's balances valued
with the quotes of that moment, what nothing values named; and the wall-clock timer. Balances are made up
(round amounts); the recorded books are valued in tests/service/test_pnl.py."""

import asyncio
import unittest
from decimal import Decimal

from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.valuation import Quote, Valuation
from exchange_wrapper.history.equity import EquitySampler, equity_sample
from exchange_wrapper.history.sink import NO_EXCHANGE, EquitySample
from exchange_wrapper.marketdata.hub import MarketDataHub


class Writer:
    def __init__(self):
        self.records = []

    def put(self, exchange, record):
        self.records.append((exchange, record))
        return True


async def balances():
    return {1: [("USD", Decimal("100")), ("USDT", Decimal("5")), ("SKL", Decimal("2000"))], 2: []}


class EquitySamplerTest(unittest.IsolatedAsyncioTestCase):
    async def test_one_sample_a_minute_of_the_followed_clock_naming_what_nothing_values(self):
        writer = Writer()
        sampler = EquitySampler(MarketDataHub(), writer, balances)
        sampler.start(timer=False)
        for now in (1618677816.8, 1618677830.0, 1618677840.0, 1618677899.9, 1618677900.5):
            sampler.follow(now)
        await sampler.stop()
        # no book: USDT counts by its peg, SKL is named; set 2 holds nothing and is not sampled
        expected = [EquitySample(1, t, Decimal("105"), ("SKL",)) for t in (1618677816.8, 1618677840.0, 1618677900.5)]
        self.assertEqual(writer.records, [(NO_EXCHANGE, sample) for sample in expected])

    async def test_the_timer_samples_on_the_clock_given(self):
        writer = Writer()
        sampler = EquitySampler(MarketDataHub(), writer, balances, clock=lambda: 120.0)
        sampler.start()
        async with asyncio.timeout(5):
            while not writer.records:
                await asyncio.sleep(0.01)
        await sampler.stop()
        self.assertEqual(writer.records, [(NO_EXCHANGE, EquitySample(1, 120.0, Decimal("105"), ("SKL",)))])


class SampleValueTest(unittest.TestCase):
    def test_a_value_through_an_inverse_rate_is_kept_to_the_places_a_store_keeps(self):
        """BTC valued through USD-per-BTC's inverse (a USD_BTC book, made up: 1 USD = 0.0000261 BTC) has
        28 significant digits; the sample keeps 18 places, as the MONEY columns do (the database sink
        refused the 19th and lost the batch)."""
        rates = Valuation([Quote("made-up", Pair("USD", "BTC"), Decimal("0.0000261"), "mid", 1.0)])
        sample = equity_sample(1, 60.0, [("BTC", Decimal("0.1558"))], rates)
        exact = Decimal("0.1558") / Decimal("0.0000261")  # 5969.348659003831417624521073 at 28 digits
        self.assertEqual(sample.value, exact.quantize(Decimal("1e-18")))
        self.assertEqual(-sample.value.as_tuple().exponent, 18)
        self.assertNotEqual(sample.value, exact)  # the rounding did something
