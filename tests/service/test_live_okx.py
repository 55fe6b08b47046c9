"""Live trading on OKX through the whole service, against the loopback OKX (signed REST with the
passphrase, the private websocket's log-in then ``orders`` and ``account`` channels, SOL-USDT's
book from the OKX capture, made from OKX's documented formats: tests/fixtures/README.md): the
behaviours of :class:`~tests.service.live_case.LiveTradingCase`, and OKX's own: an amend is in
place (a new price keeps the exchange order), a cancel's answer only says it was taken (the order
is asked about), a post-only order that would take is placed then cancelled, and the stream
subscribes only once its log-in has succeeded."""

import json
from decimal import Decimal as D

from exchange_wrapper.core.pairs import Pair
from tests.service.live_case import LiveTradingCase
from tests.simulator.okx_private import API_KEY, API_SECRET, PASSPHRASE, OkxExchange


class OkxLiveTradingTest(LiveTradingCase):
    exchange = "okx"
    pair = Pair("SOL", "USDT")
    balances = {"USDT": D("5000000"), "SOL": D("20000")}
    allocated = {"USDT": D("1000000"), "SOL": D("5000")}
    price = D("229")  # SOL-USDT's recorded book: best bid 229.99, best ask 230.01
    lower = D("228.5")
    taking = (D("230.05"), "2")  # a buy up to the second ask: takes at once
    fee_rate = D("0.0008")  # OKX's maker rate (regular users, Lv 1), on what a trade brings in
    order_limit = (60, 2.0)  # POST /api/v5/trade/order: 60 in 2 s
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET, "passphrase": PASSPHRASE}
    placement = ("POST", "/api/v5/trade/order")
    price_amend_moves_order = False

    def make_simulator(self, clock):
        return OkxExchange(balances=dict(self.balances), clock=clock, fee_rate=self.fee_rate)

    def sim_order(self, order):
        return self.sim.local(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.fail_next(200, {"code": "50001", "msg": "Service temporarily unavailable", "data": []})

    def refuse_next(self, status, seconds):
        """OKX answers 429 (code 50011) only; its API states no wait, but a 429 with a Retry-After (a
        gateway's) is honoured (without one the pause is xWrap's default: tests/exchanges/test_okx_private.py)."""
        self.sim.fail_next(429, {"msg": "Too Many Requests", "code": "50011"}, {"Retry-After": str(seconds)})

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        await self.sim.deposit(currency, amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_post_only_order_that_would_take_is_placed_then_cancelled(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1", "would-take", D("230.05"), post_only=True)  # above the best ask
        done = await self.order_where(order["id"], lambda o: o["status"] == "cancelled")
        self.assertEqual((done["filled_size"], done["fills"]), ("0", []))
        self.assertEqual(self.sim_order(order).status, "cancelled")
        self.assertEqual(await self.wallet(ws, "USDT"), (self.allocated["USDT"], 0))
        self.assertLedgerVerifies()

    async def test_the_stream_logs_in_before_it_subscribes(self):
        answers = []
        answer = self.sim._private_answer

        def spy(ws, message):
            replies = answer(ws, message)
            answers.append((message, replies))
            return replies

        self.sim._private_answer = spy
        await self.sim.drop_streams()
        await self.until(
            lambda: any('"subscribe"' in m for m, _ in answers) and "subscribed" in self.account.stream_state
        )
        ops = [json.loads(m)["op"] for m, _ in answers if m != "ping"]
        self.assertEqual(ops[:2], ["login", "subscribe"])
        self.assertFalse(any("60011" in reply for _, replies in answers for reply in replies))  # never "Please log in"


del LiveTradingCase  # only its subclasses run
