"""The service on a played replay (``xwrap serve --replay``), over its REST door on loopback: the first
requests find the books live, and once the recording has ended orders are refused."""

import asyncio
import tempfile
import time
import unittest

from exchange_wrapper.config import load_settings
from exchange_wrapper.service.server import Server

from ..service.recorded import REPLAY, http

ORDER = {"exchange": "coinbase", "pair": "SKL_USD", "side": "buy", "type": "market", "size": "100"}


class PlayedReplayTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.settings = load_settings(
            None, env={}, overrides={"database_url": f"sqlite:///{directory.name}/xwrap.sqlite", "server.port": 0}
        )

    def serve(self, speed):
        server = Server(self.settings, replay=REPLAY, speed=speed)
        self.addAsyncCleanup(server.stop)
        return server

    def tour(self, port):
        """A paper wallet set, funded, buys 100 SKL at market: the answers, as a script would get them."""
        base = f"http://127.0.0.1:{port}/xwrap/v1"
        status, _, wallet_set = http(f"{base}/wallet_sets", "POST", {"name": "demo", "mode": "paper"})
        http(
            f"{base}/wallet_sets/{wallet_set['id']}/fund",
            "POST",
            {"exchange": "coinbase", "currency": "USD", "amount": "1000"},
        )
        return http(f"{base}/orders", "POST", {"wallet_set_id": wallet_set["id"], **ORDER})

    async def test_requests_sent_as_it_starts_wait_for_the_books_to_go_live(self):
        server = self.serve(speed=0.5)  # the first snapshots come about half a second in
        starting = asyncio.create_task(server.start())
        while server.port is None:
            await asyncio.sleep(0.005)
        tour = asyncio.create_task(asyncio.to_thread(self.tour, server.port))  # the port is bound, not answering
        await starting
        status, _, order = await tour
        self.assertEqual((status, order.get("status"), order.get("filled_size")), (200, "filled", "100"), order)

    async def test_when_the_recording_ends_the_status_says_finished_and_orders_are_refused(self):
        server = self.serve(speed=500)  # 31 recorded seconds
        await server.start()
        base = f"http://127.0.0.1:{server.port}/xwrap/v1"
        deadline = time.monotonic() + 10
        while server.hub.status("coinbase", time.time())[0] != "finished" and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        _, _, exchanges = await asyncio.to_thread(http, f"{base}/exchanges")
        self.assertEqual(
            (exchanges["coinbase"]["status"], exchanges["coinbase"]["reason"]),
            (
                "finished",
                "the replay of COINBASE.0, COINBASE.ws.28.0 has ended: its books are frozen, orders are refused",
            ),
        )
        status, _, answer = await asyncio.to_thread(self.tour, server.port)
        self.assertEqual(
            (status, answer["error"]["kind"], answer["error"]["message"]),
            (
                503,
                "exchange_unavailable",
                "coinbase unavailable: book SKL_USD is stale (the replay of "
                "COINBASE.0, COINBASE.ws.28.0 has ended: its books are frozen, orders are refused)",
            ),
        )


if __name__ == "__main__":
    unittest.main()
