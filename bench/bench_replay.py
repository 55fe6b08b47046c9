"""Replay throughput: xWrap's adapter + hub (books checked as they go) against cryptofeed's own feed
handler, on the same recorded messages.

    .venv/bin/python bench/bench_replay.py            # about 10 s

Each row is one exchange's capture. xWrap's side: every websocket message through the adapter's
parser into a fresh MarketDataHub (snapshots, deltas, trades, tickers; sequence, checksum and
crossed-book checks), timed in process. cryptofeed's side: its feed object's ``message_handler``
coroutine awaited with each raw message, no callbacks, in the interpreter of ``bench/.venv``
(cryptofeed 2.3.2: the last release whose Coinbase handler speaks the Coinbase Exchange feed of the
capture; 2.4 moved it to Advanced Trade). Messages are read into memory first; each figure is the
best of five passes over fresh state. To set the cryptofeed side up once:

    python3 -m venv bench/.venv && bench/.venv/bin/pip install cryptofeed==2.3.2

Another exchange adds a row to ROWS: its capture files and how to build cryptofeed's feed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from kraken_v1 import v1_messages

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT / "tests" / "captures"
CRYPTOFEED_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"
PASSES = 5


@dataclass(frozen=True)
class Row:
    exchange: str
    metadata: str  # the capture file with the market metadata
    stream: str  # the websocket capture
    cryptofeed_class: str  # cryptofeed.exchanges.<name> ("": cryptofeed 2.3.2 does not speak the capture's protocol)
    rest: str = ""  # REST responses both sides are served (Binance's depth snapshots)
    cryptofeed_options: tuple = ()  # more (name, value) arguments of cryptofeed's feed
    cryptofeed_wire: Callable[[list], list] | None = None  # the messages in the protocol cryptofeed speaks
    all_metadata: bool = False  # cryptofeed's symbol data is every recorded REST response (Bitfinex's three)
    more_streams: tuple[str, ...] = ()  # the other connections' captures (Luno: one connection a market)


ROWS = [
    Row("coinbase", "COINBASE.0", "COINBASE.ws.28.0", "Coinbase"),
    Row("poloniex", "POLONIEX.0", "POLONIEX.ws.1.0", "Poloniex"),
    Row("binance", "BINANCE.0", "BINANCE.ws.1.0", "Binance", rest="BINANCE.http.0.0"),
    # the synthetic v2 capture (tests/fixtures/README.md); cryptofeed 2.3.2 reads v1 only: it gets
    # the same events as v1 messages, and checks their checksums on a book truncated at 100 as ours
    Row(
        "kraken",
        "KRAKEN.0",
        "KRAKEN.ws.0.0",
        "Kraken",
        cryptofeed_wire=v1_messages,
        cryptofeed_options=(("max_depth", 100), ("checksum_validation", True)),
    ),
    Row("bitfinex", "BITFINEX.0", "BITFINEX.ws.11.0", "Bitfinex", all_metadata=True),
    # the synthetic v5 capture (tests/fixtures/README.md); cryptofeed 2.3.2's OKX feed not compared yet
    Row("okx", "OKX.0", "OKX.ws.0.0", ""),
    # the synthetic v5 spot capture (tests/fixtures/README.md); cryptofeed 2.3.2's Bybit reads the
    # older derivatives streams only: no comparison
    Row("bybit", "BYBIT.0", "BYBIT.ws.0.0", ""),
    # the synthetic capture (tests/fixtures/README.md), two markets on a connection each; cryptofeed has no Luno
    Row("luno", "LUNO.0", "LUNO.ws.0.0", "", more_streams=("LUNO.ws.1.0",)),
]


def received(name: str) -> list[tuple[float, str]]:
    """(receive time, raw message) of every message received in capture ``name``."""
    out = []
    for line in (CAPTURES / name).read_text(encoding="utf-8").splitlines():
        ts, colon, message = line.partition(": ")
        if colon and ts[:1].isdigit() and " " not in ts and message:
            out.append((float(ts), message))
    return out


def opened(name: str) -> str:
    """The URL of the connection capture ``name`` holds (its first line: ``URL <-> TIMESTAMP``)."""
    with (CAPTURES / name).open(encoding="utf-8") as lines:
        return next(lines).partition(" <-> ")[0]


def recorded_rest(name: str) -> dict[str, str]:
    """URL -> body of every REST response in capture ``name`` (none for no name)."""
    out = {}
    for line in (CAPTURES / name).read_text(encoding="utf-8").splitlines() if name else ():
        head, colon, body = line.partition(": ")
        url, arrow, _ = head.partition(" -> ")
        if colon and arrow:
            out[url] = body
    return out


# -- xWrap ---------------------------------------------------------------------------------------


def xwrap_rate(row: Row) -> tuple[int, float, dict]:
    """(messages, best messages/s, the last pass's report) through adapter + hub."""
    sys.path.insert(0, str(ROOT))
    from exchange_wrapper.replay.source import Replay

    streams = (row.stream, *row.more_streams)
    messages = sorted((ts, index, message) for index, name in enumerate(streams) for ts, message in received(name))
    snapshots = recorded_rest(row.rest)
    best, report = 0.0, {}
    for _ in range(PASSES):
        replay = Replay(row.exchange, [CAPTURES / row.metadata])  # fresh books, no stream yet
        parsers = [replay.adapter.connection_parser(opened(name)).parse for name in streams]
        handle, name = replay.hub.handle, row.exchange
        started = time.perf_counter()
        for url, body in snapshots.items():  # joined to the stream by update id, wherever they come
            handle(name, replay.adapter.parse_rest(url, body), started)
        for ts, index, message in messages:
            handle(name, parsers[index](message, ts), ts)
        best = max(best, len(messages) / (time.perf_counter() - started))
        report = replay.report()
    return len(messages), best, report


# -- cryptofeed (runs in bench/.venv) ------------------------------------------------------------


def cryptofeed_worker(exchange: str) -> None:
    """Print {"messages": n, "rate": best messages/s} of cryptofeed's handler on ``exchange``'s row."""
    import cryptofeed.exchanges
    from cryptofeed.defines import L2_BOOK, TICKER, TRADES
    from cryptofeed.symbols import Symbols

    row = next(r for r in ROWS if r.exchange == exchange)
    cls = getattr(cryptofeed.exchanges, row.cryptofeed_class)
    lines = (CAPTURES / row.metadata).read_text().splitlines()
    metadata = [line.partition(": ")[2] for line in lines if " -> " in line.partition(": ")[0]]
    mapping, info = cls._parse_symbol_data(
        [json.loads(m) for m in metadata] if row.all_metadata else json.loads(metadata[0])
    )
    Symbols.set(cls.id, mapping, info)  # what it would fetch over REST
    # what the recorder subscribed (cryptofeed's own names), of the channels both sides parse
    configuration = json.loads(next(line for line in lines if line.startswith("configuration: ")).partition(": ")[2])
    channels = [channel for channel in (L2_BOOK, TRADES, TICKER) if channel in configuration]
    messages, snapshots = received(row.stream), recorded_rest(row.rest)
    if row.cryptofeed_wire is not None:
        messages = row.cryptofeed_wire(messages)

    async def passes() -> float:
        best = 0.0
        for _ in range(PASSES):
            feed = cls(symbols=configuration[L2_BOOK], channels=channels, **dict(row.cryptofeed_options))
            if row.exchange == "poloniex":  # its books are set up when it subscribes, which the bench skips
                feed._Poloniex__reset()
            if row.rest:  # it fetches a book's snapshot at its first diff: the recorded one

                async def read(address: str, **_: object) -> str:
                    return snapshots[address]

                feed.http_conn.read = read
            handler = feed.message_handler
            connection = SimpleNamespace(uuid="replay")  # Bitfinex keys its sequence check on it
            started = time.perf_counter()
            for ts, message in messages:
                await handler(message, connection, ts)
            best = max(best, len(messages) / (time.perf_counter() - started))
        return best

    print(json.dumps({"messages": len(messages), "rate": asyncio.run(passes())}))


def cryptofeed_rate(row: Row) -> float | None:
    if not (row.cryptofeed_class and CRYPTOFEED_PYTHON.exists()):
        return None
    out = subprocess.run(
        [str(CRYPTOFEED_PYTHON), __file__, "--cryptofeed-worker", row.exchange],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def main() -> None:
    print(f"{'exchange':10} {'messages':>9} {'xWrap msg/s':>12} {'cryptofeed msg/s':>17} {'ratio':>6}  books")
    for row in ROWS:
        count, ours, report = xwrap_rate(row)
        theirs = cryptofeed_rate(row)
        ratio = f"{ours / theirs:5.2f}x" if theirs else "  n/a"
        books = f"{len(report['books'])} live of {len(report['books'])}, corrupt {report['corrupt'] or 'none'}"
        print(f"{row.exchange:10} {count:9d} {ours:12,.0f} {theirs or 0:17,.0f} {ratio:>6}  {books}")
    if not CRYPTOFEED_PYTHON.exists():
        print("cryptofeed side skipped: python3 -m venv bench/.venv && bench/.venv/bin/pip install cryptofeed==2.3.2")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cryptofeed-worker"]:
        cryptofeed_worker(sys.argv[2])
    else:
        main()
