"""Live trading on Kraken through the whole service, against the loopback Kraken (signed REST with
nonces, the executions and balances channels of websocket v2, SOL/USD's recorded book): the
behaviours of :class:`~tests.service.live_case.LiveTradingCase`, with Kraken's own: FOK is what it
refuses, an amend is in place (a new price keeps the exchange order), a refused amend leaves the
order as it was, a cancel's answer says only a count (the order is queried), and every request of
the burst arrived with a nonce above the one before."""

from decimal import Decimal as D
from unittest import mock

from exchange_wrapper.core.errors import ExchangeRejected
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.kraken import private as kraken
from tests.service.live_case import LiveTradingCase
from tests.simulator.kraken_private import API_KEY, API_SECRET, KrakenExchange, Limits

#: A tier faster than Kraken's (Starter: REST counter 15 at 0.33/s, trading 60 at 1/s), so that 200
#: orders and their cancels (8 each within 5 s of the order) take seconds, yet paced well below what
#: the loopback serves (some 200 calls a second): the simulator counts it, the adapter paces under it.
TIER = kraken.Tier("test", 100, 200.0, 20, 120.0)
#: Kraken's asset codes of the account's currencies.
ASSETS = {"USD": "ZUSD", "SOL": "SOL"}


class KrakenLiveTradingTest(LiveTradingCase):
    exchange = "kraken"
    pair = Pair("SOL", "USD")
    balances = {"USD": D("5000000"), "SOL": D("10000")}
    allocated = {"USD": D("1000000"), "SOL": D("1000")}
    price = D("139")  # SOL/USD's recorded book: best bid 140.00, best ask 140.01
    lower = D("138.5")
    taking = (D("139.87"), "0.5")  # the simulated best ask (0.885 there): within it, the cost has 4 decimals
    fee_rate = D("0.0025")  # Kraken's entry maker fee, on what a trade brings in (fcib buying, fciq selling)
    # the trading counter's burst, then its decay over a window of half a second
    order_limit = (int(TIER.trading + TIER.trading_decay / 2), 0.5)
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET}
    placement = ("POST", "/0/private/AddOrder")
    refused_time_in_force = "FOK"
    price_amend_moves_order = False

    async def asyncSetUp(self):
        patcher = mock.patch.object(kraken.KrakenPrivate, "tier", TIER)
        patcher.start()
        self.addCleanup(patcher.stop)
        await super().asyncSetUp()

    def make_simulator(self, clock):
        limits = Limits(TIER.counter, TIER.counter_decay, TIER.trading, TIER.trading_decay)
        return KrakenExchange(
            balances={ASSETS[c]: amount for c, amount in self.balances.items()},
            limits=limits,
            clock=clock,
            fee_rate=self.fee_rate,
        )

    def sim_order(self, order):
        return self.sim.order(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.refuse_next(["EService:Unavailable"])

    def refuse_next(self, status, seconds):
        # Kraken's only refusal that says until when: "EService:Throttled: <unix time>" (HTTP 200)
        self.sim.refuse_next([f"EService:Throttled: {int(self.clock()) + seconds}"])

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        await self.sim.deposit(ASSETS[currency], amount)

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_a_refused_amend_leaves_the_order_as_it_was(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "maker", post_only=True)
        with self.assertRaises(ExchangeRejected) as raised:  # 140.5 would take the ask at 140.01
            await self.api.call("amend_order", {"order_id": order["id"], "price": "140.5"})
        self.assertIn("EOrder:Post only order", raised.exception.message)
        kept = await self.api.get_order(order_id=order["id"])
        self.assertEqual(
            (kept["status"], kept["price"], kept["exchange_order_id"]), ("open", "139", order["exchange_order_id"])
        )
        self.assertEqual((self.sim_order(order).price, self.sim_order(order).status), (D("139"), "new"))
        self.assertEqual(await self.wallet(ws, "USD"), (self.allocated["USD"], 1000 * D("139") * D("1.004")))
        self.assertLedgerVerifies()

    async def test_every_request_was_signed_with_a_greater_nonce_and_refused_none(self):
        ws = await self.live_set()
        await self.buy(ws, "20", "one")
        await self.api.cancel_all_orders(exchange=self.exchange)
        self.assertEqual(self.sim.refusals, [])
        self.assertGreater(self.sim.nonce, int((self.clock() - 60) * 1_000_000))
        self.assertEqual(self.sim.calls.count("POST", "/0/private/QueryOrders"), 1)  # after the cancel's count


del LiveTradingCase  # only its subclasses run
