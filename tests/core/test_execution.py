import unittest
from decimal import Decimal as D

from exchange_wrapper.core.execution import OrderReport, apply_report
from exchange_wrapper.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, Side

OPEN, PARTIAL, FILLED = OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
CANCELLED, EXPIRED, REJECTED = OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED


def order(size="1000", funds=None, kind=OrderType.LIMIT, price="0.0000063"):
    return Order(
        id="7",
        client_order_id="a1",
        wallet_set_id=1,
        exchange="binance",
        pair="LRC_BTC",
        side=Side.BUY,
        type=kind,
        size=None if size is None else D(size),
        funds=None if funds is None else D(funds),
        price=None if price is None else D(price),
    )


def fill(trade_id, size, price="0.0000063", fee="0.4"):
    return Fill("", trade_id, D(price), D(size), D(fee), "LRC", Liquidity.MAKER, 1.5, {"exchange_order_id": "1001"})


def report(status, filled="0", *fills, exchange_order_id="1001", reason=""):
    return OrderReport(exchange_order_id, "xw1", status, D(filled), 1.0 + len(fills), tuple(fills), reason)


def statuses(events):
    return [(e.previous.value, e.status.value) for e in events]


class ApplyReportTest(unittest.TestCase):
    def test_an_accepted_order_opens_once_and_takes_the_exchange_order_id(self):
        o = order()
        events, missing = apply_report(o, report(OPEN), D(0))
        self.assertEqual((statuses(events), missing, o.exchange_order_id), ([("pending", "open")], 0, "1001"))
        self.assertEqual(apply_report(o, report(OPEN), D(0)), ([], 0))  # the stream says it again

    def test_fills_are_applied_once_by_trade_id_with_the_order_id_set(self):
        o = order()
        events, missing = apply_report(o, report(PARTIAL, "400", fill("5001", "400")), D(0))
        self.assertEqual((statuses(events), missing), ([("pending", "open"), ("open", "partially_filled")], 0))
        self.assertEqual((events[1].fill.order_id, o.filled_size, o.fees), ("7", D(400), D("0.4")))
        again, missing = apply_report(
            o, report(FILLED, "1000", fill("5001", "400"), fill("5002", "600", fee="0.6")), D(400)
        )
        self.assertEqual((statuses(again), missing), ([("partially_filled", "filled")], 0))
        self.assertEqual((o.filled_size, o.executed_value, o.fees), (D(1000), D("0.0063"), D(1)))

    def test_a_final_status_waits_for_the_fills_the_exchange_counts(self):
        o = order()
        apply_report(o, report(OPEN), D(0))
        events, missing = apply_report(o, report(CANCELLED, "250"), D(0))  # cancelled after a fill not seen yet
        self.assertEqual((events, missing, o.status), ([], D(250), OPEN))
        events, missing = apply_report(o, report(CANCELLED, "250", fill("5001", "250")), D(0))
        self.assertEqual(statuses(events), [("open", "partially_filled"), ("partially_filled", "cancelled")])
        self.assertEqual(missing, 0)

    def test_fills_of_an_earlier_exchange_order_count_apart(self):
        o = order()
        apply_report(o, report(PARTIAL, "400", fill("5001", "400")), D(0))
        # cancel-replaced: the new exchange order (remaining 600) has filled nothing yet
        events, missing = apply_report(o, report(OPEN, "0", exchange_order_id="1002"), D(0))
        self.assertEqual((events, missing), ([], 0))
        events, _ = apply_report(o, report(CANCELLED, "0", exchange_order_id="1002", reason="user"), D(0))
        self.assertEqual(
            (statuses(events), events[0].reason, o.filled_size), ([("partially_filled", "cancelled")], "user", D(400))
        )

    def test_refusals_expiries_and_what_the_table_does_not_allow(self):
        refused = order()
        events, _ = apply_report(refused, report(REJECTED, reason="INSUFFICIENT_BALANCES"), D(0))
        self.assertEqual((statuses(events), refused.reason), ([("pending", "rejected")], "INSUFFICIENT_BALANCES"))
        ioc = order()
        self.assertEqual(
            statuses(apply_report(ioc, report(EXPIRED), D(0))[0]), [("pending", "open"), ("open", "expired")]
        )
        late = order()
        apply_report(late, report(OPEN), D(0))
        events, _ = apply_report(late, report(REJECTED, reason="STP"), D(0))  # not allowed from open: cancelled
        self.assertEqual((statuses(events), late.reason), ([("open", "cancelled")], "STP"))
        self.assertEqual(apply_report(late, report(FILLED, "1000", fill("5001", "1000")), D(0)), ([], 0))

    def test_a_market_buy_by_funds_ends_when_the_exchange_says_filled(self):
        o = order(size=None, funds="0.001", kind=OrderType.MARKET, price=None)
        events, _ = apply_report(o, report(FILLED, "150", fill("5001", "150", price="0.00000637", fee="0.15")), D(0))
        # 150 x 0.00000637 = 0.0009555 spent of 0.001: the step leaves the rest, the exchange calls it filled
        self.assertEqual(
            statuses(events), [("pending", "open"), ("open", "partially_filled"), ("partially_filled", "filled")]
        )
        self.assertEqual(o.executed_value, D("0.0009555"))


if __name__ == "__main__":
    unittest.main()
