"""Valuation through chains of quotes, checked by hand. The prices are made up (round numbers that
make the chains easy to follow by hand); the books of the recorded capture are valued in
tests/service/test_pnl.py."""

import unittest
from decimal import Decimal

from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.valuation import NoRate, Quote, Valuation, pegs

SKL_USD = Quote("coinbase", Pair("SKL", "USD"), Decimal("0.3"), "mid", 100.0)
SKL_BTC = Quote("coinbase", Pair("SKL", "BTC"), Decimal("0.00001"), "mid", 101.0)
BAND_BTC = Quote("coinbase", Pair("BAND", "BTC"), Decimal("0.0002"), "last", 99.5)
CRV_EUR = Quote("coinbase", Pair("CRV", "EUR"), Decimal("2"), "mid", 100.0)


class ValuationTest(unittest.TestCase):
    def setUp(self):
        self.valuation = Valuation([SKL_USD, SKL_BTC, BAND_BTC, CRV_EUR])

    def test_a_direct_book_and_its_inverse(self):
        self.assertEqual(self.valuation.value(Decimal("2000"), "SKL"), Decimal("600"))
        rate = self.valuation.rate("USD", "SKL")
        self.assertEqual((rate.rate, rate.chain), (Decimal(1) / Decimal("0.3"), (SKL_USD,)))

    def test_a_chain_through_two_books_names_each_with_its_source(self):
        # BTC -> SKL (1 / 0.00001 = 100000 SKL) -> USD (x 0.3) = 30000
        btc = self.valuation.rate("BTC")
        self.assertEqual((btc.rate, btc.chain), (Decimal("30000"), (SKL_BTC, SKL_USD)))
        # BAND -> BTC (0.0002, a last trade) -> SKL -> USD: 0.0002 x 30000 = 6
        band = self.valuation.rate("BAND", "USD")
        self.assertEqual((band.rate, [q.source for q in band.chain]), (Decimal("6"), ["last", "mid", "mid"]))
        self.assertEqual(
            band.as_json()["chain"][0],
            {"exchange": "coinbase", "pair": "BAND_BTC", "price": "0.0002", "source": "last", "time": 99.5},
        )

    def test_no_chain_names_the_currency(self):
        with self.assertRaises(NoRate) as caught:
            self.valuation.rate("EUR", "USD")
        self.assertEqual((caught.exception.currency, caught.exception.into), ("EUR", "USD"))
        self.assertIsNone(self.valuation.value_or_none(Decimal(1), "CRV"))
        self.assertEqual(self.valuation.value(Decimal(5), "USD"), Decimal(5))  # a currency is worth itself

    def test_pegs_count_only_where_no_book_prices_the_coin(self):
        usdt_usd = Quote("kraken", Pair("USDT", "USD"), Decimal("0.999"), "mid", 100.0)
        valuation = Valuation([*pegs(), usdt_usd, Quote("binance", Pair("BTC", "USDT"), Decimal("50000"), "mid", 1.0)])
        self.assertEqual(valuation.rate("USDT").chain, (usdt_usd,))
        self.assertEqual(valuation.value(Decimal(1), "BTC"), Decimal("49950.000"))
        self.assertEqual(valuation.rate("USDC").rate, Decimal(1))
        self.assertEqual(valuation.rate("USDC").chain[0].source, "peg")

    def test_the_shortest_chain_wins_and_a_zero_price_prices_nothing(self):
        btc_usd = Quote("kraken", Pair("BTC", "USD"), Decimal("31000"), "mid", 100.0)
        valuation = Valuation([SKL_USD, SKL_BTC, btc_usd, Quote("kraken", Pair("ETH", "USD"), Decimal(0), "last", 1.0)])
        self.assertEqual(valuation.rate("BTC").chain, (btc_usd,))
        with self.assertRaises(NoRate):
            valuation.rate("ETH")
        self.assertEqual(valuation.quote("coinbase", Pair("SKL", "BTC")), SKL_BTC)
        self.assertIsNone(valuation.quote("kraken", Pair("SKL", "BTC")))
