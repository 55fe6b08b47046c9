"""The API doors under load, each beside a bare baseline on the same machine in the same run.

1. make_order over JSON-RPC (a websocket at /xwrap/v1/rpc): resting paper limit orders, each
   persisted (order, events, hold) before the answer; sequential round trips (p50, p99) and the
   throughput of 8 concurrent clients, against a bare ``websockets`` echo server sent messages of
   the same size by the same client code.
2. GET /xwrap/v1/pricing requests per second against a bare sanic endpoint answering the same JSON,
   loaded by ``wrk`` (Debian's package) from another process.
3. ``profile``: where a make_order's time goes, in one process: the event loop's CPU (cProfile)
   and the database thread's calls (timed around each).
4. ``batch``: another client's get_status round trips (p50, p99, max) while one client sends
   maximal JSON-RPC batches back to back (server.max_batch_requests calls of get_markets, the
   heaviest read on the recording, until the answers reach server.max_batch_answer_bytes), beside
   the same round trips with no batch running.

Every server runs in its own process, the load in this one (or wrk's). Run from the repository
root: ``.venv/bin/python bench/bench_api.py [rpc] [pricing] [profile] [batch]`` (all four: about
90 s; ``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

CAPTURES = ROOT / "tests" / "captures"
REPLAY = [str(CAPTURES / "COINBASE.0"), str(CAPTURES / "COINBASE.ws.28.0")]
CLIENTS = 8
SECTIONS = ("rpc", "pricing", "profile", "batch")


def order_params(wallet_set_id: int) -> dict[str, Any]:
    """A buy far below the recorded SKL-USD book (bid about 0.79): it rests, holds 5.03 USD."""
    return {
        "wallet_set_id": wallet_set_id,
        "exchange": "coinbase",
        "pair": "SKL_USD",
        "side": "buy",
        "type": "limit",
        "price": "0.5",
        "size": "10",
    }


# -- the servers (each in its own process) -----------------------------------------------------------


async def start_service(directory: str) -> tuple[Any, int]:
    """An xWrap service on the recording with the SKL-USD book live and still; a funded wallet set."""
    from exchange_wrapper.config import load_settings
    from exchange_wrapper.core.pairs import Pair
    from exchange_wrapper.service.server import Server

    settings = load_settings(
        None,
        env={},
        overrides={"database_url": f"sqlite:///{directory}/bench.sqlite", "server.port": 0, "log_level": "WARNING"},
    )
    server = Server(settings, replay=REPLAY, speed=None)
    await server.start()
    replay = server.replays[0]
    for record in replay.records():
        replay.step(record, time.time())
        if server.hub.book("coinbase", Pair("SKL", "USD")).live:
            break
    wallet_set = await server.api.call("create_wallet_set", {"name": "bench", "mode": "paper"})
    await server.api.call(
        "fund_wallet_set",
        {"wallet_set_id": wallet_set["id"], "exchange": "coinbase", "currency": "USD", "amount": "1000000000"},
    )
    return server, wallet_set["id"]


async def serve_xwrap() -> None:
    with tempfile.TemporaryDirectory() as directory:
        server, wallet_set_id = await start_service(directory)
        announce({"port": server.port, "wallet_set_id": wallet_set_id})
        await asyncio.Event().wait()


async def serve_echo() -> None:
    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, "127.0.0.1", 0, compression=None) as server:
        announce({"port": server.sockets[0].getsockname()[1]})
        await asyncio.Event().wait()


def serve_sanic(body_file: str) -> None:
    from sanic import Sanic, response

    data = json.loads(Path(body_file).read_text())
    app = Sanic("bare", configure_logging=False)
    app.config.ACCESS_LOG = False

    @app.get("/pricing")
    async def pricing(request: Any) -> Any:
        return response.json(data)

    @app.get("/tiny")
    async def tiny(request: Any) -> Any:
        return response.json({"ok": True})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections wait in the backlog until sanic runs
    announce({"port": sock.getsockname()[1]})
    app.run(sock=sock, single_process=True, access_log=False, motd=False)


def announce(info: dict[str, Any]) -> None:
    print(json.dumps(info), flush=True)


class Child:
    """A server in a subprocess of this script (``--serve KIND``); ``info`` is what it announced."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {args[0]} server did not start")
        self.info = json.loads(line)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# -- the load ------------------------------------------------------------------------------------

Message = Callable[[int], str]


def rpc_message(wallet_set_id: int) -> Message:
    params = order_params(wallet_set_id)
    return lambda n: json.dumps({"jsonrpc": "2.0", "id": n, "method": "make_order", "params": params})


def echo_message(size: int) -> Message:
    return lambda n: f"{n:>{size}}"


def check_rpc(answer: str | bytes) -> None:
    reply = json.loads(answer)
    if "result" not in reply or reply["result"]["status"] != "open":
        raise RuntimeError(f"make_order failed: {str(answer)[:300]}")


async def sequential(url: str, message: Message, count: int, check: Callable[[Any], None] | None) -> list[float]:
    """Seconds of each of ``count`` round trips, one at a time on one connection."""
    times = []
    async with connect(url, compression=None, max_size=None) as ws:
        for n in range(count):
            text = message(n)
            started = time.perf_counter()
            await ws.send(text)
            answer = await ws.recv()
            times.append(time.perf_counter() - started)
            if check is not None:
                check(answer)
    return times


async def concurrent(url: str, message: Message, seconds: float, check: Callable[[Any], None] | None) -> float:
    """Round trips per second of :data:`CLIENTS` connections, each one request at a time."""
    connections = [await connect(url, compression=None, max_size=None) for _ in range(CLIENTS)]
    done = [0] * CLIENTS
    stop_at = time.perf_counter() + seconds

    async def client(i: int) -> None:
        ws, n = connections[i], i * 10_000_000
        while time.perf_counter() < stop_at:
            await ws.send(message(n))
            answer = await ws.recv()
            if check is not None:
                check(answer)
            n += 1
            done[i] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for ws in connections))
    return sum(done) / elapsed


def percentile(times: list[float], q: float) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[q - 1] if q < 100 else max(times)


async def bench_rpc(count: int, seconds: float) -> None:
    xwrap, echo = Child("xwrap"), Child("echo")
    try:
        rpc_url = f"ws://127.0.0.1:{xwrap.info['port']}/xwrap/v1/rpc"
        echo_url = f"ws://127.0.0.1:{echo.info['port']}/"
        make = rpc_message(xwrap.info["wallet_set_id"])
        size = len(make(0))
        await sequential(rpc_url, make, 50, check_rpc)  # warm up both
        await sequential(echo_url, echo_message(size), 50, None)
        rpc_times = await sequential(rpc_url, make, count, check_rpc)
        echo_times = await sequential(echo_url, echo_message(size), count, None)
        rpc_rate = await concurrent(rpc_url, make, seconds, check_rpc)
        echo_rate = await concurrent(echo_url, echo_message(size), seconds, None)
    finally:
        xwrap.stop()
        echo.stop()
    print(
        f"\nmake_order over JSON-RPC vs a bare websockets echo ({size}-byte messages; {count} sequential, "
        f"then {CLIENTS} clients for {seconds:g} s)"
    )
    print(f"{'':24}{'make_order':>12}{'echo':>12}{'ratio':>8}")
    for label, q in (("sequential p50 (µs)", 50), ("sequential p99 (µs)", 99)):
        ours, base = percentile(rpc_times, q) * 1e6, percentile(echo_times, q) * 1e6
        print(f"{label:24}{ours:12.0f}{base:12.0f}{ours / base:8.2f}")
    ours, base = 1 / statistics.mean(rpc_times), 1 / statistics.mean(echo_times)
    print(f"{'1 client (/s)':24}{ours:12.0f}{base:12.0f}{ours / base:8.2f}")
    print(f"{f'{CLIENTS} clients (/s)':24}{rpc_rate:12.0f}{echo_rate:12.0f}{rpc_rate / echo_rate:8.2f}")


async def bench_batch(seconds: float) -> None:
    from exchange_wrapper.config import Settings

    limits = Settings().server
    xwrap = Child("xwrap")
    try:
        url = f"ws://127.0.0.1:{xwrap.info['port']}/xwrap/v1/rpc"
        status = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "get_status"})
        async with connect(url, compression=None, max_size=None) as probe:
            await round_trips(probe, status, 1.0)  # warm up
            alone = await round_trips(probe, status, seconds)
            batcher = Child("batches", url, str(limits.max_batch_requests), str(seconds + 0.5))
            loaded = await round_trips(probe, status, seconds)
            report = json.loads(batcher.process.stdout.readline())
            batcher.process.wait(10)
    finally:
        xwrap.stop()
    print(
        f"\nget_status over JSON-RPC on one connection while another client (its own process) sends maximal "
        f"batches back to back ({limits.max_batch_requests} x get_markets, {report['request_bytes']:,} bytes; "
        f"{seconds:g} s each)"
    )
    print(f"{'':24}{'no batch':>12}{'batches':>12}{'ratio':>8}")
    for label, q in (("p50 (µs)", 50), ("p99 (µs)", 99), ("max (µs)", 100)):
        ours, base = percentile(loaded, q) * 1e6, percentile(alone, q) * 1e6
        print(f"{label:24}{base:12.0f}{ours:12.0f}{ours / base:8.2f}")
    print(f"{'round trips':24}{len(alone):12}{len(loaded):12}")
    print(
        f"{report['batches']} batches answered, {report['seconds'] * 1e3:.0f} ms each, {report['answer_bytes']:,} "
        f"bytes: {report['run']} calls run, {report['refused']} refused past server.max_batch_answer_bytes "
        f"({limits.max_batch_answer_bytes:,})"
    )


async def round_trips(ws: Any, message: str, seconds: float) -> list[float]:
    """Seconds of each round trip of ``message``, one at a time, for ``seconds``."""
    times: list[float] = []
    stop_at = time.perf_counter() + seconds
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        await ws.send(message)
        reply = await ws.recv()
        times.append(time.perf_counter() - started)
        if "result" not in json.loads(reply):
            raise RuntimeError(f"the call failed: {reply[:300]!r}")
    return times


async def send_batches(url: str, calls: str, seconds: str) -> None:
    """A batch of ``calls`` get_markets sent again as soon as its answer came, for ``seconds``
    after the first answer (announced); then what they were, as one JSON line."""
    batch = json.dumps(
        [
            {"jsonrpc": "2.0", "id": n, "method": "get_markets", "params": {"exchange": "coinbase"}}
            for n in range(int(calls))
        ]
    )
    durations = []
    async with connect(url, compression=None, max_size=None) as ws:
        stop_at = None
        while stop_at is None or time.perf_counter() < stop_at:
            started = time.perf_counter()
            await ws.send(batch)
            answer = await ws.recv()
            durations.append(time.perf_counter() - started)
            if stop_at is None:
                announce({"started": True})
                stop_at = time.perf_counter() + float(seconds)
    replies = json.loads(answer)
    run = sum(1 for reply in replies if "result" in reply)
    announce(
        {
            "batches": len(durations),
            "seconds": statistics.mean(durations),
            "request_bytes": len(batch),
            "answer_bytes": len(answer),
            "run": run,
            "refused": len(replies) - run,
        }
    )


def bench_pricing(seconds: float) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("\nGET /xwrap/v1/pricing: skipped, wrk is not installed (apt-get install wrk)")
        return
    xwrap = Child("xwrap")
    try:
        url = f"http://127.0.0.1:{xwrap.info['port']}/xwrap/v1/pricing"
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as body:
            with urllib.request.urlopen(url, timeout=10) as answer:
                text = answer.read().decode()
            body.write(text)
            size = len(text)
        bare = Child("sanic", body.name)
        try:
            bare_url = f"http://127.0.0.1:{bare.info['port']}"
            results = {
                name: wrk_rate(wrk, target, seconds)
                for name, target in (("xwrap", url), ("bare", bare_url + "/pricing"), ("tiny", bare_url + "/tiny"))
            }
        finally:
            bare.stop()
            os.unlink(body.name)
    finally:
        xwrap.stop()
    print(
        f"\nGET /xwrap/v1/pricing vs a bare sanic endpoint answering the same JSON (wrk, 1 thread, "
        f"{CLIENTS} connections, {seconds:g} s each)"
    )
    print(f"{'':24}{'xwrap':>12}{'bare':>12}{'ratio':>8}")
    print(f"{'requests/s':24}{results['xwrap']:12.0f}{results['bare']:12.0f}{results['xwrap'] / results['bare']:8.2f}")
    print(
        f"(the pricing list holds every pair of the recorded product list: {size:,} bytes; for scale, the "
        f'bare sanic app answers {results["tiny"]:,.0f} requests/s with {{"ok": true}})'
    )


def wrk_rate(wrk: str, url: str, seconds: float) -> float:
    subprocess.run([wrk, "-t1", f"-c{CLIENTS}", "-d1s", url], capture_output=True, check=True)  # warm up
    out = subprocess.run(
        [wrk, "-t1", f"-c{CLIENTS}", f"-d{seconds:g}s", url], capture_output=True, text=True, check=True
    ).stdout
    if re.search(r"Non-2xx", out):
        raise RuntimeError(f"{url} answered errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


# -- the profile ---------------------------------------------------------------------------------


async def profile(count: int) -> None:
    """make_order called on the API class in-process. A clean pass times the database thread's calls
    (inside each, and as the loop waits for it); a second pass runs cProfile on both threads."""
    with tempfile.TemporaryDirectory() as directory:
        server, wallet_set_id = await start_service(directory)
        trading, params = server.trading, order_params(wallet_set_id)
        calls: dict[str, list[float]] = defaultdict(list)  # time inside the call, on the db thread
        waits: dict[str, list[float]] = defaultdict(list)  # time the loop waited for it
        db, db_profiler = trading.db, cProfile.Profile()

        async def timed_db(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            def run() -> Any:
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    calls[function.__qualname__].append(time.perf_counter() - started)

            started = time.perf_counter()
            try:
                return await db(run)
            finally:
                waits[function.__qualname__].append(time.perf_counter() - started)

        async def profiled_db(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            return await db(lambda: db_profiler.runcall(function, *args, **kwargs))

        for _ in range(50):
            await server.api.call("make_order", params)
        trading.db = timed_db
        started = time.perf_counter()
        for _ in range(count):
            await server.api.call("make_order", params)
        wall = (time.perf_counter() - started) / count
        trading.db = profiled_db
        loop_profiler = cProfile.Profile()
        loop_profiler.enable()
        for _ in range(count):
            await server.api.call("make_order", params)
        loop_profiler.disable()
        await server.stop()
    in_db = sum(sum(v) for v in calls.values()) / count
    waited = sum(sum(v) for v in waits.values()) / count
    print(f"\nprofile: {count} make_order on the API class in one process (no door, no network)")
    print(
        f"wall per order {wall * 1e6:.0f} µs: waiting for the database thread {waited * 1e6:.0f} µs "
        f"(inside the storage calls {in_db * 1e6:.0f} µs), the loop's own work {(wall - waited) * 1e6:.0f} µs"
    )
    print(f"{'storage call':40}{'per order':>10}{'µs inside':>11}{'µs waited':>11}")
    for name in sorted(calls, key=lambda n: -sum(calls[n])):
        print(
            f"{name:40}{len(calls[name]) / count:10.1f}{statistics.mean(calls[name]) * 1e6:11.0f}"
            f"{statistics.mean(waits[name]) * 1e6:11.0f}"
        )
    shares: dict[str, float] = defaultdict(float)
    for (path, _, name), (_, _, own, _, _) in pstats.Stats(db_profiler).stats.items():
        shares[
            "sqlite3 (C)"
            if "sqlite3" in name
            else "peewee (query building, rows)"
            if path.endswith("peewee.py")
            else "xwrap storage"
            if "exchange_wrapper" in path
            else "other"
        ] += own
    total = sum(shares.values())
    print(
        "the database thread's time under cProfile: "
        + ", ".join(f"{name} {share / total:.0%}" for name, share in sorted(shares.items(), key=lambda item: -item[1]))
    )
    print("\nthe loop's own CPU, top functions by own time (cProfile, whose overhead inflates them):")
    rows = [item for item in pstats.Stats(loop_profiler).stats.items() if "poll" not in item[0][2]]
    for (path, line, name), (_, _, own, cumulative, _) in sorted(rows, key=lambda item: -item[1][2])[:10]:
        print(
            f"  {own / count * 1e6:7.1f} µs/order own {cumulative / count * 1e6:8.1f} cumulative  "
            f"{Path(path).name}:{line} {name}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("sections", nargs="*", metavar="SECTION", help="rpc, pricing, profile, batch (default: all)")
    args = parser.parse_args()
    sections = args.sections or list(SECTIONS)
    if not set(sections) <= set(SECTIONS):
        parser.error(f"sections are {', '.join(SECTIONS)}")
    if args.serve:
        kind, *rest = args.serve
        if kind == "sanic":
            serve_sanic(*rest)
        elif kind == "batches":
            asyncio.run(send_batches(*rest))
        else:
            asyncio.run(serve_xwrap() if kind == "xwrap" else serve_echo())
        return
    count, seconds = (300, 1.0) if args.quick else (3000, 5.0)
    if "rpc" in sections:
        asyncio.run(bench_rpc(count, seconds))
    if "pricing" in sections:
        bench_pricing(seconds)
    if "profile" in sections:
        asyncio.run(profile(count))
    if "batch" in sections:
        asyncio.run(bench_batch(seconds))


if __name__ == "__main__":
    main()
