"""Live trading on Poloniex through the whole service, against the loopback Poloniex (signed REST,
the private websocket's orders and balances, GRT_USDT's recorded book): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase`, and Poloniex's own: every amend is a
cancel-replace (``PUT /orders/{id}``), a cancel's answer is only ``PENDING_CANCEL`` (the order is
asked about after it), a cancel-replace whose answer is lost is found by its new client id."""

from decimal import Decimal as D

from exchange_wrapper.core.pairs import Pair
from tests.service.live_case import LiveTradingCase
from tests.simulator.poloniex_private import API_KEY, API_SECRET, PoloniexExchange


class PoloniexLiveTradingTest(LiveTradingCase):
    exchange = "poloniex"
    pair = Pair("GRT", "USDT")
    balances = {"USDT": D("2000"), "GRT": D("20000")}
    allocated = {"USDT": D("500"), "GRT": D("5000")}
    price = D("0.105")  # GRT_USDT's recorded book: best bid 0.1078, best ask 0.109
    lower = D("0.104")
    taking = (D("0.11"), "20")  # a buy above the best ask: takes at once
    fee_rate = D("0.00145")  # Poloniex's maker rate (level 1), on what a trade brings in
    order_limit = (50, 1.0)  # POST /orders: 50 a second per account
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET}
    placement = ("POST", "/orders")

    def make_simulator(self, clock):
        return PoloniexExchange(balances=dict(self.balances), clock=clock, fee_rate=self.fee_rate)

    def sim_order(self, order):
        return self.sim.local(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.fail_next(500, {"code": 500, "message": "Internal System Error"})

    def refuse_next(self, status, seconds):
        """Poloniex answers 429 only (it has no 418): a longer pause comes as a longer Retry-After."""
        self.sim.fail_next(429, {"code": 429, "message": "Too many requests"}, {"Retry-After": str(seconds)})

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        await self.sim.deposit(currency, amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_cancel_replace_whose_answer_is_lost_is_found_by_its_new_client_id(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "moving")
        await self.fill(order, D(100))
        await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        self.sim.lose_next("PUT", f"/orders/{order['exchange_order_id']}")
        moved = await self.api.call("amend_order", {"order_id": order["id"], "price": str(self.lower)})
        new = self.sim_order(moved)
        self.assertEqual(
            (moved["price"], moved["status"], new.price, new.quantity, new.client_id.endswith("-1")),
            (str(self.lower), "partially_filled", self.lower, D(900), True),
        )
        self.assertEqual(self.sim_order(order).status, "cancelled")
        self.assertEqual(self.sim.calls.count("PUT", f"/orders/{order['exchange_order_id']}"), 1)
        await self.fill(moved, D(900))
        done = await self.order_where(order["id"], lambda o: len(o["fills"]) == 2)
        self.assertEqual((done["status"], done["filled_size"]), ("filled", "1000"))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_cancel_is_confirmed_by_a_query_which_brings_the_fills_its_answer_does_not_state(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "pending-cancel")
        self.sim.account.fill(self.sim_order(order), D(250), self.clock())  # a fill whose event never came
        cancelled = await self.api.cancel_order(order_id=order["id"])
        self.assertEqual((cancelled["status"], cancelled["filled_size"]), ("cancelled", "250"))
        self.assertEqual([f["size"] for f in cancelled["fills"]], ["250"])
        client_id, exchange_id = self.sim_order(order).client_id, order["exchange_order_id"]
        self.assertEqual(
            (
                self.sim.calls.count("DELETE", f"/orders/{exchange_id}"),
                self.sim.calls.count("GET", f"/orders/cid:{client_id}"),
            ),
            (1, 1),
        )
        self.assertEqual(await self.wallet(ws, "GRT"), (self.allocated["GRT"] + 250 - 250 * self.fee_rate, 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_the_private_stream_is_kept_alive_with_pings(self):
        pings = []
        answer = self.sim._private_answer

        def spy(ws, request):
            if request == {"event": "ping"}:
                pings.append(ws)
            return answer(ws, request)

        self.sim._private_answer = spy
        self.account.adapter.stream_ping_interval = 0.05
        await self.sim.drop_streams()  # the new connection pings at the new interval
        await self.until(lambda: len(pings) >= 3)
        self.assertEqual(set(pings), set(self.sim.streams))


del LiveTradingCase  # only its subclasses run
