import asyncio
import socket
import tempfile
import unittest
from dataclasses import replace
from pathlib import Path

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable
from exchange_wrapper.core.pacing import RateLimit
from exchange_wrapper.exchanges.http import Request
from exchange_wrapper.history.recording import Recording
from exchange_wrapper.replay.capture import RestResponse, read_capture
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.private import HttpServer
from tests.simulator.server import ExchangeSimulator


class RestClientTest(unittest.IsolatedAsyncioTestCase):
    async def test_statuses_become_xwrap_errors_and_calls_are_paced(self):
        asyncio.get_running_loop().set_debug(False)
        async with ExchangeSimulator(coinbase_protocol()) as sim:
            now, slept = [0.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("coinbase", sim.http_url, RateLimit(10, 2), clock=lambda: now[0], sleep=sleep)
            self.addCleanup(client.close)
            sim.fail_rest(503)
            with self.assertRaises(ExchangeUnavailable) as unavailable:
                await client.call(Request("/products"))
            self.assertEqual(unavailable.exception.reason, "HTTP 503 from /products")
            with self.assertRaises(ExchangeRejected) as rejected:
                await client.call(Request("/products/NOPE-USD/candles", {"granularity": 60}))
            self.assertEqual((rejected.exception.status, rejected.exception.message), (404, '{"message":"NotFound"}'))
            await client.call(Request("/products"))  # the third call within the burst of 2 waits 0.1 s
            self.assertEqual(slept, [0.1])
            self.assertEqual(sim.rest_calls, ["/products", "/products/NOPE-USD/candles?granularity=60", "/products"])

    async def test_no_answer_is_told_without_the_signed_query_or_headers(self):
        """requests' own texts hold the URL: a signature in the query would reach the order's reason,
        the logs and the database."""
        asyncio.get_running_loop().set_debug(False)

        def sign(request):
            return replace(
                request,
                path=request.path + "?symbol=LRCBTC&signature=5f3a9c0e7b1d2468ace0",
                headers={"X-MBX-APIKEY": "vmPUZE6mv9SD5VNHk4Hl"},
            )

        async def hang_up(request):
            return None  # executed, never answered

        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            refused = f"http://127.0.0.1:{sock.getsockname()[1]}"
        async with HttpServer(hang_up) as lost:
            for url, cause in ((lost.url, "RemoteDisconnected"), (refused, "Connection refused")):
                client = RestClient("binance", url, RateLimit(10, 2))
                self.addCleanup(client.close)
                with self.subTest(cause=cause), self.assertRaises(ExchangeUnavailable) as raised:
                    await client.send(Request("/api/v3/order", method="POST"), sign)
                self.assertEqual(raised.exception.reason, f"no answer from /api/v3/order: ConnectionError ({cause})")

    async def test_a_recorded_client_records_the_answers_call_returns_and_nothing_else(self):
        """The feed's client records its public answers; errors are not answers a replay could use,
        and send() (the private calls' way, signed) is never recorded."""
        asyncio.get_running_loop().set_debug(False)
        with tempfile.TemporaryDirectory() as folder:
            recording = Recording(folder, compress=False)
            async with ExchangeSimulator(coinbase_protocol()) as sim:
                client = RestClient(
                    "coinbase", sim.http_url, RateLimit(100, 100), traffic=recording.exchange("coinbase")
                )
                self.addCleanup(client.close)
                products = await client.call(Request("/products"))
                sim.fail_rest(503)
                with self.assertRaises(ExchangeUnavailable):
                    await client.call(Request("/products"))
                with self.assertRaises(ExchangeRejected):
                    await client.call(Request("/products/NOPE-USD/candles", {"granularity": 60, "start": "a b"}))
                await client.send(Request("/products", {"signature": "5f3a9c0e"}))
                self.assertEqual(len(sim.rest_calls), 4)
                base = sim.http_url
            recording.close()
            records = list(read_capture(Path(folder, "COINBASE.0")))
        self.assertEqual(records, [RestResponse(f"{base}/products", records[0].ts, products)])

    async def test_the_recorded_url_carries_the_query_as_sent(self):
        asyncio.get_running_loop().set_debug(False)
        with tempfile.TemporaryDirectory() as folder:
            recording = Recording(folder, compress=False)
            async with ExchangeSimulator(coinbase_protocol()) as sim:
                client = RestClient(
                    "coinbase", sim.http_url, RateLimit(100, 100), traffic=recording.exchange("coinbase")
                )
                self.addCleanup(client.close)
                await client.call(Request("/products", {"type": "a b", "limit": 5}))
                [asked] = sim.rest_calls
                base = sim.http_url
            recording.close()
            [record] = read_capture(Path(folder, "COINBASE.0"))
        self.assertEqual(record.url, base + asked)
        self.assertEqual(asked, "/products?type=a+b&limit=5")


if __name__ == "__main__":
    unittest.main()
