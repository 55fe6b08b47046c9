import unittest
from decimal import Decimal as D

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.orders import (
    TRANSITIONS,
    DuplicateFill,
    Fill,
    InvalidTransition,
    Liquidity,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)


def limit_buy(**changes):
    fields = dict(
        id="o1",
        client_order_id="c1",
        wallet_set_id=1,
        exchange="coinbase",
        pair="BTC_USD",
        side=Side.BUY,
        type=OrderType.LIMIT,
        size=D("1"),
        price=D("100"),
    )
    fields.update(changes)
    return Order(**fields)


def fill(trade_id, price, size, fee="0"):
    return Fill("o1", trade_id, D(price), D(size), D(fee), "USD", Liquidity.TAKER, 10.0)


class LifeCycleTest(unittest.TestCase):
    def test_table_allows_the_documented_path_only(self):
        order = limit_buy()
        order.transition(OrderStatus.OPEN, 1.0)
        with self.assertRaises(InvalidTransition) as caught:
            order.transition(OrderStatus.REJECTED, 2.0)
        self.assertEqual(str(caught.exception), "order o1 cannot go from open to rejected")
        self.assertEqual(order.status, OrderStatus.OPEN)
        event = order.transition(OrderStatus.CANCELLED, 3.0, "cancelled by user")
        self.assertEqual((event.previous, event.status, event.at), (OrderStatus.OPEN, OrderStatus.CANCELLED, 3.0))
        for status in OrderStatus:
            with self.assertRaises(InvalidTransition):
                order.transition(status, 4.0)

    def test_final_statuses_have_no_way_out(self):
        for status in OrderStatus:
            self.assertEqual(status.is_final, not TRANSITIONS[status])
            self.assertEqual(limit_buy(status=status).is_open, bool(TRANSITIONS[status]))

    def test_fills_move_to_partially_filled_then_filled_with_average_price(self):
        order = limit_buy(size=D("1.5"))
        order.transition(OrderStatus.OPEN, 1.0)
        first = order.apply_fill(fill("t1", "99", "0.5", "0.05"))
        self.assertEqual(first.status, OrderStatus.PARTIALLY_FILLED)
        self.assertEqual(order.remaining_size, D("1.0"))
        second = order.apply_fill(fill("t2", "100", "1.0", "0.1"))
        self.assertEqual((second.previous, second.status), (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED))
        self.assertEqual(order.filled_size, D("1.5"))
        self.assertEqual(order.executed_value, D("149.5"))
        self.assertEqual(order.fees, D("0.15"))
        self.assertEqual(order.average_price, D("149.5") / D("1.5"))
        self.assertEqual(order.to_json()["average_price"], "99.66666666666666666666666667")

    def test_a_trade_is_never_applied_twice(self):
        order = limit_buy(size=D("2"))
        order.transition(OrderStatus.OPEN, 1.0)
        order.apply_fill(fill("t1", "100", "1"))
        with self.assertRaises(DuplicateFill):
            order.apply_fill(fill("t1", "100", "1"))
        self.assertEqual(order.filled_size, D("1"))

    def test_funds_orders_complete_on_value(self):
        order = limit_buy(type=OrderType.MARKET, size=None, price=None, funds=D("150"))
        order.transition(OrderStatus.OPEN, 1.0)
        self.assertEqual(order.apply_fill(fill("t1", "100", "1")).status, OrderStatus.PARTIALLY_FILLED)
        self.assertEqual(order.remaining_funds, D("50"))
        self.assertEqual(order.apply_fill(fill("t2", "100", "0.5")).status, OrderStatus.FILLED)

    def test_fill_of_a_pending_order_is_refused(self):
        order = limit_buy()
        with self.assertRaises(InvalidTransition):
            order.apply_fill(fill("t1", "100", "1"))
        self.assertEqual(order.filled_size, D(0))


class FillTest(unittest.TestCase):
    def test_json_writes_the_amounts_of_the_cause_as_strings(self):
        """The engine keeps a cause's amounts as Decimals; the JSON (API, database) has them as
        strings like the fill's own, and a cause read back from JSON stays as it was."""
        cause = {"type": "book_level", "price": D("0.7912"), "size_shown": D("6908.0"), "consumed_before": D("0E-8")}
        taken = Fill(
            "o1",
            "o1-1",
            D("0.7912"),
            D("100.0"),
            D("0.474720000000000000"),
            "USD",
            Liquidity.TAKER,
            1634812357.25,
            cause,
        )
        expected = {
            "order_id": "o1",
            "trade_id": "o1-1",
            "price": "0.7912",
            "size": "100",
            "fee": "0.47472",
            "fee_currency": "USD",
            "liquidity": "taker",
            "time": 1634812357.25,
            "cause": {"type": "book_level", "price": "0.7912", "size_shown": "6908", "consumed_before": "0"},
        }
        self.assertEqual(taken.to_json(), expected)
        self.assertEqual(taken.cause["price"], D("0.7912"))
        read_back = taken._replace(cause=expected["cause"])
        self.assertEqual(read_back.to_json(), expected)
        self.assertEqual(fill("t1", "100", "1").to_json()["cause"], {})

    def test_fills_and_events_cannot_be_changed(self):
        order = limit_buy()
        order.transition(OrderStatus.OPEN, 1.0)
        event = order.apply_fill(fill("t1", "100", "0.4", "0.04"))
        self.assertIsInstance(event, OrderEvent)
        self.assertEqual(
            (event.previous, event.status, event.reason, event.fill.trade_id),
            (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, "", "t1"),
        )
        with self.assertRaises(AttributeError):
            event.fill.size = D("1")
        with self.assertRaises(AttributeError):
            event.status = OrderStatus.FILLED
        self.assertEqual(order.filled_size, D("0.4"))


class ValidationTest(unittest.TestCase):
    def test_required_fields_by_type(self):
        cases = [
            (dict(price=None), "price"),
            (dict(size=None), "size"),
            (dict(type=OrderType.STOP_LIMIT), "stop_price"),
            (dict(time_in_force=TimeInForce.GTD), "expire_time"),
        ]
        for changes, field in cases:
            with self.assertRaises(InvalidParameter) as caught:
                limit_buy(**changes)
            self.assertEqual(caught.exception.field, field)

    def test_which_types_have_a_limit_or_a_stop(self):
        self.assertEqual([t for t in OrderType if t.has_limit], [OrderType.LIMIT, OrderType.STOP_LIMIT])
        self.assertEqual([t for t in OrderType if t.is_stop], [OrderType.STOP_MARKET, OrderType.STOP_LIMIT])

    def test_side_opposite(self):
        self.assertIs(Side.BUY.opposite, Side.SELL)
        self.assertIs(Side.SELL.opposite, Side.BUY)
