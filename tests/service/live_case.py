"""What every exchange's live trading must show, through xWrap's API against its simulator.

A test module subclasses :class:`LiveTradingCase` with its exchange's simulator and the few
hooks that speak to it (fill an order there, lose an answer, refuse with a rate limit, count
placements); the tests here are the behaviours every private adapter must have:

* an order placed, queried, partly filled, amended (in place or on a new exchange order),
  cancelled, with the fills in the wallet set's ledger and the account reconciled to the cent;
* a placement whose answer is lost, resolved by a query and never sent twice;
* one that never reached the exchange, rejected once the exchange could no longer take it;
* a burst of 200 orders that never goes past the published order limit;
* a 429 or 418 that stops every call for the time it gives;
* a restart with an open order and fills made while xWrap was down;
* money that arrives outside xWrap, reported by the reconciliation;
* live wallet sets never allocated more than the account holds;
* no reconciliation while a placement is unanswered (what it bought is not money from outside);
* the private stream down: the account shown degraded, its orders, fills and balances polled,
  no reconnection while a 429 pauses the account (an exchange without a private stream, ``streams``
  False, is polled all the time: it shows ready, and the stream's own tests do not apply);
* a live set closed while its order rests and fills: the exchange confirms the cancel before the
  close answers, and every balance goes back to the account's unallocated funds.

The service runs as ``xwrap serve`` runs it (:class:`Server`), the exchange in live mode pointed at
the simulator; the simulator and the account share a clock the tests can move forward.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
import unittest
from decimal import Decimal as D
from typing import Any

from exchange_wrapper.config import load_settings
from exchange_wrapper.core.errors import InsufficientFunds, InvalidParameter, RateLimited, WalletSetClosed
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.service.server import Server
from exchange_wrapper.storage.verify import verify_ledger


class Clock:
    """The wall clock, moved forward by :meth:`skip` (shared by the simulator and the account)."""

    def __init__(self) -> None:
        self.skew = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew

    def skip(self, seconds: float) -> None:
        self.skew += seconds


#: Alert rules on the live account (docs/alerts.md), looked at when a test says (the schedule: an hour).
ALERTS = {
    "alerts.interval_seconds": "3600",
    "alerts.rules": [
        {"name": "reconciliation", "condition": "reconciliation_differences"},
        {"name": "live rejections", "condition": "order_rejected", "mode": "live"},
    ],
}


class LiveTradingCase(unittest.IsolatedAsyncioTestCase):
    """Subclass with an exchange: set the attributes and implement the hooks."""

    exchange: str
    pair: Pair
    balances: dict[str, D]  # what the simulated account holds at the start
    allocated: dict[str, D]  # what the test's wallet set is allocated of it
    price: D  # a buy price that rests on the book (below the best ask)
    lower: D  # another price that rests, for a cancel-replace
    taking: tuple[D, str]  # a buy's price and size that take from the book at once
    placement: tuple[str, str]  # the method and path of a new order on the exchange's REST API
    fee_rate: D  # the simulator's maker fee on what a trade brings in (its value: fee_in_quote)
    order_limit: tuple[int, float]  # new orders allowed per window of seconds, as the simulator publishes
    settings_overrides: dict[str, Any] = {}  # the account's keys
    refused_time_in_force = "GTD"  # a time in force the exchange does not take
    price_amend_moves_order = True  # a new price puts the order on a new exchange order (else amended in place)
    fee_in_quote = False  # the fee is taken in the quote currency (Coinbase), not from what a trade brings in
    streams = True  # the account has a private stream (else it is polled: Luno)

    # -- hooks ------------------------------------------------------------------------------------

    def make_simulator(self, clock: Clock) -> Any:
        """The simulator (an async context manager with ``rest_url`` and ``ws_url``)."""
        raise NotImplementedError

    async def fill(self, order: dict[str, Any], size: D) -> None:
        """The exchange fills ``size`` of the resting ``order`` (as xWrap returns it) as the maker."""
        raise NotImplementedError

    def lose_next_placement(self) -> None:
        """The next placement executes on the exchange, but its answer never comes."""
        self.sim.lose_next(*self.placement)

    def delay_next_placement(self, seconds: float) -> None:
        """The next placement executes on the exchange at once, and its answer comes ``seconds`` later."""
        self.sim.delay_next(*self.placement, seconds)

    def fail_next_placement(self) -> None:
        """The next placement fails without reaching the exchange, its outcome unknown (a 5xx)."""
        raise NotImplementedError

    def placements(self) -> int:
        """New-order requests the simulator received."""
        return self.sim.calls.count(*self.placement)

    def most_placements_in_window(self) -> int:
        """The most new-order requests in one of the exchange's order-limit windows."""
        return self.sim.calls.most_in_window(self.order_limit[1], *self.placement)

    def refuse_next(self, status: int, seconds: int) -> None:
        """Answer the next call with a rate-limit refusal (429, or 418 for a ban) for ``seconds``."""
        raise NotImplementedError

    def calls(self) -> int:
        """REST calls the simulator received so far."""
        raise NotImplementedError

    async def deposit(self, currency: str, amount: D) -> None:
        """Money arrives in the account from outside xWrap."""
        raise NotImplementedError

    def exchange_remaining(self, order: dict[str, Any]) -> D:
        """What remains to fill of ``order`` on the exchange (its current exchange order)."""
        raise NotImplementedError

    def sim_order(self, order: dict[str, Any]) -> Any:
        """The simulator's order (a :class:`~tests.simulator.private.SimOrder`) of ``order``."""
        raise NotImplementedError

    def cancel_at_exchange(self, order: dict[str, Any]) -> None:
        """The exchange cancels ``order`` and tells nobody (as with its stream down)."""
        self.sim.account.cancel(self.sim_order(order), self.clock())

    async def stream_down(self) -> None:
        """The private stream ends and the exchange refuses to open it again (503)."""
        self.sim.refuse_streams()
        await self.sim.drop_streams()
        await self.until(lambda: "down" in self.account.stream_state)

    def maker_fee(self, size: D, price: D) -> tuple[D, str]:
        """The fee of a maker fill of ``size`` at ``price``, and its currency."""
        if self.fee_in_quote:
            return size * price * self.fee_rate, self.pair.quote
        return size * self.fee_rate, self.pair.base

    def bought(self, size: D, price: D) -> tuple[D, D]:
        """(quote paid, base received) by a maker buy of ``size`` at ``price``, its fee included."""
        fee, currency = self.maker_fee(size, price)
        return (size * price + fee, size) if currency == self.pair.quote else (size * price, size - fee)

    # -- the service ------------------------------------------------------------------------------

    async def asyncSetUp(self) -> None:
        asyncio.get_running_loop().set_debug(False)
        self.clock = Clock()
        self.sim = await self.make_simulator(self.clock).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        overrides = {"database_url": f"sqlite:///{directory.name}/xwrap.sqlite", "server.port": 0, **ALERTS}
        for name in EXCHANGE_NAMES:
            overrides[f"exchanges.{name}.enabled"] = name == self.exchange
        prefix = f"exchanges.{self.exchange}."
        own = {
            "mode": "live",
            "rest_url": self.sim.rest_url,
            "ws_url": self.sim.ws_url,
            "pairs": [str(self.pair)],
            **self.settings_overrides,
        }
        overrides.update({prefix + key: value for key, value in own.items()})
        self.settings = load_settings(None, env={}, overrides=overrides)
        self.server = await self.start_server()

    async def asyncTearDown(self) -> None:
        await self.server.stop()

    async def start_server(self) -> Server:
        server = Server(
            self.settings,
            feed_options={"silence_timeout": 3600},
            account_options={
                "clock": self.clock,
                "reconcile_interval": 3600,
                "quiet": 0.05,
                "resolve_interval": 0.05,
                "reconcile_retry": 0.1,
                "poll_interval": 0.2,
                "backoff": Backoff(0.1, 0.3),
            },
        )
        await server.start()
        self.server = server
        await self.until(
            lambda: self.account.state == "ready" and (not self.streams or "subscribed" in self.account.stream_state)
        )
        return server

    @property
    def api(self) -> Any:
        return self.server.api

    @property
    def account(self) -> Any:
        return self.server.trading.accounts[self.exchange]

    async def until(self, condition: Any, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)

    async def live_set(self, name: str = "live") -> int:
        """A live wallet set allocated :attr:`allocated` of the reconciled account."""
        wallet_set = await self.api.call("create_wallet_set", {"name": name, "mode": "live"})
        for currency, amount in self.allocated.items():
            funded = await self.api.call(
                "fund_wallet_set",
                {
                    "wallet_set_id": wallet_set["id"],
                    "exchange": self.exchange,
                    "currency": currency,
                    "amount": str(amount),
                },
            )
            self.assertEqual(funded["entry"]["kind"], "allocate")
        return wallet_set["id"]

    async def buy(
        self, wallet_set: int, size: str, client_order_id: str | None = None, price: D | None = None, **extra: Any
    ) -> dict[str, Any]:
        return await self.api.call(
            "make_order",
            {
                "wallet_set_id": wallet_set,
                "exchange": self.exchange,
                "pair": str(self.pair),
                "side": "buy",
                "price": str(price or self.price),
                "size": size,
                "client_order_id": client_order_id,
                **extra,
            },
        )

    async def wallet(self, wallet_set: int, currency: str) -> tuple[D, D]:
        """(balance, hold)."""
        wallet = await self.api.get_wallet(wallet_set_id=wallet_set, exchange=self.exchange, currency=currency)
        return D(wallet["balance"]), D(wallet["hold"])

    async def order_where(self, order_id: str, condition: Any) -> dict[str, Any]:
        """The order as get_order returns it, once ``condition(order)`` holds (wait for the fills
        themselves: the order in memory is ahead of its records)."""
        found: dict[str, Any] = {}

        async def check() -> bool:
            found.update(await self.api.get_order(order_id=order_id))
            return condition(found)

        async with asyncio.timeout(5):
            while not await check():
                await asyncio.sleep(0.01)
        return found

    def assertLedgerVerifies(self) -> None:
        report = verify_ledger(self.server.database)
        self.assertTrue(report.ok, report.as_json())

    async def assertReconciled(self) -> None:
        """The ledger's record of the real account equals the exchange's balances, with no difference."""
        self.assertEqual(await self.account.reconcile(quiet=False), [])
        balances = await self.account.balances()
        for currency, total in balances.totals.items():
            recorded, _ = self.server.trading.wallets.exchange_account(self.exchange, currency)
            self.assertEqual(recorded, total, currency)

    # -- the behaviours ---------------------------------------------------------------------------

    async def test_an_order_placed_queried_partly_filled_amended_and_cancelled_settles_in_the_ledger(self):
        ws = await self.live_set()
        base, quote = self.pair.base, self.pair.quote
        fee = 1 + self.server.trading.live_venue.taker_fee(self.exchange, self.account.market(self.pair))
        order = await self.buy(ws, "1000", "first")
        self.assertEqual((order["status"], order["client_order_id"]), ("open", "first"))
        self.assertIsNotNone(order["exchange_order_id"])
        self.assertEqual(await self.wallet(ws, quote), (self.allocated[quote], 1000 * self.price * fee))
        listed = await self.api.get_orders(wallet_set_id=ws)
        self.assertEqual([o["id"] for o in listed["orders"]], [order["id"]])
        # partly filled on the exchange: the fill reaches the order and the ledger
        await self.fill(order, D(400))
        filled = await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        self.assertEqual(
            [(f["price"], f["size"], f["fee"], f["fee_currency"], f["liquidity"]) for f in filled["fills"]],
            [
                (
                    str(self.price.normalize()),
                    "400",
                    str(self.maker_fee(D(400), self.price)[0].normalize()),
                    self.maker_fee(D(400), self.price)[1],
                    "maker",
                )
            ],
        )
        self.assertEqual([e["to"] for e in filled["events"]], ["pending", "open", "partially_filled"])
        paid, got = self.bought(D(400), self.price)
        # the hold follows the rest: what the fill did not use of it (a maker fee below the taker fee held) is freed
        self.assertEqual(await self.wallet(ws, quote), (self.allocated[quote] - paid, 600 * self.price * fee))
        self.assertEqual(await self.wallet(ws, base), (self.allocated[base] + got, 0))
        # a smaller size at the same price; then a new price (on a new exchange order where the exchange must)
        smaller = await self.api.call("amend_order", {"order_id": order["id"], "size": "800"})
        self.assertEqual((smaller["size"], smaller["status"]), ("800", "partially_filled"))
        self.assertEqual(self.exchange_remaining(smaller), D(400))
        self.assertEqual((await self.wallet(ws, quote))[1], (400 * self.price * fee).quantize(D("1e-18")))
        moved = await self.api.call("amend_order", {"order_id": order["id"], "price": str(self.lower)})
        self.assertEqual((moved["price"], moved["size"]), (str(self.lower.normalize()), "800"))
        self.assertEqual(moved["exchange_order_id"] != smaller["exchange_order_id"], self.price_amend_moves_order)
        self.assertIn("queue priority lost", moved["reason"])
        self.assertEqual((await self.wallet(ws, quote))[1], 400 * self.lower * fee)
        await self.fill(moved, D(100))
        await self.order_where(order["id"], lambda o: len(o["fills"]) == 2)
        cancelled = await self.api.cancel_order(order_id=order["id"])
        self.assertEqual((cancelled["status"], cancelled["filled_size"]), ("cancelled", "500"))
        self.assertEqual([f["size"] for f in cancelled["fills"]], ["400", "100"])
        (paid, got), (paid_then, got_then) = self.bought(D(400), self.price), self.bought(D(100), self.lower)
        self.assertEqual(await self.wallet(ws, quote), (self.allocated[quote] - paid - paid_then, 0))
        self.assertEqual(await self.wallet(ws, base), (self.allocated[base] + got + got_then, 0))
        self.assertEqual((await self.api.get_orders(wallet_set_id=ws))["orders"], [])
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_live_set_is_never_allocated_more_than_the_account_holds(self):
        ws = await self.live_set()
        other = (await self.api.call("create_wallet_set", {"name": "other", "mode": "live"}))["id"]
        quote = self.pair.quote
        left = self.balances[quote] - self.allocated[quote]
        with self.assertRaises(InsufficientFunds) as raised:
            await self.api.call(
                "fund_wallet_set",
                {
                    "wallet_set_id": other,
                    "exchange": self.exchange,
                    "currency": quote,
                    "amount": str(left + D("0.00000001")),
                },
            )
        self.assertEqual(raised.exception.available, left)
        await self.api.call(
            "fund_wallet_set",
            {"wallet_set_id": other, "exchange": self.exchange, "currency": quote, "amount": str(left)},
        )
        self.assertEqual(self.server.trading.wallets.exchange_account(self.exchange, quote), (self.balances[quote], 0))
        self.assertEqual(await self.wallet(ws, quote), (self.allocated[quote], 0))

    async def test_the_account_view_shows_what_the_exchange_reported_and_what_the_live_sets_own(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000", tag="live-run")
        self.assertEqual(order["tag"], "live-run")
        held = (await self.wallet(ws, self.pair.quote))[1]
        self.assertGreater(held, 0)
        (view,) = await self.api.call("get_accounts", {"exchange": self.exchange})
        self.assertEqual((view["exchange"], view["mode"], view["paper"]), (self.exchange, "live", []))
        rows = {row["currency"]: row for row in view["live"]}
        self.assertLessEqual(set(self.balances), set(rows))
        for currency, total in self.balances.items():
            row, allocated = rows[currency], self.allocated.get(currency, D(0))
            self.assertEqual(
                [D(row[name]) for name in ("reported", "allocated", "held", "unallocated")],
                [total, allocated, held if currency == self.pair.quote else 0, total - allocated],
                currency,
            )
            self.assertIsNotNone(row["reconciled_at"])

    async def test_what_the_exchange_cannot_do_is_refused_before_anything_is_stored(self):
        ws = await self.live_set()
        expiry = {"expire_time": self.clock() + 60} if self.refused_time_in_force == "GTD" else {}
        with self.assertRaises(InvalidParameter) as raised:
            await self.buy(ws, "1000", time_in_force=self.refused_time_in_force, **expiry)
        self.assertEqual(raised.exception.field, "time_in_force")
        self.assertEqual((await self.api.get_orders(wallet_set_id=ws, status="recent"))["orders"], [])
        self.assertEqual(self.placements(), 0)

    async def test_a_lost_answer_is_resolved_by_a_query_and_the_order_is_never_sent_twice(self):
        ws = await self.live_set()
        self.lose_next_placement()
        order = await self.buy(ws, "1000", "lost")
        self.assertEqual((order["status"], self.placements()), ("open", 1))
        self.assertIsNotNone(order["exchange_order_id"])
        again = await self.buy(ws, "1000", "lost")  # the strategy repeats itself: the same order
        self.assertEqual((again["id"], self.placements()), (order["id"], 1))
        await self.fill(order, D(1000))
        done = await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        self.assertEqual((done["status"], done["filled_size"]), ("filled", "1000"))
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_a_placement_that_never_arrived_is_rejected_once_the_exchange_cannot_take_it(self):
        ws = await self.live_set()
        self.fail_next_placement()
        order = await self.buy(ws, "1000", "never")
        self.assertEqual(order["status"], "pending")
        self.assertIn("unconfirmed", order["reason"])
        self.assertEqual(self.account.status()["unconfirmed_orders"], 1)
        await asyncio.sleep(0.2)  # queried meanwhile: unknown, but its time is not over
        self.assertEqual(self.server.trading.open[order["id"]].status.value, "pending")
        self.clock.skip(self.account.adapter.recv_window + 2)
        done = await self.order_where(order["id"], lambda o: o["status"] == "rejected")
        self.assertIn("never reached", done["reason"])
        self.assertEqual((await self.wallet(ws, self.pair.quote))[1], 0)
        self.assertEqual(self.placements(), 1)
        self.assertLedgerVerifies()

    async def test_a_burst_of_200_orders_never_goes_past_the_order_limit(self):
        ws = await self.live_set()
        count, seconds = self.order_limit
        orders = await asyncio.gather(*(self.buy(ws, "20", f"burst-{i}") for i in range(200)))
        self.assertEqual({o["status"] for o in orders}, {"open"})
        self.assertEqual(self.placements(), 200)
        self.assertLessEqual(self.most_placements_in_window(), count)
        self.assertGreaterEqual(self.most_placements_in_window(), count // 2)  # the limit was what paced them
        cancelled = await self.api.cancel_all_orders(exchange=self.exchange)
        self.assertEqual(len(cancelled["cancelled"]), 200)
        self.assertEqual((await self.wallet(ws, self.pair.quote))[1], 0)
        self.assertLedgerVerifies()

    async def test_a_rate_limit_refusal_stops_every_call_for_the_time_given(self):
        ws = await self.live_set()
        for status, seconds in ((429, 30), (418, 120)):
            with self.subTest(status=status):
                self.refuse_next(status, seconds)
                refused = await self.buy(ws, "100")
                self.assertEqual(refused["status"], "rejected")
                self.assertIn("rate limit", refused["reason"])
                before = self.calls()
                with self.assertRaises(RateLimited) as raised:
                    await self.buy(ws, "100")
                self.assertAlmostEqual(raised.exception.retry_after, seconds, delta=1)
                status_now = (await self.api.get_exchanges())[self.exchange]
                self.assertAlmostEqual(status_now["account"]["paused_until"], self.clock() + seconds, delta=1)
                self.assertEqual(status_now["status"], "degraded")
                metrics = self.server.metrics.render().decode()
                waiting = re.search(rf'xwrap_account_paused_seconds{{exchange="{self.exchange}"}} ([0-9.]+)', metrics)
                self.assertAlmostEqual(float(waiting[1]), seconds, delta=1)
                self.assertEqual(self.calls(), before)  # nothing reached the exchange
                self.clock.skip(seconds - 2)
                with self.assertRaises(RateLimited):
                    await self.buy(ws, "100")
                self.clock.skip(2.5)
                self.assertEqual((await self.buy(ws, "100"))["status"], "open")
        self.assertLedgerVerifies()

    async def test_a_restart_applies_the_fills_made_while_xwrap_was_down_once(self):
        ws = await self.live_set()
        resting = await self.buy(ws, "1000", "resting")
        await self.fill(resting, D(300))
        await self.order_where(resting["id"], lambda o: len(o["fills"]) == 1)
        await self.server.stop()
        await self.fill(resting, D(200))  # nobody listening
        await self.fill(resting, D(100))
        self.server = await self.start_server()
        order = await self.api.get_order(order_id=resting["id"])
        self.assertEqual((order["status"], order["filled_size"]), ("partially_filled", "600"))
        self.assertEqual([f["size"] for f in order["fills"]], ["300", "200", "100"])
        base, quote = self.pair.base, self.pair.quote
        fee = 1 + self.server.trading.live_venue.taker_fee(self.exchange, self.account.market(self.pair))
        paid, got = self.bought(D(600), self.price)
        # the hold follows the rest: what the fills did not use of it (a maker fee below the taker fee held) is freed
        self.assertEqual(await self.wallet(ws, quote), (self.allocated[quote] - paid, 400 * self.price * fee))
        self.assertEqual(await self.wallet(ws, base), (self.allocated[base] + got, 0))
        self.assertEqual(self.account.status()["differences"], [])  # the start-up reconciliation found none
        await self.assertReconciled()
        self.assertLedgerVerifies()
        cancelled = await self.api.cancel_order(order_id=resting["id"])
        self.assertEqual((cancelled["status"], cancelled["filled_size"]), ("cancelled", "600"))
        self.assertLedgerVerifies()

    async def test_money_arriving_outside_xwrap_is_reported_not_absorbed_silently(self):
        await self.live_set()
        # the alerts' looks, from the loop's first (at start) on a schedule of an hour: those at start clear
        self.alerts_at = self.server.alerts.clock()
        await self.server.alerts.evaluate(self.alerts_at)
        await self.server.alerts.evaluate(self.alerts_at + 301)
        published = self.server.bus.subscribe({"status"})
        quote = self.pair.quote
        with self.assertLogs("exchange_wrapper.venues.live", "WARNING") as logs:
            await self.deposit(quote, D("0.25"))
            await self.until(
                lambda: (
                    self.account.status()["differences"]
                    == [
                        {
                            "currency": quote,
                            "total": str((self.balances[quote] + D("0.25")).normalize()),
                            "difference": "0.25",
                        }
                    ]
                )
            )
        self.assertIn(f"0.25 {quote} more than the ledger expected", "\n".join(logs.output))
        changes = await self.server.alerts.evaluate(self.alerts_at + 400)  # the alerts' look after it
        self.assertEqual(
            [(c.what, c.alert.rule, c.alert.subject, c.alert.detail) for c in changes],
            [
                (
                    "fired",
                    "reconciliation",
                    self.exchange,
                    "1 difference(s) between the exchange's balances and the ledger",
                )
            ],
        )
        self.assertIn(
            f'xwrap_account_differences_total{{exchange="{self.exchange}"}} {len(self.balances) + 1}.0',
            self.server.metrics.render().decode(),
        )  # the start-up's (the first deposit) and this one
        async with asyncio.timeout(1):  # published with the exchange's status
            while True:
                topic, payload = await published.get()
                if payload["account"]["differences"][0].get("difference") == "0.25":
                    break
        self.assertEqual((topic, payload["exchange"]), ("status", self.exchange))
        total, unallocated = self.server.trading.wallets.exchange_account(self.exchange, quote)
        self.assertEqual(
            (total, unallocated),
            (self.balances[quote] + D("0.25"), self.balances[quote] + D("0.25") - self.allocated[quote]),
        )
        self.assertLedgerVerifies()

    async def test_no_reconciliation_counts_what_an_unanswered_placement_did(self):
        ws = await self.live_set()
        if self.streams:
            await self.stream_down()  # only the placement's answer will tell what it bought (or a poll)
        reported = self.account.difference_count
        self.delay_next_placement(1.0)
        price, size = self.taking
        placing = asyncio.ensure_future(self.buy(ws, size, "taking", price=price))
        await self.until(lambda: self.placements() == 1)
        await self.until(lambda: self.sim.account.trades)  # executed: the account holds what it bought
        self.assertIsNone(await self.account.reconcile(quiet=False))  # skipped: not booked as money from outside
        skipped = self.account.reconciliations_skipped
        order = await placing  # what it bought comes with the answer, or is polled (the stream is down)
        await self.order_where(order["id"], lambda o: o["fills"])
        await self.until(lambda: self.account.reconciliations_skipped > skipped)  # the polls' rounds too
        self.assertEqual(await self.account.reconcile(quiet=False), [])
        self.assertEqual(self.account.difference_count, reported)  # nothing came from outside, nothing went
        self.assertIn(
            f'xwrap_account_reconciliations_skipped_total{{exchange="{self.exchange}"}} '
            f"{float(self.account.reconciliations_skipped)}",
            self.server.metrics.render().decode(),
        )
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_while_the_private_stream_is_down_orders_and_balances_are_polled(self):
        ws = await self.live_set()
        cancelled, filled = await self.buy(ws, "1000", "cancelled"), await self.buy(ws, "1000", "filled")
        exchange = (await self.api.get_exchanges())[self.exchange]
        if self.streams:
            await self.stream_down()
            exchange = (await self.api.get_exchanges())[self.exchange]
            self.assertEqual((exchange["status"], exchange["account"]["state"]), ("degraded", "degraded"))
            self.assertTrue(exchange["reason"].startswith("account degraded: the private stream"), exchange["reason"])
            self.assertIn("private stream is not subscribed (down: ", exchange["account"]["reason"])
            self.assertIn("polled every 0.2 s", exchange["account"]["reason"])
        else:  # polling is the way the account follows the exchange: nothing is degraded
            self.assertEqual((exchange["status"], exchange["account"]["state"]), ("ready", "ready"))
            self.assertEqual(exchange["account"]["stream"], "none: polled every 0.2 s")
        self.cancel_at_exchange(cancelled)  # nobody is told
        await self.fill(filled, D(400))
        await self.order_where(cancelled["id"], lambda o: o["status"] == "cancelled")
        await self.order_where(filled["id"], lambda o: o["filled_size"] == "400")
        paid, got = self.bought(D(400), self.price)
        self.assertEqual((await self.wallet(ws, self.pair.quote))[0], self.allocated[self.pair.quote] - paid)
        self.assertEqual(await self.wallet(ws, self.pair.base), (self.allocated[self.pair.base] + got, 0))
        await self.deposit(self.pair.quote, D("0.25"))  # the balances are polled too
        await self.until(lambda: [d.get("difference") for d in self.account.status()["differences"]] == ["0.25"])
        if self.streams:
            self.sim.accept_streams()
            await self.until(lambda: self.account.status()["state"] == "ready")
            self.assertIn("subscribed", self.account.status()["stream"])
        self.assertLedgerVerifies()
        await self.assertReconciled()

    async def test_the_stream_is_not_reconnected_while_a_rate_limit_pauses_the_account(self):
        if not self.streams:
            self.skipTest(f"{self.exchange} has no private stream to reconnect (polled)")
        await self.stream_down()
        self.sim.refuse_streams(429, {"Retry-After": "30"})
        await self.until(lambda: self.account.pause_left() > 25)  # the refused handshake paused the account
        refused = len(self.sim.handshakes)
        await asyncio.sleep(1.0)  # the backoff alone would have tried again by now
        self.assertEqual(len(self.sim.handshakes), refused)
        self.sim.accept_streams()
        self.clock.skip(30)
        await self.until(lambda: self.account.status()["state"] == "ready")
        self.assertEqual(len(self.sim.handshakes), refused + 1)

    # -- closing a live set (issue 12) ------------------------------------------------------------

    async def test_closing_a_live_set_cancels_on_the_exchange_and_returns_everything_to_unallocated(self):
        ws = await self.live_set()
        order = await self.buy(ws, "1000")
        await self.fill(order, D(400))
        await self.order_where(order["id"], lambda o: len(o["fills"]) == 1)
        # a fill on its way while the set closes: it is settled before the balances go back, or not at all
        filling = asyncio.create_task(self.fill(order, D(100)))
        closed = await self.api.call("close_wallet_set", {"wallet_set_id": ws})
        await filling
        self.assertFalse(self.sim_order(order).is_open)  # the exchange had cancelled it when the close answered
        self.assertEqual("cancelled", (await self.api.get_order(order_id=order["id"]))["status"])
        self.assertEqual({"0"}, {w[key] for w in closed["wallets"] for key in ("balance", "hold")})
        self.assertEqual({"deallocate"}, {e["kind"] for e in closed["returned"]})
        with self.assertRaises(WalletSetClosed):
            await self.buy(ws, "10")
        await self.assertReconciled()
        for currency in (self.pair.base, self.pair.quote):
            total, unallocated = self.server.trading.wallets.exchange_account(self.exchange, currency)
            self.assertEqual(total, unallocated, currency)  # no live set holds anything now
        self.assertLedgerVerifies()
