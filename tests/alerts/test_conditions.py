"""The conditions on a running service (the recorded Coinbase one): a drawdown read from the equity history,
the ledger's scheduled verification, a rate-limit pause, market history dropped. The rules' looks are taken
by the test (the schedule is an hour), at the times it gives."""

import asyncio
import math
from decimal import Decimal as D

from exchange_wrapper.history.sink import NO_EXCHANGE, Batch, EquitySample
from exchange_wrapper.storage.models import Wallet
from tests.service.recorded import RecordedServiceTest


def looked(changes):
    return [(change.what, change.alert.rule, change.alert.subject, change.alert.detail) for change in changes]


def rules(*rules):
    return {"alerts.interval_seconds": "3600", "alerts.rules": list(rules)}


class DrawdownTest(RecordedServiceTest):
    settings_overrides = rules({"name": "drawdown", "condition": "drawdown", "limit": "0.1"})

    async def equity(self, wallet_set_id, *samples):
        sink = self.server.history.sink
        batch = Batch(NO_EXCHANGE, equity=[EquitySample(wallet_set_id, at, D(value)) for at, value in samples])
        await asyncio.to_thread(sink.write, batch)

    async def test_a_fall_from_the_peak_past_the_limit_fires_and_a_recovery_clears_it(self):
        runner, conditions = self.server.alerts, self.server.alerts.conditions
        # a set holding nothing: the service's own sampler leaves it alone, its history is the test's
        wallet_set = await self.ok("POST", "/xwrap/v1/wallet_sets", {"name": "watched"})
        now = self.server.clock()
        t0 = math.floor(now / 60) * 60 - 3600
        await self.equity(wallet_set["id"], (t0, "1000"), (t0 + 60, "1200"), (t0 + 120, "1100"))
        await conditions.refresh_equity(now)
        self.assertEqual(await runner.evaluate(now), [])  # 8.33 % below the peak: under the limit
        await self.equity(wallet_set["id"], (t0 + 180, "1050"))
        await conditions.refresh_equity(now + 1)  # only what is new is read
        subject = f"wallet set {wallet_set['id']}"
        self.assertEqual(
            looked(await runner.evaluate(now + 1)),
            [("fired", "drawdown", subject, "12.50% below its peak 1200 USD (now 1050 USD)")],
        )
        self.assertEqual(
            self.server.metrics.registry.get_sample_value(
                "xwrap_wallet_set_drawdown", {"wallet_set_id": str(wallet_set["id"])}
            ),
            0.125,
        )
        await self.equity(wallet_set["id"], (t0 + 240, "1190"))
        await conditions.refresh_equity(now + 2)
        self.assertEqual(
            looked(await runner.evaluate(now + 2)),
            [("cleared", "drawdown", subject, "12.50% below its peak 1200 USD (now 1050 USD)")],
        )


class LedgerTest(RecordedServiceTest):
    settings_overrides = rules({"name": "ledger", "condition": "ledger_verify_failed"})

    async def test_a_ledger_that_does_not_verify_fires_until_it_verifies_again(self):
        runner, conditions = self.server.alerts, self.server.alerts.conditions
        await self.funded_wallet_set()
        now = self.server.clock()
        self.assertTrue((await conditions.verify_ledger(now)).ok)
        self.assertEqual(await runner.evaluate(now), [])
        # a wallet's balance no longer its postings' sum (what only a bug or a hand in the database does)
        usd = Wallet.currency == "USD"
        await asyncio.to_thread(lambda: Wallet.update(balance=D("999.5")).where(usd).execute())
        report = await conditions.verify_ledger(now + 1)
        self.assertFalse(report.ok)
        self.assertEqual(looked(await runner.evaluate(now + 1)), [("fired", "ledger", "ledger", report.summary())])
        self.assertIn("the ledger does not verify:", report.summary())
        self.assertEqual(
            self.server.metrics.registry.get_sample_value("xwrap_ledger_differences"), len(report.differences)
        )
        await asyncio.to_thread(lambda: Wallet.update(balance=D("1000")).where(usd).execute())
        self.assertTrue((await conditions.verify_ledger(now + 2)).ok)
        self.assertEqual(looked(await runner.evaluate(now + 2)), [("cleared", "ledger", "ledger", report.summary())])


class RateLimitTest(RecordedServiceTest):
    settings_overrides = rules({"name": "paused", "condition": "rate_limited"})

    async def test_a_pause_after_a_rate_limit_answer_fires_while_it_lasts(self):
        runner = self.server.alerts
        now = self.server.clock()
        self.server.hub.rest_paused("coinbase", now + 30)  # what the REST client does on a 429 with Retry-After: 30
        detail = "calls paused for 30.0 s after a rate-limit answer (HTTP 429/418)"
        self.assertEqual(looked(await runner.evaluate(now)), [("fired", "paused", "coinbase", detail)])
        self.assertEqual(await runner.evaluate(now + 29), [])
        self.assertEqual(
            looked(await runner.evaluate(now + 30)),
            [("cleared", "paused", "coinbase", "calls paused for 1.0 s after a rate-limit answer (HTTP 429/418)")],
        )


class HistoryDroppedTest(RecordedServiceTest):
    """A writer's queue of one record: the recording's trades overflow it."""

    settings_overrides = {
        **rules({"name": "history", "condition": "history_dropped", "clear_seconds": "60"}),
        "timeseries.queue_size": 1,
        "timeseries.book_top_seconds": "0",  # no timer of its own: records come as the test steps the recording
    }

    def dropped(self):
        counts = self.server.history_writer.counts
        return counts["dropped_queue_full"] + counts["dropped_sink_error"]

    async def test_records_dropped_fire_and_the_alert_clears_once_none_are(self):
        runner = self.server.alerts
        now = self.server.clock()
        await runner.evaluate(now)  # the drops of the start, if any
        await runner.evaluate(now + 61)
        before = self.dropped()
        self.step_until(lambda: self.dropped() > before)  # more trades than the queue holds
        self.step_until(lambda: self.dropped() > before + 5)
        changes = await runner.evaluate(now + 62)
        detail = f"{self.dropped() - before} market history record(s) dropped (queue full or the store failing)"
        self.assertEqual(looked(changes), [("fired", "history", "history", detail)])
        self.assertEqual(await runner.evaluate(now + 100), [])  # within clear_seconds of the drops
        self.assertEqual(looked(await runner.evaluate(now + 123)), [("cleared", "history", "history", detail)])
