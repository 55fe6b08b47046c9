"""The examples' time: on a stepped replay (``xwrap serve --replay --clock recorded --speed step``) the
recorded time, moved on by the strategy itself with ``advance_replay``, so that a backtest runs as fast
as the machine goes and the same way every run; anywhere else the wall's, waited for."""

from __future__ import annotations

import asyncio
import time

from exchange_wrapper.client import AsyncClient


class Clock:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.stepped = False
        self.now = time.time()

    async def start(self) -> None:
        """On a stepped replay, play it to its window's start first: until then it is still building
        the books, at a moment that depends on when the strategy asked, and a backtest is to start at
        the same moment every run."""
        replay = (await self.client.get_status()).get("replay")
        if replay is not None and replay["speed"] == "step" and replay["start"] is not None:
            self.stepped, self.now = True, replay["start"]
            await self.client.advance_replay(until=self.now)

    async def wait(self, seconds: float) -> bool:
        """Let ``seconds`` pass; False once a replay has nothing more to play."""
        self.now += seconds
        if not self.stepped:
            await asyncio.sleep(seconds)
            return True
        return (await self.client.advance_replay(until=self.now))["state"] != "finished"
