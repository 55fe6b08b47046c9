"""Replaying the real Coinbase capture through the adapter and hub, checked against the capture
read independently (plain json, a dict per side)."""

import json
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.core.errors import NotFound
from exchange_wrapper.core.matching import MatchingEngine
from exchange_wrapper.core.orders import Order, OrderType, Side
from exchange_wrapper.replay.source import Replay

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
FILES = [CAPTURES / "COINBASE.0", CAPTURES / "COINBASE.ws.28.0"]


def independent_books():
    books, count, trades = {}, 0, 0
    for line in (CAPTURES / "COINBASE.ws.28.0").read_text().splitlines():
        if not line[:1].isdigit():
            continue
        count += 1
        msg = json.loads(line.partition(": ")[2])
        pair = msg.get("product_id", "").replace("-", "_")
        if msg["type"] == "snapshot":
            books[pair] = [{Decimal(p): Decimal(s) for p, s in msg[side]} for side in ("bids", "asks")]
        elif msg["type"] == "l2update":
            for side, price, size in msg["changes"]:
                levels = books[pair][side == "sell"]
                if Decimal(size):
                    levels[Decimal(price)] = Decimal(size)
                else:
                    levels.pop(Decimal(price))
        trades += msg["type"] == "match"
    return books, count, trades


class ReplayTest(unittest.TestCase):
    def test_the_coinbase_capture_replays_to_the_books_it_describes(self):
        replay = Replay("coinbase", FILES)
        report = replay.run()
        books, count, trades = independent_books()
        self.assertEqual((report["messages"], report["trades"], report["corrupt"]), (count, trades, []))
        self.assertEqual(sorted(report["books"]), sorted(books))
        for pair, (bids, asks) in books.items():
            with self.subTest(pair=pair):
                book = replay.hub.book("coinbase", replay.adapter.markets.market(pair).pair)
                self.assertEqual((dict(book.bids), dict(book.asks)), (bids, asks))
                self.assertEqual(
                    report["books"][pair],
                    {
                        "bid": str(max(bids)).rstrip("0").rstrip("."),
                        "ask": str(min(asks)).rstrip("0").rstrip("."),
                        "bid_levels": len(bids),
                        "ask_levels": len(asks),
                        "state": "live",
                    },
                )
        self.assertEqual(
            (report["checksums"], report["sequence_gaps"], report["resyncs"], report["crossed_books"]),
            ({"verified": 0, "failed": 0}, 0, 0, 0),
        )

    def test_a_replay_follows_the_books_the_recording_holds(self):
        replay = Replay("coinbase", FILES)
        recorded = sorted(independent_books()[0])
        self.assertEqual(sorted(str(pair) for pair in replay.adapter.pairs), recorded)
        self.assertEqual(sorted(str(pair) for pair in replay.hub.exchange("coinbase").keepers), recorded)
        listed = json.loads((CAPTURES / "COINBASE.0").read_text().splitlines()[0].partition(": ")[2])
        self.assertEqual(len(replay.hub.exchange("coinbase").markets), len(listed))  # every market still known

    def test_the_span_is_the_first_and_last_record_but_the_metadata(self):
        times = [
            float(line.partition(": ")[0])
            for line in (CAPTURES / "COINBASE.ws.28.0").read_text().splitlines()
            if line[:1].isdigit()
        ]
        opened = float((CAPTURES / "COINBASE.ws.28.0").read_text().splitlines()[0].rpartition(" ")[2])
        self.assertEqual(Replay("coinbase", FILES).span(), (opened, times[-1]))

    def test_without_the_metadata_the_replay_is_refused(self):
        with self.assertRaises(NotFound) as raised:
            Replay("coinbase", [CAPTURES / "COINBASE.ws.28.0"])
        self.assertIn("coinbase market metadata (GET /products) in", str(raised.exception))


class AuditableFillTest(unittest.TestCase):
    def test_a_fill_names_the_update_id_and_the_recorded_time_of_the_book_it_took(self):
        """Binance numbers its depth updates: a market buy on the replayed NKN/USDT book names the
        last update's ``u``, the recorded time of its message and the exchange's own time of that
        state (the message's event time ``E``), read from the capture itself."""
        replay = Replay("binance", [CAPTURES / "BINANCE.0", CAPTURES / "BINANCE.http.0.0", CAPTURES / "BINANCE.ws.1.0"])
        replay.run()
        last = None
        for line in (CAPTURES / "BINANCE.ws.1.0").read_text().splitlines():
            stamp, _, text = line.partition(": ")
            if line[:1].isdigit() and '"s":"NKNUSDT"' in text and '"depthUpdate"' in text:
                data = json.loads(text)["data"]
                last = (data["u"], float(stamp), data["E"] / 1000)
        pair = replay.adapter.pair_of["NKNUSDT"]
        book = replay.hub.book("binance", pair)
        engine = MatchingEngine(replay.hub.markets("binance")[pair], book)
        buy = Order("1", "c1", 1, "binance", str(pair), Side.BUY, OrderType.MARKET, size=Decimal(100))
        (fill,) = [event.fill for event in engine.submit(buy, last[1] + 1) if event.fill is not None]
        cause = fill.cause
        self.assertEqual((cause["book_sequence"], cause["book_time"], cause["book_exchange_time"]), last)
        self.assertEqual(fill.to_json()["cause"]["book_sequence"], last[0])


if __name__ == "__main__":
    unittest.main()
