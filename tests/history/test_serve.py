"""End to end: a real ``xwrap serve --replay`` process on the Coinbase capture keeps the trades it
replays, and the candles built from them, in its SQLite database."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.history.database import DatabaseSink
from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.models import MarketBookTop, MarketTrade
from tests.core.test_candles import expected
from tests.history.captured import captured_trades, files
from tests.test_cli import ROOT, free_port


def get(url):
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


class ServeCollectsTest(unittest.TestCase):
    def test_a_replay_served_fills_the_database(self):
        with tempfile.TemporaryDirectory() as directory:
            database = f"sqlite:///{directory}/xwrap.sqlite"
            port = free_port()
            environment = {k: v for k, v in os.environ.items() if not k.startswith("XWRAP_")}
            process = subprocess.Popen(
                [sys.executable, "-m", "exchange_wrapper.cli", "serve", "--replay", *files("coinbase")]
                + ["--speed", "10", "--port", str(port), "--database-url", database],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=environment,
            )
            try:
                self.wait_finished(port)
                time.sleep(2.5)  # a tick of the collector's clock (every second) after the last trade
            finally:
                process.terminate()
                output = process.communicate(timeout=30)[0]
            self.assertEqual(0, process.returncode, output)
            db = open_database(database)
            self.addCleanup(close_database, db)
            trades = captured_trades("coinbase")
            self.assertEqual(len(trades), MarketTrade.select().count())
            sink = DatabaseSink(db)
            stored = {}
            for pair in {t.pair for t in trades}:
                self.assertEqual(
                    sorted((t for t in trades if t.pair == pair), key=lambda t: t.time),
                    sink.trades("coinbase", pair, 0, 2e9, 1000),
                )
                stored.update(((pair, c.start), c) for c in sink.candles("coinbase", pair, 0, 2**40, 1000))
            self.assertEqual(expected(trades), stored)
            self.assertGreater(MarketBookTop.select().where(MarketBookTop.pair == str(Pair("SKL", "USD"))).count(), 0)

    def wait_finished(self, port):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{port}/xwrap/v1/exchanges")["coinbase"]["status"] == "finished":
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.fail("the replay did not finish")


if __name__ == "__main__":
    unittest.main()
