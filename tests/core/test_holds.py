import unittest
from decimal import Decimal as D

from exchange_wrapper.core.holds import required_hold, rest_hold
from exchange_wrapper.core.markets import Market
from exchange_wrapper.core.orders import Order, OrderType, Side
from exchange_wrapper.core.pairs import Pair

MARKET = Market(
    "binance", Pair("ETH", "BTC"), "ETHBTC", tick_size=D("0.000001"), size_step=D("0.0001"), min_size=D("0.0001")
)
FEE, MARGIN = D("0.001"), D("0.05")


def order(side, type, size=None, price=None, stop_price=None, funds=None):
    return Order(
        id="1",
        client_order_id="c",
        wallet_set_id=1,
        exchange="binance",
        pair="ETH_BTC",
        side=Side(side),
        type=OrderType(type),
        size=None if size is None else D(size),
        price=None if price is None else D(price),
        stop_price=None if stop_price is None else D(stop_price),
        funds=None if funds is None else D(funds),
    )


class RequiredHoldTest(unittest.TestCase):
    def hold(self, o, walk_cost=None):
        return required_hold(o, MARKET, taker_fee=FEE, margin=MARGIN, walk_cost=walk_cost)

    def test_sells_hold_their_base_size(self):
        self.assertEqual(self.hold(order("sell", "limit", "1.5", "0.07")), ("ETH", D("1.5")))
        self.assertEqual(self.hold(order("sell", "market", "2")), ("ETH", D("2")))

    def test_limit_buys_hold_cost_and_taker_fee(self):
        self.assertEqual(self.hold(order("buy", "limit", "2", "0.071234")), ("BTC", D("0.142610468")))
        self.assertEqual(self.hold(order("buy", "stop_limit", "2", "0.071234", "0.07")), ("BTC", D("0.142610468")))

    def test_market_buys_hold_the_walk_or_funds(self):
        self.assertEqual(self.hold(order("buy", "market", "3"), walk_cost=D("0.2")), ("BTC", D("0.210210")))
        self.assertEqual(self.hold(order("buy", "market", funds="0.5")), ("BTC", D("0.5005")))
        self.assertEqual(self.hold(order("buy", "stop_market", "3", stop_price="0.08")), ("BTC", D("0.252252")))
        with self.assertRaises(ValueError):
            self.hold(order("buy", "market", "3"))

    def test_holds_round_up_to_what_the_ledger_stores(self):
        currency, amount = self.hold(order("buy", "limit", "0.0001", "0.000001"))
        self.assertEqual(amount, D("1.001E-10"))
        tiny = required_hold(
            order("buy", "limit", "0.3333", "0.000003"), MARKET, taker_fee=D("0.0033333"), margin=MARGIN
        )[1]
        self.assertLessEqual(-tiny.as_tuple().exponent, 18)
        self.assertGreaterEqual(tiny, D("0.3333") * D("0.000003") * D("1.0033333"))

    def test_the_largest_orders_hold_every_place(self):
        # 10^10 quote and more to 18 places is beyond the default 28 digits: quantize raised InvalidOperation
        size, price = D("123456789.123456789"), D("99999.123456789012345678")
        currency, amount = self.hold(order("buy", "limit", str(size), str(price)))
        # exactly 12357916267832.457721867984138243384671849942, rounded up to 18 places
        self.assertEqual((currency, amount), ("BTC", D("12357916267832.457721867984138244")))


class RestHoldTest(unittest.TestCase):
    def test_an_open_order_holds_what_its_rest_needs(self):
        buy = order("buy", "limit", "2", "0.071234")
        buy.filled_size = D("0.5")
        self.assertEqual(rest_hold(buy, buy.price, buy.size, FEE), ("BTC", D("0.106957851")))  # 1.5 x price x 1.001
        self.assertEqual(rest_hold(buy, D("0.07"), D("3"), FEE), ("BTC", D("0.175175")))  # amended: 2.5 at 0.07
        sell = order("sell", "limit", "2", "0.071234")
        sell.filled_size = D("0.25")
        self.assertEqual(rest_hold(sell, sell.price, sell.size, FEE), ("ETH", D("1.75")))
