"""The recorder's files, read back by the replay's own reader: the lines of each kind, one file per
connection, rotation by size and by age (an injected clock), gzip and plain, an existing file never
overwritten, and a recorder killed with SIGKILL mid-write leaving files read up to their last line."""

import gzip
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path

from exchange_wrapper.config import ExchangeSettings, RecordingSettings
from exchange_wrapper.history.recording import Recording, open_recording
from exchange_wrapper.replay.capture import Configuration, RestResponse, WsOpened, WsReceived, read_capture

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "tests" / "captures"
WS = "wss://ws-feed.exchange.coinbase.com"
PRODUCTS = "https://api.exchange.coinbase.com/products"
#: Coinbase's recorded messages, as the exchange sent them
MESSAGES = [r.message for r in read_capture(CAPTURES / "COINBASE.ws.28.0") if isinstance(r, WsReceived)][:300]
BODY = next(r.body for r in read_capture(CAPTURES / "COINBASE.0") if isinstance(r, RestResponse))


class Clock:
    def __init__(self, now: float = 1_765_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingCase(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)
        self.clock = Clock()

    def recording(self, **options) -> Recording:
        recording = Recording(self.folder, clock=self.clock, **options)
        self.addCleanup(recording.close)
        return recording

    def records(self, *names: str) -> list:
        return [record for name in names for record in read_capture(self.folder / name)]


class LinesTest(RecordingCase):
    def test_each_kind_of_line_reads_back_as_recorded_one_file_per_connection(self):
        recording = self.recording(compress=False)
        coinbase = recording.exchange(
            "coinbase", ExchangeSettings(pairs=["SKL_USD"], api_key="k3y", api_secret="s3cr3t")
        )
        coinbase.response(PRODUCTS, BODY)
        first = coinbase.connection(WS)
        first.sent('{"type":"subscribe"}')
        for message in MESSAGES[:3]:
            first.received(message)
        first.close()
        first.close()  # twice: nothing more
        second = coinbase.connection(WS)
        second.received(MESSAGES[3])
        summary = recording.close()
        self.assertEqual(summary.files, ["COINBASE.0", "COINBASE.ws.0.0", "COINBASE.ws.1.0"])
        self.assertEqual(sorted(os.listdir(self.folder)), summary.files)
        self.assertEqual((summary.lines, summary.dropped), (9, 0))
        self.assertEqual(summary.bytes, sum(os.path.getsize(self.folder / name) for name in summary.files))
        configuration, response = self.records("COINBASE.0")
        self.assertEqual(
            configuration,
            Configuration('{"exchange":"coinbase","pairs":["SKL_USD"],"rest_url":"","ws_url":""}'),  # no key
        )
        self.assertEqual((response.url, response.body), (PRODUCTS, BODY))
        opened, sent, *received = self.records("COINBASE.ws.0.0")
        self.assertEqual(opened.url, WS)
        self.assertEqual((sent.url, sent.message), (WS, '{"type":"subscribe"}'))
        self.assertEqual([r.message for r in received], MESSAGES[:3])
        self.assertEqual([type(r) for r in self.records("COINBASE.ws.1.0")], [WsOpened, WsReceived])

    def test_times_are_the_clock_in_microseconds_strictly_increasing_across_files(self):
        recording = self.recording(compress=False)
        coinbase = recording.exchange("coinbase")
        connection = coinbase.connection(WS)  # the clock stands still: each line a microsecond later
        connection.received(MESSAGES[0])
        coinbase.response(PRODUCTS, BODY)
        self.clock.now = 1_765_000_000.25
        connection.received(MESSAGES[1])
        self.clock.now = 1_765_000_000.1  # the clock steps back: the lines do not
        connection.received(MESSAGES[2])
        recording.close()
        times = sorted(
            (r.ts, type(r).__name__) for r in self.records("COINBASE.0", "COINBASE.ws.0.0") if hasattr(r, "ts")
        )
        self.assertEqual(
            times,
            [
                (1_765_000_000.0, "WsOpened"),
                (1_765_000_000.000001, "WsReceived"),
                (1_765_000_000.000002, "RestResponse"),
                (1_765_000_000.25, "WsReceived"),
                (1_765_000_000.250001, "WsReceived"),
            ],
        )
        raw = (self.folder / "COINBASE.ws.0.0").read_text().splitlines()
        self.assertEqual(raw[0], f"{WS} <-> 1765000000.000000")
        self.assertTrue(raw[1].startswith("1765000000.000001: {"))

    def test_a_message_with_line_breaks_stays_one_line(self):
        recording = self.recording(compress=False)
        pretty = '[ {\n  "id" : "BTC-USD",\r\n  "status" : "online"\n} ]'  # made up: a pretty-printed answer
        recording.exchange("coinbase").response(PRODUCTS, pretty)
        recording.close()
        [response] = self.records("COINBASE.0")
        self.assertEqual(response.body, pretty.replace("\r", " ").replace("\n", " "))

    def test_gzip_and_plain_hold_the_same_records(self):
        for compress, names in ((True, ["COINBASE.ws.0.0.gz"]), (False, ["COINBASE.ws.0.0"])):
            with self.subTest(compress=compress):
                folder = self.folder / str(compress)
                recording = Recording(folder, compress=compress, clock=self.clock)
                connection = recording.exchange("coinbase").connection(WS)
                for message in MESSAGES:
                    connection.received(message)
                self.assertEqual(recording.close().files, names)
                data = (folder / names[0]).read_bytes()
                self.assertEqual(data[:2] == b"\x1f\x8b", compress)
                if compress:
                    self.assertLess(len(data), len(gzip.decompress(data)) / 3)
                records = list(read_capture(folder / names[0]))
                self.assertEqual([r.message for r in records[1:]], MESSAGES)

    def test_an_existing_file_is_never_overwritten(self):
        (self.folder / "COINBASE.ws.0.0").write_text("kept\n")
        recording = self.recording(compress=False)
        coinbase = recording.exchange("coinbase")
        with self.assertLogs("exchange_wrapper.history.recording", "ERROR") as logs:
            connection = coinbase.connection(WS)
            connection.received(MESSAGES[0])
            coinbase.response(PRODUCTS, BODY)  # another connection's file goes on
            summary = recording.close()
        self.assertIn("COINBASE.ws.0 failed", logs.output[0])
        self.assertEqual((self.folder / "COINBASE.ws.0.0").read_text(), "kept\n")
        self.assertEqual((summary.files, summary.lines, summary.dropped), (["COINBASE.0"], 1, 2))

    def test_each_run_gets_its_own_folder_named_by_its_start(self):
        settings = RecordingSettings(directory=str(self.folder), gzip=False, rotate_megabytes=1, rotate_minutes=2)
        first, second = open_recording(settings, clock=self.clock), open_recording(settings, clock=self.clock)
        self.addCleanup(first.close)
        self.addCleanup(second.close)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock.now))
        self.assertEqual(
            (first.directory, second.directory), (str(self.folder / stamp), str(self.folder / f"{stamp}-2"))
        )
        self.assertEqual((first.rotate_bytes, first.rotate_us, first.compress), (2**20, 120_000_000, False))


class RotationTest(RecordingCase):
    def test_a_file_past_its_size_continues_in_the_next_one(self):
        recording = self.recording(compress=True, rotate_bytes=20_000)
        connection = recording.exchange("coinbase").connection(WS)
        for message in MESSAGES:
            connection.received(message)
        summary = recording.close()
        names = [f"COINBASE.ws.0.{i}.gz" for i in range(len(summary.files))]
        self.assertEqual(summary.files, names)
        self.assertGreater(len(names), 3)
        texts = [gzip.decompress((self.folder / name).read_bytes()) for name in names]
        for text, following in zip(texts, texts[1:] + [b""]):
            lines = text.splitlines(keepends=True)
            self.assertTrue(len(text) <= 20_000 or len(lines) == 1)  # a longer line has a file of its own
            if following:  # the next line did not fit
                self.assertGreater(len(text) + len(following.splitlines(keepends=True)[0]), 20_000)
        records = self.records(*names)
        self.assertIsInstance(records[0], WsOpened)
        self.assertEqual([r.message for r in records[1:]], MESSAGES)  # in order, none lost or repeated

    def test_a_line_longer_than_the_limit_gets_a_file_of_its_own(self):
        recording = self.recording(compress=False, rotate_bytes=100)
        coinbase = recording.exchange("coinbase")
        coinbase.response(PRODUCTS, BODY)
        coinbase.response(PRODUCTS, BODY)
        self.assertEqual(recording.close().files, ["COINBASE.0", "COINBASE.1"])
        self.assertEqual([r.body for r in self.records("COINBASE.0", "COINBASE.1")], [BODY, BODY])

    def test_a_file_past_its_age_continues_in_the_next_one(self):
        recording = self.recording(compress=False, rotate_seconds=60)
        connection = recording.exchange("coinbase").connection(WS)  # the file's age counts from here
        for i, message in enumerate(MESSAGES[:7]):
            self.clock.now = 1_765_000_000.0 + 25 * i  # (opened) 0, 25, 50 | 75, 100, 125 | 150
            connection.received(message)
        summary = recording.close()
        self.assertEqual(summary.files, ["COINBASE.ws.0.0", "COINBASE.ws.0.1", "COINBASE.ws.0.2"])
        counts = [len(self.records(name)) for name in summary.files]
        self.assertEqual(counts, [4, 3, 1])
        times = [r.ts for r in self.records("COINBASE.ws.0.1")]
        self.assertEqual(times, [1_765_000_075.0, 1_765_000_100.0, 1_765_000_125.0])


#: A recorder that writes messages for ever: the parent kills it with SIGKILL mid-write.
WRITER = textwrap.dedent(
    """
    import sys
    import time
    from exchange_wrapper.history.recording import Recording

    recording = Recording(sys.argv[1], compress=sys.argv[2] == "gzip", rotate_bytes=2**40)
    connection = recording.exchange("coinbase").connection("wss://ws-feed.exchange.coinbase.com")
    message = '{"type":"l2update","product_id":"SKL-USD","sequence":%d,"changes":[["buy","0.7901","%s"]]}'
    print("writing", flush=True)
    i = 0
    while True:
        connection.received(message % (i, "1" * (i % 500)))
        i += 1
        if i % 50 == 0:
            time.sleep(0.001)  # at most 50,000 lines a second: the writer keeps up, nothing is dropped
    """
)


class KilledTest(unittest.TestCase):
    def test_a_recorder_killed_mid_write_leaves_files_read_up_to_their_last_complete_line(self):
        for kind in ("gzip", "plain"):
            with self.subTest(kind=kind), tempfile.TemporaryDirectory() as folder:
                writer = subprocess.Popen(
                    [sys.executable, "-c", WRITER, folder, kind], cwd=ROOT, stdout=subprocess.PIPE, text=True
                )
                self.assertEqual(writer.stdout.readline(), "writing\n")
                name = Path(folder, "COINBASE.ws.0.0" + (".gz" if kind == "gzip" else ""))
                deadline = time.monotonic() + 10
                while (not name.exists() or name.stat().st_size < 500_000) and time.monotonic() < deadline:
                    time.sleep(0.05)
                writer.send_signal(signal.SIGKILL)
                writer.wait()
                writer.stdout.close()
                self.assertEqual(writer.returncode, -signal.SIGKILL)
                if kind == "gzip":
                    with self.assertLogs("exchange_wrapper.replay.capture", "WARNING"):  # no end marker: said so
                        opened, *received = read_capture(name)
                else:  # a plain file may end at a line's end or in a line
                    opened, *received = read_capture(name)
                self.assertIsInstance(opened, WsOpened)
                self.assertGreater(len(received), 1000)
                sequences = [int(r.message.split('"sequence":')[1].split(",")[0]) for r in received]
                self.assertEqual(sequences, list(range(len(received))))  # a prefix: nothing lost before the cut
                self.assertTrue(all(r.message.endswith('"]]}') for r in received))  # no line read in part


if __name__ == "__main__":
    unittest.main()
