"""Replaying the real Coinbase capture through the adapter and hub, checked against the capture
read independently (plain json, a dict per side)."""

import asyncio
import json
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.core.errors import NotFound
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

    def test_play_keeps_the_recorded_pace_scaled(self):
        replay = Replay("coinbase", FILES)
        now, slept = [0.0], []

        async def sleep(seconds):
            slept.append(seconds)
            now[0] += seconds

        report = asyncio.run(replay.play(speed=4.0, clock=lambda: now[0], sleep=sleep))
        records = list(replay.records())
        self.assertAlmostEqual(sum(slept), (records[-1].ts - records[0].ts) / 4.0)
        self.assertEqual(report["corrupt"], [])
        self.assertEqual(report["messages"], independent_books()[1])

    def test_a_replay_follows_the_books_the_recording_holds_and_says_so_in_one_line(self):
        replay = Replay("coinbase", FILES)
        recorded = sorted(independent_books()[0])
        self.assertEqual(sorted(str(pair) for pair in replay.adapter.pairs), recorded)
        self.assertEqual(sorted(str(pair) for pair in replay.hub.exchange("coinbase").keepers), recorded)
        listed = json.loads((CAPTURES / "COINBASE.0").read_text().splitlines()[0].partition(": ")[2])
        self.assertEqual(len(replay.hub.exchange("coinbase").markets), len(listed))  # every market still known
        seen = []

        async def sleep(seconds):  # the status as a client would see it between records
            seen.append(
                (
                    replay.hub.status("coinbase", 0.0),
                    replay.ready.is_set(),
                    all(replay.hub.book("coinbase", pair).live for pair in replay.adapter.pairs),
                )
            )

        asyncio.run(replay.play(speed=4.0, clock=lambda: 0.0, sleep=sleep))
        line = (
            f"replaying COINBASE.0, COINBASE.ws.28.0 at 4x: {len(recorded)} books "
            f"({len(listed) - len(recorded)} other markets have none recorded)"
        )
        statuses = {status for status, _, _ in seen}
        self.assertEqual({status for status, _ in statuses}, {"degraded", "ready"})  # degraded until the snapshots
        self.assertTrue(all(len(reason) < 200 for _, reason in statuses), statuses)
        self.assertEqual([ready for _, ready, _ in seen], [live for _, _, live in seen])  # ready once all live
        self.assertIn((("ready", line), True, True), seen)

    def test_when_the_recording_ends_the_status_says_finished_and_no_book_is_live(self):
        replay = Replay("coinbase", FILES)

        async def sleep(seconds):
            pass

        report = asyncio.run(replay.play(speed=4.0, clock=lambda: 0.0, sleep=sleep))
        self.assertEqual(report["corrupt"], [])  # as the recording left them
        self.assertEqual(
            replay.hub.status("coinbase", 0.0),
            (
                "finished",
                "the replay of COINBASE.0, COINBASE.ws.28.0 has ended: its books are frozen, orders are refused",
            ),
        )
        self.assertTrue(replay.ready.is_set())
        self.assertEqual([pair for pair in replay.adapter.pairs if replay.hub.book("coinbase", pair).live], [])

    def test_without_the_metadata_the_replay_is_refused(self):
        with self.assertRaises(NotFound) as raised:
            Replay("coinbase", [CAPTURES / "COINBASE.ws.28.0"])
        self.assertIn("coinbase market metadata (GET /products) in", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
