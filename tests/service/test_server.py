"""The service started for real on a loopback port: the REST door answers."""

import asyncio
import json
import logging
import tempfile
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from exchange_wrapper import __version__
from exchange_wrapper.config import load_settings
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.service.server import WIRE_LOGGERS, Server, quiet_wire_loggers
from exchange_wrapper.storage.database import SCHEMA_VERSION


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


#: Every exchange's endpoints on a closed loopback port: the service starts as on its defaults, and
#: nothing leaves the machine (a test never reaches a real exchange).
NOWHERE = {
    f"exchanges.{name}.{key}": f"{scheme}://127.0.0.1:9"
    for name in EXCHANGE_NAMES
    for key, scheme in (("rest_url", "http"), ("ws_url", "ws"))
}


class ServerTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.directory = tempfile.TemporaryDirectory()
        database = Path(self.directory.name) / "xwrap.sqlite"
        self.settings = load_settings(
            None, env={}, overrides={"database_url": f"sqlite:///{database}", "server.port": 0, **NOWHERE}
        )
        self.server = Server(self.settings)
        await self.server.start()
        self.base = f"http://127.0.0.1:{self.server.port}"

    async def asyncTearDown(self):
        await self.server.stop()
        self.directory.cleanup()

    async def get(self, path):
        return await asyncio.to_thread(fetch, self.base + path)

    async def test_status(self):
        status, body = await self.get("/xwrap/v1/status")
        self.assertEqual(status, 200)
        self.assertEqual(body["version"], __version__)
        self.assertEqual(body["database"]["kind"], "sqlite")
        self.assertEqual(body["database"]["schema_version"], SCHEMA_VERSION)  # every migration applied
        self.assertGreaterEqual(body["uptime"], 0)
        self.assertEqual(
            sorted(body["exchanges"]),
            ["binance", "bitfinex", "bybit", "coinbase", "kraken", "luno", "okx", "poloniex", "valr"],
        )

    async def test_dashboard_is_served(self):
        def page():
            with urllib.request.urlopen(self.base + "/", timeout=5) as response:
                return response.url, response.headers["content-type"], response.read().decode()

        url, kind, text = await asyncio.to_thread(page)
        self.assertTrue(url.endswith("/dashboard/"))
        self.assertTrue(kind.startswith("text/html"))
        self.assertIn('<script src="js/main.js"></script>', text)  # the page's scripts, under /dashboard/js/

    async def test_metrics(self):
        def scrape():
            with urllib.request.urlopen(self.base + "/metrics", timeout=5) as response:
                return response.read().decode()

        text = await asyncio.to_thread(scrape)
        self.assertIn('xwrap_open_orders{state="open"} 0.0', text)
        self.assertIn("# TYPE xwrap_market_messages_total counter", text)
        self.assertIn('xwrap_market_messages_total{exchange="coinbase"}', text)

    async def test_unknown_route_is_a_json_error(self):
        status, body = await self.get("/xwrap/v1/nothing-here")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["kind"], "not_found")


class WireLoggersTest(unittest.TestCase):
    def test_the_wire_libraries_log_from_info_up_and_no_lower_than_they_did(self):
        loggers = [logging.getLogger(name) for name in WIRE_LOGGERS]
        for logger in loggers:
            self.addCleanup(logger.setLevel, logger.level)
        levels = {"websockets.client": logging.DEBUG, "sanic.websockets": logging.WARNING, "urllib3": logging.NOTSET}
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        quiet_wire_loggers()
        self.assertEqual(
            {name: logging.getLogger(name).level for name in levels},
            {"websockets.client": logging.INFO, "sanic.websockets": logging.WARNING, "urllib3": logging.INFO},
        )
