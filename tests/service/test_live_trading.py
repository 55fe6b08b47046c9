"""Live trading on Binance through the whole service, against the loopback Binance (signed REST,
the WebSocket API's user data stream, LRCBTC's recorded book): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase`, and Binance's own: an amend on a symbol without
cancel-replace, which xWrap does by cancelling and placing."""

import json
from decimal import Decimal as D

from exchange_wrapper.core.errors import ExchangeRejected
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.private import client_key
from tests.service.live_case import LiveTradingCase
from tests.simulator.binance_private import API_KEY, API_SECRET, BinanceExchange

#: Binance publishes 100 orders per 10 seconds today; the simulator publishes 100 per second, so
#: that 200 orders take about 3 s (half the limit as burst, half refilled).
LIMITS = [
    ("REQUEST_WEIGHT", "MINUTE", 1, 6000),
    ("ORDERS", "SECOND", 1, 100),
    ("ORDERS", "DAY", 1, 200000),
    ("RAW_REQUESTS", "MINUTE", 5, 61000),
]


class BinanceLiveTradingTest(LiveTradingCase):
    exchange = "binance"
    pair = Pair("LRC", "BTC")
    balances = {"BTC": D("0.5"), "LRC": D("20000")}
    allocated = {"BTC": D("0.1"), "LRC": D("5000")}
    price = D("0.0000063")  # LRCBTC's recorded book: best bid 0.00000637, best ask 0.00000638
    lower = D("0.0000062")
    taking = (D("0.0000064"), "20")  # a buy above the best ask: takes at once
    fee_rate = D("0.001")  # Binance's VIP 0 rate, on what a trade brings in
    order_limit = (100, 1.0)
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET}
    placement = ("POST", "/api/v3/order")

    def make_simulator(self, clock):
        return BinanceExchange(balances=dict(self.balances), rate_limits=LIMITS, clock=clock, fee_rate=self.fee_rate)

    def sim_order(self, order):
        return self.sim.account.orders[int(order["exchange_order_id"])]

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.fail_next(
            503, {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
        )

    def refuse_next(self, status, seconds):
        if status == 429:
            body = {
                "code": -1003,
                "msg": "Too much request weight used; current limit is 6000 request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling "
                "the API.",
            }
            self.sim.fail_next(429, body, {"Retry-After": str(seconds)})
        else:  # a ban states its end in the message (and in Retry-After)
            until = round((self.clock() + seconds) * 1000)
            body = {
                "code": -1003,
                "msg": f"Way too much request weight used; IP banned until {until}. Please use "
                "WebSocket Streams for live updates to avoid bans.",
            }
            self.sim.fail_next(418, body, {"Retry-After": str(seconds)})

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        await self.sim.deposit(currency, amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_cancel_replace_whose_new_order_is_refused_leaves_the_order_cancelled(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "maker", post_only=True)
        with self.assertRaises(ExchangeRejected) as raised:  # 0.0000064 would take the ask at 0.00000638
            await self.api.call("amend_order", {"order_id": order["id"], "price": "0.0000064"})
        self.assertIn("Order cancel-replace partially failed. (code -2021)", raised.exception.message)
        gone = await self.api.get_order(order_id=order["id"])
        self.assertEqual((gone["status"], gone["price"]), ("cancelled", "0.0000063"))
        self.assertIn("refused the new order", gone["reason"])
        self.assertEqual(await self.wallet(ws, "BTC"), (self.allocated["BTC"], 0))
        self.assertEqual(self.sim_order(order).status, "cancelled")
        self.assertLedgerVerifies()

    async def test_a_cancel_replace_whose_answer_is_lost_is_found_by_its_new_client_id(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "moving")
        await self.fill(order, D(100))
        await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        self.sim.lose_next("POST", "/api/v3/order/cancelReplace")
        moved = await self.api.call("amend_order", {"order_id": order["id"], "price": str(self.lower)})
        new = self.sim_order(moved)
        self.assertEqual(
            (moved["price"], moved["status"], new.price, new.quantity, new.client_id.endswith("-1")),
            (str(self.lower), "partially_filled", self.lower, D(900), True),
        )
        self.assertEqual(self.sim.account.orders[int(order["exchange_order_id"])].status, "cancelled")
        self.assertEqual(self.sim.calls.count("POST", "/api/v3/order/cancelReplace"), 1)
        await self.fill(moved, D(900))
        done = await self.order_where(order["id"], lambda o: len(o["fills"]) == 2)
        self.assertEqual((done["status"], done["filled_size"]), ("filled", "1000"))
        self.assertLedgerVerifies()
        await self.assertReconciled()


class BinanceWithoutCancelReplaceTest(BinanceLiveTradingTest):
    """LRCBTC as the 2021 capture lists it: no amendAllowed, no cancelReplaceAllowed."""

    def make_simulator(self, clock):
        sim = super().make_simulator(clock)
        info = json.loads(sim.exchange_info)
        for symbol in info["symbols"]:
            symbol.pop("amendAllowed", None)
            symbol.pop("cancelReplaceAllowed", None)
        sim.exchange_info = json.dumps(info)
        return sim

    async def test_an_amend_cancels_then_places_the_rest(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "cp")
        await self.fill(order, D(250))
        await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        amended = await self.api.call("amend_order", {"order_id": order["id"], "size": "900"})
        self.assertIn("by cancelling and placing a new order", amended["reason"])
        old, new = self.sim.account.orders[int(order["exchange_order_id"])], self.sim_order(amended)
        self.assertEqual(
            (old.status, new.status, new.quantity, new.price, new.client_id),
            ("cancelled", "new", D(650), self.price, self.account.adapter.client_id(client_key(ws, "cp"), 1)),
        )
        self.assertEqual(self.sim.calls.count("POST", "/api/v3/order/cancelReplace"), 0)
        await self.fill(amended, D(650))
        done = await self.order_where(order["id"], lambda o: len(o["fills"]) == 2)
        self.assertEqual((done["filled_size"], [f["size"] for f in done["fills"]]), ("900", ["250", "650"]))
        self.assertEqual(await self.wallet(ws, "BTC"), (self.allocated["BTC"] - 900 * self.price, 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    # the common behaviours ran once on the symbol as it is today
    test_a_burst_of_200_orders_never_goes_past_the_order_limit = None
    test_a_lost_answer_is_resolved_by_a_query_and_the_order_is_never_sent_twice = None
    test_a_placement_that_never_arrived_is_rejected_once_the_exchange_cannot_take_it = None
    test_a_rate_limit_refusal_stops_every_call_for_the_time_given = None
    test_a_restart_applies_the_fills_made_while_xwrap_was_down_once = None
    test_money_arriving_outside_xwrap_is_reported_not_absorbed_silently = None
    test_what_the_exchange_cannot_do_is_refused_before_anything_is_stored = None
    test_a_cancel_replace_whose_new_order_is_refused_leaves_the_order_cancelled = None
    test_a_cancel_replace_whose_answer_is_lost_is_found_by_its_new_client_id = None
    test_a_live_set_is_never_allocated_more_than_the_account_holds = None
    test_no_reconciliation_counts_what_an_unanswered_placement_did = None
    test_while_the_private_stream_is_down_orders_and_balances_are_polled = None
    test_the_stream_is_not_reconnected_while_a_rate_limit_pauses_the_account = None


del LiveTradingCase  # only its subclasses run
