"""Reconciliation on its own: when a live account's balances may be compared with the ledger. Its
collaborators are plain functions here (the balances read, the ledger's side, the account's task
spawner and sleep), so that each rule shows without an exchange: a round skipped while an order
request awaits its answer or a placement is unconfirmed, while something happened during the
quiet wait, or after a poll applied fills; counted, and tried again once, later. Through a whole
service against each exchange's simulator: tests/service/live_case.py."""

import asyncio
import unittest
from decimal import Decimal as D

from exchange_wrapper.connectors.followed import FollowedOrders
from exchange_wrapper.connectors.reconciliation import Reconciliation
from exchange_wrapper.core.orders import Order, OrderType, Side
from exchange_wrapper.exchanges.private import AccountBalances
from tests.exchanges.test_binance_private import adapter

BALANCES = AccountBalances({"BTC": D("0.5")}, 10.0, True)


class Account:
    """What the reconciliation is given: the balances, the ledger, the stream, the tasks, the clock."""

    def __init__(self):
        self.reconciled, self.spawned, self.slept = [], [], []
        self.stream_up, self.during_quiet, self.during_refresh = True, None, None
        self.refreshes = 0

    async def balances(self):
        return BALANCES

    async def ledger(self, balances):
        self.reconciled.append(balances)
        return []

    async def refresh(self):
        self.refreshes += 1
        if self.during_refresh:
            self.during_refresh()

    def spawn(self, coroutine):
        self.spawned.append(coroutine)

    async def sleep(self, seconds):
        self.slept.append(seconds)
        if seconds == 0.5 and self.during_quiet:
            self.during_quiet()


class ReconciliationTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.account = Account()
        self.followed = FollowedOrders("binance")
        self.reconciliation = Reconciliation(
            "binance",
            self.followed,
            balances=self.account.balances,
            ledger=self.account.ledger,
            stream_up=lambda: self.account.stream_up,
            refresh=self.account.refresh,
            spawn=self.account.spawn,
            sleep=self.account.sleep,
            quiet=0.5,
            retry=5.0,
        )

    async def test_a_round_while_an_order_request_awaits_its_answer_is_put_off_once(self):
        with self.assertLogs("exchange_wrapper.connectors.reconciliation", "INFO") as logs:
            with self.reconciliation.request():
                self.assertEqual(self.reconciliation.unresolved(), "1 order request(s) awaiting an answer")
                self.assertIsNone(await self.reconciliation.run())
                self.assertIsNone(await self.reconciliation.run(quiet=False))
        self.assertEqual(self.account.reconciled, [])
        self.assertEqual(self.reconciliation.skipped, 2)
        self.assertIn(
            "binance reconciliation skipped (1 order request(s) awaiting an answer): again in 5 s", logs.output[0]
        )
        self.assertEqual(len(self.account.spawned), 1)  # one retry for both
        await self.account.spawned.pop()  # the retry: the request has its answer now
        self.assertEqual(self.account.slept, [5.0, 0.5])
        self.assertEqual(self.account.reconciled, [BALANCES])
        self.assertIsNone(self.reconciliation.unresolved())

    async def test_an_unconfirmed_placement_puts_rounds_and_pushed_balances_off(self):
        order = Order(
            id="1",
            client_order_id="c1",
            wallet_set_id=7,
            exchange="binance",
            pair="LRC_BTC",
            side=Side.BUY,
            type=OrderType.LIMIT,
            size=D(1000),
            price=D("0.0000063"),
        )
        followed = self.followed.follow(order, None, adapter().client_id, 100.0)  # pending: unconfirmed
        self.assertEqual(self.reconciliation.unresolved(), "1 placement(s) unconfirmed")
        await self.reconciliation.pushed(BALANCES)
        await self.reconciliation.pushed(BALANCES)
        self.assertEqual((self.account.reconciled, len(self.account.spawned)), ([], 1))
        followed.confirmed()
        await self.reconciliation.pushed(BALANCES)
        self.assertEqual(self.account.reconciled, [BALANCES])
        self.account.spawned.pop().close()

    async def test_rounds_and_pushed_balances_never_overlap(self):
        inside, most = 0, 0
        ledger = self.account.ledger

        async def slow_ledger(balances):  # the owner's side takes a while (the database thread)
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1
            return await ledger(balances)

        self.reconciliation.ledger = slow_ledger
        rounds = [self.reconciliation.run(quiet=False) for _ in range(3)] + [self.reconciliation.pushed(BALANCES)]
        await asyncio.gather(*rounds)
        self.assertEqual((most, len(self.account.reconciled)), (1, 4))

    async def test_activity_during_the_quiet_wait_puts_a_quiet_round_off(self):
        self.account.during_quiet = self.reconciliation.touched  # a stream message: a fill on its way
        self.assertIsNone(await self.reconciliation.run())
        self.assertEqual((self.account.reconciled, self.reconciliation.skipped), ([], 1))
        self.assertEqual(await self.reconciliation.run(quiet=False), [])  # no wait: nothing to put it off
        self.assertEqual(self.account.reconciled, [BALANCES])
        self.account.spawned.pop().close()

    async def test_with_the_stream_down_fills_a_poll_applies_after_the_balances_put_the_round_off(self):
        self.account.stream_up = False
        self.followed.follow(
            Order(
                id="1",
                client_order_id="c1",
                wallet_set_id=7,
                exchange="binance",
                pair="LRC_BTC",
                side=Side.BUY,
                type=OrderType.LIMIT,
                size=D(1000),
                price=D("0.0000063"),
                exchange_order_id="55",
            ),
            None,
            adapter().client_id,
            None,
        )
        self.account.during_refresh = self.reconciliation.touched  # the poll applied a fill
        with self.assertLogs("exchange_wrapper.connectors.reconciliation", "INFO") as logs:
            self.assertIsNone(await self.reconciliation.run(quiet=False))
        self.assertIn("fills learned by polling since the balances were read", logs.output[0])
        self.account.during_refresh = None
        self.assertEqual(await self.reconciliation.run(quiet=False), [])
        self.assertEqual((self.account.refreshes, self.account.reconciled), (2, [BALANCES]))
        self.account.spawned.pop().close()

    def test_the_differences_reported_are_shown_and_counted(self):
        self.reconciliation.report([{"currency": "BTC", "total": "0.75", "difference": "0.25"}])
        self.reconciliation.report([{"currency": "LRC", "total": "10", "difference": "-1"}])
        self.assertEqual(self.reconciliation.differences, [{"currency": "LRC", "total": "10", "difference": "-1"}])
        self.assertEqual(self.reconciliation.difference_count, 2)


if __name__ == "__main__":
    unittest.main()
