"""Live trading on Bybit through the whole service, against the loopback Bybit (signed REST v5 whose
answers all come as HTTP 200 with a ``retCode``, the private websocket's order, execution and wallet
topics, SOLUSDT's recorded book): the behaviours of :class:`~tests.service.live_case.LiveTradingCase`,
and Bybit's own: an amend is in place (a new price keeps the exchange order), a cancel's answer names
the ids only (the order is queried), a post-only order that would take is accepted then cancelled,
and the private stream is kept alive with ``{"op":"ping"}``."""

from decimal import Decimal as D

from exchange_wrapper.core.pairs import Pair
from tests.service.live_case import LiveTradingCase
from tests.simulator.bybit_private import API_KEY, API_SECRET, BybitExchange


class BybitLiveTradingTest(LiveTradingCase):
    exchange = "bybit"
    pair = Pair("SOL", "USDT")
    balances = {"USDT": D("5000000"), "SOL": D("20000")}
    allocated = {"USDT": D("2000000"), "SOL": D("5000")}
    price = D("229")  # SOLUSDT's recorded book: best bid 229.99, best ask 230.01
    lower = D("228.5")
    taking = (D("230.5"), "0.5")  # a buy above the best ask: takes at once
    fee_rate = D("0.001")  # Bybit's non-VIP spot maker rate, on what a trade brings in
    order_limit = (20, 1.0)  # POST /v5/order/create: 20 a second per UID (spot)
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET}
    placement = ("POST", "/v5/order/create")
    price_amend_moves_order = False

    def make_simulator(self, clock):
        return BybitExchange(balances=dict(self.balances), clock=clock, fee_rate=self.fee_rate)

    def sim_order(self, order):
        return self.sim.local(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        # Bybit's "Internal system error": the outcome of the request is unknown
        self.sim.fail_next(200, {"retCode": 10016, "retMsg": "Internal system error.", "result": {}, "time": 0})

    def refuse_next(self, status, seconds):
        """Bybit's rate limit is retCode 10006 (it has no 418): a longer pause is a later reset time."""
        reset = str(int((self.clock() + seconds) * 1000))
        body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 0}
        self.sim.fail_next(200, body, {"X-Bapi-Limit": "20", "X-Bapi-Limit-Status": "0",
                                       "X-Bapi-Limit-Reset-Timestamp": reset})  # fmt: skip

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        await self.sim.deposit(currency, amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_cancel_is_confirmed_by_a_query_which_brings_the_fills_its_answer_does_not_state(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "quiet-cancel")
        self.sim.account.fill(self.sim_order(order), D(250), self.clock())  # a fill whose messages never came
        cancelled = await self.api.cancel_order(order_id=order["id"])
        self.assertEqual((cancelled["status"], cancelled["filled_size"]), ("cancelled", "250"))
        self.assertEqual([f["size"] for f in cancelled["fills"]], ["250"])
        queried = [query for query in self.sim.queries if f"orderLinkId={self.sim_order(order).client_id}" in query]
        self.assertEqual((self.sim.calls.count("POST", "/v5/order/cancel"), len(queried)), (1, 1))
        self.assertEqual(await self.wallet(ws, "SOL"), (self.allocated["SOL"] + 250 - 250 * self.fee_rate, 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_post_only_order_that_would_take_is_accepted_then_cancelled(self):
        ws = await self.live_set()
        order = await self.buy(ws, "10", "maker", price=D("230.5"), post_only=True)
        done = await self.order_where(order["id"], lambda o: o["status"] == "cancelled")
        self.assertEqual((done["filled_size"], done["fills"]), ("0", []))
        self.assertIn("EC_PostOnlyWillTakeLiquidity", done["reason"])
        self.assertEqual(self.sim_order(order).status, "cancelled")
        self.assertEqual((await self.wallet(ws, "USDT"))[1], 0)
        self.assertLedgerVerifies()

    async def test_the_private_stream_is_kept_alive_with_pings(self):
        pings = []
        answer = self.sim._private_answer

        def spy(ws, request):
            if request.get("op") == "ping":
                pings.append(ws)
            return answer(ws, request)

        self.sim._private_answer = spy
        self.account.adapter.stream_ping_interval = 0.05
        await self.sim.drop_streams()  # the new connection pings at the new interval
        await self.until(lambda: len(pings) >= 3)
        self.assertEqual(set(pings), set(self.sim.streams))


del LiveTradingCase  # only its subclasses run
