"""The precision rules on synthetic markets; tests/exchanges/ checks them on the real ones."""

import unittest
from decimal import Decimal as D

from exchange_wrapper.core.errors import MarketClosed, PrecisionError
from exchange_wrapper.core.markets import Market, MarketStatus
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order, round_price

BTC_USD = Market(
    "coinbase",
    Pair("BTC", "USD"),
    "BTC-USD",
    tick_size=D("0.01"),
    size_step=D("0.00000001"),
    min_size=D("0.0001"),
    max_size=D("280"),
    min_notional=D("10"),
    funds_step=D("0.01"),
)
SIG5 = Market(
    "bitfinex",
    Pair("BTC", "USD"),
    "tBTCUSD",
    tick_size=None,
    price_significant_digits=5,
    size_step=D("0.00000001"),
    min_size=D("0.00006"),
)


class RoundingTest(unittest.TestCase):
    def test_size_rounds_down_price_rounds_away_from_the_market(self):
        buy = check_order(BTC_USD, side="buy", type="limit", size=D("0.123456789"), price=D("50000.019"))
        self.assertEqual((buy.size, buy.price, buy.rounded), (D("0.12345678"), D("50000.01"), ("size", "price")))
        sell = check_order(BTC_USD, side="sell", type="limit", size=D("0.5"), price=D("50000.011"))
        self.assertEqual((sell.size, sell.price, sell.rounded), (D("0.5"), D("50000.02"), ("price",)))

    def test_stop_price_triggers_no_earlier_than_asked(self):
        buy = check_order(BTC_USD, side="buy", type="stop_market", size=D("1"), stop_price=D("50000.011"))
        self.assertEqual(buy.stop_price, D("50000.02"))
        sell = check_order(BTC_USD, side="sell", type="stop_market", size=D("1"), stop_price=D("50000.019"))
        self.assertEqual(sell.stop_price, D("50000.01"))

    def test_significant_digits(self):
        self.assertEqual(round_price(SIG5, D("50123.4"), down=True), D("50123"))
        self.assertEqual(round_price(SIG5, D("50123.4"), down=False), D("50124"))
        self.assertEqual(round_price(SIG5, D("0.000123456"), down=False), D("0.00012346"))
        self.assertEqual(round_price(SIG5, D("123456"), down=True), D("123450"))

    def test_funds_round_down(self):
        order = check_order(BTC_USD, side="buy", type="market", funds=D("100.019"))
        self.assertEqual(order.funds, D("100.01"))

    def test_exact_values_are_not_reported_as_rounded(self):
        order = check_order(BTC_USD, side="buy", type="limit", size=D("0.0001"), price=D("100000"))
        self.assertEqual(order.rounded, ())


class RejectionTest(unittest.TestCase):
    def assertRule(self, rule, message, **order):
        with self.assertRaises(PrecisionError) as caught:
            check_order(BTC_USD, **order)
        self.assertEqual(caught.exception.rule, rule)
        self.assertEqual(str(caught.exception), message)

    def test_minimum_and_maximum_size(self):
        self.assertRule(
            "min_size",
            "size 0.00001 below minimum 0.0001 for BTC_USD on coinbase",
            side="buy",
            type="limit",
            size=D("0.00001"),
            price=D("50000"),
        )
        self.assertRule(
            "max_size",
            "size 281 above maximum 280 for BTC_USD on coinbase",
            side="sell",
            type="limit",
            size=D("281"),
            price=D("50000"),
        )

    def test_minimum_notional(self):
        self.assertRule(
            "min_notional",
            "notional 5 USD below minimum 10 for BTC_USD on coinbase",
            side="buy",
            type="limit",
            size=D("0.0001"),
            price=D("50000"),
        )
        self.assertRule(
            "min_notional",
            "funds 9.99 USD below minimum 10 for BTC_USD on coinbase",
            side="buy",
            type="market",
            funds=D("9.99"),
        )
        self.assertRule(
            "min_notional",
            "notional 0.5 USD below minimum 10 for BTC_USD on coinbase",
            side="sell",
            type="market",
            size=D("0.0001"),
            reference_price=D("5000"),
        )

    def test_prices_must_be_positive_and_survive_rounding(self):
        self.assertRule(
            "positive",
            "price 0 must be above 0 for BTC_USD on coinbase",
            side="buy",
            type="limit",
            size=D("1"),
            price=D("0"),
        )
        self.assertRule(
            "tick_size",
            "price 0.001 rounds to 0 for BTC_USD on coinbase",
            side="buy",
            type="limit",
            size=D("1"),
            price=D("0.001"),
        )

    def test_strict_rejects_instead_of_rounding(self):
        self.assertRule(
            "size_step",
            "size 0.123456789 is not a multiple of 0.00000001 for BTC_USD on coinbase",
            side="buy",
            type="limit",
            size=D("0.123456789"),
            price=D("50000"),
            strict=True,
        )
        self.assertRule(
            "tick_size",
            "price 50000.011 is not a multiple of the tick 0.01 for BTC_USD on coinbase",
            side="buy",
            type="limit",
            size=D("1"),
            price=D("50000.011"),
            strict=True,
        )
        with self.assertRaises(PrecisionError) as caught:
            check_order(SIG5, side="buy", type="limit", size=D("1"), price=D("50123.4"), strict=True)
        self.assertEqual(caught.exception.rule, "significant_digits")
        exact = check_order(BTC_USD, side="buy", type="limit", size=D("0.5"), price=D("50000.01"), strict=True)
        self.assertEqual((exact.size, exact.price), (D("0.5"), D("50000.01")))


class StatusTest(unittest.TestCase):
    def market(self, status):
        return Market(
            "coinbase",
            Pair("BTC", "USD"),
            "BTC-USD",
            tick_size=D("0.01"),
            size_step=D("0.01"),
            min_size=D("0.01"),
            status=status,
        )

    def test_statuses_refuse_what_the_exchange_refuses(self):
        order = dict(side="buy", size=D("1"), price=D("1"))
        with self.assertRaises(MarketClosed):
            check_order(self.market(MarketStatus.OFFLINE), type="limit", **order)
        with self.assertRaises(MarketClosed):
            check_order(self.market(MarketStatus.CANCEL_ONLY), type="limit", **order)
        with self.assertRaises(MarketClosed):
            check_order(self.market(MarketStatus.LIMIT_ONLY), type="market", side="buy", size=D("1"))
        check_order(self.market(MarketStatus.LIMIT_ONLY), type="limit", **order)
        with self.assertRaises(MarketClosed):
            check_order(self.market(MarketStatus.POST_ONLY), type="limit", **order)
        check_order(self.market(MarketStatus.POST_ONLY), type="limit", post_only=True, **order)
