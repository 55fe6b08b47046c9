"""``xwrap record --exchange NAME [--pair PAIR ...] --out DIR [--duration S]``: one exchange's live
market feed with its traffic recorded (:mod:`.recording`), and nothing else: no database, no doors,
no account. What it writes replays with ``xwrap replay`` and ``xwrap serve --replay`` as it is."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..config import Settings
from ..connectors.feed import ExchangeFeed
from ..core.errors import InvalidParameter
from ..core.pairs import Pair
from ..exchanges.base import adapter_class
from ..marketdata.hub import MarketDataHub
from .recording import RecordingSummary, open_recording

log = logging.getLogger(__name__)


async def record(
    settings: Settings,
    exchange: str,
    directory: str,
    *,
    until: Callable[[], Awaitable[Any]],
    pairs: Sequence[str] = (),
    hub: MarketDataHub | None = None,
    clock: Callable[[], float] = time.time,
    **feed_options: Any,
) -> RecordingSummary:
    """Run ``exchange``'s feed (its settings; ``pairs`` instead of theirs when given) into ``hub``
    with its traffic recorded in a new folder of ``directory`` until ``until()`` is done; then stop it,
    complete the files and return what was written. ``feed_options`` go to the feed (tests inject
    backoff and timeouts). Raises :class:`InvalidParameter` for a pair that is not a pair name."""
    followed = settings.exchange(exchange)
    if pairs:
        followed = dataclasses.replace(followed, pairs=[str(Pair.parse(text, "--pair")) for text in pairs])
    cls = adapter_class(exchange)
    recording = open_recording(settings.recording, directory, clock=clock)
    log.info("recording %s (%s) in %s", exchange, ", ".join(followed.pairs), recording.directory)
    traffic = recording.exchange(exchange, followed)
    feed = ExchangeFeed(cls, followed, hub or MarketDataHub(), traffic=traffic, **feed_options)
    feed.start()
    try:
        await until()
    finally:
        await feed.stop()
        summary = await recording.aclose()
    return summary


def record_command(settings: Settings, exchange: str, pairs: Sequence[str], out: str, duration: float | None) -> int:
    """``xwrap record``: record until ``duration`` seconds have passed (None: until SIGINT or
    SIGTERM), then print what was written as one JSON object; exit status 0."""
    if duration is not None and not (duration > 0 and math.isfinite(duration)):
        raise InvalidParameter("--duration", "seconds above 0", duration)

    async def run() -> RecordingSummary:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        return await record(settings, exchange, out, until=lambda: _stopped(stopping, duration), pairs=pairs)

    summary = asyncio.run(run())
    print(json.dumps(dataclasses.asdict(summary)))
    return 0


async def _stopped(stopping: asyncio.Event, duration: float | None) -> None:
    """Once ``stopping`` is set, or ``duration`` seconds have passed (if not None)."""
    try:
        await asyncio.wait_for(stopping.wait(), duration)
    except TimeoutError:
        pass
