"""Live trading on VALR through the whole service, against the loopback VALR (signed REST, the
account websocket's order statuses and balances, XRPZAR's recorded book): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase`, and VALR's own: an order is accepted (202) and
refused afterwards (``Failed``), an amend is a cancel then a new order, a fill's role is read from
the currency of its fee, a 429 without a Retry-After waits for the next minute."""

import asyncio
from decimal import Decimal as D

from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.pairs import Pair
from tests.service.live_case import LiveTradingCase
from tests.simulator.valr_private import API_KEY, API_SECRET, MAKER_FEE, ValrExchange


class ValrLiveTradingTest(LiveTradingCase):
    exchange = "valr"
    pair = Pair("XRP", "ZAR")
    balances = {"ZAR": D("100000"), "XRP": D("20000")}
    allocated = {"ZAR": D("50000"), "XRP": D("5000")}
    price = D("10.40")  # XRPZAR's recorded book: best bid 10.49, best ask 10.51
    lower = D("10.30")
    taking = (D("10.60"), "20")  # a buy above the best ask: takes at once
    fee_rate = MAKER_FEE  # a maker buy pays its fee in rand: 0.18 % of the quote value (tier 1)
    fee_in_quote = True
    order_limit = (400, 1.0)  # POST /v1/orders: 400 a second
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET}
    placement = ("POST", "/v1/orders/limit")

    def make_simulator(self, clock):
        return ValrExchange(balances=dict(self.balances), clock=clock)

    def sim_order(self, order):
        return self.sim.order(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.fail_next(503, {"code": -1, "message": "Service Unavailable"})

    def refuse_next(self, status, seconds):
        """VALR answers 429 only (no 418): a longer pause comes as a longer Retry-After."""
        self.sim.fail_next(
            429,
            {"code": -21, "message": "Rate limit exceeded"},
            {"x-valr-ratelimited": "true", "Retry-After": str(seconds)},
        )

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        await self.sim.deposit(currency, amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_burst_of_200_orders_never_goes_past_the_order_limit(self):
        """VALR takes 400 new orders a second, more than the service places in one (about 150
        here): the burst goes out unpaced, and neither that limit nor the key's 2,000 calls a
        minute refuses any of it (the pacing itself: test_valr_private's quota cases)."""
        ws = await self.live_set()
        orders = await asyncio.gather(*(self.buy(ws, "20", f"burst-{i}") for i in range(200)))
        self.assertEqual({o["status"] for o in orders}, {"open"})
        self.assertEqual((self.placements(), self.sim.refusals), (200, []))
        self.assertLessEqual(self.most_placements_in_window(), self.order_limit[0])
        cancelled = await self.api.cancel_all_orders(exchange=self.exchange)
        self.assertEqual(len(cancelled["cancelled"]), 200)
        self.assertEqual((await self.wallet(ws, self.pair.quote))[1], 0)
        self.assertLedgerVerifies()

    async def test_an_order_valr_accepts_then_fails_ends_with_its_reason_and_holds_nothing(self):
        ws = await self.live_set()
        price, size = self.taking
        self.delay_next_placement(0.3)  # the stream's Failed comes before the 202 (else they race)
        order = await self.buy(ws, size, "maker-only", price=price, post_only=True)  # would take: VALR fails it
        done = await self.order_where(order["id"], lambda o: o["status"] not in ("pending", "open"))
        self.assertEqual(
            (done["status"], done["reason"], done["fills"]),
            ("rejected", "Post only cancelled as it would have filled", []),
        )
        [failed] = self.sim.failed.values()  # accepted (202), then failed: what VALR says of it
        self.assertEqual((failed["orderId"], failed["orderStatusType"]), (done["exchange_order_id"], "Failed"))
        self.assertEqual(await self.wallet(ws, self.pair.quote), (self.allocated[self.pair.quote], 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_429_without_retry_after_pauses_every_call_until_the_next_minute(self):
        ws = await self.live_set()
        self.clock.skip(60 - self.clock() % 60 + 5)  # 5 s into a minute of the exchange's clock
        next_minute = self.clock() - self.clock() % 60 + 60
        self.sim.fail_next(429, {"code": -21, "message": "Rate limit exceeded"}, {"x-valr-ratelimited": "true"})
        refused = await self.buy(ws, "100")
        self.assertEqual(refused["status"], "rejected")
        account = (await self.api.get_exchanges())[self.exchange]["account"]
        self.assertAlmostEqual(account["paused_until"], next_minute, delta=1)  # VALR's counters start again then
        with self.assertRaises(RateLimited):
            await self.buy(ws, "100")
        self.clock.skip(next_minute - self.clock() + 0.5)
        self.assertEqual((await self.buy(ws, "100"))["status"], "open")
        self.assertLedgerVerifies()


del LiveTradingCase  # only its subclasses run
