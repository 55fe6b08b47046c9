import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter, MarketClosed, PrecisionError
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.exchanges import poloniex
from tests.exchanges.markets_contract import MarketsContract, captured_body

BODY = captured_body("POLONIEX.0", "https://api.poloniex.com/markets")
RAW = {market["symbol"]: market for market in json.loads(BODY)}


class PoloniexMarketsTest(MarketsContract, unittest.TestCase):
    module = poloniex
    body = BODY
    response_name = "GET /markets on poloniex"

    def expected_pairs(self):
        return {name: Pair(m["baseCurrencyName"], m["quoteCurrencyName"]) for name, m in RAW.items()}

    def test_the_capture_lists_524_markets_11_paused(self):
        self.assertEqual(len(self.markets), 524)
        paused = {name for name, m in RAW.items() if m["state"] == "PAUSE"}
        self.assertEqual(len(paused), 11)
        self.assertEqual({m.symbol for m in self.markets if m.status is MarketStatus.OFFLINE}, paused)
        self.assertEqual({m.status for m in self.markets}, {MarketStatus.ONLINE, MarketStatus.OFFLINE})

    def test_sample_markets_field_by_field(self):
        # BTC_USDT and SOL_USDT: the usual; BTS_BTC and MDT_BTC: whole-unit sizes, 10 and 9 price
        # places; USDJ_USDT: a stablecoin pair; UST_USDT: paused.
        for symbol in ("BTC_USDT", "SOL_USDT", "BTS_BTC", "MDT_BTC", "USDJ_USDT", "UST_USDT"):
            raw, market = RAW[symbol]["symbolTradeLimit"], self.table.market_of(symbol)
            with self.subTest(symbol=symbol):
                self.assertEqual(market.tick_size, Decimal(10) ** -raw["priceScale"])
                self.assertEqual(market.size_step, Decimal(10) ** -raw["quantityScale"])
                self.assertEqual(market.funds_step, Decimal(10) ** -raw["amountScale"])
                self.assertEqual(market.min_size, Decimal(raw["minQuantity"]))
                self.assertEqual(market.min_notional, Decimal(raw["minAmount"]))
                self.assertEqual((market.max_size, market.max_notional), (None, None))
                self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.00145"), Decimal("0.00155")))
        bts = self.table.market("BTS_BTC")
        self.assertEqual((bts.tick_size, bts.size_step, bts.min_size, bts.min_notional),
                         (Decimal("0.0000000001"), Decimal("1"), Decimal("100"), Decimal("0.00001")))
        self.assertEqual(self.table.market("UST_USDT").status, MarketStatus.OFFLINE)

    def test_post_only_state(self):
        market = dict(RAW["BTC_USDT"], state="POST_ONLY")
        [parsed] = poloniex.parse_markets(json.dumps([market]))
        self.assertEqual(parsed.status, MarketStatus.POST_ONLY)
        with self.assertRaises(MarketClosed):
            check_order(parsed, side="buy", type="limit", size=Decimal("1"), price=Decimal("20000"))
        self.assertEqual(check_order(parsed, side="buy", type="limit", size=Decimal("1"), price=Decimal("20000"),
                                     post_only=True).size, Decimal("1"))

    def test_rounding_and_limits_on_real_markets(self):
        btc = self.table.market("BTC_USDT")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.0123456789"), price=Decimal("21000.129"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.012345"), Decimal("21000.12")))
        sell = check_order(btc, side="sell", type="limit", size=Decimal("0.01"), price=Decimal("21000.121"))
        self.assertEqual(sell.price, Decimal("21000.13"))
        self.assertEqual(check_order(btc, side="buy", type="market", funds=Decimal("25.999")).funds, Decimal("25.99"))
        cases = [
            (btc, dict(size=Decimal("0.0000005"), price=Decimal("21000")),
             "size 0.0000005 below minimum 0.000001 for BTC_USDT on poloniex"),
            (btc, dict(size=Decimal("0.00004"), price=Decimal("21000")),
             "notional 0.84 USDT below minimum 1 for BTC_USDT on poloniex"),
            (self.table.market("BTS_BTC"), dict(size=Decimal("99.9"), price=Decimal("0.0000001")),
             "size 99.9 below minimum 100 for BTS_BTC on poloniex"),
        ]
        for market, amounts, message in cases:
            self.assertRefused(PrecisionError, message, check_order, market, side="buy", type="limit", **amounts)

    def test_bad_metadata_names_the_field_and_the_symbol(self):
        def changed(**limits):
            market = dict(RAW["BTC_USDT"])
            market["symbolTradeLimit"] = {**market["symbolTradeLimit"], **limits}
            return [market]

        cases = [
            (changed(priceScale=None),
             "symbolTradeLimit.priceScale of BTC_USDT on poloniex: missing, expected a whole number"),
            (changed(quantityScale=-1),
             "symbolTradeLimit.quantityScale of BTC_USDT on poloniex: expected a whole number of 0 or more, got -1"),
            (changed(minAmount="one"),
             "symbolTradeLimit.minAmount of BTC_USDT on poloniex: expected a decimal string such as \"0.01\", "
             "got 'one'"),
            ([dict(RAW["BTC_USDT"], symbolTradeLimit="none")],
             "symbolTradeLimit of BTC_USDT on poloniex: expected a JSON object, got 'none'"),
            ([dict(RAW["BTC_USDT"], state=None)], "state of BTC_USDT on poloniex: missing, expected a string"),
            ([{"symbol": 5}], "symbol of entry 0 on poloniex: expected a string, got 5"),
        ]
        for data, message in cases:
            self.assertRefused(InvalidParameter, message, poloniex.parse_markets, json.dumps(data))


if __name__ == "__main__":
    unittest.main()
