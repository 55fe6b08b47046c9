"""A real service on a loopback port with the recorded Coinbase traffic as its market data: the base
of the tests that talk to the service over the network (REST, the OpenAPI fuzz, the dashboard)."""

import asyncio
import json
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from exchange_wrapper.config import load_settings
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.service.server import Server

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
REPLAY = [str(CAPTURES / "COINBASE.0"), str(CAPTURES / "COINBASE.ws.28.0")]
SKL = Pair("SKL", "USD")
READ_TOKEN, TRADE_TOKEN = "reader-token-0123456789", "trader-token-0123456789"
TOKENS = [
    {"name": "reader", "token": READ_TOKEN, "scope": "read"},
    {"name": "trader", "token": TRADE_TOKEN, "scope": "trade"},
]


def fresh_settings(test: unittest.TestCase, **overrides):
    """Settings for a service of ``test``'s own: a new SQLite file (removed after the test), any free
    port, and ``overrides`` (dotted keys, as ``--set`` on the command line would give them)."""
    directory = tempfile.TemporaryDirectory()
    test.addCleanup(directory.cleanup)
    return load_settings(
        None,
        env={},
        overrides={"database_url": f"sqlite:///{directory.name}/xwrap.sqlite", "server.port": 0, **overrides},
    )


def http(url, method="GET", body=None, headers=None):
    """(status, headers, parsed JSON or text) of one request; ``body`` a JSON-ready value or raw bytes."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in request.headers:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, error.headers, error.read()
    is_json = (head.get("content-type") or "").startswith("application/json")
    return status, head, json.loads(raw) if is_json else raw.decode()


class RecordedServiceTest(unittest.IsolatedAsyncioTestCase):
    """Starts a :class:`Server` on the recording (stepped by the test, not played) with the
    SKL-USD book live; ``settings_overrides`` adds settings (tokens, CORS...)."""

    settings_overrides: dict = {}

    async def asyncSetUp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.settings = load_settings(
            None,
            env={},
            overrides={
                "database_url": f"sqlite:///{directory.name}/xwrap.sqlite",
                "server.port": 0,
                **self.settings_overrides,
            },
        )
        asyncio.get_running_loop().slow_callback_duration = 1.0  # the test steps the replay in the loop
        self.server = Server(self.settings, replay=REPLAY, speed=None)
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)
        self.replay = self.server.replays[0]
        self.records = self.replay.records()
        self.step_until(lambda: self.server.hub.book("coinbase", SKL).live)
        self.base = f"http://127.0.0.1:{self.server.port}"

    def step_until(self, done):
        """Feed recorded messages until ``done()``."""
        for record in self.records:
            self.replay.step(record, time.time())
            if done():
                return
        self.fail("the recording ended first")

    async def call(self, method, path, body=None, *, token=None, headers=None):
        """(status, headers, body) of a request to the service (``token`` as Bearer)."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await asyncio.to_thread(http, self.base + path, method, body, headers)

    async def ok(self, method, path, body=None, **options):
        """The JSON answer of a request that must succeed."""
        status, _, answer = await self.call(method, path, body, **options)
        self.assertEqual(status, 200, answer)
        return answer

    async def funded_wallet_set(self, name="paper", **options):
        """A paper wallet set with 1000 USD and 2000 SKL on coinbase; its id."""
        wallet_set = await self.ok("POST", "/xwrap/v1/wallet_sets", {"name": name, "mode": "paper"}, **options)
        for currency, amount in (("USD", "1000"), ("SKL", "2000")):
            await self.ok(
                "POST",
                f"/xwrap/v1/wallet_sets/{wallet_set['id']}/fund",
                {"exchange": "coinbase", "currency": currency, "amount": amount},
                **options,
            )
        return wallet_set["id"]
