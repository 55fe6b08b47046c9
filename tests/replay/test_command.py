import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

from exchange_wrapper.cli import main

CAPTURES = Path(__file__).resolve().parents[1] / "captures"


def run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(list(argv))
    return status, out.getvalue()


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


if __name__ == "__main__":
    unittest.main()
