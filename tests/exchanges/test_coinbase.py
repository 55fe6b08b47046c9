import base64
import hashlib
import hmac
import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.book import BookSide
from exchange_wrapper.core.errors import InvalidParameter, MarketClosed, PrecisionError
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Ticker, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.coinbase import public as coinbase
from tests.exchanges.markets_contract import MarketsContract, captured_body
from tests.simulator.coinbase import coinbase_protocol

BODY = captured_body("COINBASE.0", "https://api.pro.coinbase.com/products")
RAW = {product["id"]: product for product in json.loads(BODY)}


class CoinbaseMarketsTest(MarketsContract, unittest.TestCase):
    module = coinbase
    body = BODY
    response_name = "GET /products on coinbase"

    def expected_pairs(self):
        return {pid: Pair(p["base_currency"], p["quote_currency"]) for pid, p in RAW.items()}

    def test_the_capture_lists_162_products(self):
        self.assertEqual(len(RAW), 162)
        self.assertEqual(len(self.markets), 162)

    def test_sample_products_field_by_field(self):
        # BTC-USD and ETH-BTC: the usual ones; XLM-EUR: a whole-unit size step; SKL-EUR: a
        # minimum written "5.0"; 1INCH-USD: a code starting with a digit; DAI-USDC and WBTC-BTC:
        # limit-only.
        for symbol in ("BTC-USD", "ETH-BTC", "XLM-EUR", "SKL-EUR", "1INCH-USD", "DAI-USDC", "WBTC-BTC"):
            raw, market = RAW[symbol], self.table.market_of(symbol)
            with self.subTest(symbol=symbol):
                self.assertEqual(market.tick_size, Decimal(raw["quote_increment"]))
                self.assertEqual(market.funds_step, Decimal(raw["quote_increment"]))
                self.assertEqual(market.size_step, Decimal(raw["base_increment"]))
                self.assertEqual(market.min_size, Decimal(raw["base_min_size"]))
                self.assertEqual(market.max_size, Decimal(raw["base_max_size"]))
                self.assertEqual(market.min_notional, Decimal(raw["min_market_funds"]))
                self.assertEqual(market.max_notional, Decimal(raw["max_market_funds"]))
                self.assertEqual(market.status, MarketStatus.LIMIT_ONLY if raw["limit_only"] else MarketStatus.ONLINE)
                self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.004"), Decimal("0.006")))
                self.assertIsNone(market.price_significant_digits)
        btc = self.table.market("BTC_USD")
        self.assertEqual(
            (btc.tick_size, btc.size_step, btc.min_size, btc.max_size, btc.min_notional),
            (Decimal("0.01"), Decimal("0.00000001"), Decimal("0.0001"), Decimal("280"), Decimal("5")),
        )

    def test_status_follows_the_flags(self):
        limit_only = {pid for pid, p in RAW.items() if p["limit_only"]}
        self.assertEqual(len(limit_only), 8)
        self.assertEqual({m.symbol for m in self.markets if m.status is MarketStatus.LIMIT_ONLY}, limit_only)
        cases = [
            ({"status": "delisted"}, MarketStatus.OFFLINE),
            ({"trading_disabled": True}, MarketStatus.OFFLINE),
            ({"cancel_only": True, "limit_only": True}, MarketStatus.CANCEL_ONLY),
            ({"post_only": True}, MarketStatus.POST_ONLY),
        ]
        for change, status in cases:
            with self.subTest(change=change):
                self.assertEqual(self._parse_changed("BTC-USD", **change).status, status)

    def test_products_without_the_fields_removed_in_2022(self):
        product = dict(RAW["BTC-USD"])
        for name in ("base_min_size", "base_max_size", "max_market_funds"):
            del product[name]
        [market] = coinbase.parse_markets(json.dumps([product]))
        self.assertEqual((market.min_size, market.max_size, market.max_notional), (Decimal(0), None, None))
        self.assertEqual(market.min_notional, Decimal("5"))

    def test_rounding_never_makes_an_order_more_aggressive(self):
        btc = self.table.market("BTC_USD")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("50000.019"))
        self.assertEqual(
            (buy.size, buy.price, buy.rounded), (Decimal("0.12345678"), Decimal("50000.01"), ("size", "price"))
        )
        sell = check_order(btc, side="sell", type="limit", size=Decimal("0.5"), price=Decimal("50000.011"))
        self.assertEqual((sell.size, sell.price, sell.rounded), (Decimal("0.5"), Decimal("50000.02"), ("price",)))
        market_buy = check_order(btc, side="buy", type="market", funds=Decimal("100.005"))
        self.assertEqual(market_buy.funds, Decimal("100.00"))

    def test_orders_outside_the_limits_are_refused_with_the_rule(self):
        btc = self.table.market("BTC_USD")
        cases = [
            (
                dict(size=Decimal("0.00001"), price=Decimal("50000")),
                "size 0.00001 below minimum 0.0001 for BTC_USD on coinbase",
            ),
            (dict(size=Decimal("281"), price=Decimal("50000")), "size 281 above maximum 280 for BTC_USD on coinbase"),
            (
                dict(size=Decimal("0.0001"), price=Decimal("40000")),
                "notional 4 USD below minimum 5 for BTC_USD on coinbase",
            ),
            (
                dict(size=Decimal("25"), price=Decimal("50000")),
                "notional 1250000 USD above maximum 1000000 for BTC_USD on coinbase",
            ),
        ]
        for amounts, message in cases:
            self.assertRefused(PrecisionError, message, check_order, btc, side="buy", type="limit", **amounts)
        self.assertRefused(
            PrecisionError,
            "funds 0.0009 BTC below minimum 0.001 for ETH_BTC on coinbase",
            check_order,
            self.table.market("ETH_BTC"),
            side="buy",
            type="market",
            funds=Decimal("0.0009"),
        )

    def test_a_limit_only_product_refuses_market_orders(self):
        self.assertRefused(
            MarketClosed,
            "DAI_USDC on coinbase does not accept this order: market is limit_only",
            check_order,
            self.table.market("DAI_USDC"),
            side="buy",
            type="market",
            funds=Decimal("10"),
        )

    def test_bad_metadata_names_the_field_and_the_product(self):
        cases = [
            (
                dict(base_increment=None),
                'base_increment of BTC-USD on coinbase: missing, expected a decimal string such as "0.01"',
            ),
            (
                dict(quote_increment="abc"),
                "quote_increment of BTC-USD on coinbase: expected a decimal string such as \"0.01\", got 'abc'",
            ),
            (
                dict(quote_increment="0"),
                "quote_increment of BTC-USD on coinbase: expected a decimal greater than 0, got '0'",
            ),
            (
                dict(min_market_funds="-5"),
                "min_market_funds of BTC-USD on coinbase: expected a decimal of 0 or more, got '-5'",
            ),
            (dict(limit_only="no"), "limit_only of BTC-USD on coinbase: expected true or false, got 'no'"),
            (
                dict(quote_currency="US$"),
                "pair of BTC-USD on coinbase: expected a pair name such as \"BTC_USD\", got 'BTC_US$'",
            ),
        ]
        for change, message in cases:
            self.assertRefused(InvalidParameter, message, self._parse_changed, "BTC-USD", **change)
        self.assertRefused(
            InvalidParameter,
            "id of entry 0 on coinbase: missing, expected a string",
            coinbase.parse_markets,
            json.dumps([{"base_currency": "BTC"}]),
        )
        self.assertRefused(
            InvalidParameter,
            "GET /products on coinbase: expected a JSON list of products, got {'message': 'rate limit exceeded'}",
            coinbase.parse_markets,
            '{"message": "rate limit exceeded"}',
        )

    def _parse_changed(self, symbol, **change):
        product = {**RAW[symbol], **change}
        product = {key: value for key, value in product.items() if value is not None}
        [market] = coinbase.parse_markets(json.dumps([product]))
        return market


class CoinbaseAdapterTest(unittest.TestCase):
    """The websocket and REST translations, on the real recorded messages."""

    def setUp(self):
        self.adapter = coinbase.CoinbaseAdapter(
            SymbolTable("coinbase", coinbase.parse_markets(BODY)), [Pair("BTC", "USD"), Pair("SKL", "USD")]
        )
        self.messages = coinbase_protocol().recording

    def first(self, kind, product):
        return next(m for m in self.messages if f'"type":"{kind}"' in m and f'"{product}"' in m)

    def test_snapshot_and_l2update(self):
        raw = json.loads(self.first("snapshot", "BAND-GBP"))
        [snapshot] = self.adapter.parse(self.first("snapshot", "BAND-GBP"), 1.0)
        self.assertEqual(
            snapshot,
            BookSnapshot(
                Pair("BAND", "GBP"),
                [(Decimal(p), Decimal(s)) for p, s in raw["bids"]],
                [(Decimal(p), Decimal(s)) for p, s in raw["asks"]],
            ),
        )
        update = (
            '{"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.00001306","660.5"],'
            '["buy","0.00001300","0"]],"time":"2021-04-17T16:43:37.075687Z"}'
        )
        self.assertEqual(
            self.adapter.parse(update, 1.0),
            [
                BookDelta(
                    Pair("SKL", "BTC"),
                    [
                        (BookSide.ASK, Decimal("0.00001306"), Decimal("660.5")),
                        (BookSide.BID, Decimal("0.00001300"), Decimal("0")),
                    ],
                    time=1618677817.075687,  # the message's time, 2021-04-17T16:43:37.075687Z
                )
            ],
        )

    def test_a_match_names_the_taker_side_and_keeps_the_exchange_time(self):
        message = self.first("match", "SKL-BTC")
        raw = json.loads(message)
        self.assertEqual(raw["side"], "sell")  # the maker sold: a buyer took it
        [trade] = self.adapter.parse(message, 99.0)
        self.assertEqual(
            trade,
            Trade(Pair("SKL", "BTC"), "280232", Decimal("0.00001305"), Decimal("985"), Side.BUY, 1618677817.089723),
        )

    def test_ticker_heartbeat_subscriptions_last_match_and_errors(self):
        [ticker] = self.adapter.parse(self.first("ticker", "BAND-GBP"), 1.0)
        self.assertEqual(
            ticker,
            Ticker(
                Pair("BAND", "GBP"),
                Decimal("14.7550"),
                Decimal("14.8060"),
                1618677810.244075,
                last=Decimal("14.7775"),
                volume_24h=Decimal("94381.28000000"),
            ),
        )
        for quiet in (
            self.first("last_match", "BAND-GBP"),
            self.first("subscriptions", "BAND-GBP"),
            '{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD",'
            '"time":"2014-11-07T08:19:28.464459Z"}',
        ):
            self.assertEqual(self.adapter.parse(quiet, 1.0), [])
        self.assertEqual(
            self.adapter.parse(
                '{"type":"error","message":"Failed to subscribe","reason":"FOO-BAR is not a valid product"}', 1.0
            ),
            [FeedError("Failed to subscribe: FOO-BAR is not a valid product")],
        )

    def test_subscriptions_public_and_signed(self):
        self.assertEqual(
            [json.loads(m) for m in self.adapter.subscribe(self.adapter.pairs, 0)],
            [
                {
                    "type": "subscribe",
                    "product_ids": ["BTC-USD", "SKL-USD"],
                    "channels": ["level2_batch", "matches", "ticker", "heartbeat"],
                }
            ],
        )
        self.assertEqual(
            [json.loads(m) for m in self.adapter.resubscribe([Pair("BTC", "USD")], 0)],
            [
                {"type": "unsubscribe", "product_ids": ["BTC-USD"], "channels": ["level2_batch"]},
                {"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["level2_batch"]},
            ],
        )
        secret = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
        signed = coinbase.CoinbaseAdapter(self.adapter.markets, [Pair("BTC", "USD")], Credentials("key1", secret, "pp"))
        [message] = signed.subscribe(signed.pairs, 1700000000.9)
        expected = base64.b64encode(
            hmac.new(b"0123456789abcdef0123456789abcdef", b"1700000000GET/users/self/verify", hashlib.sha256).digest()
        ).decode()
        self.assertEqual(
            json.loads(message),
            {
                "type": "subscribe",
                "product_ids": ["BTC-USD"],
                "channels": ["level2", "matches", "ticker", "heartbeat"],
                "signature": expected,
                "key": "key1",
                "passphrase": "pp",
                "timestamp": "1700000000",
            },
        )

    def test_candles_request_and_response(self):
        request = self.adapter.candles_request(Pair("BTC", "USD"), 60, 1618677600, 1618677780)
        self.assertEqual(
            (request.path, request.params),
            (
                "/products/BTC-USD/candles",
                {"granularity": 60, "start": "2021-04-17T16:40:00Z", "end": "2021-04-17T16:43:00Z"},
            ),
        )
        # as the API documents it: [time, low, high, open, close, volume], newest first, numbers
        body = (
            "[[1618677660, 61050.5, 61120.01, 61100, 61060.12, 12.5044], "
            "[1618677600, 61000, 61100.99, 61010.1, 61100, 3.1]]"
        )
        self.assertEqual(
            self.adapter.parse_candles(body, Pair("BTC", "USD"), 60),
            [
                Candle(
                    Pair("BTC", "USD"),
                    1618677600,
                    60,
                    Decimal("61010.1"),
                    Decimal("61100.99"),
                    Decimal("61000"),
                    Decimal("61100"),
                    Decimal("3.1"),
                ),
                Candle(
                    Pair("BTC", "USD"),
                    1618677660,
                    60,
                    Decimal("61100"),
                    Decimal("61120.01"),
                    Decimal("61050.5"),
                    Decimal("61060.12"),
                    Decimal("12.5044"),
                ),
            ],
        )
        for args, field in (((120, 0, 120), "interval"), ((60, 0, 60 * 301), "end")):
            with self.assertRaises(InvalidParameter) as raised:
                self.adapter.candles_request(Pair("BTC", "USD"), *args)
            self.assertEqual(raised.exception.field, field)
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.parse_candles('[[1618677600, "x", 1, 1, 1, 1]]', Pair("BTC", "USD"), 60)
        self.assertEqual(raised.exception.field, "low of BTC_USD candle 0 on coinbase")


if __name__ == "__main__":
    unittest.main()
