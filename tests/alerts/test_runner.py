"""The runner: what it publishes and delivers of each look, and a condition that cannot be read."""

import unittest
from collections import Counter
from types import SimpleNamespace

from exchange_wrapper.alerts.conditions import STATES, Conditions
from exchange_wrapper.alerts.runner import AlertRunner
from exchange_wrapper.config import ALERT_CONDITIONS, load_settings
from exchange_wrapper.marketdata.hub import MarketDataHub

NOW = 1_800_000_000.0


class RunnerTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.hub = MarketDataHub()
        self.hub.exchange("kraken")  # started, as a feed does
        self.trading = SimpleNamespace(accounts={}, rejections=Counter(), last_rejection={})
        self.states = {"kraken": {"status": "ready", "reason": ""}}
        self.failing = False
        self.published = []

    async def exchanges(self):
        if self.failing:
            raise RuntimeError("the API could not answer")
        return self.states

    def runner(self, *rules):
        settings = load_settings(None, env={}, overrides={"alerts.rules": list(rules)})
        conditions = Conditions(settings, self.exchanges, self.hub, self.trading)
        runner = AlertRunner(settings, conditions, publish=lambda topic, alert: self.published.append((topic, alert)))
        self.addAsyncCleanup(runner.stop)
        return runner

    async def test_every_change_is_published_and_only_the_notified_ones_delivered(self):
        runner = self.runner({"name": "feed", "condition": "exchange_unhealthy", "repeat_seconds": "600"})
        self.states["kraken"] = {"status": "down", "reason": "connection lost"}
        await runner.evaluate(NOW)
        self.states["kraken"] = {"status": "ready", "reason": ""}
        await runner.evaluate(NOW + 10)
        self.states["kraken"] = {"status": "degraded", "reason": "BTC_USD stale"}
        await runner.evaluate(NOW + 20)  # within repeat_seconds: shown, not sent
        await runner.deliveries.drain()
        self.assertEqual(
            [(topic, a["state"], a["detail"], a["notified"]) for topic, a in self.published],
            [
                ("alerts", "firing", "down: connection lost", True),
                ("alerts", "cleared", "down: connection lost", True),
                ("alerts", "firing", "degraded: BTC_USD stale", False),
            ],
        )
        self.assertEqual(runner.deliveries.counts, {("feed", "log", "delivered"): 2})
        self.assertEqual(runner.episodes.suppressed, 1)
        alerts = runner.alerts()
        self.assertEqual([a["detail"] for a in alerts["active"]], ["degraded: BTC_USD stale"])
        self.assertEqual([a["cleared_at"] for a in alerts["recent"]], [NOW + 10])

    async def test_a_condition_that_cannot_be_read_is_logged_once_and_the_others_go_on(self):
        runner = self.runner(
            {"name": "feed", "condition": "exchange_unhealthy"}, {"name": "paused", "condition": "rate_limited"}
        )
        self.failing = True
        self.hub.rest_paused("kraken", NOW + 30)
        with self.assertLogs("exchange_wrapper.alerts", "ERROR") as logs:
            first = await runner.evaluate(NOW)
            second = await runner.evaluate(NOW + 1)
        self.assertEqual([(c.what, c.alert.rule) for c in first], [("fired", "paused")])
        self.assertEqual(second, [])
        self.assertEqual(len(logs.records), 1)
        self.assertIn("alert rule 'feed': its condition could not be read", logs.output[0])
        self.failing = False
        self.states["kraken"] = {"status": "down", "reason": "connection lost"}
        self.assertEqual([(c.what, c.alert.rule) for c in await runner.evaluate(NOW + 2)], [("fired", "feed")])


class ConditionsTableTest(unittest.TestCase):
    def test_every_condition_of_the_settings_is_read_and_the_states_are_conditions(self):
        for condition in ALERT_CONDITIONS:
            self.assertTrue(callable(getattr(Conditions, "_" + condition, None)), condition)
        self.assertLessEqual(STATES, set(ALERT_CONDITIONS))
