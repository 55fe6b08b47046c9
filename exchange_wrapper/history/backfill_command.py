"""``xwrap backfill``: one pair's 1-minute candles from the exchange into the store the settings choose.

A progress bar on stderr while it runs, the summary as one JSON object on stdout at the end (also
when an error or Ctrl-C stopped it: what was written stays, and a rerun resumes). Exit status: 0
when every window was asked, 1 when an error of the exchange stopped it, 130 on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import TextIO

from ..config import Settings
from ..connectors.rest import RestClient
from ..core.errors import ConfigError, InvalidParameter
from ..core.pairs import Pair
from ..core.times import iso_time
from ..exchanges.base import Adapter, adapter_class
from ..storage.database import close_database, open_database
from ..storage.worker import DatabaseThread
from .backends import open_sink
from .backfill import Backfill, BackfillSummary, RestCandles
from .sink import HistorySink

#: The one interval the command takes: the store keeps 1-minute candles.
INTERVAL = "1m"


def backfill_command(
    settings: Settings,
    exchange: str,
    pair: str,
    interval: str,
    start: float,
    end: float,
    *,
    now: Callable[[], float] = time.time,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Backfill ``pair`` of ``exchange`` over [start, end) (Unix seconds); the exit status.

    Raises :class:`InvalidParameter` naming ``--interval`` (not 1m), ``--to`` (not after
    ``--from``) or ``--pair``, and :class:`ConfigError` when ``timeseries.backend`` is ``none``,
    before anything is asked of the exchange."""
    if interval != INTERVAL:
        raise InvalidParameter(
            "--interval",
            "1m (the store keeps 1-minute candles; longer ones are aggregated from them when read)",
            interval,
        )
    if not end > start:
        raise InvalidParameter("--to", f"a time after --from ({iso_time(start)})", iso_time(end))
    unified = Pair.parse(pair, "--pair")
    cls = adapter_class(exchange)
    if settings.timeseries.backend == "none":
        raise ConfigError("timeseries.backend", "database or influxdb: the store backfill writes into", "none")
    database = open_database(settings.database_url)
    try:
        sink = open_sink(settings, database)
        assert sink is not None  # the backend is not none
        try:
            return _backfill(settings, cls, sink, unified, start, end, now(), out, err)
        finally:
            sink.close()
    finally:
        close_database(database)


def _backfill(
    settings: Settings,
    cls: type[Adapter],
    sink: HistorySink,
    pair: Pair,
    start: float,
    end: float,
    now: float,
    out: TextIO,
    err: TextIO,
) -> int:
    bar = ProgressBar(err)
    job: Backfill | None = None

    async def run() -> BackfillSummary:
        nonlocal job
        thread = DatabaseThread()
        rest = RestClient(cls.name, settings.exchange(cls.name).rest_url or cls.rest_url, cls.rest_limit)
        try:
            source = await RestCandles.open(cls, rest, [pair])
            job = Backfill(source, cls, sink, pair, thread=thread, progress=bar.show)
            return await job.run(start, end, now)
        finally:
            rest.close()
            await thread.close()

    try:
        summary = asyncio.run(run())
    except KeyboardInterrupt:
        bar.done()
        if job is not None:
            print(json.dumps({**job.summary.as_json(), "error": "interrupted"}), file=out)
        return 130
    bar.done()
    print(json.dumps(summary.as_json()), file=out)
    if summary.error is not None:
        print(f"xwrap: backfill stopped: {summary.error} (run it again to resume)", file=err)
        return 1
    return 0


class ProgressBar:
    """``[#########...........]  45%  650/1440 minutes`` on ``stream``, redrawn in place."""

    WIDTH = 30

    def __init__(self, stream: TextIO):
        self.stream, self.shown = stream, False

    def show(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        percent = 100 * done // total if total else 100
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}%  {done}/{total} minutes")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """End the bar's line (when one was drawn)."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
