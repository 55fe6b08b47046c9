import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter, MarketClosed, PrecisionError
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.exchanges import binance
from tests.exchanges.markets_contract import MarketsContract, captured_body

BODY = captured_body("BINANCE.0", "https://api.binance.com/api/v3/exchangeInfo")
RAW = {symbol["symbol"]: symbol for symbol in json.loads(BODY)["symbols"]}


def raw_filter(symbol: str, kind: str) -> dict:
    [found] = [f for f in RAW[symbol]["filters"] if f["filterType"] == kind]
    return found


class BinanceMarketsTest(MarketsContract, unittest.TestCase):
    module = binance
    body = BODY
    response_name = "GET /api/v3/exchangeInfo on binance"

    def expected_pairs(self):
        return {name: Pair(s["baseAsset"], s["quoteAsset"]) for name, s in RAW.items()}

    def test_the_capture_lists_1695_symbols_of_which_1222_trade_spot(self):
        self.assertEqual(len(self.markets), 1695)
        online = {name for name, s in RAW.items() if s["status"] == "TRADING" and s["isSpotTradingAllowed"]}
        self.assertEqual(len(online), 1222)
        self.assertEqual({m.symbol for m in self.markets if m.status is MarketStatus.ONLINE}, online)
        self.assertEqual({m.status for m in self.markets}, {MarketStatus.ONLINE, MarketStatus.OFFLINE})

    def test_sample_symbols_field_by_field(self):
        # The four symbols the capture streams; BTCUSDT; BTCIDRT: quote precision 2, tick "1.00",
        # status BREAK; BTCUPUSDT: a leveraged token, spot trading not allowed; BQXETH: tick 10.
        for symbol in ("NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR", "BTCUSDT", "BTCIDRT", "BTCUPUSDT", "BQXETH"):
            raw, market = RAW[symbol], self.table.market_of(symbol)
            lot = raw_filter(symbol, "LOT_SIZE")
            with self.subTest(symbol=symbol):
                self.assertEqual(market.tick_size, Decimal(raw_filter(symbol, "PRICE_FILTER")["tickSize"]))
                self.assertEqual(market.size_step, Decimal(lot["stepSize"]))
                self.assertEqual(market.min_size, Decimal(lot["minQty"]))
                self.assertEqual(market.max_size, Decimal(lot["maxQty"]))
                self.assertEqual(market.min_notional, Decimal(raw_filter(symbol, "MIN_NOTIONAL")["minNotional"]))
                self.assertIsNone(market.max_notional)
                self.assertEqual(market.funds_step, Decimal(1).scaleb(-raw["quoteAssetPrecision"]))
                self.assertEqual(market.status, MarketStatus.ONLINE
                                 if raw["status"] == "TRADING" and raw["isSpotTradingAllowed"]
                                 else MarketStatus.OFFLINE)
                self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.001"), Decimal("0.001")))
        idrt = self.table.market("BTC_IDRT")
        self.assertEqual((idrt.tick_size, idrt.funds_step, idrt.min_notional, idrt.status),
                         (Decimal("1"), Decimal("0.01"), Decimal("20000"), MarketStatus.OFFLINE))
        self.assertEqual(self.table.market("BTCUP_USDT").status, MarketStatus.OFFLINE)
        self.assertEqual(self.table.market("BQX_ETH").tick_size, Decimal("10"))

    def test_the_notional_filter_and_disabled_rules(self):
        symbol = dict(RAW["BTCUSDT"])
        symbol["filters"] = [f for f in symbol["filters"] if f["filterType"] not in ("MIN_NOTIONAL", "PRICE_FILTER")]
        symbol["filters"] += [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000000", "maxPrice": "0.00000000",
             "tickSize": "0.00000000"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ]
        symbol["filters"][1]["maxQty"] = "0.00000000"
        self.assertEqual(symbol["filters"][1]["filterType"], "LOT_SIZE")
        [market] = binance.parse_markets(json.dumps({"symbols": [symbol]}))
        self.assertEqual((market.tick_size, market.max_size, market.min_notional, market.max_notional),
                         (Decimal("0.00000001"), None, Decimal("5"), Decimal("9000000")))
        symbol["filters"] = [f for f in symbol["filters"] if f["filterType"] != "NOTIONAL"]
        [market] = binance.parse_markets(json.dumps({"symbols": [symbol]}))
        self.assertEqual((market.min_notional, market.max_notional), (Decimal(0), None))

    def test_rounding_never_makes_an_order_more_aggressive(self):
        btc = self.table.market("BTC_USDT")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456"), price=Decimal("50000.019"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345"), Decimal("50000.01")))
        sell = check_order(btc, side="sell", type="stop_limit", size=Decimal("1"), price=Decimal("50000.011"),
                           stop_price=Decimal("50100.019"))
        self.assertEqual((sell.price, sell.stop_price), (Decimal("50000.02"), Decimal("50100.01")))
        funds = check_order(btc, side="buy", type="market", funds=Decimal("100.123456789"))
        self.assertEqual(funds.funds, Decimal("100.12345678"))

    def test_orders_outside_the_limits_are_refused_with_the_rule(self):
        btc = self.table.market("BTC_USDT")
        cases = [
            (dict(size=Decimal("0.000001"), price=Decimal("50000")),
             "size 0.000001 below minimum 0.00001 for BTC_USDT on binance"),
            (dict(size=Decimal("0.0001"), price=Decimal("50000")),
             "notional 5 USDT below minimum 10 for BTC_USDT on binance"),
            (dict(size=Decimal("9000.1"), price=Decimal("50000")),
             "size 9000.1 above maximum 9000 for BTC_USDT on binance"),
        ]
        for amounts, message in cases:
            self.assertRefused(PrecisionError, message, check_order, btc, side="buy", type="limit", **amounts)
        self.assertRefused(PrecisionError, "size 0.5 below minimum 1 for NKN_USDT on binance", check_order,
                           self.table.market("NKN_USDT"), side="sell", type="limit", size=Decimal("0.5"),
                           price=Decimal("0.35"))

    def test_a_symbol_in_break_refuses_orders(self):
        self.assertRefused(MarketClosed, "BCC_BTC on binance does not accept this order: market is offline",
                           check_order, self.table.market("BCC_BTC"), side="buy", type="limit", size=Decimal("1"),
                           price=Decimal("0.01"))

    def test_bad_metadata_names_the_field_and_the_symbol(self):
        def changed(kind, **change):
            symbol = dict(RAW["ETHBTC"])
            symbol["filters"] = [{**f, **change} if f["filterType"] == kind else f for f in symbol["filters"]]
            return {"symbols": [symbol]}

        cases = [
            (changed("LOT_SIZE", stepSize="abc"),
             "LOT_SIZE.stepSize of ETHBTC on binance: expected a decimal string such as \"0.01\", got 'abc'"),
            (changed("PRICE_FILTER", tickSize="-0.01"),
             "PRICE_FILTER.tickSize of ETHBTC on binance: expected a decimal of 0 or more, got '-0.01'"),
            (changed("MIN_NOTIONAL", minNotional=None),
             "MIN_NOTIONAL.minNotional of ETHBTC on binance: missing, expected a decimal string such as \"0.01\""),
            (changed("LOT_SIZE", filterType="LOT"),
             "filters of ETHBTC on binance: missing, expected a PRICE_FILTER and a LOT_SIZE filter"),
            ({"symbols": [{**RAW["ETHBTC"], "quoteAssetPrecision": "8"}]},
             "quoteAssetPrecision of ETHBTC on binance: expected a whole number, got '8'"),
            ({"symbols": [{**RAW["ETHBTC"], "status": None}]},
             "status of ETHBTC on binance: missing, expected a string"),
            ({"code": -1003, "msg": "Too many requests"},
             "symbols of exchangeInfo on binance: missing, expected a value"),
        ]
        for data, message in cases:
            self.assertRefused(InvalidParameter, message, binance.parse_markets, json.dumps(data))


if __name__ == "__main__":
    unittest.main()
