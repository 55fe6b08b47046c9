import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter, UnknownPair
from exchange_wrapper.core.markets import Market
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.symbols import SymbolTable

# Kraken's XXBTZUSD and XDGUSD as tests/fixtures/kraken/AssetPairs.json lists them.
BTC = Market(
    "kraken",
    Pair("BTC", "USD"),
    "XXBTZUSD",
    Decimal("0.1"),
    Decimal("0.00000001"),
    Decimal("0.00005"),
    ws_symbol="XBT/USD",
    alt_symbols=("XBTUSD",),
)
DOGE = Market(
    "kraken",
    Pair("DOGE", "USD"),
    "XDGUSD",
    Decimal("0.0000001"),
    Decimal("0.00000001"),
    Decimal("50"),
    ws_symbol="XDG/USD",
    alt_symbols=("XDGUSD",),
)


class SymbolTableTest(unittest.TestCase):
    def setUp(self):
        self.table = SymbolTable("kraken", [BTC, DOGE])

    def test_pair_to_symbol_and_back_by_every_name(self):
        self.assertEqual(self.table.to_symbol(Pair("BTC", "USD")), "XXBTZUSD")
        self.assertEqual(self.table.to_symbol("DOGE_USD"), "XDGUSD")
        self.assertEqual(self.table.to_ws_symbol("BTC_USD"), "XBT/USD")
        for name in ("XXBTZUSD", "XBT/USD", "XBTUSD"):
            self.assertEqual(self.table.to_pair(name), Pair("BTC", "USD"))
        self.assertIs(self.table.market_of("XDG/USD"), DOGE)
        self.assertIs(self.table.market("DOGE_USD"), DOGE)

    def test_the_exchanges_own_currency_codes_are_accepted_in_a_pair(self):
        self.assertEqual(self.table.to_symbol("XBT_USD"), "XXBTZUSD")
        self.assertEqual(self.table.to_symbol(Pair("XDG", "ZUSD")), "XDGUSD")

    def test_without_a_websocket_name_the_symbol_serves(self):
        coinbase = Market(
            "coinbase", Pair("BTC", "USD"), "BTC-USD", Decimal("0.01"), Decimal("0.00000001"), Decimal("0.0001")
        )
        self.assertEqual(SymbolTable("coinbase", [coinbase]).to_ws_symbol("BTC_USD"), "BTC-USD")

    def test_container(self):
        self.assertEqual(len(self.table), 2)
        self.assertEqual(list(self.table), [BTC, DOGE])
        self.assertIn(Pair("BTC", "USD"), self.table)
        self.assertNotIn(Pair("ETH", "USD"), self.table)
        self.assertNotIn("BTC_USD", self.table)

    def test_unknown_names_and_pairs(self):
        for lookup, arg, message in (
            (self.table.to_pair, "BTC/USD", "unknown pair 'BTC/USD' on kraken"),
            (self.table.to_pair, "xbtusd", "unknown pair 'xbtusd' on kraken"),
            (self.table.market_of, None, "unknown pair 'None' on kraken"),
            (self.table.market_of, ["XBTUSD"], "unknown pair \"['XBTUSD']\" on kraken"),
            (self.table.to_symbol, "ETH_USD", "unknown pair 'ETH_USD' on kraken"),
            (self.table.to_ws_symbol, Pair("XBT", "EUR"), "unknown pair 'XBT_EUR' on kraken"),
        ):
            with self.subTest(arg=arg), self.assertRaises(UnknownPair) as caught:
                lookup(arg)
            self.assertEqual(str(caught.exception), message)
        with self.assertRaises(InvalidParameter) as caught:
            self.table.to_symbol("BTCUSD")
        self.assertEqual(str(caught.exception), "pair: expected a pair name such as \"BTC_USD\", got 'BTCUSD'")

    def test_ambiguous_markets_are_refused(self):
        bitcoin_again = Market(
            "kraken", Pair("BTC", "USD"), "XBTUSD.d", Decimal("0.1"), Decimal("0.00000001"), Decimal("0.0001")
        )
        name_taken = Market(
            "kraken",
            Pair("ETH", "USD"),
            "XETHZUSD",
            Decimal("0.01"),
            Decimal("0.00000001"),
            Decimal("0.002"),
            alt_symbols=("XBTUSD",),
        )
        elsewhere = Market(
            "binance", Pair("ETH", "USDT"), "ETHUSDT", Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001")
        )
        cases = [
            (
                bitcoin_again,
                "pair of XBTUSD.d on kraken: expected one market only, but both XXBTZUSD and "
                "XBTUSD.d have it, got 'BTC_USD'",
            ),
            (
                name_taken,
                "symbol XBTUSD on kraken: expected one market only, but both XXBTZUSD and XETHZUSD "
                "have it, got 'XBTUSD'",
            ),
            (elsewhere, "exchange of ETHUSDT: expected 'kraken', got 'binance'"),
        ]
        for market, message in cases:
            with self.subTest(symbol=market.symbol), self.assertRaises(InvalidParameter) as caught:
                SymbolTable("kraken", [BTC, market])
            self.assertEqual(str(caught.exception), message)


if __name__ == "__main__":
    unittest.main()
