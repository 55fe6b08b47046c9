"""Live trading on Bitfinex through the whole service, against the loopback Bitfinex (signed REST
with nonces, the authenticated websocket's channel 0, MNABTC's recorded book): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase`, and Bitfinex's own: a new price amended in
place, a new size by cancel and a new order, a post-only order that would take refused, a lost
answer to an order that finished at once found in the orders history, fills made while the
stream was away fetched once it is back."""

from decimal import Decimal as D
from unittest import mock

from exchange_wrapper.core.pairs import Pair, native_currency
from exchange_wrapper.exchanges.bitfinex.private import SUBMIT, BitfinexPrivate
from exchange_wrapper.exchanges.private import Quota
from tests.service.live_case import LiveTradingCase
from tests.simulator.bitfinex_private import API_KEY, API_SECRET, BitfinexExchange

#: Bitfinex allows 90 order submissions a minute; the simulator and the account take 100 a second
#: here, so that 200 orders take about 3 s (half the limit as burst, half refilled).
ORDER_LIMIT = (100, 1.0)
SUBMIT_PATH = f"/v2/auth/{SUBMIT}"


class BitfinexLiveTradingTest(LiveTradingCase):
    exchange = "bitfinex"
    pair = Pair("MANA", "BTC")
    balances = {"BTC": D("0.5"), "MANA": D("20000")}
    allocated = {"BTC": D("0.2"), "MANA": D("5000")}
    price = D("0.000025")  # MNABTC's recorded book: best bid 0.00002505, best ask 0.0000253
    lower = D("0.000024")
    taking = (D("0.000026"), "20")  # a buy above the best ask: takes at once
    fee_rate = D("0.001")  # Bitfinex's maker fee, on what a trade brings in
    order_limit = ORDER_LIMIT
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET}
    placement = ("POST", SUBMIT_PATH)
    price_amend_moves_order = False  # order/update: the exchange order keeps its id at its new price

    async def asyncSetUp(self):
        quotas = tuple(Quota(q.name, q.kind, *ORDER_LIMIT) if q.name == SUBMIT else q for q in BitfinexPrivate.quotas)
        self.enterContext(mock.patch.object(BitfinexPrivate, "quotas", quotas))
        await super().asyncSetUp()

    async def asyncTearDown(self):
        await super().asyncTearDown()
        self.assertEqual(self.sim.refused, [])  # no call or log-in came with a nonce already passed

    def make_simulator(self, clock):
        balances = {native_currency("bitfinex", currency): amount for currency, amount in self.balances.items()}
        return BitfinexExchange(balances=balances, clock=clock, fee_rate=self.fee_rate, limits={SUBMIT: ORDER_LIMIT})

    def sim_order(self, order):
        return self.sim.account.orders[int(order["exchange_order_id"])]

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.fail_next(503, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")

    def refuse_next(self, status, seconds):
        # Bitfinex has no 418: a longer block is the same ERR_RATE_LIMIT for longer
        self.sim.fail_next(429, {"error": "ERR_RATE_LIMIT"}, {"Retry-After": str(seconds)})

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        await self.sim.deposit(native_currency("bitfinex", currency), amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_new_price_is_amended_in_place_and_a_new_size_on_a_new_order(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "moving", post_only=True)
        first = self.sim_order(order)
        moved = await self.api.call("amend_order", {"order_id": order["id"], "price": str(self.lower)})
        self.assertEqual(
            (moved["exchange_order_id"], first.price, first.status), (order["exchange_order_id"], self.lower, "new")
        )
        self.assertIn("queue priority lost", moved["reason"])
        await self.fill(moved, D(300))
        await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        smaller = await self.api.call("amend_order", {"order_id": order["id"], "size": "800"})
        second = self.sim_order(smaller)
        self.assertEqual(
            (first.status, second.quantity, second.price, second.kind), ("cancelled", D(500), self.lower, "limit_maker")
        )
        self.assertIn("by cancelling and placing a new order", smaller["reason"])
        self.assertEqual(self.sim.calls.count("POST", "/v2/auth/w/order/update"), 1)
        await self.fill(smaller, D(500))
        done = await self.order_where(order["id"], lambda o: o["status"] == "filled")
        self.assertEqual((done["filled_size"], [f["size"] for f in done["fills"]]), ("800", ["300", "500"]))
        self.assertEqual(await self.wallet(ws, "BTC"), (self.allocated["BTC"] - 800 * self.lower, 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_post_only_order_that_would_take_is_refused(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "maker", price=D("0.000026"), post_only=True)  # above the best ask
        self.assertEqual((order["status"], order["reason"]), ("rejected", "POSTONLY CANCELED"))
        self.assertEqual(await self.wallet(ws, "BTC"), (self.allocated["BTC"], 0))
        self.assertLedgerVerifies()

    async def test_a_lost_answer_to_an_order_that_finished_at_once_is_found_in_the_history(self):
        ws = await self.live_set()
        self.lose_next_placement()
        self.sim.muted = True  # nor does the stream say it: only the queries can
        order = await self.buy(ws, "50", "ioc", price=D("0.0000253"), time_in_force="IOC")  # the best ask: 66.58...
        done = await self.order_where(order["id"], lambda o: o["status"] == "filled")
        [fill] = done["fills"]
        self.assertEqual(
            (fill["price"], fill["size"], fill["fee"], fill["fee_currency"], fill["liquidity"]),
            ("0.0000253", "50", "0.05", "MANA", "taker"),
        )
        self.assertEqual((self.placements(), self.sim.calls.count("POST", "/v2/auth/r/orders/tMNABTC/hist")), (1, 1))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_fills_made_while_the_stream_was_away_are_fetched_when_it_is_back(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "resting")
        await self.sim.drop_streams()
        await self.fill(order, D(300))  # the account reconnects after a backoff: nobody hears it
        filled = await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        self.assertEqual(
            (filled["status"], filled["filled_size"], filled["fills"][0]["fee"]), ("partially_filled", "300", "0.3")
        )
        self.assertIn("subscribed", self.account.stream_state)
        self.assertLedgerVerifies()
        await self.assertReconciled()


del LiveTradingCase  # only its subclasses run
