import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.wire import Fields, column_rows, entry, expect, load_json, unified_pair

# Kraken's documented XXBTZUSD entry, cut down (tests/fixtures/kraken/AssetPairs.docs.json).
PAIR = (
    '{"altname":"XBTUSD","base":"XXBT","quote":"ZUSD","pair_decimals":1,"lot_decimals":8,'
    '"fees":[[0,0.26]],"ordermin":"0.0001","costmin":"0.5","tick_size":"0.1","status":"online",'
    '"margin_call":80,"leverage_buy":null}'
)


class LoadJsonTest(unittest.TestCase):
    def test_fractions_are_decimals_and_whole_numbers_ints(self):
        data = load_json(PAIR.encode(), "AssetPairs")
        self.assertEqual(data["fees"], [[0, Decimal("0.26")]])
        self.assertIsInstance(data["fees"][0][1], Decimal)
        self.assertIs(type(data["margin_call"]), int)

    def test_not_json(self):
        for body, shown in ((b"Service Unavailable", "Service Unavailable"), ("", ""), (b"\xff\xfe{", "\ufffd\ufffd{")):
            with self.subTest(body=body), self.assertRaises(InvalidParameter) as caught:
                load_json(body, "GET /products on coinbase")
            self.assertEqual(
                str(caught.exception), f"GET /products on coinbase: expected a JSON document, got {shown!r}"
            )


class FieldsTest(unittest.TestCase):
    def setUp(self):
        self.pair = Fields("kraken", "XXBTZUSD", load_json(PAIR, "AssetPairs"))

    def test_reading_fields(self):
        self.assertEqual(self.pair.text("status"), "online")
        self.assertEqual(self.pair.integer("lot_decimals"), 8)
        self.assertEqual(self.pair.places("lot_decimals"), Decimal("0.00000001"))
        self.assertEqual(self.pair.decimal("tick_size", positive=True), Decimal("0.1"))
        self.assertEqual(self.pair.optional_decimal("costmin"), Decimal("0.5"))
        self.assertIsNone(self.pair.optional_decimal("cost_decimals"))
        self.assertFalse(self.pair.has("leverage_buy"))  # null counts as absent
        self.assertEqual(self.pair.label("ordermin"), "ordermin of XXBTZUSD on kraken")

    def test_errors_name_field_symbol_and_exchange(self):
        cases = [
            (lambda: self.pair.text("wsname"), "wsname of XXBTZUSD on kraken: missing, expected a string"),
            (lambda: self.pair.text("pair_decimals"), "pair_decimals of XXBTZUSD on kraken: expected a string, got 1"),
            (
                lambda: self.pair.integer("ordermin"),
                "ordermin of XXBTZUSD on kraken: expected a whole number, got '0.0001'",
            ),
            (lambda: self.pair.flag("status"), "status of XXBTZUSD on kraken: expected true or false, got 'online'"),
            (
                lambda: self.pair.decimal("status"),
                "status of XXBTZUSD on kraken: expected a decimal string such as \"0.01\", got 'online'",
            ),
            (
                lambda: self.pair.decimal("leverage_buy"),
                'leverage_buy of XXBTZUSD on kraken: missing, expected a decimal string such as "0.01"',
            ),
            (
                lambda: self.pair.nested("fees"),
                "fees of XXBTZUSD on kraken: expected a JSON object, got [[0, Decimal('0.26')]]",
            ),
        ]
        for read, message in cases:
            with self.subTest(message=message), self.assertRaises(InvalidParameter) as caught:
                read()
            self.assertEqual(str(caught.exception), message)

    def test_booleans_and_negatives_are_not_counts(self):
        for value, message in (
            (True, "expected a whole number, got True"),
            (-1, "expected a whole number of 0 or more, got -1"),
        ):
            with self.subTest(value=value), self.assertRaises(InvalidParameter) as caught:
                Fields("poloniex", "BTC_USDT", {"priceScale": value}).integer("priceScale")
            self.assertEqual(str(caught.exception), f"priceScale of BTC_USDT on poloniex: {message}")

    def test_nested_objects_are_labelled_by_their_path(self):
        market = Fields("poloniex", "BTC_USDT", {"symbolTradeLimit": {"minAmount": "x"}})
        with self.assertRaises(InvalidParameter) as caught:
            market.nested("symbolTradeLimit").decimal("minAmount")
        self.assertEqual(
            str(caught.exception),
            "symbolTradeLimit.minAmount of BTC_USDT on poloniex: expected a decimal string such as \"0.01\", got 'x'",
        )

    def test_entries_are_labelled_by_their_own_symbol(self):
        self.assertEqual(entry("coinbase", {"id": "BTC-USD"}, 4, "id").label("status"), "status of BTC-USD on coinbase")
        for raw, message in (
            ({}, "id of entry 4 on coinbase: missing, expected a string"),
            ("BTC-USD", "entry 4 on coinbase: expected a JSON object, got 'BTC-USD'"),
        ):
            with self.subTest(raw=raw), self.assertRaises(InvalidParameter) as caught:
                entry("coinbase", raw, 4, "id")
            self.assertEqual(str(caught.exception), message)


class HelpersTest(unittest.TestCase):
    def test_unified_pair_resolves_aliases(self):
        self.assertEqual(unified_pair("kraken", "XXBT", "ZUSD", "pair"), Pair("BTC", "USD"))
        self.assertEqual(unified_pair("bitfinex", "UST", "CNHT", "pair"), Pair("USDT", "CNHT"))
        self.assertEqual(unified_pair("coinbase", "1INCH", "USD", "pair"), Pair("1INCH", "USD"))
        with self.assertRaises(InvalidParameter) as caught:
            unified_pair("kraken", "ETH2.S", "XETH", "pair of ETH2.SETH on kraken")
        self.assertEqual(
            str(caught.exception),
            "pair of ETH2.SETH on kraken: expected a pair name such as \"BTC_USD\", got 'ETH2.S_ETH'",
        )

    def test_expect(self):
        self.assertEqual(expect([1], list, "symbols", "a list"), [1])
        with self.assertRaises(InvalidParameter) as caught:
            expect(False, int, "count", "a whole number")
        self.assertEqual(str(caught.exception), "count: expected a whole number, got False")


class ColumnRowsTest(unittest.TestCase):
    # Poloniex's candle row as ccxt quotes it, cut to four columns
    COLUMNS = ("low", "high", "tradeCount", "startTime")

    def test_rows_become_fields_named_by_column(self):
        [row] = column_rows(
            "poloniex", '[["22814.01", "22937.42", 33, 1659664800000]]', "candles", self.COLUMNS, "BTC_USDT candle"
        )
        self.assertEqual(
            (row.decimal("low"), row.integer("tradeCount"), row.integer("startTime")),
            (Decimal("22814.01"), 33, 1659664800000),
        )
        self.assertEqual(row.label("high"), "high of BTC_USDT candle 0 on poloniex")

    def test_a_row_of_another_shape_or_no_list_is_refused(self):
        short_row = "candles[1]: expected a row of 4 columns: low, high, tradeCount, startTime, got ['1', '2', 3]"
        for body, message in (
            ('[["1", "2", 3, 4], ["1", "2", 3]]', short_row),
            ('{"code": 24101}', "candles: expected a JSON list of rows, got {'code': 24101}"),
        ):
            with self.subTest(body=body), self.assertRaises(InvalidParameter) as caught:
                column_rows("poloniex", body, "candles", self.COLUMNS, "BTC_USDT candle")
            self.assertEqual(str(caught.exception), message)


if __name__ == "__main__":
    unittest.main()
