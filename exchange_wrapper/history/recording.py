"""Recording an exchange's raw public traffic in the capture format that replays read back.

A :class:`Recording` is one run's folder of capture files (the format of ``tests/captures``, read by
:mod:`exchange_wrapper.replay.capture`): per exchange, ``EXCHANGE.0`` holds the configuration line
and every REST answer (the markets, book snapshots, candles), and each websocket connection gets its
own ``EXCHANGE.ws.N.0``, N counting the exchange's connections from 0. The last number counts the
rotations: past ``rotate_bytes`` of text or ``rotate_seconds`` of age a file is closed and the next
(``.1``, ``.2``, ...) begins. With ``compress`` every file is gzip (``.gz`` added to its name).
Nothing else: ``xwrap replay`` and ``serve --replay`` take these files as they take the captures.

Each line's time is the recording's ``clock`` in whole microseconds, made strictly increasing across
all its files: a replay, which merges the files by time, feeds the records in the very order the
connectors saw them. Messages are written as they came; a line break in one (JSON whitespace, which
a line of the format cannot hold) is written as a space.

Why a thread: writing (and compressing) on the event loop would make the books wait for the disk.
The loop only formats a line and puts it on a bounded queue; one writer thread takes whatever has
queued, writes it and flushes every file it touched before waiting again. A flush is cheap when lines
come slowly and rare when they come fast (one per batch), and it bounds what a ``kill -9`` loses to
the batch being written: the files hold every line flushed, and gzip's sync flush leaves a stream the
reader decompresses up to there (the reader skips the line a killed write may have cut; see
:mod:`~exchange_wrapper.replay.capture`). A full queue (a disk that stalls) drops lines, counted and
logged once per episode, rather than memory growing or the books stalling: the replay of such a
recording sees the gap as the live books would have.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..config import ExchangeSettings, RecordingSettings, Settings

log = logging.getLogger(__name__)

#: Lines waiting for the writer thread at most; beyond it new ones are dropped (and counted).
QUEUE_SIZE = 100_000
#: Seconds between two rounds of the writer thread, each writing every line queued meanwhile: one wake-up
#: per round instead of one per line, each of which would take the interpreter's lock from the event
#: loop. A kill loses at most this much of the traffic (and the line being written).
BATCH_SECONDS = 0.05
#: gzip's compression level: zlib's default, most of level 9's ratio at a fraction of its time.
COMPRESS_LEVEL = 6


@dataclass(eq=False)
class Series:
    """One connection's files (``base.0``, ``base.1``, ...); their state is the writer thread's."""

    base: str
    index: int = 0
    file: gzip.GzipFile | io.BufferedWriter | None = None
    size: int = 0
    opened_us: int = 0
    failed: bool = False
    lines: list[bytes] = field(default_factory=list)  # encoded, not yet handed to the file


@dataclass(frozen=True)
class RecordingSummary:
    """What a recording wrote: its folder, the files (names in it), lines, uncompressed bytes, and
    the lines dropped because the writer fell behind or the disk failed."""

    directory: str
    files: list[str]
    lines: int
    bytes: int
    dropped: int


class Recording:
    """Capture files in ``directory`` (created if missing; a file already there is never
    overwritten: the error is logged and that file's lines are dropped).

    :meth:`exchange` gives the :class:`~exchange_wrapper.connectors.traffic.TrafficLog` of one
    exchange, for its feed. Call :meth:`close` (or ``await`` :meth:`aclose`) at the end: every file
    is then complete (gzip trailers written). ``clock`` (Unix seconds) stamps the lines and ages the
    files; tests inject it.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        rotate_bytes: int = 64 * 2**20,
        rotate_seconds: float = 3600.0,
        compress: bool = True,
        clock: Callable[[], float] = time.time,
        queue_size: int = QUEUE_SIZE,
    ):
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.rotate_bytes, self.rotate_us = rotate_bytes, int(rotate_seconds * 1_000_000)
        self.compress, self.clock = compress, clock
        # (series, microseconds, head, message), appended by the loop, taken by the writer thread: a deque's
        # append and popleft need no lock, so the loop pays no lock and wakes no thread per line
        self._pending: deque[tuple[Series, int, str | None, str | None]] = deque()
        self._queue_size = queue_size
        self._stop = threading.Event()
        self._last_us = 0
        self._dropping = self._queue_dropped = 0  # the loop's counts
        self._files: list[str] = []  # the writer thread's (read when it has ended)
        self._lines = self._bytes = self._write_dropped = 0
        self._closed = False
        self._exchanges: dict[str, ExchangeTraffic] = {}
        self._thread = threading.Thread(target=self._write_batches, name="recording", daemon=True)
        self._thread.start()

    def exchange(self, name: str, settings: ExchangeSettings | None = None) -> ExchangeTraffic:
        """The traffic log of exchange ``name`` (one per name). With its ``settings``, the
        configuration line opens its ``EXCHANGE.0``: the pairs followed and the URLs set (empty
        for the exchange's own), never a key or a secret."""
        if name not in self._exchanges:
            configuration = (
                None
                if settings is None
                else {
                    "exchange": name,
                    "pairs": settings.pairs,
                    "rest_url": settings.rest_url,
                    "ws_url": settings.ws_url,
                }
            )
            self._exchanges[name] = ExchangeTraffic(self, name, configuration)
        return self._exchanges[name]

    def close(self) -> RecordingSummary:
        """Write what is queued, close every file, stop the thread (blocks until done); what is
        told afterwards is ignored. Returns the :meth:`summary`."""
        if not self._closed:
            self._closed = True
            self._stop.set()
            self._thread.join()
        return self.summary()

    async def aclose(self) -> RecordingSummary:
        """:meth:`close` without blocking the event loop."""
        return await asyncio.to_thread(self.close)

    def summary(self) -> RecordingSummary:
        """What was written so far (final once :meth:`close` returned)."""
        return RecordingSummary(
            self.directory, list(self._files), self._lines, self._bytes, self._queue_dropped + self._write_dropped
        )

    # -- the event loop's side --------------------------------------------------------------------

    def series(self, name: str) -> Series:
        """The file series ``name`` (``COINBASE.ws.0``): its files are ``name.0``, ``name.1``, ..."""
        return Series(os.path.join(self.directory, name))

    def stamp(self) -> int:
        """The time of a new line in microseconds, after every line before it."""
        us = int(self.clock() * 1_000_000)
        if us <= self._last_us:
            us = self._last_us + 1
        self._last_us = us
        return us

    def put(self, series: Series, us: int, head: str | None, message: str | None) -> None:
        """Queue a line of ``series`` for the writer thread, which formats it (the loop only stamps it):
        ``head`` and the time ``us``, then ``: message`` if there is one; a ``head`` of None writes
        ``message`` as it is (a whole line), and with no message either closes the series' file."""
        pending = self._pending
        if len(pending) < self._queue_size and not self._dropping and not self._closed:  # nearly always
            pending.append((series, us, head, message))
            return
        if self._closed:
            return
        if len(pending) >= self._queue_size:
            if not self._dropping:
                log.warning("recording in %s falls behind: lines are dropped until it catches up", self.directory)
            self._dropping += 1
            self._queue_dropped += 1
            return
        self._pending.append((series, us, head, message))
        if self._dropping:
            log.warning("recording in %s caught up after %d lines dropped", self.directory, self._dropping)
            self._dropping = 0

    # -- the writer thread ------------------------------------------------------------------------

    def _write_batches(self) -> None:
        """Each round: every queued line to its series' buffer, then each touched file written in one
        piece and flushed. One write per file and round, not one per line: the thread holds the
        interpreter's lock (which the event loop waits for) for a join instead of a call per line, and
        gzip compresses one large buffer with the lock released."""
        opened: set[Series] = set()
        pending, take = self._pending, self._pending.popleft
        while True:
            stopping = self._stop.wait(BATCH_SECONDS)
            touched: set[Series] = set()
            while pending:
                series, us, head, message = take()
                if head is None and message is None:
                    self._close(series)
                    opened.discard(series)
                    touched.discard(series)
                elif self._add(series, us, _line(us, head, message)):
                    touched.add(series)
                    opened.add(series)
            if stopping:
                for series in opened:
                    self._close(series)
                return
            for series in touched:
                file = self._drain(series)
                if file is not None:
                    try:
                        file.flush()
                    except OSError as error:
                        self._fail(series, error)

    def _add(self, series: Series, us: int, line: str) -> bool:
        """Buffer ``line`` for ``series``'s file, opening the file (or the next, past the rotation's
        size or age) as needed; False if the line is dropped."""
        if series.failed:
            self._write_dropped += 1
            return False
        data = line.encode("utf-8")
        if series.file is not None and (
            (series.size and series.size + len(data) > self.rotate_bytes) or us - series.opened_us >= self.rotate_us
        ):
            self._close(series)
            series.index += 1
            if series.failed:
                self._write_dropped += 1
                return False
        if series.file is None:
            name = f"{series.base}.{series.index}" + (".gz" if self.compress else "")
            try:
                series.file = (  # "x": an existing file is never overwritten
                    gzip.GzipFile(name, "xb", compresslevel=COMPRESS_LEVEL) if self.compress else open(name, "xb")
                )
            except OSError as error:
                self._fail(series, error)
                self._write_dropped += 1
                return False
            series.size, series.opened_us = 0, us
            self._files.append(os.path.basename(name))
        series.lines.append(data)
        series.size += len(data)
        return True

    def _drain(self, series: Series) -> gzip.GzipFile | io.BufferedWriter | None:
        """Write ``series``' buffered lines to its file in one piece; the file, or None if it has
        none (any more: a failed write drops the lines, counted)."""
        lines, series.lines, file = series.lines, [], series.file
        if file is None:
            self._write_dropped += len(lines)
            return None
        if lines:
            data = b"".join(lines)
            try:
                file.write(data)
            except OSError as error:
                self._fail(series, error)
                self._write_dropped += len(lines)
                return None
            self._lines += len(lines)
            self._bytes += len(data)
        return file

    def _close(self, series: Series) -> None:
        if series.file is not None:
            self._drain(series)
        file, series.file = series.file, None
        if file is not None:
            try:
                file.close()
            except OSError as error:
                self._fail(series, error)

    def _fail(self, series: Series, error: OSError) -> None:
        if not series.failed:
            log.error("recording to %s failed, its lines are dropped: %s", series.base, error)
        series.failed = True
        self._write_dropped += len(series.lines)
        series.lines = []
        file, series.file = series.file, None
        if file is not None:
            try:
                file.close()
            except OSError:
                pass


class ExchangeTraffic:
    """One exchange's traffic in a :class:`Recording`: REST answers in ``EXCHANGE.0``, each
    websocket connection in its ``EXCHANGE.ws.N.0`` (see the module's docstring)."""

    def __init__(self, recording: Recording, name: str, configuration: dict[str, Any] | None = None):
        self.recording, self.name = recording, name.upper()
        self._rest = recording.series(self.name)
        self._connections = 0
        if configuration is not None:
            line = "configuration: " + json.dumps(configuration, separators=(",", ":")) + "\n"
            recording.put(self._rest, recording.stamp(), None, line)

    def connection(self, url: str) -> ConnectionTraffic:
        series = self.recording.series(f"{self.name}.ws.{self._connections}")
        self._connections += 1
        return ConnectionTraffic(self.recording, series, url)

    def response(self, url: str, body: str) -> None:
        self.recording.put(self._rest, self.recording.stamp(), f"{url} -> ", body)


class ConnectionTraffic:
    """One websocket connection's file: opened at once, then what was sent and received."""

    def __init__(self, recording: Recording, series: Series, url: str):
        self.recording, self.series, self.url = recording, series, url
        self._sent_head = f"{url} <- "
        self._closed = False
        recording.put(series, recording.stamp(), f"{url} <-> ", None)

    def sent(self, message: str) -> None:
        self.recording.put(self.series, self.recording.stamp(), self._sent_head, message)

    def received(self, message: str) -> None:
        self.recording.put(self.series, self.recording.stamp(), "", message)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.recording.put(self.series, 0, None, None)


def _line(us: int, head: str | None, message: str | None) -> str:
    """The capture line of :meth:`Recording.put`'s parts."""
    if head is None:
        return message or ""
    ts = f"{us // 1_000_000}.{us % 1_000_000:06d}"
    return f"{head}{ts}\n" if message is None else f"{head}{ts}: {_one_line(message)}\n"


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:  # JSON whitespace: the same document on one line
        return text.replace("\r", " ").replace("\n", " ")
    return text


def open_recording(
    settings: RecordingSettings,
    directory: str | os.PathLike[str] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Recording:
    """A :class:`Recording` with ``settings`` (its rotation and compression) in a new folder of
    ``directory`` (``settings.directory`` by default) named by the UTC time it starts
    (``20261207T221500Z``, ``-2`` added if taken): each run's files stand alone, metadata included,
    and a restart never mixes two runs' connections."""
    root = os.fspath(directory if directory is not None else settings.directory)
    os.makedirs(root, exist_ok=True)
    stamp = datetime.fromtimestamp(clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        folder = os.path.join(root, stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            os.mkdir(folder)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(os.path.join(root, stamp))
    return Recording(
        folder,
        rotate_bytes=settings.rotate_megabytes * 2**20,
        rotate_seconds=settings.rotate_minutes * 60,
        compress=settings.gzip,
        clock=clock,
    )


def feed_traffic(recording: Recording, settings: Settings) -> Callable[[str], ExchangeTraffic]:
    """What :func:`~exchange_wrapper.connectors.feed.start_feeds` takes as ``traffic``: each
    exchange's log in ``recording``, its configuration line from ``settings``."""

    def traffic(name: str) -> ExchangeTraffic:
        return recording.exchange(name, settings.exchange(name))

    return traffic
