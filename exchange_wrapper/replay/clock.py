"""Time in a backtest: the recorded time of a replay, and holding a replay at a recorded moment.

A :class:`RecordedClock` is called like ``time.time`` and injected wherever the service reads the
time (the trading service and its paper venue: order and fill times, latency, GTD expiry; the API:
book ages and status; the market-history collector): with it the recording, not the wall, says
what time it is, so that a replay can run faster than real time and give the same answers on
every run. A :class:`Steps` lets a client move a replay on one recorded moment at a time: the
replay holds at a moment until told to go on to a later one, so that orders are sent at the same
recorded moments run after run.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable


class RecordedClock:
    """Unix seconds as the replay has reached them: the time of the last record fed (or of the
    moment a held replay holds at). It never goes back."""

    def __init__(self, start: float = 0.0):
        self._now = start
        self._watchers: list[Callable[[float], None]] = []

    def __call__(self) -> float:
        return self._now

    def watch(self, callback: Callable[[float], None]) -> None:
        """Call ``callback(now)`` whenever the time moves on: what would run on a wall-clock timer
        (sampling book tops, closing quiet minutes) runs at recorded moments instead, however fast
        the replay plays."""
        self._watchers.append(callback)

    def advance(self, to: float) -> None:
        """The replay has reached ``to`` (an earlier time changes nothing)."""
        if to > self._now:
            self._now = to
            for callback in self._watchers:
                callback(to)


class Steps:
    """Where a stepped replay may go: every record up to :attr:`until` (recorded seconds), then it
    holds. :meth:`advance` moves the limit and waits until the replay has got there."""

    def __init__(self, until: float = -math.inf):
        self.until = until
        self.reached = -math.inf
        """The moment the replay holds at (or has passed, once ended)."""
        self._moved = asyncio.Event()
        self._arrived = asyncio.Event()

    async def advance(self, until: float) -> float:
        """Let the replay feed every record up to ``until`` and hold there; returns once it holds
        there (or the recording ended), with the moment it holds at. An earlier ``until`` than the
        current limit changes nothing."""
        if until > self.until:
            self.until = until
            self._arrived.clear()
            self._moved.set()
        if self.reached < self.until:
            await self._arrived.wait()
        return self.reached

    async def held(self) -> None:
        """Called by the replay when its next record is beyond :attr:`until`: it holds there
        until the limit moves."""
        self.arrive(self.until)
        self._moved.clear()
        await self._moved.wait()

    def arrive(self, at: float) -> None:
        """The replay holds at ``at`` (or has ended, with ``math.inf``): release who waits."""
        self.reached = at
        self._arrived.set()
