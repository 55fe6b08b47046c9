import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from exchange_wrapper.cli import main

from .test_playback import FIRST, LAST, fed

CAPTURES = Path(__file__).resolve().parents[1] / "captures"


def run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(list(argv))
    return status, out.getvalue()


SPEED_EXPECTED = "xwrap: setting --speed: expected a factor above 0, max or step"


class ReplayCommandTest(unittest.TestCase):
    def test_every_coinbase_capture_replays_with_no_corrupt_book(self):
        status, out = run(
            "replay", "--exchange", "coinbase", str(CAPTURES / "COINBASE.0"), str(CAPTURES / "COINBASE.ws.28.0")
        )
        report = json.loads(out)
        self.assertEqual(status, 0)
        self.assertEqual(out.count("\n"), 1)
        for key in ("exchange", "messages", "books", "checksums", "sequence_gaps", "resyncs", "trades", "seconds"):
            self.assertIn(key, report)
        self.assertEqual(len(report["books"]), 10)
        self.assertTrue(all(book["state"] == "live" for book in report["books"].values()))

    def test_a_book_that_ends_corrupt_makes_the_exit_status_non_zero(self):
        lines = (CAPTURES / "COINBASE.ws.28.0").read_text().splitlines()
        # the last word on SKL-USD: a bid above every ask, which no real book can hold
        lines.append(
            '1618677999.0: {"type":"l2update","product_id":"SKL-USD","changes":[["buy","99.0000","1"]],'
            '"time":"2021-04-17T16:46:39.000000Z"}'
        )
        with tempfile.TemporaryDirectory() as folder:
            stream = Path(folder) / "COINBASE.ws.28.0"
            stream.write_text("\n".join(lines) + "\n")
            status, out = run("replay", "--exchange", "coinbase", str(CAPTURES / "COINBASE.0"), str(stream))
        report = json.loads(out)
        self.assertEqual(status, 1)
        self.assertEqual((report["corrupt"], report["crossed_books"]), (["SKL_USD"], 1))
        self.assertEqual(report["books"]["SKL_USD"]["state"], "resyncing")


class WindowOptionTest(unittest.TestCase):
    """``--from``/``--to`` of ``xwrap replay`` and the backtest options of ``xwrap serve --replay``."""

    FILES = [str(CAPTURES / "COINBASE.0"), str(CAPTURES / "COINBASE.ws.28.0")]

    def test_replay_counts_the_window_and_stops_at_its_end(self):
        start, end = FIRST + 5, FIRST + 12
        status, out = run("replay", "--exchange", "coinbase", *self.FILES, "--from", str(start), "--to", str(end))
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["messages"], fed(end) - fed(start - 1e-7))
        iso = "2021-04-17T16:43:48.843430"  # FIRST + 12 written as an ISO time without a zone: UTC
        _, out = run("replay", "--exchange", "coinbase", *self.FILES, "--to", iso)
        self.assertEqual(json.loads(out)["messages"], fed(FIRST + 12))

    def test_a_window_outside_the_recording_is_one_line_naming_the_option(self):
        for options, expected in (
            (("--from", "2021-04-17T16:00:00Z"), "xwrap: --from: expected a time within the recording, "),
            (("--to", str(LAST + 1)), "xwrap: --to: expected a time within the recording, "),
            (("--from", str(FIRST + 9), "--to", str(FIRST + 3)), "xwrap: --to: expected a time after --from"),
            (("--from", "yesterday"), "xwrap: --from: expected Unix seconds (1618677800.5) or an ISO 8601 time"),
        ):
            for command in (("replay", "--exchange", "coinbase", *self.FILES), ("serve", "--replay", *self.FILES)):
                with self.subTest(command=command[0], options=options):
                    err = io.StringIO()
                    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stderr(err):
                        status = main([*command, *options, *_database(command, folder)])
                    self.assertEqual((status, err.getvalue().count("\n")), (2, 1), err.getvalue())
                    self.assertTrue(err.getvalue().startswith(expected), err.getvalue())

    def test_the_backtest_options_need_a_replay_and_the_speed_a_factor_or_max(self):
        for options, expected in (
            (("--loop",), "xwrap: setting --loop: expected --replay FILE... with it"),
            (("--clock", "recorded"), "xwrap: setting --clock: expected --replay FILE... with it"),
            (("--seed", "3"), "xwrap: setting --seed: expected --replay FILE... with it"),
            (("--from", "1"), "xwrap: setting --from: expected --replay FILE... with it"),
            (
                ("--replay", *self.FILES, "--speed", "fast"),
                "xwrap: setting --speed: expected a factor above 0, max or step",
            ),
            (
                ("--replay", *self.FILES, "--speed", "0"),
                "xwrap: setting --speed: expected a factor above 0, max or step",
            ),
        ):
            with self.subTest(options=options):
                err = io.StringIO()
                with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stderr(err):
                    status = main(["serve", *options, "--database-url", f"sqlite:///{folder}/x.sqlite"])
                self.assertEqual(status, 2, err.getvalue())
                self.assertTrue(err.getvalue().startswith(expected), err.getvalue())


class ServeBacktestTest(unittest.TestCase):
    def test_serve_at_max_speed_in_recorded_time_plays_the_window_and_finishes(self):
        """A real ``xwrap serve --replay --speed max --clock recorded --from --to``: the status names the
        window, and the books' age is counted in recorded time, not from 2021 to now."""
        start, end = FIRST + 2, FIRST + 9
        with tempfile.TemporaryDirectory() as folder:
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "exchange_wrapper.cli", "serve", "--replay", *WindowOptionTest.FILES]
                + ["--speed", "max", "--clock", "recorded", "--from", str(start), "--to", str(end)]
                + ["--port", str(port), "--database-url", f"sqlite:///{folder}/xwrap.sqlite"],
                cwd=CAPTURES.parents[1],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("XWRAP_")},
            )
            try:
                coinbase, deadline = None, time.monotonic() + 60
                while time.monotonic() < deadline and (coinbase or {}).get("status") != "finished":
                    try:
                        coinbase = get(port, "exchanges")["coinbase"]
                    except OSError:
                        time.sleep(0.2)
                book = get(port, "book?exchange=coinbase&pair=SKL_USD&depth=1")
            finally:
                process.terminate()
                output = process.communicate(timeout=30)[0]
        self.assertEqual(process.returncode, 0, output)
        self.assertEqual(coinbase["status"], "finished", coinbase)
        self.assertIn(
            "replaying COINBASE.0, COINBASE.ws.28.0 as fast as possible "
            "(2021-04-17T16:43:38.843430Z to 2021-04-17T16:43:45.843430Z)",
            output,
        )
        self.assertTrue(0 <= book["age"] < end - start, book)  # the clock stopped at the window's last record


def _database(command, folder):
    return ("--database-url", f"sqlite:///{folder}/x.sqlite") if command[0] == "serve" else ()


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/xwrap/v1/{path}", timeout=5) as answer:
        return json.loads(answer.read())


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    unittest.main()
