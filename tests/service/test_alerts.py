"""Alerts end to end, through a running service: a condition arises, the alert arrives at a real webhook
receiver on loopback, in get_alerts and on the ``alerts`` topic (REST, JSON-RPC, Socket.IO, the client), then
clears.

- The recorded Coinbase service: a post-only order that would take is rejected by the virtual exchange.
- The Coinbase simulator: the exchange drops the connection; the feed is down and its book stale until
  it reconnects.
"""

import asyncio
import tempfile
import unittest

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.config import load_settings
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.service.server import Server
from tests.alerts.receivers import LogLines, WebhookReceiver
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.server import ExchangeSimulator

from .recorded import http
from .running import READ_TOKEN, TRADE_TOKEN, WITH_TOKENS
from .test_socketio import SocketIOCase

HOOK_TOKEN = "hook-token-77c1e0a4b2"


class RejectedOrderAlertTest(SocketIOCase):
    async def asyncSetUp(self):
        self.hook = await WebhookReceiver().__aenter__()
        self.addAsyncCleanup(self.hook.__aexit__, None, None, None)
        self.settings_overrides = {
            **WITH_TOKENS,
            "alerts": {
                "interval_seconds": "0.05",
                "rules": [
                    {
                        "name": "rejections",
                        "condition": "order_rejected",
                        "clear_seconds": "0.5",
                        "actions": [
                            {"type": "webhook", "url": self.hook.url(f"/hooks?token={HOOK_TOKEN}")},
                            {"type": "log"},
                        ],
                    },
                    {"name": "live rejections", "condition": "order_rejected", "mode": "live"},
                ],
            },
        }
        self.logs = LogLines().watch(self)
        await super().asyncSetUp()

    async def test_a_rejected_order_fires_an_alert_everywhere_and_it_clears(self):
        rpc = await self.raw_rpc(READ_TOKEN)
        await rpc.ask({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"topics": ["alerts"]}})
        browser = await self.browser(READ_TOKEN)  # Socket.IO
        self.assertEqual(
            await browser.client.call("subscribe", {"topics": ["alerts"]}, timeout=5),
            {"result": {"topics": ["alerts"]}},
        )
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        book = await self.ok("GET", "/xwrap/v1/book?exchange=coinbase&pair=SKL_USD&depth=1", token=READ_TOKEN)
        best_ask = book["asks"][0][0]
        order = await self.ok(
            "POST",
            "/xwrap/v1/orders",
            {
                "wallet_set_id": wallet_set_id,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "price": best_ask,
                "size": "10",
                "post_only": True,
            },
            token=TRADE_TOKEN,
        )
        self.assertEqual(order["status"], "rejected")
        await self.hook.wait(1)
        path, fired = self.hook.received[0]
        self.assertEqual(path, f"/hooks?token={HOOK_TOKEN}")
        self.assertEqual(
            {key: fired[key] for key in ("rule", "condition", "subject", "state", "notified", "service")},
            {
                "rule": "rejections",
                "condition": "order_rejected",
                "subject": "coinbase",
                "state": "firing",
                "notified": True,
                "service": "xwrap",
            },
        )
        self.assertEqual(
            fired["detail"],
            f"1 order(s) rejected; the last: {order['id']} (SKL_USD): post-only order would take liquidity",
        )
        # get_alerts on REST (it may have cleared already on a slow machine: then it is in recent)
        alerts = await self.ok("GET", "/xwrap/v1/alerts", token=READ_TOKEN)
        seen = alerts["active"] + alerts["recent"]
        self.assertEqual([alert["id"] for alert in seen], [fired["id"]])  # the live-only rule saw nothing
        # then it clears, 0.5 s after the rejection
        await self.hook.wait(2)
        cleared = self.hook.received[1][1]
        self.assertEqual((cleared["id"], cleared["state"]), (fired["id"], "cleared"))
        self.assertGreaterEqual(cleared["cleared_at"] - fired["fired_at"], 0.5)
        notes = await rpc.notifications(lambda seen: len(seen) >= 2)
        self.assertEqual(
            [(note["method"], note["params"]["state"], note["params"]["id"]) for note in notes],
            [("alerts", "firing", fired["id"]), ("alerts", "cleared", fired["id"])],
        )
        as_shown = {"active": [], "recent": [{k: v for k, v in cleared.items() if k != "service"}]}
        answer = await rpc.ask({"jsonrpc": "2.0", "id": 2, "method": "get_alerts"})
        self.assertEqual(answer["result"], as_shown)
        fired_alert = {k: v for k, v in fired.items() if k != "service"}
        self.assertEqual(
            [await browser.next("alerts"), await browser.next("alerts")], [fired_alert, as_shown["recent"][0]]
        )
        self.assertEqual(await browser.call("get_alerts"), {"result": as_shown})
        async with AsyncClient(self.rpc_url, READ_TOKEN) as client:  # the strategies' client
            self.assertEqual(await client.get_alerts(), as_shown)
        metrics = self.server.metrics.registry
        self.assertEqual(
            metrics.get_sample_value(
                "xwrap_alert_deliveries_total", {"rule": "rejections", "action": "webhook", "outcome": "delivered"}
            ),
            2,
        )
        self.assertEqual(
            metrics.get_sample_value("xwrap_orders_rejected_total", {"exchange": "coinbase", "mode": "paper"}), 1
        )
        self.assertEqual(metrics.get_sample_value("xwrap_alerts_active", {"rule": "rejections"}), 0)

    def tearDown(self):
        self.assertIn("[xWrap] FIRING rejections: coinbase: 1 order(s) rejected", self.logs.text)  # the log action
        self.assertNotIn(HOOK_TOKEN, self.logs.text)


class ExchangeDownAlertTest(unittest.IsolatedAsyncioTestCase):
    """A live feed from the Coinbase simulator; the connection drops once the book is live."""

    async def asyncSetUp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.sim = await ExchangeSimulator(coinbase_protocol(), pace=0.002).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        self.hook = await WebhookReceiver().__aenter__()
        self.addAsyncCleanup(self.hook.__aexit__, None, None, None)
        hook = [{"type": "webhook", "url": self.hook.url(f"/hooks?token={HOOK_TOKEN}")}]
        settings = load_settings(
            None,
            env={},
            overrides={
                "database_url": f"sqlite:///{directory.name}/xwrap.sqlite",
                "server.port": 0,
                "exchanges.coinbase.rest_url": self.sim.http_url,
                "exchanges.coinbase.ws_url": self.sim.ws_url,
                "exchanges.coinbase.pairs": ["SKL_USD"],
                **{f"exchanges.{name}.enabled": False for name in EXCHANGE_NAMES if name != "coinbase"},
                "alerts": {
                    "interval_seconds": "0.05",
                    "rules": [
                        {"name": "feed", "condition": "exchange_unhealthy", "for_seconds": "0.2", "actions": hook},
                        {"name": "books", "condition": "book_not_live", "for_seconds": "0.2", "actions": hook},
                    ],
                },
            },
        )
        # away about a second after the drop: longer than for_seconds, however the backoff draws
        self.server = Server(settings, feed_options={"backoff": Backoff(1.5, 1.5)})
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)
        self.base = f"http://127.0.0.1:{self.server.port}"

    async def get_alerts(self):
        status, _, answer = await asyncio.to_thread(http, self.base + "/xwrap/v1/alerts")
        self.assertEqual(status, 200, answer)
        return answer

    async def test_the_exchange_down_and_its_book_stale_fire_and_clear(self):
        hub = self.server.hub
        async with asyncio.timeout(10):
            while not (hub.started("coinbase") and hub.status("coinbase", 0)[0].value == "ready"):
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        self.assertEqual(await self.get_alerts(), {"active": [], "recent": []})  # nothing while it was starting
        self.sim.drop_after(self.sim.sent + 5)
        await self.hook.wait(2)
        fired = {alert["rule"]: alert for _, alert in self.hook.received}
        self.assertEqual(set(fired), {"feed", "books"})
        self.assertEqual(fired["feed"]["subject"], "coinbase")
        self.assertTrue(fired["feed"]["detail"].startswith("down: "), fired["feed"])
        self.assertEqual(fired["books"]["subject"], "coinbase SKL_USD")
        self.assertEqual(fired["books"]["detail"].split(" ")[0], "stale")
        active = await self.get_alerts()
        self.assertEqual({alert["rule"] for alert in active["active"]}, {"feed", "books"})
        await self.hook.wait(4)  # back: the feed reconnected, the book has its snapshot
        cleared = {alert["rule"]: alert for _, alert in self.hook.received[2:]}
        self.assertEqual(
            {rule: alert["state"] for rule, alert in cleared.items()}, {"feed": "cleared", "books": "cleared"}
        )
        after = await self.get_alerts()
        self.assertEqual(after["active"], [])
        self.assertEqual(sorted(alert["id"] for alert in after["recent"]), sorted(a["id"] for a in fired.values()))
        self.assertTrue(hub.book("coinbase", next(iter(hub.followed("coinbase")))).live)
