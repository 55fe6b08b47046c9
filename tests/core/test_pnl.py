"""Average-cost P&L, every figure computed by hand in the comments. The fills are made up (round
numbers); the recorded books are used in tests/service/test_pnl.py."""

import unittest
from decimal import Decimal

from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.pnl import Execution, accounts, valued
from exchange_wrapper.core.valuation import Quote, Valuation

SKL_USD, SKL_BTC = Pair("SKL", "USD"), Pair("SKL", "BTC")


def fill(side, price, size, fee="0", fee_currency="USD", time=0.0, pair=SKL_USD, exchange="coinbase"):
    return Execution(exchange, pair, side, Decimal(price), Decimal(size), Decimal(fee), fee_currency, time)


class AverageCostTest(unittest.TestCase):
    def test_buys_a_partial_sell_and_a_sell_through_zero(self):
        (account,) = accounts(
            [
                fill(Side.BUY, "100", "10", "1", time=1),  # position 10, cost 1000
                fill(Side.BUY, "110", "10", "1.1", time=2),  # position 20, cost 2100, average 105
                fill(Side.SELL, "120", "5", "0.6", time=3),  # realizes (120 - 105) x 5 = 75; cost 1575
            ]
        )
        self.assertEqual((account.position, account.cost, account.average_cost), (15, 1575, 105))
        self.assertEqual((account.realized, account.fees), (75, {"USD": Decimal("2.7")}))
        self.assertEqual(account.unrealized(Decimal("100")), -75)  # 15 x 100 - 1575
        account.add(fill(Side.SELL, "130", "30", time=4))  # closes 15: (130 - 105) x 15 = 375; short 15 at 130
        self.assertEqual((account.position, account.cost, account.realized), (-15, -1950, 450))
        self.assertEqual(account.unrealized(Decimal("120")), 150)  # short at 130, marked at 120
        account.add(fill(Side.BUY, "120", "15", time=5))  # closes the short: (130 - 120) x 15 = 150
        self.assertEqual((account.position, account.cost, account.realized, account.average_cost), (0, 0, 600, None))

    def test_fills_are_taken_in_time_order_per_exchange_and_pair(self):
        found = accounts(
            [
                fill(Side.SELL, "0.4", "10", time=2),
                fill(Side.BUY, "0.3", "10", time=1),
                fill(Side.BUY, "0.00001", "100", pair=SKL_BTC, time=3),
            ]
        )
        self.assertEqual(
            [(a.pair, a.realized, a.position, a.fills) for a in found],
            [
                (SKL_BTC, 0, 100, 1),
                (SKL_USD, 1, 0, 2),  # (0.4 - 0.3) x 10
            ],
        )


class ValuedTest(unittest.TestCase):
    def test_figures_in_usd_through_btc_with_the_rates_and_what_could_not_be_valued(self):
        valuation = Valuation(
            [
                Quote("coinbase", SKL_USD, Decimal("0.3"), "mid", 10.0),
                Quote("coinbase", SKL_BTC, Decimal("0.00001"), "mid", 10.0),
            ]
        )
        pairs = accounts(
            [
                fill(Side.BUY, "0.000008", "1000", "0.00001", "BTC", pair=SKL_BTC, time=1),  # cost 0.008 BTC
                fill(Side.SELL, "0.000009", "400", "0.0000036", "BTC", pair=SKL_BTC, time=2),  # +0.0004 BTC
                fill(Side.BUY, "0.25", "100", "0.5", "EUR", time=3),  # a fee no book values
            ]
        )
        report = valued(pairs, valuation, "USD")
        btc, usd = report.pairs
        # SKL-BTC: position 600 at 0.000008 marked to 0.00001: unrealized 0.0012 BTC; BTC is 30000 USD
        self.assertEqual(
            (btc.unrealized, btc.realized_value, btc.unrealized_value),
            (Decimal("0.0012"), Decimal("12"), Decimal("36")),
        )
        self.assertEqual(btc.fees_value, Decimal("0.408"))  # 0.0000136 BTC x 30000
        self.assertEqual(btc.net_value, Decimal("47.592"))
        # SKL-USD: 100 at 0.25 marked to 0.3: +5; its fee in EUR is not valued
        self.assertEqual((usd.unrealized_value, usd.fees_value, usd.net_value), (5, None, None))
        self.assertEqual((report.realized, report.unrealized, report.fees), (12, 41, Decimal("0.408")))
        self.assertEqual(report.net, Decimal("52.592"))
        self.assertEqual((report.unvalued, report.unmarked), (["EUR"], []))
        self.assertEqual([(r.currency, r.rate, len(r.chain)) for r in report.rates], [("BTC", 30000, 2)])

    def test_an_open_position_without_a_quote_is_unmarked(self):
        report = valued(accounts([fill(Side.BUY, "0.3", "10", time=1)]), Valuation([]), "USD")
        self.assertEqual(
            (report.pairs[0].unrealized, report.unmarked, report.unrealized), (None, ["coinbase:SKL_USD"], 0)
        )
        self.assertEqual(report.pairs[0].realized_value, 0)
