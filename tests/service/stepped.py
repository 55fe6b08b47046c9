"""A service on the real Coinbase recording that the test plays itself, record by record: books and
trades arrive exactly when the test says, with nothing else moving them."""

import time
from pathlib import Path

from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.service.server import Server

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
REPLAY = [str(CAPTURES / "COINBASE.0"), str(CAPTURES / "COINBASE.ws.28.0")]
SKL = Pair("SKL", "USD")


class SteppedReplay:
    """Mixin for an IsolatedAsyncioTestCase whose ``asyncSetUp`` sets ``self.settings`` and then
    ``self.server = await self.start_server()``."""

    async def asyncTearDown(self):
        await self.server.stop()

    async def start_server(self):
        """A service on the recording, stepped by the test until the SKL-USD book is live."""
        server = Server(self.settings, replay=REPLAY, speed=None)
        await server.start()
        self.replay = server.replays[0]
        self.records = self.replay.records()
        self.step_until(lambda: server.hub.book("coinbase", SKL).live)
        return server

    def step_until(self, done):
        """Play the recording until ``done()``."""
        for record in self.records:
            self.replay.step(record, time.time())
            if done():
                return
        self.fail("the recording ended first")

    @property
    def api(self):
        return self.server.api
