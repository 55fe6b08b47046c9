"""Live trading on Coinbase Exchange through the whole service, against the loopback Coinbase
(signed REST, the websocket feed's ``user`` channel, SKL-USD's recorded book): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase`, and Coinbase's own: an amend is a cancel then a
new order, a GTD goes as GTT where its expiry is a minute, an hour or a day away."""
from decimal import Decimal as D

from exchange_wrapper.core.pairs import Pair
from tests.service.live_case import LiveTradingCase
from tests.simulator.coinbase_private import API_KEY, API_SECRET, MAKER_FEE, PASSPHRASE, CoinbaseExchange


class CoinbaseLiveTradingTest(LiveTradingCase):
    exchange = "coinbase"
    pair = Pair("SKL", "USD")
    balances = {"USD": D("10000"), "SKL": D("20000")}
    allocated = {"USD": D("5000"), "SKL": D("5000")}
    price = D("0.79")         # SKL-USD's recorded book: best bid 0.7901, best ask 0.7910
    lower = D("0.78")
    fee_rate = MAKER_FEE      # the lowest tier's maker rate, on the quote value of a fill
    fee_in_quote = True
    order_limit = (30, 1.0)   # private endpoints: 15 requests a second per profile, bursts of 30
    settings_overrides = {"api_key": API_KEY, "api_secret": API_SECRET, "passphrase": PASSPHRASE}

    def make_simulator(self, clock):
        return CoinbaseExchange(balances=dict(self.balances), clock=clock)

    def sim_order(self, order):
        return self.sim.order(order["exchange_order_id"])

    async def fill(self, order, size):
        await self.sim.fill(self.sim_order(order), size)

    def lose_next_placement(self):
        self.sim.lose_next("POST", "/orders")

    def fail_next_placement(self):
        self.sim.fail_next(503, {"message": "Service Unavailable"})

    def placements(self):
        return self.sim.calls.count("POST", "/orders")

    def most_placements_in_window(self):
        return self.sim.calls.most_in_window(self.order_limit[1], "POST", "/orders")

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


del LiveTradingCase  # only its subclasses run
