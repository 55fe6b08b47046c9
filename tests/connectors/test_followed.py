"""FollowedOrders, pure: the order a report is about found by exchange order id or client id (also
after a cancel-replace and a restart), a report's fills applied once however often it comes, the
unconfirmed placements, and the open orders xWrap did not place. Client ids are Binance's adapter's
(on the capture's exchangeInfo)."""

import unittest
from decimal import Decimal as D

from exchange_wrapper.connectors.followed import FollowedOrders
from exchange_wrapper.core.errors import ExchangeUnavailable
from exchange_wrapper.core.execution import OrderReport
from exchange_wrapper.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from exchange_wrapper.exchanges.private import client_key
from tests.exchanges.test_binance_private import adapter


def order(id="1", client_order_id="c1", **extra):
    return Order(
        id=id,
        client_order_id=client_order_id,
        wallet_set_id=7,
        exchange="binance",
        pair="LRC_BTC",
        side=Side.BUY,
        type=OrderType.LIMIT,
        size=D(1000),
        price=D("0.0000063"),
        **extra,
    )


def fill(trade_id, size):
    return Fill("", trade_id, D("0.0000063"), D(size), D(0), "LRC", Liquidity.MAKER, 10.0)


def report(exchange_order_id, client_id, status, filled, *fills):
    return OrderReport(exchange_order_id, client_id, status, D(filled), 10.0, tuple(fills))


class FollowedOrdersTest(unittest.TestCase):
    def setUp(self):
        self.client_ids = adapter().client_id
        self.followed = FollowedOrders("binance")

    def test_a_report_coming_again_applies_its_fills_once(self):
        followed = self.followed.follow(order(), None, self.client_ids, None)
        self.assertEqual(followed.client_id, self.client_ids(client_key(7, "c1"), 0))
        opened = report("55", followed.client_id, OrderStatus.OPEN, 0)
        self.assertIs(self.followed.find(opened), followed)  # by its client id, before its exchange id is known
        self.assertEqual([e.status for e in self.followed.apply_once(followed, opened)], [OrderStatus.OPEN])
        partly = report("55", "", OrderStatus.PARTIALLY_FILLED, 300, fill("t1", 300))
        self.assertIs(self.followed.find(partly), followed)  # by its exchange order id now
        events = self.followed.apply_once(followed, partly)
        self.assertEqual([(e.status, e.fill.size) for e in events], [(OrderStatus.PARTIALLY_FILLED, D(300))])
        self.assertEqual(self.followed.apply_once(followed, partly), [])  # the list answer says it again
        self.assertEqual((followed.applied_to("55"), followed.order.filled_size), (D(300), D(300)))

    def test_after_a_cancel_replace_both_exchange_orders_find_the_order_until_it_is_forgotten(self):
        followed = self.followed.follow(order(), None, self.client_ids, None)
        self.followed.apply_once(followed, report("55", followed.client_id, OrderStatus.OPEN, 0))
        replacement = self.client_ids(followed.key, 1)
        self.followed.expect(followed, replacement)
        self.assertIs(self.followed.find(report("", replacement, OrderStatus.OPEN, 0)), followed)
        self.followed.switch(followed, replacement, "56")
        self.assertEqual(
            (followed.client_id, followed.revision, followed.order.exchange_order_id), (replacement, 1, "56")
        )
        self.assertIs(self.followed.find(report("55", "", OrderStatus.CANCELLED, 0)), followed)
        self.assertIs(self.followed.find(report("56", "", OrderStatus.OPEN, 0)), followed)
        self.followed.forget(followed)
        self.assertEqual(len(self.followed), 0)
        for exchange_order_id, client_id in (("55", ""), ("56", ""), ("", replacement)):
            self.assertIsNone(self.followed.find(report(exchange_order_id, client_id, OrderStatus.OPEN, 0)))
        with self.assertRaises(ExchangeUnavailable):
            self.followed.of(followed.order)

    def test_followed_again_after_a_restart(self):
        """The stored client id names the revision; recorded fills count as applied; a pending order is
        a placement left unconfirmed, signed before the account opened."""
        stored = self.client_ids(client_key(7, "c1"), 2)
        resting = self.followed.follow(
            order(exchange_order_id="57", status=OrderStatus.OPEN), stored, self.client_ids, 99.0
        )
        self.assertEqual((resting.revision, resting.client_id, resting.unconfirmed), (2, stored, False))
        self.followed.count_fill(resting, "57", D(200))
        self.assertEqual(self.followed.apply_once(resting, report("57", stored, OrderStatus.PARTIALLY_FILLED, 200)), [])
        pending = self.followed.follow(order("2", "c2"), None, self.client_ids, 99.0)
        self.assertEqual((pending.unconfirmed, pending.signed_at), (True, 99.0))
        self.assertEqual(self.followed.unconfirmed_orders(), [pending])
        self.assertIs(self.followed.follow(order("2", "c2"), None, self.client_ids, 120.0), pending)  # once
        pending.confirmed()
        self.assertEqual(self.followed.unconfirmed_orders(), [])

    def test_open_orders_xwrap_did_not_place_are_noted(self):
        self.followed.note_foreign(report("90", "theirs", OrderStatus.OPEN, 0))
        self.followed.note_foreign(report("91", "theirs-too", OrderStatus.OPEN, 0))
        self.followed.note_foreign(report("91", "theirs-too", OrderStatus.FILLED, 5))
        self.assertEqual(self.followed.foreign, {"90"})
        self.followed.set_foreign({"92"})  # the exchange's list of open orders now
        self.followed.follow(order(exchange_order_id="92", status=OrderStatus.OPEN), None, self.client_ids, None)
        self.assertEqual(self.followed.foreign, set())


if __name__ == "__main__":
    unittest.main()
