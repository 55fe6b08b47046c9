"""Sessions of the push doors: admission, connection counting, calls and their safety net, subscriptions."""

import unittest
from collections import Counter
from types import SimpleNamespace

from exchange_wrapper.config import ApiToken, load_settings
from exchange_wrapper.core.errors import InvalidParameter, MethodNotFound, TooManyConnections, Unauthorised, XWrapError
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.service.auth import Authenticator
from exchange_wrapper.service.events import EventBus
from exchange_wrapper.service.metrics import Metrics
from exchange_wrapper.service.sessions import Gate

TOKEN = "a-token-of-twenty-chars"


class BrokenApi:
    """An API with a bug (its dispatch, what every door calls)."""

    async def call(self, name, values):
        raise RuntimeError("a bug, with a detail nobody outside should see")


def gate(bus=None, limit=2):
    settings = load_settings(None, env={}, overrides={"server.max_connections_per_client": limit})
    no_orders = SimpleNamespace(  # what metrics read
        open={}, fill_counts=Counter(), transition_counts=Counter(), rejections=Counter()
    )
    return Gate(
        BrokenApi(),
        auth=Authenticator([ApiToken("bot", TOKEN, "trade")]),
        metrics=Metrics(MarketDataHub(), no_orders),
        bus=bus or EventBus(),
        settings=settings,
    )


def admit(g, address, door="rpc", token=TOKEN):
    """A session for a connection from ``address`` (not a web page's, to the service's own name)."""
    return g.admit(door, address, token, origin=None, host="127.0.0.1:8350")


def requests_counted(g, method, outcome):
    return g.metrics.registry.get_sample_value(
        "xwrap_requests_total", {"door": "rpc", "method": method, "outcome": outcome}
    )


class GateTest(unittest.TestCase):
    def test_connections_are_counted_per_address(self):
        g = gate(limit=2)
        first, second = admit(g, "10.0.0.1"), admit(g, "10.0.0.1", "socketio")
        admit(g, "10.0.0.2")
        with self.assertRaises(TooManyConnections) as caught:
            admit(g, "10.0.0.1")
        self.assertEqual(caught.exception.details(), {"client": "10.0.0.1", "limit": 2})
        first.close()
        first.close()  # closing twice frees one place only
        third = admit(g, "10.0.0.1")
        with self.assertRaises(TooManyConnections):
            admit(g, "10.0.0.1")
        second.close()
        third.close()
        self.assertEqual(dict(g.open), {"10.0.0.2": 1})

    def test_a_wrong_token_takes_no_place(self):
        g = gate(limit=1)
        for token in (None, "x" * 23):
            with self.assertRaises(Unauthorised):
                admit(g, "10.0.0.1", token=token)
        self.assertEqual(admit(g, "10.0.0.1").caller.name, "bot")


class CallTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_bug_is_an_internal_error_that_tells_nothing(self):
        g = gate()
        session = admit(g, "10.0.0.1")
        with self.assertLogs("exchange_wrapper.service.sessions", "ERROR") as logged:
            with self.assertRaises(XWrapError) as caught:
                await session.call("echo", {})
        self.assertEqual((caught.exception.kind, str(caught.exception)), ("internal_error", "internal error"))
        self.assertIn("a bug, with a detail", logged.output[0])
        self.assertEqual(requests_counted(g, "echo", "internal_error"), 1)

    async def test_names_and_parameters(self):
        g = gate()
        session = admit(g, "10.0.0.1")
        with self.assertRaises(MethodNotFound):
            await session.call("__init__", {})
        with self.assertRaises(InvalidParameter) as caught:
            await session.call(["echo"], {})
        self.assertEqual(caught.exception.field, "method")
        with self.assertRaises(InvalidParameter) as caught:
            await session.call("subscribe", {"topics": ["fills"], "also": 1})
        self.assertEqual(caught.exception.field, "also")
        self.assertEqual(requests_counted(g, "unknown", "method_not_found"), 1)
        self.assertEqual(requests_counted(g, "unknown", "invalid_parameter"), 1)
        self.assertEqual(requests_counted(g, "subscribe", "invalid_parameter"), 1)


class NotificationsTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_client_that_falls_behind_is_told_what_it_lost(self):
        bus = EventBus(queue_limit=3)
        session = admit(gate(bus), "10.0.0.1")
        await session.call("subscribe", {"topics": ["fills", "orders"]})
        for n in range(5):
            bus.publish("fills", {"n": n})
        bus.publish("wallets", {"n": "not subscribed"})
        received = session.notifications()
        self.assertEqual(
            [await anext(received) for _ in range(4)],
            [("dropped", {"count": 2}), ("fills", {"n": 2}), ("fills", {"n": 3}), ("fills", {"n": 4})],
        )
        bus.publish("orders", {"n": 5})
        bus.publish("fills", {"n": 6})
        await session.call("unsubscribe", {"topics": ["orders"]})  # what was queued for it goes too
        self.assertEqual(await anext(received), ("fills", {"n": 6}))
        session.close()
        bus.publish("fills", {"n": 7})
        self.assertEqual(bus.subscriptions, set())
