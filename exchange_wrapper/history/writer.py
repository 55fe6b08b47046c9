"""The history writer: records queued on the event loop, written in batches by a thread of its own.

The event loop only puts records on a bounded ``janus`` queue and never waits: when the queue is
full (a slow, stuck or failing sink) a record is dropped and counted, so that the books and the
order path keep their pace whatever the disk or the network does. The thread takes what is queued,
groups it by exchange into :class:`~.sink.Batch` es and hands them to the sink; a sink that raises
loses that batch (counted), and the writer goes on with the next. Each kind of trouble is logged
once when it starts and once when it ends, not once per record.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from typing import Any

import janus

from ..core.marketdata import BookTop, Trade
from .sink import Batch, EquitySample, HistorySink, SourcedCandle, WriteResult

log = logging.getLogger(__name__)

Record = Trade | SourcedCandle | BookTop | EquitySample

Item = Record | tuple[BookTop, ...]
"""What one place of the queue holds: a record, or every book top of an exchange sampled at one
moment (one hand-off for all of them: a sample of hundreds of books would otherwise pay the queue's
lock hundreds of times on the event loop)."""

#: Records handed to the sink in one write at most.
BATCH_MAX = 5000

#: Seconds the thread sleeps after the first record of a batch before it takes what came meanwhile:
#: fewer, larger transactions, and one wake-up of the thread per batch instead of one per record (each
#: wake-up takes the interpreter's lock from the event loop: the market-data path would pay for it).
LINGER = 0.2

#: Seconds :meth:`HistoryWriter.stop` waits for the thread to write what is queued (a stuck sink
#: must not keep the service from stopping).
STOP_TIMEOUT = 10.0

#: The counters (also the metrics' labels): records the sink stored anew, records dropped because
#: the queue was full or because the sink failed to write their batch, failed writes, and built
#: candles an exchange's candle replaced with other values.
COUNTERS = ("written", "dropped_queue_full", "dropped_sink_error", "sink_errors", "candles_corrected")


class HistoryWriter:
    """Feeds ``sink`` from the event loop through a queue of ``queue_size`` records.

    ``await start()`` in the event loop, :meth:`put` records, ``await stop()`` to write what is
    queued and close the sink. :attr:`counts` holds :data:`COUNTERS`.
    """

    def __init__(self, sink: HistorySink, *, queue_size: int, batch_max: int = BATCH_MAX, linger: float = LINGER):
        self.sink = sink
        self.queue_size, self.batch_max, self.linger = queue_size, batch_max, linger
        self.counts: Counter[str] = Counter({name: 0 for name in COUNTERS})
        self._queue: janus.Queue[tuple[str, Item]] | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._accepted = 0  # records put on the queue (the loop's count)
        self._finished = 0  # of which written or lost by the sink (the thread's count)
        self._dropping = 0  # records dropped in the current episode of a full queue
        self._failing = 0  # writes failed in the current episode of a failing sink

    async def start(self) -> None:
        self._queue = janus.Queue(self.queue_size)
        self._thread = threading.Thread(target=self._run, name="xwrap-history", daemon=True)
        self._thread.start()

    def put(self, exchange: str, record: Item) -> bool:
        """Queue ``record`` (or a sample of book tops) of ``exchange`` without waiting; False when it
        was dropped (queue full, or the writer not running)."""
        queue = self._queue
        try:
            if queue is None:
                raise asyncio.QueueFull
            queue.async_q.put_nowait((exchange, record))
        except asyncio.QueueFull:
            self.counts["dropped_queue_full"] += len(record) if type(record) is tuple else 1
            if not self._dropping:
                log.warning(
                    "market history: the writer's queue is full (%d records): new records are dropped", self.queue_size
                )
            self._dropping += 1
            return False
        self._accepted += len(record) if type(record) is tuple else 1
        if self._dropping:
            log.warning("market history: the writer's queue has room again, after %d records dropped", self._dropping)
            self._dropping = 0
        return True

    def queued(self) -> int:
        """Places of the queue waiting for the thread."""
        return 0 if self._queue is None else self._queue.async_q.qsize()

    def outstanding(self) -> int:
        """Records put and not yet in the sink (queued, or in the batch being written): 0 once
        everything put so far is stored, or lost by a failing sink."""
        return self._accepted - self._finished

    async def stop(self) -> None:
        """Write what is queued (waiting at most :data:`STOP_TIMEOUT` seconds) and close the sink."""
        if self._thread is None or self._queue is None:
            return
        self._stopping.set()
        thread, queue = self._thread, self._queue
        await asyncio.get_running_loop().run_in_executor(None, thread.join, STOP_TIMEOUT)
        if thread.is_alive():
            log.warning(
                "market history: the sink did not finish writing within %g s; %d queued records are lost",
                STOP_TIMEOUT,
                queue.async_q.qsize(),
            )
        queue.close()
        await queue.wait_closed()
        self._thread = self._queue = None

    # -- the thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._queue is not None
        source = self._queue.sync_q
        try:
            while not (self._stopping.is_set() and source.empty()):
                records = self._take(source)
                if records:
                    self._write(records)
        finally:
            try:
                self.sink.close()
            except Exception:
                log.exception("market history: closing the sink failed")

    def _take(self, source: Any) -> list[tuple[str, Item]]:
        """The next batch: waits for a first record (a little at a time, to see :meth:`stop`), sleeps
        :data:`LINGER` seconds (less if :meth:`stop` is called), then takes what is queued, up to
        ``batch_max``."""
        try:
            records = [source.get(timeout=0.1)]
        except janus.SyncQueueEmpty:
            return []
        self._stopping.wait(self.linger)
        while len(records) < self.batch_max:
            try:
                records.append(source.get_nowait())
            except janus.SyncQueueEmpty:
                break
        return records

    def _write(self, records: list[tuple[str, Item]]) -> None:
        for batch in batches(records):
            try:
                result = self.sink.write(batch)
            except Exception as error:
                self.counts["sink_errors"] += 1
                self.counts["dropped_sink_error"] += len(batch)
                if not self._failing:
                    log.error("market history: the sink failed to write (its records are dropped): %r", error)
                self._failing += 1
                continue
            finally:
                self._finished += len(batch)
            if self._failing:
                log.warning("market history: the sink writes again, after %d failed writes", self._failing)
                self._failing = 0
            self.count(result)

    def count(self, result: WriteResult) -> None:
        """Count what a write to the sink changed: the writer's own, and those of another writer of the
        same store (the start-up backfill), so that /metrics shows every correction of a built candle."""
        self.counts["written"] += result.written
        self.counts["candles_corrected"] += result.candles_corrected


def batches(records: list[tuple[str, Item]]) -> list[Batch]:
    """``records`` grouped by exchange (in the order each exchange first appears), each kind in
    the order queued (a sample's book tops in their order)."""
    by_exchange: dict[str, tuple[list[Trade], list[SourcedCandle], list[BookTop], list[EquitySample]]] = {}
    for exchange, record in records:
        trades, candles, tops, equity = by_exchange.setdefault(exchange, ([], [], [], []))
        if isinstance(record, Trade):
            trades.append(record)
        elif isinstance(record, SourcedCandle):
            candles.append(record)
        elif isinstance(record, EquitySample):
            equity.append(record)
        elif isinstance(record, BookTop):
            tops.append(record)
        else:  # a sample of book tops
            tops.extend(record)
    return [Batch(exchange, *kinds) for exchange, kinds in by_exchange.items()]
