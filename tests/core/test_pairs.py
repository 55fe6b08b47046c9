import unittest

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.pairs import Pair, common_currency, native_currency


class PairTest(unittest.TestCase):
    def test_parse_and_print(self):
        pair = Pair.parse("BTC_USD")
        self.assertEqual((pair.base, pair.quote), ("BTC", "USD"))
        self.assertEqual(str(pair), "BTC_USD")
        self.assertEqual(Pair.parse("1INCH_USDT"), Pair("1INCH", "USDT"))

    def test_bad_names_are_refused_naming_the_field(self):
        for bad in ("BTCUSD", "BTC-USD", "btc_usd", "BTC_USD_X", "_USD", "", None, 5, "BTC_USD\n", "BTC\n_USD"):
            with self.assertRaises(InvalidParameter) as caught:
                Pair.parse(bad, "pair")
            self.assertEqual(caught.exception.field, "pair")


class CurrencyAliasTest(unittest.TestCase):
    def test_kraken_names(self):
        for native, common in (
            ("XBT", "BTC"),
            ("XXBT", "BTC"),
            ("ZUSD", "USD"),
            ("XDG", "DOGE"),
            ("XETH", "ETH"),
            ("ZEUR", "EUR"),
            ("DOT", "DOT"),
            ("xbt", "BTC"),
        ):
            self.assertEqual(common_currency("kraken", native), common)
        self.assertEqual(native_currency("kraken", "BTC"), "XBT")
        self.assertEqual(native_currency("kraken", "DOGE"), "XDG")
        self.assertEqual(native_currency("kraken", "USD"), "USD")

    def test_bitfinex_names(self):
        self.assertEqual(common_currency("bitfinex", "UST"), "USDT")
        self.assertEqual(native_currency("bitfinex", "USDT"), "UST")
        self.assertEqual(common_currency("bitfinex", "BTC"), "BTC")

    def test_other_exchanges_keep_codes(self):
        self.assertEqual(common_currency("coinbase", "USDT"), "USDT")
        self.assertEqual(native_currency("binance", "BTC"), "BTC")

    def test_aliases_round_trip(self):
        from exchange_wrapper.core.pairs import CURRENCY_NATIVE

        for exchange, natives in CURRENCY_NATIVE.items():
            for common, native in natives.items():
                self.assertEqual(common_currency(exchange, native), common)
