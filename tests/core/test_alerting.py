"""Alert episodes without an event loop: states held for a while, events that go quiet, the rate limit."""

import unittest
from decimal import Decimal

from exchange_wrapper.core.alerting import Episodes, Kind, Policy, drawdown
from exchange_wrapper.core.errors import InvalidParameter

DOWN = Policy("feed", "exchange_unhealthy", Kind.STATE, for_seconds=60, repeat_seconds=600)
REJECTED = Policy("rejects", "order_rejected", Kind.EVENT, clear_seconds=300, repeat_seconds=0)


def changes(found):
    return [(change.what, change.alert.subject, change.notify) for change in found]


class StateTest(unittest.TestCase):
    def test_fires_once_held_for_seconds_and_clears_when_it_no_longer_holds(self):
        episodes = Episodes([DOWN])
        self.assertEqual(episodes.observe("feed", 1000, {"kraken": "down: lost"}), [])
        self.assertEqual(episodes.observe("feed", 1059, {"kraken": "down: lost"}), [])
        fired = episodes.observe("feed", 1060, {"kraken": "degraded: BTC_USD stale"})
        self.assertEqual(changes(fired), [("fired", "kraken", True)])
        alert = fired[0].alert
        self.assertEqual((alert.started_at, alert.fired_at, alert.detail), (1000, 1060, "degraded: BTC_USD stale"))
        # once per episode: holding on fires nothing more, but the detail follows
        self.assertEqual(episodes.observe("feed", 1100, {"kraken": "down: silent"}), [])
        self.assertEqual(episodes.active()[0].detail, "down: silent")
        cleared = episodes.observe("feed", 1200, {})
        self.assertEqual(changes(cleared), [("cleared", "kraken", True)])
        self.assertEqual(cleared[0].alert.cleared_at, 1200)
        self.assertEqual(episodes.active(), [])
        self.assertEqual([a.id for a in episodes.recent()], [alert.id])

    def test_a_break_restarts_the_wait(self):
        episodes = Episodes([DOWN])
        episodes.observe("feed", 0, {"kraken": "down"})
        episodes.observe("feed", 50, {})  # back before 60 s: nothing fired, nothing to clear
        self.assertEqual(episodes.observe("feed", 70, {"kraken": "down"}), [])
        self.assertEqual(episodes.observe("feed", 129, {"kraken": "down"}), [])
        self.assertEqual(changes(episodes.observe("feed", 130, {"kraken": "down"})), [("fired", "kraken", True)])

    def test_subjects_are_apart(self):
        episodes = Episodes([DOWN])
        episodes.observe("feed", 0, {"kraken": "down"})
        episodes.observe("feed", 30, {"kraken": "down", "binance": "down"})
        self.assertEqual(
            changes(episodes.observe("feed", 60, {"kraken": "down", "binance": "down"})), [("fired", "kraken", True)]
        )
        self.assertEqual(
            changes(episodes.observe("feed", 90, {"binance": "down"})),
            [("fired", "binance", True), ("cleared", "kraken", True)],
        )

    def test_rate_limit_shows_a_flapping_condition_without_sending_it(self):
        episodes = Episodes([Policy("feed", "exchange_unhealthy", Kind.STATE, repeat_seconds=600)])
        self.assertEqual(changes(episodes.observe("feed", 0, {"kraken": "down"})), [("fired", "kraken", True)])
        self.assertEqual(changes(episodes.observe("feed", 10, {})), [("cleared", "kraken", True)])
        # flaps within repeat_seconds: episodes shown, not notified (nor their clearing)
        self.assertEqual(changes(episodes.observe("feed", 20, {"kraken": "down"})), [("fired", "kraken", False)])
        self.assertEqual(changes(episodes.observe("feed", 30, {})), [("cleared", "kraken", False)])
        self.assertEqual(changes(episodes.observe("feed", 599, {"kraken": "down"})), [("fired", "kraken", False)])
        self.assertEqual(episodes.suppressed, 2)
        episodes.observe("feed", 605, {})
        self.assertEqual(changes(episodes.observe("feed", 610.5, {"kraken": "down"})), [("fired", "kraken", True)])
        self.assertEqual(len(episodes.recent()), 3)


class EventTest(unittest.TestCase):
    def test_events_join_the_episode_until_quiet_for_clear_seconds(self):
        episodes = Episodes([REJECTED])
        fired = episodes.observe("rejects", 100, {"binance": "1 order rejected"})
        self.assertEqual(changes(fired), [("fired", "binance", True)])
        self.assertEqual(episodes.observe("rejects", 105, {}), [])
        self.assertEqual(episodes.observe("rejects", 300, {"binance": "2 orders rejected"}), [])
        self.assertEqual(episodes.active()[0].events, 2)
        self.assertEqual(episodes.observe("rejects", 599, {}), [])  # 299 s after the last event
        cleared = episodes.observe("rejects", 600, {})
        self.assertEqual(changes(cleared), [("cleared", "binance", True)])
        self.assertEqual((cleared[0].alert.started_at, cleared[0].alert.detail), (100, "2 orders rejected"))

    def test_recent_keeps_the_last_ones(self):
        episodes = Episodes([Policy("rejects", "order_rejected", Kind.EVENT)], keep=2)
        for at in range(5):
            episodes.observe("rejects", at * 2, {"binance": "rejected"})
            episodes.observe("rejects", at * 2 + 1, {})
        self.assertEqual([alert.id for alert in episodes.recent()], [5, 4])


class PolicyTest(unittest.TestCase):
    def test_negative_times_are_refused(self):
        with self.assertRaises(InvalidParameter) as caught:
            Policy("x", "drawdown", Kind.STATE, for_seconds=-1)
        self.assertEqual(caught.exception.field, "for_seconds")


class DrawdownTest(unittest.TestCase):
    def test_the_fall_from_the_highest_value_before_the_last(self):
        series = [Decimal(100), Decimal(120), Decimal(90), Decimal(96)]
        self.assertEqual(drawdown(series), (Decimal(120), Decimal(96), Decimal("0.2")))
        self.assertEqual(drawdown([Decimal(100), Decimal(130)])[2], 0)
        self.assertIsNone(drawdown([]))
        self.assertIsNone(drawdown([Decimal(0)]))
