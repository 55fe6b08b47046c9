"""A replay keeps each Kraken book to the depth its recording subscribed with, as Kraken's guide asks
of a subscriber ("truncate to your subscribed depth after each update"): levels pushed out of the
depth are never removed by the exchange, and levels that come back into it are sent again.

No recording of Kraken at depth 1000 exists (tests/fixtures/README.md: no Kraken recording exists at
all), so the capture here is made up by tests/fixtures/kraken/make_capture.py's session, in Kraken's
websocket v2 format, subscribed at depth 1000: it is written to a temporary folder, never kept."""

import json
import random
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.kraken.public import KrakenAdapter, parse_markets
from exchange_wrapper.replay.source import Replay
from tests.fixtures.kraken.make_capture import HERE, Session
from tests.simulator.kraken import ASK, BID, ack

ASSET_PAIRS = (HERE / "AssetPairs.json").read_text(encoding="utf-8")
DEPTH = 1000
UPDATES = 250


def made_up_session():
    """The session of make_capture.generate_session at depth 1000 (made up: see the module's doc)."""
    session = Session(json.loads(ASSET_PAIRS)["result"], random.Random(2026), 1_790_337_630_000_000, DEPTH)
    session.subscribe()
    published = 0
    while published < UPDATES:
        published += session.step()
    return session


class KrakenDepthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.session = made_up_session()
        cls.folder = tempfile.TemporaryDirectory()
        cls.files = [Path(cls.folder.name, "KRAKEN.0"), Path(cls.folder.name, "KRAKEN.ws.0.0")]
        for path, lines in zip(cls.files, (cls.session.rest(ASSET_PAIRS), cls.session.ws), strict=True):
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def test_the_books_keep_the_depth_the_recording_subscribed_with(self):
        text = self.files[1].read_text(encoding="utf-8")
        self.assertIn('"depth":1000', text)  # the subscription and its acknowledgements
        replay = Replay("kraken", self.files)
        report = replay.run()
        book_messages = text.count('{"channel":"book","type"')  # snapshots and updates
        self.assertEqual(
            (report["corrupt"], report["checksums"], report["resyncs"]),
            ([], {"verified": book_messages, "failed": 0}, 0),
        )
        for symbol, subscriber in self.session.subscribers.items():
            with self.subTest(symbol=symbol):
                book = replay.hub.book("kraken", replay.adapter.pair_of[symbol])
                for side, ladder in ((BID, book.bids), (ASK, book.asks)):
                    levels = {Decimal(price): Decimal(qty) for price, qty in subscriber.levels(side)}
                    self.assertEqual(len(levels), DEPTH)
                    self.assertEqual(dict(ladder), levels)  # not cut at 100, nor holding levels pushed out

    def test_the_depth_granted_is_read_off_a_book_acknowledgement_only(self):
        adapter = KrakenAdapter(SymbolTable("kraken", parse_markets(ASSET_PAIRS)), ())
        btc = adapter.pair_of["BTC/USD"]
        now = "2026-09-25T12:00:30.075243Z"
        book = {"channel": "book", "depth": 1000, "snapshot": True, "symbol": "BTC/USD"}
        refused = json.dumps(
            {"error": "Currency pair not supported", "method": "subscribe", "success": False, "symbol": "BTC/USD"}
        )
        for message, granted in (
            (ack("subscribe", book, now), {btc: 1000}),
            (ack("subscribe", {**book, "depth": 10}, now), {btc: 10}),
            (ack("subscribe", {**book, "symbol": "NOPE/USD"}, now), {}),
            (ack("subscribe", {"channel": "trade", "snapshot": False, "symbol": "BTC/USD"}, now), {}),
            (ack("unsubscribe", book, now), {}),
            (refused, {}),
            ('{"channel":"heartbeat"}', {}),
        ):
            with self.subTest(message=message):
                self.assertEqual(adapter.granted_depths(message), granted)


if __name__ == "__main__":
    unittest.main()
