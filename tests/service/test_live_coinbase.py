"""Live trading on Coinbase Exchange through the whole service, against the loopback Coinbase
(signed REST, the websocket feed's ``user`` channel, SKL-USD's recorded book): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase`, and Coinbase's own: an amend is a cancel then a
new order, a GTD goes as GTT where its expiry is a minute, an hour or a day away."""

from decimal import Decimal as D

from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.private import client_key
from tests.service.live_case import LiveTradingCase
from tests.simulator.coinbase_private import API_KEY, API_SECRET, MAKER_FEE, PASSPHRASE, CoinbaseExchange


class CoinbaseLiveTradingTest(LiveTradingCase):
    exchange = "coinbase"
    pair = Pair("SKL", "USD")
    balances = {"USD": D("10000"), "SKL": D("20000")}
    allocated = {"USD": D("5000"), "SKL": D("5000")}
    price = D("0.79")  # SKL-USD's recorded book: best bid 0.7901, best ask 0.7910
    lower = D("0.78")
    taking = (D("0.792"), "20")  # a buy above the best ask: takes at once
    fee_rate = MAKER_FEE  # the lowest tier's maker rate, on the quote value of a fill
    fee_in_quote = True
    order_limit = (30, 1.0)  # private endpoints: 15 requests a second per profile, bursts of 30
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET, "passphrase": PASSPHRASE}
    placement = ("POST", "/orders")

    def make_simulator(self, clock):
        return CoinbaseExchange(balances=dict(self.balances), clock=clock)

    def sim_order(self, order):
        return self.sim.order(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def fail_next_placement(self):
        self.sim.fail_next(503, {"message": "Service Unavailable"})

    def refuse_next(self, status, seconds):
        """Coinbase refuses with a 429 only (no 418 ban): a long refusal is a 429 with a long Retry-After."""
        self.sim.fail_next(429, {"message": "Private rate limit exceeded"}, {"Retry-After": str(seconds)})

    def calls(self):
        return len(self.sim.calls.calls)

    async def deposit(self, currency, amount):
        """The user channel says nothing of balances: the periodic reconciliation finds the money."""
        self.sim.deposit(currency, amount)
        await self.account.reconcile()

    def exchange_remaining(self, order):
        return self.sim_order(order).remaining

    async def test_an_amend_cancels_then_places_what_remains_after_fills_the_feed_has_not_told_yet(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", "moving")
        self.sim.account.fill(self.sim_order(order), D(300), self.clock())  # its match not on the feed yet
        moved = await self.api.call("amend_order", {"order_id": order["id"], "price": str(self.lower)})
        self.assertIn("by cancelling and placing a new order", moved["reason"])
        old, new = self.sim_order(order), self.sim_order(moved)
        key = client_key(ws, "moving")
        self.assertEqual(
            (old.status, new.status, new.quantity, new.price, new.client_id),
            ("cancelled", "new", D(700), self.lower, self.account.adapter.client_id(key, 1)),
        )
        self.assertEqual(self.sim.calls.count("DELETE", f"/orders/{order['exchange_order_id']}"), 1)
        await self.fill(moved, D(700))
        done = await self.order_where(order["id"], lambda o: len(o["fills"]) == 2)
        self.assertEqual(
            (done["status"], [(f["size"], f["price"]) for f in done["fills"]]),
            ("filled", [("300", "0.79"), ("700", "0.78")]),
        )
        (paid, got), (paid_then, got_then) = self.bought(D(300), self.price), self.bought(D(700), self.lower)
        self.assertEqual(await self.wallet(ws, "USD"), (self.allocated["USD"] - paid - paid_then, 0))
        self.assertEqual(await self.wallet(ws, "SKL"), (self.allocated["SKL"] + got + got_then, 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_gtd_an_hour_away_goes_as_gtt(self):
        ws = await self.live_set()
        order = await self.buy(ws, "100", "hour", time_in_force="GTD", expire_time=self.clock() + 3600.5)
        self.assertEqual(order["status"], "open")
        placed = self.sim.placed[self.sim_order(order).order_id]
        self.assertEqual(placed.time_in_force, "GTT")
        self.assertAlmostEqual(placed.expire_time, self.clock() + 3600, delta=1)

    async def test_a_post_only_order_that_would_take_is_rejected(self):
        ws = await self.live_set()
        order = await self.buy(ws, "100", "maker", price=D("0.7911"), post_only=True)  # the best ask is 0.7910
        self.assertEqual((order["status"], order["reason"]), ("rejected", "post only"))
        changes = await self.server.alerts.evaluate()  # the alerts' first look since the start (and its deposits)
        [fired] = [change for change in changes if change.alert.rule == "live rejections"]
        self.assertEqual(
            (fired.what, fired.alert.rule, fired.alert.subject, fired.alert.detail),
            (
                "fired",
                "live rejections",
                "coinbase",
                f"1 order(s) rejected; the last: {order['id']} (SKL_USD): post only",
            ),
        )
        self.assertEqual(await self.wallet(ws, "USD"), (self.allocated["USD"], 0))
        self.assertLedgerVerifies()

    async def test_a_market_sell_takes_the_book_and_pays_the_taker_rate_in_the_quote_currency(self):
        ws = await self.live_set()
        order = await self.api.call(
            "make_order",
            {
                "wallet_set_id": ws,
                "exchange": self.exchange,
                "pair": str(self.pair),
                "side": "sell",
                "type": "market",
                "size": "600",
                "client_order_id": "taker",
            },
        )
        done = await self.order_where(order["id"], lambda o: len(o["fills"]) == 2)
        # the recorded bids: 450 at 0.7901, then 8267.3 at 0.7900; the taker rate 0.6 %
        self.assertEqual(
            [(f["price"], f["size"], f["fee"], f["fee_currency"], f["liquidity"]) for f in done["fills"]],
            [("0.7901", "450", "2.13327", "USD", "taker"), ("0.79", "150", "0.711", "USD", "taker")],
        )
        self.assertEqual(done["status"], "filled")
        self.assertEqual(D("450") * D("0.7901") * D("0.006"), D("2.13327"))
        received = 450 * D("0.7901") + 150 * D("0.79") - D("2.13327") - D("0.711")
        self.assertEqual(await self.wallet(ws, "USD"), (self.allocated["USD"] + received, 0))
        self.assertEqual(await self.wallet(ws, "SKL"), (self.allocated["SKL"] - 600, 0))
        self.assertLedgerVerifies()
        await self.assertReconciled()


del LiveTradingCase  # only its subclasses run
