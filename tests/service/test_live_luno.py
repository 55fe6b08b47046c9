"""Live trading on Luno through the whole service, against the loopback Luno (HTTP basic
authentication, no private stream: everything polled; ETH/ZAR's book from the Luno capture, made
from Luno's documented formats: tests/fixtures/README.md): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase`, and Luno's own: a placement whose answer is lost
is found by its client id, and a second placement with that client id (a 409) is never how it is
found; an amend is a cancel then a placement of the rest under a new client id; a cancel's answer
only says it was taken (the order is asked about); a 429 past Luno's 300 calls a minute.

Luno counts 300 calls a minute per account. The shared burst of 200 orders (and their cancels and
queries) would take minutes at that pace, so this case counts the same 300 calls in 4 seconds, in
the adapter's quota and the simulator's window alike (:attr:`LunoLiveTradingTest.window`): the
count, the pacing and the refusals are Luno's, the time 15 times shorter (a window long enough that
the limit, not the test machine's speed, is what paces the burst).
:meth:`test_the_simulator_refuses_the_301st_call_of_a_minute` checks the minute itself.
"""

import json
from decimal import Decimal as D
from unittest import mock

import aiohttp

from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.http import DEFAULT_RETRY_AFTER, Response
from exchange_wrapper.exchanges.luno.private import LunoPrivate
from exchange_wrapper.exchanges.private import Quota
from tests.service.live_case import LiveTradingCase
from tests.simulator.luno import API_KEY, API_SECRET
from tests.simulator.luno_private import CALLS_PER_WINDOW, LunoExchange


class LunoLiveTradingTest(LiveTradingCase):
    exchange = "luno"
    pair = Pair("ETH", "ZAR")
    balances = {"ZAR": D("600000000"), "ETH": D("5000")}
    allocated = {"ZAR": D("300000000"), "ETH": D("1000")}
    price = D("61001")  # ETHZAR's recorded book: best bid 61999, best ask 62001
    lower = D("60499")
    taking = (D("62001"), "2")  # a buy at the best ask: takes at once
    fee_rate = D("0.001")  # a maker fee (Luno's: 0 % to 0.25 % by tier and region), on what a trade brings in
    window = 4.0  # Luno's minute, counted as 4 seconds (the module's docstring says why)
    order_limit = (CALLS_PER_WINDOW, window)  # every call counts: 300 a minute per account
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET}
    placement = ("POST", "/api/1/postorder")
    streams = False

    def make_simulator(self, clock):
        quotas = (Quota("requests", "requests", CALLS_PER_WINDOW, self.window),)
        patched = mock.patch.object(LunoPrivate, "quotas", quotas)
        patched.start()
        self.addCleanup(patched.stop)
        return LunoExchange(balances=dict(self.balances), clock=clock, fee_rate=self.fee_rate, window=self.window)

    def sim_order(self, order):
        return self.sim.local(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.fail_next(503, {"error": "Service unavailable", "error_code": "ErrServiceUnavailable"})

    def refuse_next(self, status, seconds):
        """Luno answers 429 only (no 418), and states no wait: a Retry-After (a gateway's) is
        honoured, and a longer pause comes as a longer one (without one the pause is xWrap's
        default: tests/exchanges/test_luno_private.py)."""
        self.sim.fail_next(
            429, {"error": "Too many requests", "error_code": "ErrTooManyRequests"}, {"Retry-After": str(seconds)}
        )

    def calls(self):
        return len(self.sim.calls.calls)

    def most_placements_in_window(self):
        """Luno's limit counts every call of the account, placements and the rest: the most calls in a window."""
        counts = {}
        for at, _, _ in self.sim.calls.calls:
            counts[int(at // self.window)] = counts.get(int(at // self.window), 0) + 1
        return max(counts.values())

    async def deposit(self, currency, amount):
        await self.sim.deposit(currency, amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_lost_placement_is_found_by_its_client_id_and_never_placed_again(self):
        received = []
        add = self.sim.calls.add

        def spy(request):
            received.append(request)
            add(request)

        self.sim.calls.add = spy
        ws = await self.live_set()
        self.lose_next_placement()
        order = await self.buy(ws, "10", "lost-once")
        placed = self.sim_order(order)
        self.assertEqual((order["status"], order["exchange_order_id"]), ("open", f"BXMC2CJ7HN{placed.order_id:05d}"))
        queries = [r.params for r in received if (r.method, r.path) == ("GET", "/api/exchange/3/order")]
        self.assertEqual(
            queries[0], {"client_order_id": placed.client_id}
        )  # asked about by the client id it was sent with
        self.assertEqual((self.placements(), len(self.sim.account.orders)), (1, 1))  # never a second placement (a 409)
        self.assertEqual(self.sim.refusals, [])
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_an_amend_cancels_then_places_the_rest_under_a_new_client_id(self):
        ws = await self.live_set()
        order = await self.buy(ws, "10", "moving")
        await self.fill(order, D(4))
        await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        old = self.sim_order(order)
        moved = await self.api.call("amend_order", {"order_id": order["id"], "price": str(self.lower)})
        new = self.sim_order(moved)
        self.assertEqual((old.status, new.price, new.quantity), ("cancelled", self.lower, D(6)))
        self.assertEqual(new.client_id, old.client_id + "-1")
        self.assertEqual(self.sim.calls.count("POST", "/api/1/stoporder"), 1)
        self.assertEqual((moved["status"], moved["filled_size"], moved["size"]), ("partially_filled", "4", "10"))
        await self.fill(moved, D(6))
        done = await self.order_where(order["id"], lambda o: len(o["fills"]) == 2)
        self.assertEqual((done["status"], done["filled_size"]), ("filled", "10"))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_cancel_is_confirmed_by_a_query_which_brings_the_fills_its_answer_does_not_state(self):
        ws = await self.live_set()
        order = await self.buy(ws, "10", "stopping")
        self.sim.account.fill(self.sim_order(order), D("2.5"), self.clock())  # not polled yet
        cancelled = await self.api.cancel_order(order_id=order["id"])
        self.assertEqual((cancelled["status"], cancelled["filled_size"]), ("cancelled", "2.5"))
        self.assertEqual([f["size"] for f in cancelled["fills"]], ["2.5"])
        self.assertEqual(await self.wallet(ws, "ETH"), (self.allocated["ETH"] + D("2.5") * (1 - self.fee_rate), 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_post_only_order_that_would_take_is_placed_then_cancelled(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1", "would-take", D("62001"), post_only=True)  # at the best ask
        done = await self.order_where(order["id"], lambda o: o["status"] == "cancelled")
        self.assertEqual((done["filled_size"], done["fills"]), ("0", []))
        self.assertEqual(await self.wallet(ws, "ZAR"), (self.allocated["ZAR"], 0))
        self.assertLedgerVerifies()

    async def test_the_simulator_refuses_the_301st_call_of_a_minute(self):
        """Luno's own window (a minute, on a simulator whose clock stands still within one): 300
        calls, then a 429 with Luno's body, which the adapter reads as a rate limit."""
        async with LunoExchange(balances={"ZAR": D(1)}, clock=lambda: 1_700_000_010.0) as sim:
            session = aiohttp.ClientSession(auth=aiohttp.BasicAuth(API_KEY, API_SECRET))
            async with session:
                statuses = []
                for _ in range(CALLS_PER_WINDOW + 1):
                    async with session.get(sim.rest_url + "/api/1/balance") as answer:
                        statuses.append(answer.status)
                        body = await answer.text()
        self.assertEqual(statuses, [200] * CALLS_PER_WINDOW + [429])
        refused = Response(429, {}, body)
        self.assertEqual(json.loads(body)["error_code"], "ErrTooManyRequests")
        self.assertEqual(self.account.adapter.pause_for(refused, 0.0), DEFAULT_RETRY_AFTER)
        self.assertEqual(len(sim.refusals), 1)


del LiveTradingCase  # only its subclasses run
