import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter, PrecisionError, UnknownPair
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.pairs import Pair, common_currency
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.exchanges import bitfinex
from exchange_wrapper.replay.capture import WsSent, read_capture
from tests.exchanges.markets_contract import CAPTURES, FIXTURES, MarketsContract, captured_body

PAIRS_URL = "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange"
BODY = captured_body("BITFINEX.0", PAIRS_URL)
CURRENCIES = set(json.loads(captured_body("BITFINEX.0", "https://api-pub.bitfinex.com/v2/conf/pub:list:currency"))[0])
NAMES = json.loads(BODY)[0]
INFO_BODY = (FIXTURES / "bitfinex" / "pub_info_pair.json").read_text()
INFO = {name: info for name, info in json.loads(INFO_BODY)[0]}


def codes(name: str) -> tuple[str, str]:
    """Base and quote of a pair name: BASE:QUOTE, or three letters and three letters."""
    return tuple(name.split(":")) if ":" in name else (name[:3], name[3:])


def is_test_pair(name: str) -> bool:
    return name == "AAABBB" or name.startswith("TEST")


class BitfinexMarketsTest(MarketsContract, unittest.TestCase):
    module = bitfinex
    body = BODY
    response_name = "GET /v2/conf/pub:list:pair:exchange on bitfinex"

    def expected_pairs(self):
        return {f"t{name}": Pair(*(common_currency("bitfinex", code) for code in codes(name)))
                for name in NAMES if not is_test_pair(name)}

    def test_the_capture_lists_293_pairs_of_which_3_are_test_pairs(self):
        self.assertEqual(len(NAMES), 293)
        self.assertEqual([name for name in NAMES if is_test_pair(name)],
                         ["AAABBB", "TESTBTC:TESTUSD", "TESTBTC:TESTUSDT"])
        self.assertEqual(len(self.markets), 290)

    def test_every_code_is_a_listed_currency(self):
        for market in self.markets:
            base, quote = bitfinex.split_pair(market.symbol[1:])
            self.assertTrue({base, quote} <= CURRENCIES, market.symbol)

    def test_symbols_and_aliases(self):
        expected = {"tBTCUSD": "BTC_USD", "tAAVE:USD": "AAVE_USD", "tBTC:CNHT": "BTC_CNHT",
                    "tUSTUSD": "USDT_USD", "tUST:CNHT": "USDT_CNHT", "tIOTETH": "IOTA_ETH", "tDSHBTC": "DASH_BTC",
                    "tMNABTC": "MANA_BTC", "tBCHN:USD": "BCH_USD", "tBCHABC:USD": "BCHABC_USD",
                    "tETH2X:UST": "ETH2X_USDT"}
        for symbol, pair in expected.items():
            with self.subTest(symbol=symbol):
                self.assertIn(symbol[1:], NAMES)
                self.assertEqual(str(self.table.to_pair(symbol)), pair)
                self.assertEqual(str(self.table.to_pair(symbol[1:])), pair)
                self.assertEqual(self.table.to_symbol(pair), symbol)
        self.assertEqual(self.table.to_symbol(Pair("UST", "USD")), "tUSTUSD")
        self.assertEqual(self.table.to_symbol("DSH_BTC"), "tDSHBTC")

    def test_the_recorded_subscriptions_translate(self):
        subscribed = {json.loads(r.message)["symbol"] for r in read_capture(CAPTURES / "BITFINEX.ws.11.0")
                      if isinstance(r, WsSent) and "symbol" in r.message}
        self.assertEqual(subscribed, {"tBFTUSD", "tIOTETH", "tDOGUSD", "tMNABTC", "tODEUSD", "tTESTBTC:TESTUSD",
                                      "tSNGUSD"})
        self.assertEqual({str(self.table.to_pair(s)) for s in subscribed - {"tTESTBTC:TESTUSD"}},
                         {"BFT_USD", "IOTA_ETH", "MDOGE_USD", "MANA_BTC", "ODE_USD", "SNGLS_USD"})
        with self.assertRaises(UnknownPair):
            self.table.to_pair("tTESTBTC:TESTUSD")

    def test_precision_is_five_significant_digits_and_eight_decimals(self):
        for market in self.markets:
            self.assertEqual((market.tick_size, market.price_significant_digits, market.size_step),
                             (None, 5, Decimal("0.00000001")))
            self.assertEqual((market.min_size, market.max_size, market.min_notional), (Decimal(0), None, Decimal(0)))
            self.assertEqual((market.maker_fee, market.taker_fee, market.status),
                             (Decimal("0.001"), Decimal("0.002"), MarketStatus.ONLINE))
        btc = self.table.market("BTC_USD")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("57123.49"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345678"), Decimal("57123")))
        sell = check_order(btc, side="sell", type="limit", size=Decimal("1"), price=Decimal("57123.49"))
        self.assertEqual(sell.price, Decimal("57124"))
        # a price the recorded book carries (BITFINEX.ws.11.0: 0.0010262) is already on the grid
        iota = check_order(self.table.market("IOTA_ETH"), side="buy", type="limit", size=Decimal("10"),
                           price=Decimal("0.0010262"))
        self.assertEqual((iota.price, iota.rounded), (Decimal("0.0010262"), ()))
        self.assertRefused(PrecisionError, "price 57123.49 is more than 5 significant digits for BTC_USD on bitfinex",
                           check_order, btc, side="buy", type="limit", size=Decimal("1"), price=Decimal("57123.49"),
                           strict=True)
        self.assertRefused(PrecisionError, "size 0.000000001 below minimum 0.00000001 for BTC_USD on bitfinex",
                           check_order, btc, side="buy", type="limit", size=Decimal("0.000000001"),
                           price=Decimal("57123"))

    def test_order_sizes_from_pub_info_pair(self):
        markets = {m.symbol: m for m in bitfinex.parse_markets(BODY, INFO_BODY)}
        self.assertEqual(len(markets), 290)
        for name, info in INFO.items():
            with self.subTest(name=name):
                if name in NAMES and not is_test_pair(name):
                    self.assertEqual((markets[f"t{name}"].min_size, markets[f"t{name}"].max_size),
                                     (Decimal(info[3]), Decimal(info[4])))
                else:
                    self.assertNotIn(f"t{name}", markets)
        self.assertEqual((markets["tBTCUSD"].min_size, markets["tBTCUSD"].max_size),
                         (Decimal("0.00006"), Decimal("2000")))
        self.assertEqual((markets["tETHUSD"].min_size, markets["tETHUSD"].max_size), (Decimal(0), None))
        btc = markets["tBTCUSD"]
        for size, message in ((Decimal("0.00005"), "size 0.00005 below minimum 0.00006 for BTC_USD on bitfinex"),
                              (Decimal("2000.1"), "size 2000.1 above maximum 2000 for BTC_USD on bitfinex")):
            self.assertRefused(PrecisionError, message, check_order, btc, side="sell", type="limit", size=size,
                               price=Decimal("57000"))

    def test_bad_metadata_names_the_field_and_the_pair(self):
        row = ["BTCUSD", [None, None, None, "0.00006", "2000.0", None, None, None, None, None, None, None]]
        bad_min = [row[0], [None, None, None, "abc", *row[1][4:]]]
        cases = [
            (json.dumps([[5]]), None, "entry 0 of pub:list:pair:exchange on bitfinex: expected a pair name, got 5"),
            (json.dumps([["BTCUSDT"]]), None, "pair BTCUSDT on bitfinex: expected six letters or BASE:QUOTE, "
                                              "got 'BTCUSDT'"),
            (json.dumps(["error", 10020, "symbol: invalid"]), None,
             "GET /v2/conf/pub:list:pair:exchange on bitfinex: expected a list holding one list, "
             "got ['error', 10020, 'symbol: invalid']"),
            (BODY, json.dumps([[bad_min]]),
             "MIN_ORDER_SIZE of BTCUSD on bitfinex: expected a decimal string such as \"0.01\", got 'abc'"),
            (BODY, json.dumps([[["BTCUSD", [None, None, None, "0.00006"]]]]),
             "entry 0 of pub:info:pair on bitfinex: expected [PAIR, [PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, "
             "MIN_ORDER_SIZE, MAX_ORDER_SIZE, ...]], got ['BTCUSD', [None, None, None, '0.00006']]"),
        ]
        for pairs_body, info_body, message in cases:
            self.assertRefused(InvalidParameter, message, bitfinex.parse_markets, pairs_body, info_body)


if __name__ == "__main__":
    unittest.main()
