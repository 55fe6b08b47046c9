"""Replays played as a service's market data: at a pace, within a window, looped, in recorded time.

:class:`Playback` feeds the records of one or more :class:`~.source.Replay` (one per exchange) in
recorded time order. Records before the window's start are fed at once (they build the books:
the recording's snapshots come first); from the start on they keep the recorded pace times
``speed`` (``math.inf``: as fast as possible, other tasks still getting their turn between records),
up to the window's end. With a :class:`~.clock.RecordedClock` each record's events are stamped with
its recorded time and the clock advances with them, so everything in the service that reads that
clock lives in recorded time; without one they are stamped with the wall clock. With ``loop`` the
books start over at the end from the snapshots the recording holds, and pass ``n`` (from 1) reads
recorded time plus ``(n - 1)`` window lengths, so that time never goes back. With ``steps`` the
playback holds at the window's start, then goes on only as far as :meth:`~.clock.Steps.advance`
lets it (a client sending orders at chosen recorded moments).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..contract import ReplayState
from ..core.errors import InvalidParameter
from ..core.marketdata import FeedStatus
from ..core.times import iso_time
from .clock import RecordedClock, Steps
from .source import Record, Replay

#: The pace that means "as fast as possible" (``xwrap serve --replay --speed max``).
MAX_SPEED = math.inf


@dataclass(frozen=True)
class PlaybackOptions:
    """How a service plays its replays besides the pace: the window (recorded Unix seconds, None:
    from the first record, to the last), looping, the clock (recorded time, or the wall's),
    stepping (a client moves the replay on), and the seed of the paper latency draws."""

    start: float | None = None
    end: float | None = None
    loop: bool = False
    recorded_clock: bool = False
    steps: bool = False
    seed: int = 0


#: The whole recording once, in wall-clock time, with the latency seed 0.
PLAY_ALL = PlaybackOptions()


def window(span: tuple[float, float], start: float | None, end: float | None) -> tuple[float, float]:
    """The window (``start``, ``end``) within a recording's ``span`` (its first and last record's
    times), by default all of it; :class:`InvalidParameter` naming ``--from`` or ``--to`` for a
    time outside the recording, or a start not before the end."""
    first, last = span
    recording = f"a time within the recording, {iso_time(first)} ({first}) to {iso_time(last)} ({last})"
    for name, value in (("--from", start), ("--to", end)):
        if value is not None and not first <= value <= last:
            raise InvalidParameter(name, recording, f"{iso_time(value)} ({value})")
    chosen = (first if start is None else start, last if end is None else end)
    if (start is not None or end is not None) and chosen[0] >= chosen[1]:
        raise InvalidParameter("--to", f"a time after --from ({iso_time(chosen[0])})", iso_time(chosen[1]))
    return chosen


class Playback:
    """Plays ``replays`` (sharing one hub) between ``start`` and ``end`` (recorded Unix seconds,
    by default the whole recording). Raises :class:`InvalidParameter` naming ``--from`` or
    ``--to`` for a time outside the recording, or a start not before the end."""

    def __init__(
        self,
        replays: Sequence[Replay],
        *,
        speed: float = 1.0,
        start: float | None = None,
        end: float | None = None,
        loop: bool = False,
        recorded_clock: bool = False,
        steps: bool = False,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        if not speed > 0:
            raise InvalidParameter("--speed", "a factor above 0, or max", speed)
        self.replays, self.speed, self.loop = list(replays), speed, loop
        self.wall, self.sleep = wall, sleep
        spans = [replay.span() for replay in self.replays]
        first, last = min(a for a, _ in spans), max(b for _, b in spans)
        self.clock = RecordedClock(first) if recorded_clock else None
        """With ``recorded_clock``: the service's clock, at the recording's first moment until played."""
        self.start, self.end = window((first, last), start, end)
        if loop and self.end <= self.start:
            raise InvalidParameter("--loop", "a recording longer than an instant", f"{first} to {last}")
        self.steps = Steps(self.start) if steps else None
        self.passes = 0
        self.finished = False
        self.ready = asyncio.Event()
        """Set once every followed book has been live within the window (or the playback ended)."""
        self._names = {
            replay.exchange: ", ".join(os.path.basename(os.fspath(path)) for path in replay.files)
            for replay in self.replays
        }

    def status(self) -> ReplayState:
        """Where the playback is, for a client to follow it: the window, the pace, the pass, the
        recorded time (with a recorded clock) and whether it holds or has finished."""
        state: Literal["playing", "holding", "finished"] = "finished" if self.finished else "playing"
        if self.steps is not None and not self.finished and self.steps.reached >= self.steps.until:
            state = "holding"
        return {
            "clock": "wall" if self.clock is None else "recorded",
            "time": None if self.clock is None else self.clock(),
            "start": self.start,
            "end": self.end,
            "speed": "step" if self.steps is not None else "max" if self.speed == MAX_SPEED else f"{self.speed:g}",
            "loop": self.loop,
            "passes": self.passes,
            "state": state,
        }

    async def play(self) -> dict[str, dict[str, Any]]:
        """Play to the end (for ever with ``loop``, until cancelled); then every exchange's status
        says ``finished`` and its books are frozen. Returns each replay's report by exchange."""
        started = self.wall()
        try:
            while True:
                self.passes += 1
                if self.passes > 1:
                    for replay in self.replays:
                        replay.restart()
                self._announce()
                await self._pass((self.passes - 1) * (self.end - self.start))
                if not self.loop:
                    break
        finally:  # ended, failed or stopped: nobody is to wait for books or steps any more
            self.finished = True
            self.ready.set()
            if self.steps is not None:
                self.steps.arrive(math.inf)
        reports = {}
        for replay in self.replays:
            replay.seconds = self.wall() - started
            reports[replay.exchange] = replay.report()
            replay.hub.finish(
                replay.exchange,
                f"the replay of {self._names[replay.exchange]} has ended: its books are frozen, orders are refused",
            )
        return reports

    async def _pass(self, offset: float) -> None:
        """One pass over the window, recorded times shifted by ``offset``."""
        clock, steps, sleep, wall = self.clock, self.steps, self.sleep, self.wall
        waiting = {(replay, pair) for replay in self.replays for pair in replay.adapter.pairs}
        origin: tuple[float, float] | None = None  # (recorded, wall) when the window opened
        for record, replay in self._records():
            ts = record.ts
            if ts > self.end:
                break
            at = ts + offset
            while steps is not None and at > steps.until:  # held at the moment it was moved on to
                if clock is not None:
                    clock.advance(steps.until)
                await steps.held()
            if ts >= self.start:
                if origin is None:
                    origin = (at, wall())
                delay = (at - origin[0]) / self.speed - (wall() - origin[1])
                await sleep(max(delay, 0.0))
            else:
                await sleep(0)  # the books are being built: at once, but others get their turn
            if clock is not None:
                clock.advance(at)
            replay.step(record, at if clock is not None else wall())
            if waiting and origin is not None:
                waiting = {(r, pair) for r, pair in waiting if not r.hub.book(r.exchange, pair).live}
                if not waiting:
                    self.ready.set()

    def _records(self) -> Iterator[tuple[Record, Replay]]:
        """Every replay's records, in recorded time order."""
        streams = [((record, replay) for record in replay.records()) for replay in self.replays]
        return heapq.merge(*streams, key=lambda pair: pair[0].ts)

    def _announce(self) -> None:
        pace = "as fast as possible" if self.speed == MAX_SPEED else f"at {self.speed:g}x"
        if self.steps is not None:
            pace = "step by step"
        window = f"{iso_time(self.start)} to {iso_time(self.end)}"
        for replay in self.replays:
            books = len(replay.adapter.pairs)
            replay.hub.set_connection(
                replay.exchange,
                FeedStatus.READY,
                f"replaying {self._names[replay.exchange]} {pace}"
                + (f", pass {self.passes}" if self.loop else "")
                + f" ({window}): {books} books ({replay.market_count - books} other markets have none recorded)",
            )
