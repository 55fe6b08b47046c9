"""The liveness and readiness probes on a real service: open without a token, ready only while the
database answers and the node's exchanges are ready, 503 with the reasons otherwise."""

import asyncio
import json
import math
import tempfile
import unittest
from pathlib import Path
from urllib.parse import urlsplit

from exchange_wrapper.config import load_settings
from exchange_wrapper.replay.playback import PlaybackOptions
from exchange_wrapper.service.openapi import LIVE_PATH, READY_PATH
from exchange_wrapper.service.server import Server

from ..storage.dbs import ADMIN_URL, admin, empty_postgres_url
from .recorded import REPLAY, TOKENS, fresh_settings, http
from .test_tls import run_cli


class HealthTest(unittest.IsolatedAsyncioTestCase):
    async def serve(self, settings, **options):
        server = Server(settings, replay=REPLAY, **options)
        await server.start()
        self.addAsyncCleanup(server.stop)
        return server

    async def probe(self, server, path):
        base = f"http://127.0.0.1:{server.port}"
        status, _, body = await asyncio.to_thread(http, base + path)
        return status, body

    async def test_ready_while_the_database_answers_and_live_throughout(self):
        """On PostgreSQL: ready; its connections cut (as a database restart does), 503 naming the
        database while the exchange stays ready; the next probe finds it reachable again."""
        url = empty_postgres_url(self)
        settings = load_settings(None, env={}, overrides={"database_url": url, "server.port": 0, "tokens": TOKENS})
        server = await self.serve(settings, speed=1.0, playback=PlaybackOptions(loop=True))
        ready = {"ready": True, "database": "reachable", "exchanges": {"coinbase": "ready"}, "reasons": []}
        self.assertEqual(await self.probe(server, READY_PATH), (200, ready))  # no token needed
        self.assertEqual(await self.probe(server, LIVE_PATH), (200, {"live": True}))

        name = urlsplit(url).path.lstrip("/")
        admin(ADMIN_URL, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        status, body = await self.probe(server, READY_PATH)
        self.assertEqual(
            (status, body),
            (
                503,
                {
                    "ready": False,
                    "database": "unreachable",
                    "exchanges": {"coinbase": "ready"},
                    "reasons": ["database unreachable"],
                },
            ),
        )
        self.assertEqual(await self.probe(server, LIVE_PATH), (200, {"live": True}))
        self.assertEqual(await self.probe(server, READY_PATH), (200, ready))  # the lost connection reopened

    async def test_not_ready_once_the_exchange_is_finished(self):
        """A replay played to its end marks its exchange finished: the node is no longer ready and
        says why, the database being fine."""
        server = await self.serve(fresh_settings(self), speed=math.inf)
        async with asyncio.timeout(30):
            while server.hub.connection("coinbase").value != "finished":
                await asyncio.sleep(0.05)
        status, body = await self.probe(server, READY_PATH)
        self.assertEqual((status, body["ready"], body["database"]), (503, False, "reachable"))
        self.assertEqual(body["exchanges"], {"coinbase": "finished"})
        (reason,) = body["reasons"]
        self.assertTrue(reason.startswith("exchange coinbase finished: "), reason)
        status, printed = await asyncio.to_thread(run_cli, ["health", "ready", "--config", settings_file(self, server)])
        self.assertEqual((status, json.loads(printed)), (1, body))  # `xwrap health ready`: the same answer


def settings_file(test, server):
    """A settings file naming ``server``'s port, for `xwrap health`."""
    folder = tempfile.TemporaryDirectory()
    test.addCleanup(folder.cleanup)
    path = Path(folder.name) / "settings.json"
    path.write_text(json.dumps({"server": {"port": server.port}}))
    return str(path)
