import gzip
import json
import re
import tempfile
import unittest
import zlib
from pathlib import Path

from exchange_wrapper.core.errors import InvalidParameter, NotFound
from exchange_wrapper.replay.capture import (
    Configuration,
    RestResponse,
    WsOpened,
    WsReceived,
    WsSent,
    find_response,
    parse_capture,
    parse_line,
    read_capture,
)

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
FILES = sorted(CAPTURES.glob("*.0"))

# grep-like patterns on the raw lines, independent of the reader
PATTERNS = {
    RestResponse: re.compile(r"^https?://\S+ -> \d+\.\d+: "),
    WsOpened: re.compile(r"^wss?://\S+ <-> \d+\.\d+$"),
    WsSent: re.compile(r"^wss?://\S+ <- \d+\.\d+: "),
    WsReceived: re.compile(r"^\d+\.\d+: "),
    Configuration: re.compile(r"^configuration: \{"),
}


def raw_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().split("\n") if line]


class ReadCaptureTest(unittest.TestCase):
    def test_every_capture_file_is_read(self):
        self.assertEqual(
            [f.name for f in FILES],
            [
                "BINANCE.0",
                "BINANCE.http.0.0",
                "BINANCE.ws.1.0",
                "BITFINEX.0",
                "BITFINEX.ws.11.0",
                "BYBIT.0",
                "BYBIT.ws.0.0",
                "COINBASE.0",
                "COINBASE.ws.28.0",
                "KRAKEN.0",
                "KRAKEN.ws.0.0",
                "LUNO.0",
                "LUNO.ws.0.0",
                "LUNO.ws.1.0",
                "OKX.0",
                "OKX.ws.0.0",
                "POLONIEX.0",
                "POLONIEX.ws.1.0",
                "VALR.0",
                "VALR.ws.0.0",
            ],
        )

    def test_record_counts_match_the_raw_lines(self):
        for path in FILES:
            lines = raw_lines(path)
            expected = {kind: sum(1 for line in lines if pattern.match(line)) for kind, pattern in PATTERNS.items()}
            with self.subTest(file=path.name):
                self.assertEqual(sum(expected.values()), len(lines))  # every line is of one known kind
                records = list(read_capture(path))
                self.assertEqual({kind: sum(1 for r in records if type(r) is kind) for kind in PATTERNS}, expected)

    def test_a_file_that_cannot_be_read_is_named(self):
        with tempfile.TemporaryDirectory() as folder:
            binary = Path(folder, "capture.0")
            binary.write_bytes(b"1618677817.06: \xff\xfe")
            for path, expected, got in (
                (Path(folder, "nope.0"), "a file that can be read", "No such file"),
                (Path(folder), "a file that can be read", "Is a directory"),
                (binary, "UTF-8 text", "byte 0xff"),
            ):
                with self.subTest(path=path.name), self.assertRaises(InvalidParameter) as raised:
                    list(read_capture(path))
                self.assertEqual(raised.exception.field, f"capture file {path}")
                self.assertIn(expected, raised.exception.expected)
                self.assertIn(got, raised.exception.got)

    def test_known_counts(self):
        counts = {path.name: [type(r).__name__ for r in read_capture(path)] for path in FILES}
        self.assertEqual(counts["COINBASE.ws.28.0"].count("WsReceived"), 9946)
        self.assertEqual(counts["BITFINEX.ws.11.0"].count("WsSent"), 22)
        self.assertEqual(counts["BITFINEX.0"], ["RestResponse"] * 3 + ["Configuration"])
        self.assertEqual(counts["BINANCE.http.0.0"], ["RestResponse"] * 4)
        self.assertEqual(counts["BINANCE.ws.1.0"], ["WsOpened"] + ["WsReceived"] * 265)

    def test_records_keep_the_recorded_text(self):
        records = read_capture(CAPTURES / "COINBASE.ws.28.0")
        self.assertEqual(next(records), WsOpened("wss://ws-feed.pro.coinbase.com", 1618677816.8434298))
        self.assertEqual(
            next(records),
            WsSent(
                "wss://ws-feed.pro.coinbase.com",
                1618677817.020616,
                '{"type":"subscribe","product_ids":["SKL-USD","SKL-BTC","BAND-GBP","NMR-EUR","BAND-BTC","YFI-BTC",'
                '"DASH-BTC","NU-GBP","CRV-EUR","SKL-GBP"],"channels":["level2"]}',
            ),
        )
        received = [r for r in records if isinstance(r, WsReceived)]
        self.assertEqual(received[0].ts, 1618677817.061845)
        self.assertTrue(received[0].message.startswith('{"type":"subscriptions","channels":[{"name":"level2"'))
        raw = [line.split(": ", 1)[1] for line in raw_lines(CAPTURES / "COINBASE.ws.28.0") if line[0].isdigit()]
        self.assertEqual([r.message for r in received], raw)
        self.assertTrue(all(isinstance(json.loads(r.message), dict) for r in received))

    def test_rest_responses_and_configuration(self):
        records = list(read_capture(CAPTURES / "BITFINEX.0"))
        self.assertEqual(
            [r.url for r in records[:3]],
            [
                "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange",
                "https://api-pub.bitfinex.com/v2/conf/pub:list:currency",
                "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:future",
            ],
        )
        self.assertEqual(records[0].ts, 1618677543.1974761)
        self.assertEqual(json.loads(records[0].body)[0][:3], ["AAABBB", "AAVE:USD", "AAVE:UST"])
        self.assertEqual(json.loads(records[3].text)["l2_book"][0], "BFT-USD")
        # POLONIEX.0's body is the exchange's pretty-printed JSON with its line breaks removed
        poloniex = next(read_capture(CAPTURES / "POLONIEX.0"))
        self.assertTrue(poloniex.body.startswith('[ {  "symbol" : "BTS_BTC",'))
        self.assertEqual(len(json.loads(poloniex.body)), 524)

    def test_find_response_by_url_prefix(self):
        depth = find_response(CAPTURES / "BINANCE.http.0.0", "https://api.binance.com/api/v3/depth?symbol=LRCBTC")
        self.assertEqual(
            (depth.url, depth.ts), ("https://api.binance.com/api/v3/depth?symbol=LRCBTC&limit=1000", 1633998516.8443809)
        )
        self.assertEqual(json.loads(depth.body)["lastUpdateId"], 259345543)
        with self.assertRaises(NotFound) as caught:
            find_response(CAPTURES / "BINANCE.http.0.0", "https://api.binance.com/api/v3/trades")
        self.assertEqual(
            str(caught.exception),
            f"REST response in {CAPTURES / 'BINANCE.http.0.0'} for 'https://api.binance.com/api/v3/trades' not found",
        )


class ParseLinesTest(unittest.TestCase):
    def test_lines_are_read_one_at_a_time(self):
        def lines():
            yield "wss://ws.poloniex.com/ws/public <-> 1661123517.095489\n"
            yield '1661123517.853288: {"event":"subscribe"}\n'
            raise AssertionError("read past the records asked for")

        records = parse_capture(lines())
        self.assertEqual(next(records), WsOpened("wss://ws.poloniex.com/ws/public", 1661123517.095489))
        self.assertEqual(next(records), WsReceived(1661123517.853288, '{"event":"subscribe"}'))

    def test_blank_lines_crlf_and_separators_inside_messages(self):
        lines = ["\n", '1.5: {"a": "x -> y", "b": "1.5: z"}\r\n', "\n", "1.25: \n"]
        self.assertEqual(
            list(parse_capture(lines)), [WsReceived(1.5, '{"a": "x -> y", "b": "1.5: z"}'), WsReceived(1.25, "")]
        )
        self.assertEqual(parse_line("https://x/markets -> 2: [1, 2]"), RestResponse("https://x/markets", 2.0, "[1, 2]"))

    def test_malformed_lines_name_the_line(self):
        shape = "expected URL -> TS: BODY, URL <-> TS, URL <- TS: MESSAGE, TS: MESSAGE or configuration: JSON"
        timestamp = "expected a line with a Unix timestamp in seconds"
        cases = {
            "garbage": shape,
            "https://x -> 1.5 {}": shape,
            "wss://x <- 1.5": shape,
            "wss://x => 1.5: {}": shape,
            " 1.5: {}": shape,
            "abc: {}": timestamp,
            "wss://x <-> nan": timestamp,
            "wss://x <-> 1e9": timestamp,
        }
        for line, expected in cases.items():
            with self.subTest(line=line), self.assertRaises(InvalidParameter) as caught:
                list(parse_capture(["1.0: {}\n", line + "\n"], "test.0"))
            self.assertEqual(str(caught.exception), f"line 2 of test.0: {expected}, got {line!r}")


class CompressedAndCutShortTest(unittest.TestCase):
    """Recordings are gzip by default, and a recorder killed mid-write leaves a file cut short: the
    reader takes both, up to the last complete line."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)
        self.plain = CAPTURES / "BITFINEX.ws.11.0"
        self.records = list(read_capture(self.plain))

    def test_a_gzip_file_reads_as_the_same_records_whatever_its_name(self):
        for name in ("BITFINEX.ws.11.0.gz", "BITFINEX.ws.11.0"):
            with self.subTest(name=name):
                path = self.folder / name
                path.write_bytes(gzip.compress(self.plain.read_bytes()))
                self.assertEqual(list(read_capture(path)), self.records)

    def test_a_gzip_stream_cut_anywhere_reads_up_to_its_last_complete_line(self):
        lines = self.plain.read_bytes().splitlines(keepends=True)
        half = len(lines) // 2
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip header and trailer, as GzipFile writes
        flushed = compressor.compress(b"".join(lines[:half])) + compressor.flush(zlib.Z_SYNC_FLUSH)
        rest = compressor.compress(b"".join(lines[half:])) + compressor.flush(zlib.Z_FINISH)
        whole = flushed + rest
        path = self.folder / "BITFINEX.ws.11.0.gz"
        for cut in (len(flushed), len(flushed) + 1, len(flushed) + len(rest) // 2, len(whole) - 4, len(whole) - 1):
            with self.subTest(cut=cut):
                path.write_bytes(whole[:cut])
                with self.assertLogs("exchange_wrapper.replay.capture", "WARNING") as logs:
                    records = list(read_capture(path))
                self.assertGreaterEqual(len(records), half)  # everything flushed was read
                if cut < len(whole) - 8:  # cut in the compressed lines, not in the 8-byte trailer
                    self.assertLess(len(records), len(self.records))
                self.assertEqual(records, self.records[: len(records)])  # no line read in part
                self.assertIn("cut short", logs.output[0])
        path.write_bytes(whole)
        self.assertEqual(list(read_capture(path)), self.records)

    def test_an_unterminated_last_line_is_skipped(self):
        text = self.plain.read_text()
        last = text.rstrip("\n").rpartition("\n")[2]
        path = self.folder / "BITFINEX.ws.11.0"
        path.write_text(text + last[:20], encoding="utf-8")
        with self.assertLogs("exchange_wrapper.replay.capture", "WARNING") as logs:
            self.assertEqual(list(read_capture(path)), self.records)
        self.assertIn("incomplete line", logs.output[0])

    def test_corrupt_compressed_data_is_named(self):
        data = bytearray(gzip.compress(self.plain.read_bytes()))
        data[40:60] = bytes(20)
        path = self.folder / "BITFINEX.ws.11.0.gz"
        path.write_bytes(bytes(data))
        with self.assertRaises(InvalidParameter) as raised:
            list(read_capture(path))
        self.assertEqual(raised.exception.field, f"capture file {path}")
        self.assertEqual(raised.exception.expected, "a readable gzip stream")


if __name__ == "__main__":
    unittest.main()
