"""Kraken has no capture: tests/fixtures/kraken/ holds its documented example response and
five pairs as the live API returned them (see tests/fixtures/README.md)."""
import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter, MarketClosed, PrecisionError
from exchange_wrapper.core.markets import Market, MarketStatus
from exchange_wrapper.core.pairs import Pair, common_currency
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.exchanges import kraken
from tests.exchanges.markets_contract import FIXTURES, MarketsContract

BODY = (FIXTURES / "kraken" / "AssetPairs.json").read_text()
DOCS_BODY = (FIXTURES / "kraken" / "AssetPairs.docs.json").read_text()
RAW = json.loads(BODY)["result"]
DOCS_RAW = json.loads(DOCS_BODY)["result"]


def parse_changed(key: str, **change) -> Market:
    pair = {name: value for name, value in {**RAW[key], **change}.items() if value is not None}
    [market] = kraken.parse_markets(json.dumps({"error": [], "result": {key: pair}}))
    return market


class KrakenMarketsTest(MarketsContract, unittest.TestCase):
    module = kraken
    body = BODY
    response_name = "GET /0/public/AssetPairs on kraken"

    def expected_pairs(self):
        return {key: Pair(common_currency("kraken", p["base"]), common_currency("kraken", p["quote"]))
                for key, p in RAW.items()}

    def test_all_three_names_of_a_pair(self):
        expected = {"XXBTZUSD": ("BTC_USD", "XBT/USD", "XBTUSD"), "XDGUSD": ("DOGE_USD", "XDG/USD", "XDGUSD"),
                    "XETHXXBT": ("ETH_BTC", "ETH/XBT", "ETHXBT"), "SOLUSD": ("SOL_USD", "SOL/USD", "SOLUSD"),
                    "ACAEUR": ("ACA_EUR", "ACA/EUR", "ACAEUR")}
        self.assertEqual(sorted(RAW), sorted(expected))
        for key, (pair, wsname, altname) in expected.items():
            with self.subTest(key=key):
                self.assertEqual((RAW[key]["wsname"], RAW[key]["altname"]), (wsname, altname))
                for name in (key, wsname, altname):
                    self.assertEqual(str(self.table.to_pair(name)), pair)
                self.assertEqual(self.table.to_symbol(pair), key)
                self.assertEqual(self.table.to_ws_symbol(pair), wsname)

    def test_pairs_may_be_given_in_krakens_spelling(self):
        self.assertEqual(self.table.to_symbol(Pair("XBT", "USD")), "XXBTZUSD")
        self.assertEqual(self.table.to_symbol("XDG_USD"), "XDGUSD")
        self.assertEqual(self.table.to_symbol("ETH_XBT"), "XETHXXBT")

    def test_sample_pairs_field_by_field(self):
        for raw_pairs, markets in ((RAW, self.markets), (DOCS_RAW, kraken.parse_markets(DOCS_BODY))):
            self.assertEqual(len(markets), len(raw_pairs))
            for market in markets:
                raw = raw_pairs[market.symbol]
                with self.subTest(symbol=market.symbol):
                    self.assertEqual(market.tick_size, Decimal(raw["tick_size"]))
                    self.assertEqual(market.tick_size, Decimal(10) ** -raw["pair_decimals"])
                    self.assertEqual(market.size_step, Decimal(10) ** -raw["lot_decimals"])
                    self.assertEqual(market.funds_step, Decimal(10) ** -raw["cost_decimals"])
                    self.assertEqual(market.min_size, Decimal(raw["ordermin"]))
                    self.assertEqual(market.min_notional, Decimal(raw["costmin"]))
                    self.assertEqual((market.max_size, market.max_notional), (None, None))
                    self.assertEqual((market.ws_symbol, market.alt_symbols), (raw["wsname"], (raw["altname"],)))
        doge = self.table.market("DOGE_USD")
        self.assertEqual((doge.tick_size, doge.size_step, doge.min_size, doge.min_notional, doge.funds_step),
                         (Decimal("0.0000001"), Decimal("0.00000001"), Decimal("50"), Decimal("0.5"),
                          Decimal("0.000000001")))

    def test_fees_come_from_the_first_tier_in_percent(self):
        docs = {m.symbol: m for m in kraken.parse_markets(DOCS_BODY)}
        self.assertEqual(DOCS_RAW["XXBTZUSD"]["fees"][0], [0, 0.26])
        self.assertEqual(DOCS_RAW["XXBTZUSD"]["fees_maker"][0], [0, 0.16])
        for key in ("XXBTZUSD", "XETHXXBT"):
            self.assertEqual((docs[key].maker_fee, docs[key].taker_fee), (Decimal("0.0016"), Decimal("0.0026")))
        # The live API sent empty lists: Kraken Pro's lowest published tier, 0.25 % / 0.40 %.
        self.assertTrue(all(p["fees"] == [] and p["fees_maker"] == [] for p in RAW.values()))
        self.assertTrue(all((m.maker_fee, m.taker_fee) == (Decimal("0.0025"), Decimal("0.004"))
                            for m in self.markets))
        # A pair off the maker/taker schedule (no fees_maker) charges makers the taker fee.
        market = parse_changed("XXBTZUSD", fees=[[0, 0.4], [10000, 0.35]], fees_maker=None)
        self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.004"), Decimal("0.004")))

    def test_status(self):
        self.assertEqual(self.table.market("ACA_EUR").status, MarketStatus.CANCEL_ONLY)
        self.assertEqual({m.symbol for m in self.markets if m.status is MarketStatus.ONLINE},
                         {"XXBTZUSD", "XDGUSD", "XETHXXBT", "SOLUSD"})
        cases = {"post_only": MarketStatus.POST_ONLY, "limit_only": MarketStatus.LIMIT_ONLY,
                 "reduce_only": MarketStatus.CANCEL_ONLY, "delisted": MarketStatus.OFFLINE,
                 "maintenance": MarketStatus.OFFLINE, "work_in_progress": MarketStatus.OFFLINE}
        for status, expected in cases.items():
            with self.subTest(status=status):
                self.assertEqual(parse_changed("SOLUSD", status=status).status, expected)

    def test_older_responses_without_tick_size_costmin_or_cost_decimals(self):
        market = parse_changed("XDGUSD", tick_size=None, costmin=None, cost_decimals=None)
        self.assertEqual((market.tick_size, market.min_notional, market.funds_step),
                         (Decimal("0.0000001"), Decimal(0), None))

    def test_dark_pool_pairs_are_skipped(self):
        dark = {name: value for name, value in RAW["XXBTZUSD"].items() if name not in ("wsname", "tick_size")}
        dark["altname"] = "XBTUSD.d"
        result = {"XXBTZUSD": RAW["XXBTZUSD"], "XXBTZUSD.d": dark}
        markets = kraken.parse_markets(json.dumps({"error": [], "result": result}))
        self.assertEqual([m.symbol for m in markets], ["XXBTZUSD"])

    def test_pairs_of_assets_a_unified_name_cannot_carry_are_skipped(self):
        staking = {**RAW["XETHXXBT"], "altname": "ETH2.SETH", "wsname": "ETH2.S/ETH", "base": "ETH2.S",
                   "quote": "XETH"}
        result = {"XXBTZUSD": RAW["XXBTZUSD"], "ETH2.SETH": staking}
        markets = kraken.parse_markets(json.dumps({"error": [], "result": result}))
        self.assertEqual([m.symbol for m in markets], ["XXBTZUSD"])

    def test_rounding_and_limits_on_real_pairs(self):
        btc = self.table.market("BTC_USD")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("84000.15"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345678"), Decimal("84000.1")))
        sell = check_order(btc, side="sell", type="limit", size=Decimal("0.1"), price=Decimal("84000.15"))
        self.assertEqual(sell.price, Decimal("84000.2"))
        cases = [
            (btc, dict(size=Decimal("0.00001"), price=Decimal("84000")),
             "size 0.00001 below minimum 0.00005 for BTC_USD on kraken"),
            (btc, dict(size=Decimal("0.00005"), price=Decimal("5000")),
             "notional 0.25 USD below minimum 0.5 for BTC_USD on kraken"),
            (self.table.market("DOGE_USD"), dict(size=Decimal("49.999"), price=Decimal("0.2")),
             "size 49.999 below minimum 50 for DOGE_USD on kraken"),
        ]
        for market, amounts, message in cases:
            self.assertRefused(PrecisionError, message, check_order, market, side="buy", type="limit", **amounts)
        self.assertRefused(MarketClosed, "ACA_EUR on kraken does not accept this order: market is cancel_only",
                           check_order, self.table.market("ACA_EUR"), side="buy", type="limit",
                           size=Decimal("20000"), price=Decimal("0.01"))

    def test_bad_metadata_names_the_field_and_the_pair(self):
        cases = [
            (dict(lot_decimals="8"), "lot_decimals of XXBTZUSD on kraken: expected a whole number, got '8'"),
            (dict(ordermin="lots"), "ordermin of XXBTZUSD on kraken: expected a decimal string such as \"0.01\", "
                                    "got 'lots'"),
            (dict(tick_size="0"), "tick_size of XXBTZUSD on kraken: expected a decimal greater than 0, got '0'"),
            (dict(wsname=None), "wsname of XXBTZUSD on kraken: missing, expected a string"),
            (dict(fees=[[0]]), "fees[0] of XXBTZUSD on kraken: expected [volume, percent fee], got [0]"),
            (dict(fees_maker=[[0, "cheap"]]), "fees_maker[0] of XXBTZUSD on kraken: expected a decimal string "
                                              "such as \"0.01\", got 'cheap'"),
        ]
        for change, message in cases:
            self.assertRefused(InvalidParameter, message, parse_changed, "XXBTZUSD", **change)
        self.assertRefused(InvalidParameter, "error of AssetPairs on kraken: expected an empty list, "
                                             "got ['EGeneral:Too many requests']",
                           kraken.parse_markets, '{"error":["EGeneral:Too many requests"]}')


if __name__ == "__main__":
    unittest.main()
