"""What market history costs the market-data path: the five captures replayed through adapter + hub with
collection and recording off, then on, side by side in one run (issue 11's aim: at most 10 % slower).

    .venv/bin/python bench/bench_collection.py            # about 30 s

"Off" is bench_replay.py's xWrap side: every websocket message through the adapter's parser into a fresh
MarketDataHub, following the books the recording holds (as `xwrap serve --replay` does;
bench_replay.py's hub follows every market of the metadata, which would make sampling the tops of
hundreds of books that never see a message the main cost here). "On" adds what `xwrap serve` does with
history on: the collector on the hub (each trade queued, 1-minute candles built, book tops sampled every
second of the messages' time, as a replay in recorded time does) feeding the writer thread into a
database sink (SQLite, a temporary file), and the recording of every message received (gzip, the writer
thread of history/recording.py). The time counted is the event loop's: what the market-data path waits
for. The threads' own work runs beside it on the second core (what they still hold when the
pass ends is written after the timing). Each figure is the best of five passes over fresh state, the two sides
alternating.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench_replay import CAPTURES, PASSES, ROOT, ROWS, Row, received, recorded_rest

sys.path.insert(0, str(ROOT))

from exchange_wrapper.config import RecordingSettings  # noqa: E402
from exchange_wrapper.history.collector import Collector  # noqa: E402
from exchange_wrapper.history.database import DatabaseSink  # noqa: E402
from exchange_wrapper.history.recording import open_recording  # noqa: E402
from exchange_wrapper.history.writer import HistoryWriter  # noqa: E402
from exchange_wrapper.replay.source import Replay  # noqa: E402
from exchange_wrapper.storage.database import close_database, open_database  # noqa: E402


async def one_pass(row: Row, messages: list[tuple[float, str]], snapshots: dict[str, str], on: bool) -> float:
    """Messages per second of one pass, with history collected and the traffic recorded if ``on``."""
    files = [CAPTURES / name for name in (row.metadata, row.rest, row.stream) if name]
    replay = Replay(row.exchange, files)  # the books the recording holds, as `xwrap serve --replay` follows
    parse, handle, name = replay.parser.parse, replay.hub.handle, row.exchange
    with tempfile.TemporaryDirectory() as directory:
        database = open_database(f"sqlite:///{directory}/history.sqlite")
        writer = HistoryWriter(DatabaseSink(database), queue_size=100_000)
        await writer.start()
        collector = Collector(replay.hub, writer, book_top_seconds=1, clock=time.time)
        recording = open_recording(RecordingSettings(), Path(directory) / "recordings")
        connection = recording.exchange(name).connection(f"wss://{name}.example/ws")
        follow, log = collector.follow, connection.received
        if on:
            collector.start(timer=False)
        started = time.perf_counter()
        for url, body in snapshots.items():
            handle(name, replay.adapter.parse_rest(url, body), started)
        if on:
            for ts, message in messages:
                log(message)
                handle(name, parse(message, ts), ts)
                follow(ts)
        else:
            for ts, message in messages:
                handle(name, parse(message, ts), ts)
        rate = len(messages) / (time.perf_counter() - started)
        await collector.stop()
        await writer.stop()
        recording.close()
        close_database(database)
    return rate


async def main() -> None:
    print(f"{'exchange':10} {'messages':>9} {'off msg/s':>11} {'on msg/s':>11} {'on/off':>7}")
    for row in ROWS:
        if row.more_streams:  # a connection a market (Luno): one parser a connection, which this loop has not
            continue
        messages, snapshots = received(row.stream), recorded_rest(row.rest)
        best = {False: 0.0, True: 0.0}
        for _ in range(PASSES):
            for on in (False, True):
                best[on] = max(best[on], await one_pass(row, messages, snapshots, on))
        off, on = best[False], best[True]
        print(f"{row.exchange:10} {len(messages):9d} {off:11,.0f} {on:11,.0f} {on / off:7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
