import asyncio
import unittest

from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable
from exchange_wrapper.core.pacing import RateLimit
from exchange_wrapper.exchanges.rest import DEFAULT_RETRY_AFTER, Request, RestClient, retry_after
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.server import ExchangeSimulator


class RetryAfterTest(unittest.TestCase):
    def test_seconds_or_an_http_date(self):
        self.assertEqual(retry_after("120", 0.0), 120.0)
        self.assertEqual(retry_after("0.5", 0.0), 0.5)
        # RFC 9110's example date, 30 s before it
        self.assertEqual(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111747.0), 30.0)
        for unreadable in (None, "soon", ""):
            self.assertEqual(retry_after(unreadable, 0.0), DEFAULT_RETRY_AFTER)


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


if __name__ == "__main__":
    unittest.main()
