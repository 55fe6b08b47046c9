"""What the tests of docs/examples share: the service in backtest mode on the real Coinbase capture
(recorded clock, stepped by the strategy), a strategy's ``run`` coroutine run against it with its output
kept, every fill checked against the recording, and ``xwrap ledger verify`` on the database afterwards."""

import asyncio
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal as D
from pathlib import Path

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.config import load_settings
from exchange_wrapper.replay.playback import MAX_SPEED, PlaybackOptions
from exchange_wrapper.service.server import Server

from ..service.recorded import CAPTURES, REPLAY

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "docs" / "examples"
START = 1618677818.5  # the window's start, as docs/examples/README.md serves it: 1.7 s into the capture, every
# snapshot in (they came in its first half second)


def example(name):
    """The module of docs/examples/``name``.py (whose folder is on the path, as when the script is run)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.append(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recorded_market(product):
    """The capture's lines for ``product`` ("SKL-USD") in order: (timestamp, message)."""
    for line in (CAPTURES / "COINBASE.ws.28.0").read_text().splitlines():
        if line[:1].isdigit():
            stamp, _, text = line.partition(": ")
            message = json.loads(text)
            if message.get("product_id") == product:
                yield float(stamp), message


def unexplained(fills, sides, product):
    """The fills (with their orders' ``sides``) the recording does not explain: a book fill whose level
    was not in the recorded book, on the side it took, as the book stood at its ``book_time``; a trade fill
    whose trade the recording has not at that price, or at a price the order's limit would not meet."""
    trades, levels_at = {}, {}
    checks = sorted(
        (fill["cause"]["book_time"], index) for index, fill in enumerate(fills) if "book_time" in fill["cause"]
    )
    books = ({}, {})  # bids, asks

    def check_books_until(moment):
        while checks and checks[0][0] < moment:
            _, index = checks.pop(0)
            fill = fills[index]
            levels = books[sides[fill["order_id"]] == "buy"]  # a buy takes the asks
            levels_at[index] = levels.get(D(fill["cause"]["price"]))

    for stamp, message in recorded_market(product):
        check_books_until(stamp)
        if message["type"] == "snapshot":
            for levels, side in zip(books, ("bids", "asks")):
                levels.clear()
                levels.update((D(price), D(size)) for price, size in message[side])
        elif message["type"] == "l2update":
            for side, price, size in message["changes"]:
                levels = books[side == "sell"]
                if D(size):
                    levels[D(price)] = D(size)
                else:
                    levels.pop(D(price), None)
        elif message["type"] in ("match", "last_match"):
            trades[str(message["trade_id"])] = D(message["price"])
    check_books_until(float("inf"))

    def meets(price, reached_at, buy):  # a buy pays the price it was reached at or more, a sell gets it or less
        return price >= reached_at if buy else price <= reached_at

    wrong = []
    for index, fill in enumerate(fills):
        cause, price, buy = fill["cause"], D(fill["price"]), sides[fill["order_id"]] == "buy"
        if cause["type"] in ("book_level", "book_cross"):
            shown = levels_at.get(index)
            level = D(cause["price"])
            reached = price == level if cause["type"] == "book_level" else meets(price, level, buy)
            if shown is None or shown != D(cause["size_shown"]) or not reached:
                wrong.append(fill)
        elif cause["type"] == "public_trade":
            traded = trades.get(cause["trade_id"])
            if traded is None or traded != D(cause["price"]) or not meets(price, traded, buy):
                wrong.append(fill)
        else:
            wrong.append(fill)  # a strategy trading alone meets no other virtual order
    return wrong


class ExampleBacktest(unittest.IsolatedAsyncioTestCase):
    """The service on the capture in backtest mode, for one strategy run a test."""

    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # the replay is played in the test's loop
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.database_url = f"sqlite:///{directory.name}/xwrap.sqlite"
        settings = load_settings(None, env={}, overrides={"database_url": self.database_url, "server.port": 0})
        options = PlaybackOptions(start=START, recorded_clock=True, steps=True, seed=0)
        self.server = Server(settings, replay=REPLAY, speed=MAX_SPEED, playback=options)
        await self.server.start()
        self.addAsyncCleanup(self.stop)
        self.url = f"ws://127.0.0.1:{self.server.port}"

    async def stop(self):
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def backtest(self, run, *args):
        """Runs ``run(url, token, *args)``; its exit code and what it printed."""
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = await run(self.url, None, *args)
        return code, output.getvalue()

    async def fills(self, wallet_set_id):
        """The wallet set's fills, and the side of each order that has one."""
        async with AsyncClient(self.url) as client:
            fills = await client.get_fills(wallet_set_id=wallet_set_id, limit=1000)
            sides = {f["order_id"]: (await client.get_order(order_id=f["order_id"]))["side"] for f in fills}
        return fills, sides

    async def assert_ledger_verifies(self):
        """``xwrap ledger verify`` on the database, the service stopped."""
        await self.stop()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("XWRAP_")}
        result = subprocess.run(
            [sys.executable, "-m", "exchange_wrapper.cli", "ledger", "verify", "--database-url", self.database_url],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(json.loads(result.stdout)["ok"], result.stdout)
