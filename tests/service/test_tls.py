"""The service over TLS with a certificate the test makes (a CA of its own signing a certificate for
127.0.0.1, with the openssl command): HTTPS, JSON-RPC over wss through the client with the CA file,
Socket.IO over wss; plain HTTP and clients that do not trust the CA get nothing."""

import asyncio
import contextlib
import http.client
import io
import json
import ssl
import tempfile
import unittest
from pathlib import Path

import aiohttp
import socketio

from exchange_wrapper.cli import main
from exchange_wrapper.client import AsyncClient
from exchange_wrapper.service.openapi import LIVE_PATH
from exchange_wrapper.service.server import Server

from ..certificates import make_certificates
from .recorded import READ_TOKEN, REPLAY, TOKENS, fresh_settings


class TlsTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.files = make_certificates(Path(folder.name))
        settings = fresh_settings(
            self,
            tokens=TOKENS,
            **{"server.tls_certificate": self.files["server_pem"], "server.tls_key": self.files["server_key"]},
        )
        self.server = Server(settings, replay=REPLAY, speed=None)
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)
        self.trusting = ssl.create_default_context(cafile=self.files["ca_pem"])

    def get(self, path, context, headers=None):
        connection = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=context, timeout=10)
        try:
            connection.request("GET", path, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read())
        finally:
            connection.close()

    async def test_https_answers_with_the_certificate_and_plain_http_gets_nothing(self):
        self.assertEqual(await asyncio.to_thread(self.get, LIVE_PATH, self.trusting), (200, {"live": True}))
        status, body = await asyncio.to_thread(
            self.get, "/xwrap/v1/status", self.trusting, {"Authorization": f"Bearer {READ_TOKEN}"}
        )
        self.assertEqual((status, list(body["exchanges"])[0]), (200, "coinbase"))
        with self.assertRaises(ssl.SSLCertVerificationError):  # the system's authorities do not know the test CA
            await asyncio.to_thread(self.get, LIVE_PATH, ssl.create_default_context())
        plain = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        self.addCleanup(plain.close)
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            await asyncio.to_thread(lambda: (plain.request("GET", LIVE_PATH), plain.getresponse().read()))

    async def test_the_client_calls_over_wss_with_the_ca_file(self):
        url = f"wss://127.0.0.1:{self.server.port}"
        async with AsyncClient(url, READ_TOKEN, ca_file=self.files["ca_pem"], reconnect=False) as client:
            status = await client.get_status()
        self.assertEqual(status["database"]["kind"], "sqlite")
        async with AsyncClient(f"https://localhost:{self.server.port}", READ_TOKEN, ca_file=self.files["ca_pem"]) as c:
            self.assertEqual(await c.echo(x="1"), {"x": "1"})
        with self.assertRaises(ssl.SSLCertVerificationError):  # without the CA file: the system's authorities
            await AsyncClient(url, READ_TOKEN, reconnect=False).connect()

    async def test_socketio_over_wss(self):
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.trusting))
        self.addAsyncCleanup(session.close)
        client = socketio.AsyncClient(reconnection=False, http_session=session)
        await client.connect(
            f"https://127.0.0.1:{self.server.port}", auth={"token": READ_TOKEN}, transports=["websocket"]
        )
        self.addAsyncCleanup(client.disconnect)
        answer = await client.call("call", {"method": "echo", "params": {"over": "wss"}}, timeout=5)
        self.assertEqual(answer, {"result": {"over": "wss"}})

    async def test_xwrap_health_asks_the_probes_over_tls(self):
        """The image's HEALTHCHECK: `xwrap health live` with the settings the service runs on."""
        config = Path(self.files["ca_pem"]).with_name("settings.json")
        server = {"port": self.server.port, "tls_certificate": self.files["server_pem"]}
        config.write_text(json.dumps({"server": {**server, "tls_key": self.files["server_key"]}}))
        status, printed = await asyncio.to_thread(run_cli, ["health", "live", "--config", str(config)])
        self.assertEqual((status, json.loads(printed)), (0, {"live": True}))
        await self.server.stop()
        status, printed = await asyncio.to_thread(run_cli, ["health", "live", "--config", str(config)])
        self.assertEqual(status, 1)
        self.assertTrue(printed.startswith(f"no answer from 127.0.0.1:{self.server.port}: "), printed)


def run_cli(argv):
    """(exit status, what it printed) of `xwrap ARGV`."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    return status, out.getvalue()
