"""Book integrity on real traffic: Binance's sequenced diffs over a REST snapshot, Coinbase's
unsequenced level2, Kraken's published checksum; each compared with a plain dict model."""

import json
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.core.book import BookSide, BookState, OrderBook
from exchange_wrapper.core.checksums import kraken_checksum
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.integrity import BUFFER_LIMIT, BookKeeper, Stale, snapshot_as_delta
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Problem
from exchange_wrapper.core.matching import MatchingEngine
from exchange_wrapper.core.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.binance import public as binance
from exchange_wrapper.exchanges.coinbase import public as coinbase
from exchange_wrapper.replay.capture import WsReceived, find_response, read_capture

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
BID, ASK = BookSide.BID, BookSide.ASK
D = Decimal
NKN = Pair("NKN", "USDT")


def levels(raw):
    return [(D(price), D(size)) for price, size in raw]


def binance_nkn():
    """(REST snapshot, [(ts, diff event)] of NKNUSDT) from the real Binance captures."""
    snapshot = find_response(CAPTURES / "BINANCE.http.0.0", "https://api.binance.com/api/v3/depth?symbol=NKNUSDT")
    diffs = [
        (r.ts, json.loads(r.message)["data"])
        for r in read_capture(CAPTURES / "BINANCE.ws.1.0")
        if isinstance(r, WsReceived) and '"nknusdt@depth@100ms"' in r.message
    ]
    return snapshot, diffs


def binance_delta(event):
    changes = [(BID, D(p), D(s)) for p, s in event["b"]] + [(ASK, D(p), D(s)) for p, s in event["a"]]
    return BookDelta(NKN, changes, event["U"], event["u"])


def model_levels(model, side):
    return sorted(model[side].items(), reverse=side is BID)


class SequencedTest(unittest.TestCase):
    """Binance: diffs buffered while the REST snapshot is fetched, then joined by update id."""

    def setUp(self):
        self.snapshot, self.diffs = binance_nkn()
        body = json.loads(self.snapshot.body)
        self.snap = BookSnapshot(NKN, levels(body["bids"]), levels(body["asks"]), body["lastUpdateId"])
        self.keeper = BookKeeper(OrderBook("binance", "NKN_USDT"), buffer_deltas=True)

    def model(self, diffs):
        """Binance's documented rule, on dicts: drop u <= lastUpdateId, then apply in order."""
        body = json.loads(self.snapshot.body)
        model = {BID: dict(levels(body["bids"])), ASK: dict(levels(body["asks"]))}
        for event in diffs:
            if event["u"] <= body["lastUpdateId"]:
                continue
            for side, key in ((BID, "b"), (ASK, "a")):
                for price, size in levels(event[key]):
                    if size:
                        model[side][price] = size
                    else:
                        model[side].pop(price, None)
        return model

    def test_diffs_before_the_snapshot_are_kept_and_joined_by_update_id(self):
        before = [e for ts, e in self.diffs if ts < self.snapshot.ts]
        after = [e for ts, e in self.diffs if ts >= self.snapshot.ts]
        self.assertTrue(before and after)
        self.assertEqual(before[0]["u"], 499869752)  # already in the snapshot (lastUpdateId 499869752)
        for event in before:
            self.assertEqual(self.keeper.delta(binance_delta(event), 0.0), ([], None))
        self.assertEqual(len(self.keeper.buffer), len(before))
        self.assertEqual(self.keeper.snapshot(self.snap, 1.0), ([], None))
        for event in after:
            self.assertEqual(self.keeper.delta(binance_delta(event), 2.0), ([], None))
        book, model = self.keeper.book, self.model(before + after)
        self.assertIs(book.state, BookState.LIVE)
        self.assertEqual(book.sequence, after[-1]["u"])
        for side in (BID, ASK):
            self.assertEqual(book.ladder(side).top(len(model[side]) + 1), model_levels(model, side))

    def test_a_missing_diff_is_a_gap_and_the_book_goes_stale_until_a_new_snapshot(self):
        self.keeper.snapshot(self.snap, 1.0)
        events = [e for _, e in self.diffs if e["u"] > self.snap.sequence]
        self.keeper.delta(binance_delta(events[0]), 2.0)
        _, stale = self.keeper.delta(binance_delta(events[2]), 2.0)  # events[1] lost
        self.assertEqual(
            stale, Stale(Problem.SEQUENCE_GAP, f"update {events[2]['U']} does not follow {events[0]['u']}")
        )
        self.assertEqual(self.keeper.book.state, BookState.STALE)
        self.assertEqual(self.keeper.book.stale_reason, f"sequence_gap: {stale.detail}")
        self.assertEqual(self.keeper.delta(binance_delta(events[3]), 2.0), ([], None))  # dropped: once only
        self.keeper.resyncing()
        self.assertEqual(self.keeper.book.state, BookState.RESYNCING)

    def test_old_diffs_are_dropped(self):
        self.keeper.snapshot(self.snap, 1.0)
        first = self.diffs[0][1]
        self.assertLessEqual(first["u"], self.snap.sequence)
        best = self.keeper.book.bids.best
        self.assertEqual(self.keeper.delta(binance_delta(first), 2.0), ([], None))
        self.assertEqual(self.keeper.book.bids.best, best)

    def test_the_buffer_is_bounded(self):
        event = self.diffs[0][1]
        for _ in range(BUFFER_LIMIT + 5):
            self.keeper.delta(binance_delta(event), 0.0)
        self.assertEqual(len(self.keeper.buffer), BUFFER_LIMIT)


class UnsequencedTest(unittest.TestCase):
    """Coinbase level2: nothing to check but the book itself."""

    def setUp(self):
        message = next(
            r.message
            for r in read_capture(CAPTURES / "COINBASE.ws.28.0")
            if isinstance(r, WsReceived) and '"snapshot"' in r.message and '"BAND-GBP"' in r.message
        )
        raw = json.loads(message)
        self.snap = BookSnapshot(Pair("BAND", "GBP"), levels(raw["bids"]), levels(raw["asks"]))
        self.keeper = BookKeeper(OrderBook("coinbase", "BAND_GBP"))
        self.keeper.snapshot(self.snap, 1.0)

    def test_a_crossed_book_goes_stale_once(self):
        best_ask = self.snap.asks[0][0]
        self.assertEqual(best_ask, D("14.8024"))
        _, stale = self.keeper.delta(BookDelta(self.snap.pair, [(BID, best_ask, D("1"))]), 2.0)
        self.assertEqual(stale, Stale(Problem.CROSSED, "best bid 14.8024 >= best ask 14.8024"))
        self.assertEqual(self.keeper.delta(BookDelta(self.snap.pair, [(ASK, D("20"), D("1"))]), 3.0), ([], None))
        self.assertIsNone(self.keeper.fail(Problem.SILENT, "no message in 10 s"))  # already stale

    def test_a_new_snapshot_leaves_nothing_from_before(self):
        self.keeper.delta(BookDelta(self.snap.pair, [(BID, D("1.2345"), D("7"))]), 2.0)
        self.keeper.fail(Problem.DISCONNECTED, "connection closed")
        self.keeper.resyncing()
        self.keeper.snapshot(self.snap, 3.0)
        self.assertEqual(self.keeper.book.bids.size_at(D("1.2345")), 0)
        self.assertEqual(len(self.keeper.book.bids), len(self.snap.bids))
        self.assertTrue(self.keeper.book.live)

    def test_the_book_keeps_the_exchange_time_of_its_state_where_the_exchange_states_one(self):
        book = self.keeper.book
        self.assertIsNone(book.exchange_time)  # Coinbase's snapshot carries no time
        self.keeper.delta(BookDelta(self.snap.pair, [(BID, D("1.2345"), D("7"))], time=1618677817.075687), 2.0)
        self.assertEqual((book.updated_at, book.exchange_time), (2.0, 1618677817.075687))
        self.keeper.delta(BookDelta(self.snap.pair, [(BID, D("1.2345"), D("0"))]), 2.5)  # an unstamped update
        self.assertEqual((book.updated_at, book.exchange_time), (2.5, None))
        self.keeper.snapshot(self.snap._replace(time=1618677900.0), 3.0)
        self.assertEqual(book.exchange_time, 1618677900.0)

    def test_a_malformed_change_makes_the_book_stale(self):
        _, stale = self.keeper.delta(BookDelta(self.snap.pair, [(BID, D("14"), D("-1"))]), 2.0)
        self.assertEqual(stale.problem, Problem.MALFORMED)
        self.assertEqual(stale.detail, "size: expected a decimal of 0 or more, got Decimal('-1')")

    def test_changes_go_through_the_matching_engine_when_one_is_attached(self):
        markets = coinbase.parse_markets(
            find_response(CAPTURES / "COINBASE.0", "https://api.pro.coinbase.com/products").body
        )
        market = next(m for m in markets if m.symbol == "BAND-GBP")
        engine = MatchingEngine(market, self.keeper.book)
        self.keeper.attach(engine)
        order = Order(
            id="o1",
            client_order_id="c1",
            wallet_set_id=1,
            exchange="coinbase",
            pair="BAND_GBP",
            side=Side.BUY,
            type=OrderType.LIMIT,
            size=D("2"),
            price=D("14.7700"),
        )
        engine.submit(order, 2.0)
        # the asks come down to our bid: the engine fills the resting order as the book changes
        # (the exchange's time of that state, as Coinbase stamps an l2update, travels to the fill's cause)
        delta = BookDelta(self.snap.pair, [(ASK, D("14.7700"), D("5"))], time=1618677817.075687)
        events, stale = self.keeper.delta(delta, 3.0)
        self.assertIsNone(stale)
        self.assertEqual([(e.order_id, e.status) for e in events], [("o1", OrderStatus.FILLED)])
        self.assertEqual((events[0].fill.price, events[0].fill.size), (D("14.7700"), D("2")))
        cause = events[0].fill.cause
        self.assertEqual((cause["book_time"], cause["book_exchange_time"]), (3.0, 1618677817.075687))
        with self.assertRaises(InvalidParameter):  # an engine on another book
            self.keeper.attach(MatchingEngine(market, OrderBook("coinbase", "BAND_GBP")))


class PolledTest(unittest.TestCase):
    """A polled book (the ccxt entry): each fetched snapshot goes in as the changes from the book held,
    so that the matching engine keeps consumed liquidity by the streamed rule."""

    def setUp(self):
        snapshot, self.diffs = binance_nkn()
        body = json.loads(snapshot.body)
        self.snap = BookSnapshot(NKN, levels(body["bids"]), levels(body["asks"]), body["lastUpdateId"])
        self.keeper = BookKeeper(OrderBook("ccxt", "NKN_USDT"))
        self.keeper.snapshot(self.snap, 1.0)

    def polled(self, bids, asks, at):
        """The keeper after one poll that fetched ``bids`` and ``asks``."""
        delta = snapshot_as_delta(self.keeper.book, BookSnapshot(NKN, bids, asks))
        return self.keeper.delta(delta, at)

    def test_each_poll_makes_the_book_the_fetched_one(self):
        model = {BID: dict(self.snap.bids), ASK: dict(self.snap.asks)}
        for at, diff in self.diffs[:40]:  # the exchange's book moves on between two polls
            for side, key in ((BID, "b"), (ASK, "a")):
                for price, size in levels(diff[key]):
                    model[side].pop(price, None) if size == 0 else model[side].__setitem__(price, size)
            events, stale = self.polled(model_levels(model, BID), model_levels(model, ASK), at)
            self.assertEqual((events, stale), ([], None))
            self.assertEqual(list(self.keeper.book.bids), model_levels(model, BID))
            self.assertEqual(list(self.keeper.book.asks), model_levels(model, ASK))
        unchanged = snapshot_as_delta(self.keeper.book, BookSnapshot(NKN, list(self.keeper.book.bids), []))
        self.assertEqual({side for side, _, size in unchanged.changes if size == 0}, {ASK})
        self.assertEqual(len(unchanged.changes), len(self.keeper.book.asks))  # every ask removed, no bid touched
        self.polled(list(self.keeper.book.bids), list(self.keeper.book.asks), 99.0)
        self.assertEqual(self.keeper.book.updated_at, 99.0)  # a poll that changed nothing: the book's age anew

    def test_consumed_liquidity_stays_consumed_until_the_level_changes(self):
        market = next(m for m in binance.parse_markets(binance_exchange_info()) if m.symbol == "NKNUSDT")
        engine = MatchingEngine(market, self.keeper.book)
        self.keeper.attach(engine)
        (price, shown) = self.snap.asks[0]
        ids = iter(range(1, 10))

        def buy(size, at):
            number = next(ids)
            order = Order(
                id=f"o{number}",
                client_order_id=f"c{number}",
                wallet_set_id=1,
                exchange="ccxt",
                pair="NKN_USDT",
                side=Side.BUY,
                type=OrderType.LIMIT,
                size=size,
                price=price,
                time_in_force=TimeInForce.IOC,
            )
            return sum((e.fill.size for e in engine.submit(order, at) if e.fill is not None), D(0))

        asks = list(self.snap.asks)
        self.assertEqual(buy(shown - 100, 2.0), shown - 100)
        self.polled(list(self.snap.bids), asks, 3.0)  # the same level fetched again: still consumed
        # the level loses 60 to others: as a streamed decrease, it comes off what was consumed (a
        # snapshot applied as one would keep shown - 100 consumed of shown - 60, leaving 40)
        self.polled(list(self.snap.bids), [(price, shown - 60)] + asks[1:], 4.0)
        self.assertEqual(buy(D(1000), 4.5), 100)
        self.polled(list(self.snap.bids), asks[1:], 5.0)  # the level gone, then back: nothing consumed
        self.polled(list(self.snap.bids), asks, 6.0)
        self.assertEqual(buy(shown + 1000, 6.5), shown)


def binance_exchange_info():
    return find_response(CAPTURES / "BINANCE.0", "https://api.binance.com/api/v3/exchangeInfo").body


class ChecksumTest(unittest.TestCase):
    """Kraken's published example (PROTOCOLS.md): checksum 974947235 over a depth-10 book."""

    def setUp(self):
        size = D("0.00000500")
        self.asks = [(D("0.05005") + D("0.00005") * i, size) for i in range(10)]
        self.bids = [
            (D(p), size)
            for p in (
                "0.05000",
                "0.04995",
                "0.04990",
                "0.04980",
                "0.04975",
                "0.04970",
                "0.04965",
                "0.04960",
                "0.04955",
                "0.04950",
            )
        ]
        self.keeper = BookKeeper(
            OrderBook("kraken", "XBT_USD"),
            depth=10,
            checksum=lambda book: kraken_checksum(book.bids, book.asks, price_decimals=5, size_decimals=8),
        )
        self.keeper.snapshot(BookSnapshot(Pair("BTC", "USD"), self.bids, self.asks), 1.0)

    def test_a_matching_checksum_is_counted_and_a_wrong_one_makes_the_book_stale(self):
        self.assertEqual(self.keeper.delta(BookDelta(Pair("BTC", "USD"), [], checksum=974947235), 2.0), ([], None))
        self.assertEqual(self.keeper.checksums_verified, 1)
        _, stale = self.keeper.delta(BookDelta(Pair("BTC", "USD"), [], checksum=974947236), 3.0)
        self.assertEqual(stale, Stale(Problem.CHECKSUM, "exchange checksum 974947236, book's 974947235"))
        self.assertEqual((self.keeper.checksums_verified, self.keeper.checksums_failed), (1, 1))

    def test_the_book_is_trimmed_to_the_depth_before_the_checksum(self):
        # a better bid pushes 0.04950 out of the top 10; Kraken sends no removal for it
        new_bid = (D("0.05001"), D("0.00000500"))
        expected = kraken_checksum([new_bid] + self.bids[:9], self.asks, price_decimals=5, size_decimals=8)
        self.assertEqual(
            self.keeper.delta(BookDelta(Pair("BTC", "USD"), [(BID, *new_bid)], checksum=expected), 2.0), ([], None)
        )
        self.assertEqual(len(self.keeper.book.bids), 10)
        self.assertEqual(self.keeper.book.bids.size_at(D("0.04950")), 0)


if __name__ == "__main__":
    unittest.main()
