"""The L2 book, driven by the real streams in tests/captures and checked against a plain
dict-of-Decimal model rebuilt independently from the same messages."""

import dataclasses
import itertools
import json
import random
import unittest
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_wrapper.core.book import BookSide, BookState, Ladder, OrderBook, SequenceCheck, Walk
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.replay.capture import RestResponse, WsReceived, read_capture

CAPTURES = Path(__file__).resolve().parents[1] / "captures"
BID, ASK = BookSide.BID, BookSide.ASK
D = Decimal


def received(name, **json_options):
    """(ts, message) for every message received in capture ``name``, numbers as Decimal."""
    for record in read_capture(CAPTURES / name):
        if isinstance(record, WsReceived) and record.message.strip():
            yield record.ts, json.loads(record.message, parse_float=Decimal, **json_options)


class Model:
    """The reference: one dict price -> size per side, sorted only when asked."""

    def __init__(self, bids=(), asks=()):
        self.sides = {BID: {}, ASK: {}}
        for side, levels in ((BID, bids), (ASK, asks)):
            for price, size in levels:
                self.apply(side, price, size)

    def apply(self, side, price, size):
        before = self.sides[side].pop(price, D(0))
        if size:
            self.sides[side][price] = size
        return before

    def levels(self, side):
        return sorted(self.sides[side].items(), reverse=side is BID)

    def best(self, side):
        prices = self.sides[side]
        if not prices:
            return None
        price = max(prices) if side is BID else min(prices)
        return price, prices[price]


class BookCase(unittest.TestCase):
    def assertSameBook(self, book, model):
        for side in (BID, ASK):
            expected = model.levels(side)
            ladder = book.ladder(side)
            self.assertEqual(len(ladder), len(expected))
            self.assertEqual(list(ladder), expected)  # heap walk
            self.assertEqual(ladder.top(len(expected) + 1), expected)  # full sort
            self.assertEqual(ladder.top(5), expected[:5])
            self.assertEqual(ladder.best, expected[0] if expected else None)


def coinbase_stream():
    """Snapshots {product: (bids, asks)} and l2update messages [(ts, product, changes)]."""
    snapshots, updates = {}, []
    for ts, message in received("COINBASE.ws.28.0"):
        if message["type"] == "snapshot":
            snapshots[message["product_id"]] = (
                [(D(p), D(s)) for p, s in message["bids"]],
                [(D(p), D(s)) for p, s in message["asks"]],
            )
        elif message["type"] == "l2update":
            changes = [(BID if side == "buy" else ASK, D(p), D(s)) for side, p, s in message["changes"]]
            updates.append((ts, message["product_id"], changes))
    return snapshots, updates


class CoinbaseReplayTest(BookCase):
    @classmethod
    def setUpClass(cls):
        cls.snapshots, cls.updates = coinbase_stream()

    def test_the_capture_holds_ten_books_and_their_updates(self):
        self.assertEqual(len(self.snapshots), 10)
        self.assertEqual(sum(len(changes) for _, _, changes in self.updates), 9719)

    def test_replay_matches_the_model_at_every_update(self):
        books, models = {}, {}
        for product, (bids, asks) in self.snapshots.items():
            books[product] = OrderBook("coinbase", product)
            books[product].apply_snapshot(bids, asks, at=1618677817.0)
            models[product] = Model(bids, asks)
        for ts, product, changes in self.updates:
            book, model = books[product], models[product]
            for side, price, size in changes:
                self.assertEqual(book.apply_delta(side, price, size, ts), model.apply(side, price, size))
                self.assertEqual(book.bids.best, model.best(BID))
                self.assertEqual(book.asks.best, model.best(ASK))
            self.assertEqual(book.updated_at, ts)
            self.assertFalse(book.crossed())
        for product, book in books.items():
            with self.subTest(product=product):
                self.assertSameBook(book, models[product])

    def test_previous_size_tells_grown_shrunk_and_gone(self):
        bids, asks = self.snapshots["BAND-GBP"]
        book = OrderBook("coinbase", "BAND_GBP")
        book.apply_snapshot(bids, asks, at=1.0)
        self.assertEqual(book.apply_delta(ASK, D("14.8024"), D("13.00"), 2.0), D("12.77"))
        self.assertEqual(book.apply_delta(ASK, D("14.8024"), D("0.0"), 3.0), D("13.00"))
        self.assertEqual(book.apply_delta(ASK, D("14.8024"), D("0.0"), 4.0), D(0))
        self.assertEqual(book.asks.best, (D("14.8069"), D("12.49")))
        self.assertEqual(book.apply_delta(BID, D("14.7700"), D("1.5"), 5.0), D(0))
        self.assertEqual(book.bids.best, (D("14.7700"), D("1.5")))
        self.assertEqual(book.bids.size_at(D("14.77")), D("1.5"))  # any spelling of the price
        self.assertEqual(book.bids.size_at(D("14.7694")), D(0))
        self.assertEqual(book.apply_delta(BID, D("14.77"), D("2"), 6.0), D("1.5"))
        self.assertEqual(book.bids.best, (D("14.7700"), D("2")))
        self.assertEqual(book.apply_delta(BID, D("14.7700"), D("0"), 7.0), D("2"))
        self.assertEqual(book.apply_delta(BID, D("14.77"), D("0"), 8.0), D(0))
        self.assertEqual(book.apply_delta(BID, D("14.77"), D("3"), 9.0), D(0))
        self.assertEqual(book.bids.size_at(D("14.7700")), D("3"))
        self.assertEqual(book.bids.best, (D("14.77"), D("3")))
        self.assertEqual((book.best_bid(), book.best_ask()), (book.bids.best, book.asks.best))

    def test_a_snapshot_leaves_nothing_from_before(self):
        bids, asks = self.snapshots["SKL-USD"]
        book = OrderBook("coinbase", "SKL_USD")
        book.apply_snapshot(bids, asks, at=1.0)
        for ts, product, changes in self.updates:
            if product == "SKL-USD":
                for side, price, size in changes:
                    book.apply_delta(side, price, size, ts)
        other_bids, other_asks = self.snapshots["SKL-GBP"]
        book.apply_snapshot(other_bids, other_asks, at=2.0)
        self.assertSameBook(book, Model(other_bids, other_asks))
        self.assertEqual(book.updated_at, 2.0)


class WalkTest(BookCase):
    """Walks over the real BAND-GBP snapshot; expected sums worked out by hand from its first levels:
    asks 14.8024 x 12.77, 14.8069 x 12.49, 14.8095 x 12.73; bids 14.7693 x 27.51, 14.7659 x 12.48."""

    @classmethod
    def setUpClass(cls):
        snapshots, _ = coinbase_stream()
        cls.bids, cls.asks = snapshots["BAND-GBP"]

    def setUp(self):
        self.book = OrderBook("coinbase", "BAND_GBP")
        self.book.apply_snapshot(self.bids, self.asks, at=1.0)

    def test_walk_by_size_takes_levels_best_first(self):
        walk = self.book.asks.walk(D("30"))
        self.assertEqual(
            walk.levels, ((D("14.8024"), D("12.77")), (D("14.8069"), D("12.49")), (D("14.8095"), D("4.74")))
        )
        self.assertEqual(walk.filled, D("30"))
        self.assertEqual(walk.cost, D("189.026648") + D("184.938181") + D("70.197030"))
        self.assertEqual(walk.cost, D("444.161859"))
        self.assertEqual(walk.average_price, D("444.161859") / D("30"))

    def test_walk_the_bids(self):
        walk = self.book.bids.walk(D("28"))
        self.assertEqual(walk.levels, ((D("14.7693"), D("27.51")), (D("14.7659"), D("0.49"))))
        self.assertEqual(walk.cost, D("406.303443") + D("7.235291"))

    def test_walk_stops_at_the_limit_price(self):
        walk = self.book.asks.walk(D("100"), limit=D("14.8069"))
        self.assertEqual(walk.filled, D("25.26"))
        self.assertEqual(walk.cost, D("373.964829"))
        self.assertEqual(self.book.bids.walk(D("100"), limit=D("14.7693")).filled, D("27.51"))

    def test_walk_beyond_the_book_fills_what_there_is(self):
        total = sum(size for _, size in self.asks)
        walk = self.book.asks.walk(total + 1)
        self.assertEqual(walk.filled, total)
        self.assertEqual(walk.cost, sum(price * size for price, size in self.asks))
        self.assertEqual(len(walk.levels), len(self.asks))

    def test_walk_by_funds_rounds_the_last_level_down_to_the_step(self):
        walk = self.book.asks.walk_funds(D("200"), step=D("0.01"))
        # 200 - 189.026648 = 10.973352 left; / 14.8069 = 0.7410... -> 0.74
        self.assertEqual(walk.levels, ((D("14.8024"), D("12.77")), (D("14.8069"), D("0.74"))))
        self.assertEqual(walk.filled, D("13.51"))
        self.assertEqual(walk.cost, D("189.026648") + D("10.957106"))

    def test_walk_by_funds_without_step_spends_everything(self):
        walk = self.book.asks.walk_funds(D("200"))
        self.assertEqual(walk.levels[1][1], D("10.973352") / D("14.8069"))
        self.assertEqual(walk.cost.quantize(D("1E-20")), D("200").quantize(D("1E-20")))

    def test_walk_by_funds_within_one_level(self):
        walk = self.book.asks.walk_funds(D("14.8024"), step=D("0.01"))
        self.assertEqual(walk.levels, ((D("14.8024"), D("1.00")),))

    def test_size_up_to_a_price_includes_it(self):
        self.assertEqual(self.book.asks.size_up_to(D("14.8069")), D("25.26"))
        self.assertEqual(self.book.asks.size_up_to(D("14.8068")), D("12.77"))
        self.assertEqual(self.book.asks.size_up_to(D("14.8000")), D(0))
        self.assertEqual(self.book.bids.size_up_to(D("14.7659")), D("39.99"))
        lowest = min(price for price, _ in self.bids)
        self.assertEqual(self.book.bids.size_up_to(lowest), sum(size for _, size in self.bids))
        self.assertEqual(self.book.asks.size_up_to(D("1")), D(0))

    def test_empty_walk_has_no_average(self):
        empty = Ladder(ASK)
        walk = empty.walk(D("1"))
        self.assertEqual(walk, Walk((), D(0), D(0)))
        self.assertIsNone(walk.average_price)

    def test_a_walk_is_a_frozen_record(self):
        walk = self.book.asks.walk(D("13"))
        expected = Walk(
            ((D("14.8024"), D("12.77")), (D("14.8069"), D("0.23"))), D("13.00"), D("189.026648") + D("3.405587")
        )
        self.assertEqual(walk, expected)
        self.assertEqual(hash(walk), hash(expected))
        self.assertEqual(repr(walk), repr(expected))
        self.assertEqual(str(walk.filled), "13.00")  # 13 - 0.00 left: the exponent of the arithmetic
        self.assertEqual(dataclasses.replace(walk, cost=D(1)), Walk(expected.levels, D("13.00"), D(1)))
        with self.assertRaises(dataclasses.FrozenInstanceError):
            walk.cost = D(0)

    def test_walk_needs_a_positive_amount(self):
        for bad in (D(0), D(-1), 1.5, D("NaN")):
            with self.assertRaises(InvalidParameter) as caught:
                self.book.asks.walk(bad)
            self.assertEqual(caught.exception.field, "size")
        with self.assertRaises(InvalidParameter) as caught:
            self.book.asks.walk_funds(D(0))
        self.assertEqual(caught.exception.field, "funds")


class BinanceReplayTest(BookCase):
    """REST depth snapshots + depth@100ms diffs, synchronised the way Binance documents."""

    def test_diffs_after_the_snapshots_match_the_model(self):
        books, models = {}, {}
        for record in read_capture(CAPTURES / "BINANCE.http.0.0"):
            if isinstance(record, RestResponse):
                symbol = record.url.split("symbol=")[1].split("&")[0]
                depth = json.loads(record.body)
                bids = [(D(p), D(s)) for p, s in depth["bids"]]
                asks = [(D(p), D(s)) for p, s in depth["asks"]]
                books[symbol] = OrderBook("binance", symbol)
                books[symbol].apply_snapshot(bids, asks, at=record.ts, sequence=depth["lastUpdateId"])
                models[symbol] = Model(bids, asks)
        self.assertEqual(sorted(books), ["BLZETH", "LRCBTC", "NKNUSDT", "RUNEEUR"])
        verdicts = {symbol: [] for symbol in books}
        for ts, message in received("BINANCE.ws.1.0"):
            event = message["data"]
            if event.get("e") != "depthUpdate":
                continue
            book, model = books[event["s"]], models[event["s"]]
            verdict = book.check_sequence(event["U"], event["u"])
            verdicts[event["s"]].append(verdict)
            if verdict is SequenceCheck.FOLLOWS:
                for side, key in ((BID, "b"), (ASK, "a")):
                    for p, s in event[key]:
                        book.apply_delta(side, D(p), D(s), ts)
                        model.apply(side, D(p), D(s))
                book.sequence = event["u"]
        # the events the snapshots already contained (u <= lastUpdateId), read off the capture
        self.assertEqual(verdicts["NKNUSDT"][:2], [SequenceCheck.OLD, SequenceCheck.FOLLOWS])
        self.assertEqual(verdicts["LRCBTC"][:3], [SequenceCheck.OLD, SequenceCheck.OLD, SequenceCheck.FOLLOWS])
        self.assertEqual(verdicts["BLZETH"][:2], [SequenceCheck.OLD, SequenceCheck.FOLLOWS])
        for symbol, book in books.items():
            with self.subTest(symbol=symbol):
                self.assertNotIn(SequenceCheck.GAP, verdicts[symbol])
                self.assertSameBook(book, models[symbol])
                self.assertFalse(book.crossed())


class BitfinexReplayTest(BookCase):
    """ws v2 P0 books: [PRICE, COUNT, AMOUNT]; COUNT 0 removes; AMOUNT < 0 is an ask."""

    def test_replay_matches_the_model(self):
        symbols, books, models = {}, {}, {}
        for ts, message in received("BITFINEX.ws.11.0", parse_int=Decimal):
            if isinstance(message, dict):
                if message.get("event") == "subscribed" and message["channel"] == "book":
                    symbols[message["chanId"]] = message["symbol"]
                continue
            channel, payload = message[0], message[1]
            if channel not in symbols or payload == "hb":
                continue
            symbol = symbols[channel]
            if isinstance(payload[0], list):
                bids = [(p, a) for p, c, a in payload if a > 0]
                asks = [(p, -a) for p, c, a in payload if a < 0]
                books[symbol] = OrderBook("bitfinex", symbol)
                books[symbol].apply_snapshot(bids, asks, at=ts, sequence=int(message[2]))
                models[symbol] = Model(bids, asks)
                continue
            price, count, amount = payload
            side = BID if amount > 0 else ASK
            size = abs(amount) if count else D(0)
            self.assertEqual(books[symbol].apply_delta(side, price, size, ts), models[symbol].apply(side, price, size))
        self.assertEqual(len(books), 7)
        for symbol, book in books.items():
            with self.subTest(symbol=symbol):
                self.assertSameBook(book, models[symbol])
                self.assertFalse(book.crossed())
        # 5 significant digits: one ODE/USD book spans 0.02056 down to 1.1e-7
        self.assertEqual(books["tODEUSD"].bids.best[0], max(models["tODEUSD"].sides[BID]))
        self.assertIn(D("1.1e-7"), [price for price, _ in books["tODEUSD"].bids])


class PoloniexReplayTest(BookCase):
    def poloniex_messages(self):
        for ts, message in received("POLONIEX.ws.1.0"):
            if message.get("channel") == "book_lv2" and "data" in message:
                for data in message["data"]:
                    yield ts, message["action"], data

    def test_replay_with_id_checks_matches_the_model(self):
        books, models, verdicts = {}, {}, []
        for ts, action, data in self.poloniex_messages():
            bids = [(D(p), D(s)) for p, s in data["bids"]]
            asks = [(D(p), D(s)) for p, s in data["asks"]]
            symbol = data["symbol"]
            if action == "snapshot":
                books[symbol] = OrderBook("poloniex", symbol)
                books[symbol].apply_snapshot(bids, asks, at=ts, sequence=data["id"])
                models[symbol] = Model(bids, asks)
                continue
            book = books[symbol]
            verdicts.append(book.check_sequence(data["lastId"] + 1, data["id"]))
            for side, levels in ((BID, bids), (ASK, asks)):
                for price, size in levels:
                    book.apply_delta(side, price, size, ts)
                    models[symbol].apply(side, price, size)
            book.sequence = data["id"]
        self.assertEqual(len(books), 11)
        self.assertEqual(set(verdicts), {SequenceCheck.FOLLOWS})
        for symbol, book in books.items():
            with self.subTest(symbol=symbol):
                self.assertSameBook(book, models[symbol])

    def test_a_missed_update_is_a_gap_and_a_replayed_one_is_old(self):
        updates = [(ts, data) for ts, action, data in self.poloniex_messages() if data["symbol"] == "BTC_USDT"]
        _, snapshot = updates[0]
        book = OrderBook("poloniex", "BTC_USDT")
        book.apply_snapshot([], [], at=1.0, sequence=snapshot["id"])
        first, second = updates[1][1], updates[2][1]
        self.assertEqual(book.check_sequence(second["lastId"] + 1, second["id"]), SequenceCheck.GAP)
        self.assertEqual(book.check_sequence(first["lastId"] + 1, first["id"]), SequenceCheck.FOLLOWS)
        book.sequence = second["id"]
        self.assertEqual(book.check_sequence(first["lastId"] + 1, first["id"]), SequenceCheck.OLD)
        # ids may jump (4485700 -> 4485702): only lastId must match
        jump = next(data for _, data in updates if data["id"] - data["lastId"] > 1)
        book.sequence = jump["lastId"]
        self.assertEqual(book.check_sequence(jump["lastId"] + 1, jump["id"]), SequenceCheck.FOLLOWS)

    def test_no_sequence_known_is_a_gap(self):
        book = OrderBook("coinbase", "BTC_USD")
        self.assertEqual(book.check_sequence(5), SequenceCheck.GAP)
        book.apply_snapshot([], [], at=1.0, sequence=4)
        self.assertEqual(book.check_sequence(5), SequenceCheck.FOLLOWS)
        self.assertEqual(book.check_sequence(4), SequenceCheck.OLD)
        self.assertEqual(book.check_sequence(6), SequenceCheck.GAP)


class CrossedAndStateTest(BookCase):
    def setUp(self):
        # Poloniex BTC_USDT opens one cent wide: bid 21612.26, ask 21612.27
        first = next(
            data
            for _, message in received("POLONIEX.ws.1.0")
            if message.get("action") == "snapshot"
            for data in message["data"]
            if data["symbol"] == "BTC_USDT"
        )
        self.book = OrderBook("poloniex", "BTC_USDT")
        self.book.apply_snapshot(
            [(D(p), D(s)) for p, s in first["bids"]],
            [(D(p), D(s)) for p, s in first["asks"]],
            at=1.0,
            sequence=first["id"],
        )

    def test_a_bid_at_the_ask_crosses_the_book(self):
        self.assertEqual(self.book.bids.best[0], D("21612.26"))
        self.assertEqual(self.book.asks.best[0], D("21612.27"))
        self.assertFalse(self.book.crossed())
        self.book.apply_delta(BID, D("21612.27"), D("0.5"), 2.0)  # as if the ask's removal was missed
        self.assertTrue(self.book.crossed())
        self.book.apply_delta(ASK, D("21612.27"), D("0"), 3.0)
        self.assertFalse(self.book.crossed())

    def test_an_empty_side_is_not_crossed(self):
        book = OrderBook("poloniex", "BTC_USDT")
        book.apply_snapshot([(D("1"), D("1"))], [], at=1.0)
        self.assertFalse(book.crossed())

    def test_state_transitions(self):
        book = OrderBook("poloniex", "BTC_USDT")
        self.assertIs(book.state, BookState.RESYNCING)
        self.assertFalse(book.live)
        book.apply_snapshot([], [], at=1.0)
        self.assertIs(book.state, BookState.LIVE)
        self.assertTrue(book.live)
        book.mark_stale("checksum mismatch")
        self.assertEqual((book.state, book.stale_reason), (BookState.STALE, "checksum mismatch"))
        self.assertFalse(book.live)
        book.mark_resyncing()
        self.assertEqual((book.state, book.stale_reason), (BookState.RESYNCING, None))
        book.mark_stale("no message for 30 s")
        book.apply_snapshot([], [], at=2.0)
        self.assertEqual((book.state, book.stale_reason), (BookState.LIVE, None))
        with self.assertRaises(InvalidParameter):
            book.mark_stale("")

    def test_deltas_do_not_change_the_state(self):
        self.book.mark_stale("sequence gap")
        self.book.apply_delta(BID, D("21612.26"), D("1"), 2.0)
        self.assertIs(self.book.state, BookState.STALE)


class ScaleTest(BookCase):
    """Bitfinex-style prices (5 significant digits) crossing 10: the decimals grow."""

    def test_finer_prices_re_key_the_side(self):
        for side in (BID, ASK):
            with self.subTest(side=side):
                ladder = Ladder(side)
                model = Model()
                ladder.replace([(D("10.001"), D("2.5")), (D("10.002"), D("1.25")), (D("10.003"), D("4"))], "levels")
                for price, size in ((D("10.001"), D("2.5")), (D("10.002"), D("1.25")), (D("10.003"), D("4"))):
                    model.apply(side, price, size)
                for price, size in (
                    (D("9.9995"), D("3")),
                    (D("9.999"), D("7")),
                    (D("10.0015"), D("0")),
                    (D("9.99915"), D("1")),
                    (D("10.002"), D("0")),
                    (D("9.9995"), D("0.5")),
                ):
                    self.assertEqual(ladder.apply(price, size), model.apply(side, price, size))
                expected = model.levels(side)
                self.assertEqual(list(ladder), expected)
                self.assertEqual(ladder.best, expected[0])
                self.assertEqual(ladder.size_at(D("9.99950")), D("0.5"))

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(
            st.tuples(st.sampled_from([BID, ASK]), st.integers(1, 40), st.integers(0, 3), st.integers(0, 3)),
            max_size=120,
        )
    )
    def test_any_sequence_of_changes_matches_the_model(self, changes):
        book, model = OrderBook("bitfinex", "tTESTBTC:TESTUSD"), Model()
        book.apply_snapshot([(D("0.5"), D("1"))], [(D("40.5"), D("1"))], at=0.0)
        model.apply(BID, D("0.5"), D("1"))
        model.apply(ASK, D("40.5"), D("1"))
        for side, units, places, size in changes:
            price = D(units).scaleb(-places)  # 7, 0.7, 0.07, 0.007: keys at every scale
            self.assertEqual(book.apply_delta(side, price, D(size), 1.0), model.apply(side, price, D(size)))
            self.assertEqual(book.ladder(side).best, model.best(side))
        self.assertSameBook(book, model)


class DeepBookTest(BookCase):
    def test_fifty_thousand_levels_with_churn_at_the_top_and_below(self):
        rng = random.Random(7)
        tick = D("0.01")
        bids = [(D(3_000_000 - i) * tick, D(rng.randint(1, 10**8)).scaleb(-8)) for i in range(50_000)]
        book, model = OrderBook("binance", "BTC_USDT"), Model(bids, [])
        book.apply_snapshot(bids, [], at=1.0)
        for step in range(20_000):
            offset = rng.randint(0, 5) if step % 3 == 0 else rng.randint(0, 60_000)
            price = D(3_000_000 - offset) * tick
            size = D(0) if rng.random() < 0.45 else D(rng.randint(1, 10**8)).scaleb(-8)
            self.assertEqual(book.apply_delta(BID, price, size, 2.0), model.apply(BID, price, size))
            if step % 500 == 0:
                self.assertEqual(book.bids.best, model.best(BID))
        self.assertEqual(book.bids.top(25), model.levels(BID)[:25])
        self.assertEqual(book.bids.top(len(model.levels(BID))), model.levels(BID))


class ReadsBetweenChangesTest(BookCase):
    """Reads deeper than the best level (top, walks, iteration) go through sorted keys that the
    changes keep up to date; read after the changes of the real stream, at depths within, at and
    beyond what the ladder keeps sorted (it keeps at most 256 keys)."""

    @classmethod
    def setUpClass(cls):
        cls.snapshots, cls.updates = coinbase_stream()

    def replay(self, product):
        """(book, model, [(side, price, size)]) for ``product``: its snapshot and its changes."""
        bids, asks = self.snapshots[product]
        book = OrderBook("coinbase", product.replace("-", "_"))
        book.apply_snapshot(bids, asks, at=1.0)
        changes = [change for _, name, batch in self.updates if name == product for change in batch]
        return book, Model(bids, asks), changes

    def test_top_after_every_change_of_the_deepest_book(self):
        book, model, changes = self.replay("SKL-USD")  # 814 bids, 1,341 asks
        self.assertEqual(len(changes), 2592)
        depths = itertools.cycle((1, 10, 40, 300, 3))
        for side, price, size in changes:
            self.assertEqual(book.apply_delta(side, price, size, 2.0), model.apply(side, price, size))
            depth = next(depths)
            self.assertEqual(book.ladder(side).top(depth), model.levels(side)[:depth])
        self.assertSameBook(book, model)

    def test_reads_far_apart(self):
        # many changes between two reads: the ladder stops keeping its sorted keys and sorts again
        book, model, changes = self.replay("SKL-USD")
        depths = itertools.cycle((10, 300, 1))
        for step, (side, price, size) in enumerate(changes):
            book.apply_delta(side, price, size, 2.0)
            model.apply(side, price, size)
            if step % 401 in (0, 1, 9):  # two reads close together, then hundreds of changes
                depth = next(depths)
                for ladder_side in (BID, ASK):
                    self.assertEqual(book.ladder(ladder_side).top(depth), model.levels(ladder_side)[:depth])
                    self.assertEqual(
                        list(itertools.islice(book.ladder(ladder_side), depth)), model.levels(ladder_side)[:depth]
                    )
        self.assertSameBook(book, model)

    def test_walks_between_changes_take_what_the_model_shows(self):
        book, model, changes = self.replay("BAND-BTC")  # 320 bids, 827 asks
        depths = itertools.cycle((1, 2, 10, 100, 400))
        for step, (side, price, size) in enumerate(changes):
            book.apply_delta(side, price, size, 2.0)
            model.apply(side, price, size)
            if step % 5:
                continue
            depth = next(depths)
            levels = model.levels(side)[:depth]
            wanted = sum(size for _, size in levels)
            walk = book.ladder(side).walk(wanted)
            self.assertEqual(walk.levels, tuple(levels))
            self.assertEqual((walk.filled, walk.cost), (wanted, sum(p * s for p, s in levels)))
            self.assertEqual(book.ladder(side).size_up_to(levels[-1][0]), wanted)
        self.assertSameBook(book, model)

    def test_an_iteration_stopped_early_and_a_later_one(self):
        book, model, changes = self.replay("DASH-BTC")
        for side, price, size in changes[:1000]:
            book.apply_delta(side, price, size, 2.0)
            model.apply(side, price, size)
        first = iter(book.asks)
        self.assertEqual([next(first) for _ in range(3)], model.levels(ASK)[:3])
        for side, price, size in changes[1000:]:
            book.apply_delta(side, price, size, 2.0)
            model.apply(side, price, size)
        self.assertEqual(list(itertools.islice(book.asks, 100)), model.levels(ASK)[:100])
        self.assertEqual(list(book.asks), model.levels(ASK))

    @settings(max_examples=80, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from([BID, ASK]),
                st.integers(0, 399),
                st.integers(0, 3),
                st.sampled_from([0, 1, 5, 40, 64, 65, 200, 257, 600]),
            ),
            max_size=150,
        )
    )
    def test_any_changes_between_reads_match_the_model(self, steps):
        # 300 real levels a side; changes on the 0.0001 tick among them, better than the best and beyond
        bids, asks = (levels[:300] for levels in self.snapshots["SKL-USD"])
        book, model = OrderBook("coinbase", "SKL_USD"), Model(bids, asks)
        book.apply_snapshot(bids, asks, at=1.0)
        for side, tick, size, depth in steps:
            price = (D("0.7906") - tick * D("0.0001")) if side is BID else (D("0.7905") + tick * D("0.0001"))
            self.assertEqual(book.apply_delta(side, price, D(size), 2.0), model.apply(side, price, D(size)))
            expected = model.levels(side)[:depth]
            self.assertEqual(list(itertools.islice(book.ladder(side), depth)), expected)
            self.assertEqual(book.ladder(side).top(depth), expected)
        self.assertSameBook(book, model)

    def test_a_level_removed_or_added_at_any_depth_after_a_read(self):
        asks = self.snapshots["SKL-USD"][1][:300]  # real levels, tick 0.0001, with gaps between them
        taken = {price for price, _ in asks}
        tick = D("0.0001")
        for read, index in itertools.product((1, 10, 40, 100, 200), range(300)):
            ladder, model = Ladder(ASK), Model([], asks)
            ladder.replace(asks, "asks")
            self.assertEqual(ladder.top(read), model.levels(ASK)[:read])
            price, size = asks[index]
            changes = [(price, D(0)), (price, size)]
            if price + tick not in taken:
                changes += [(price + tick, D(1)), (price + tick, D(0))]
            for change in changes:
                self.assertEqual(ladder.apply(*change), model.apply(ASK, *change))
                self.assertEqual(list(itertools.islice(ladder, index + 3)), model.levels(ASK)[: index + 3])

    def test_keys_that_change_scale_are_sorted_again(self):
        # Bitfinex-style prices crossing 10 after a deep read: the side re-keys at a finer scale
        ladder = Ladder(ASK)
        prices = [D(price) for price in ("10.001", "10.002", "10.003", "10.004")]
        ladder.replace([(price, D("1")) for price in prices], "asks")
        self.assertEqual(ladder.top(4), [(price, D("1")) for price in prices])
        ladder.apply(D("9.9995"), D("2"))
        ladder.apply(D("10.0015"), D("3"))
        self.assertEqual(ladder.top(3), [(D("9.9995"), D("2")), (D("10.001"), D("1")), (D("10.0015"), D("3"))])
        self.assertEqual(
            ladder.walk(D("6")).levels, ((D("9.9995"), D("2")), (D("10.001"), D("1")), (D("10.0015"), D("3")))
        )


class InvalidInputTest(unittest.TestCase):
    def setUp(self):
        self.book = OrderBook("coinbase", "BTC_USD")
        self.book.apply_snapshot([(D("100.00"), D("1"))], [(D("100.01"), D("1"))], at=1.0)

    def assertInvalid(self, field, call, *args):
        with self.assertRaises(InvalidParameter) as caught:
            call(*args)
        self.assertEqual(caught.exception.field, field)

    def test_snapshot_entries_are_checked(self):
        self.assertInvalid("bids[1].size", self.book.apply_snapshot, [(D("100"), D("1")), (D("99"), D("-1"))], [], 2.0)
        self.assertInvalid("asks[0].price", self.book.apply_snapshot, [], [(100.01, D("1"))], 2.0)
        self.assertInvalid("asks[0].price", self.book.apply_snapshot, [], [(D("0"), D("1"))], 2.0)
        self.assertInvalid("bids[0]", self.book.apply_snapshot, [(D("100"),)], [], 2.0)

    def test_the_entry_named_is_the_first_wrong_one(self):
        good = [(D("100.00"), D("1")), (D("99.99"), D("2"))]
        for entry, field in (
            ((D("NaN"), D("1")), "bids[2].price"),
            ((D("Infinity"), D("1")), "bids[2].price"),
            ((D("99"), D("Infinity")), "bids[2].size"),
            ((D("99"), 1.5), "bids[2].size"),
            (("99", D("1")), "bids[2].price"),
            ((D("-99"), D("-1")), "bids[2].price"),
            ((D("99"), D("1"), D("3")), "bids[2]"),
            (None, "bids[2]"),
            (D("99"), "bids[2]"),
        ):
            with self.subTest(entry=entry):
                self.assertInvalid(field, self.book.apply_snapshot, good + [entry, (D("98"), D("-1"))], [], 2.0)
        levels = (level for level in good + [(D("98"), D("-1"))])  # any iterable
        self.assertInvalid("bids[2].size", self.book.apply_snapshot, levels, [], 2.0)

    def test_a_side_refused_is_left_as_it_was(self):
        with self.assertRaises(InvalidParameter):
            self.book.apply_snapshot([(D("50"), D("1")), (D("49"), D("-1"))], [(D("101"), D("1"))], 2.0)
        self.assertEqual(self.book.bids.top(5), [(D("100.00"), D("1"))])
        self.assertEqual(self.book.asks.top(5), [(D("100.01"), D("1"))])
        self.assertEqual(self.book.updated_at, 1.0)

    def test_a_price_given_twice_in_a_snapshot_keeps_the_last(self):
        self.book.apply_snapshot([(D("99.5"), D("1")), (D("99"), D("4")), (D("99.50"), D("2"))], [], 2.0)
        self.assertEqual(self.book.bids.top(5), [(D("99.50"), D("2")), (D("99"), D("4"))])
        self.assertEqual(self.book.bids.size_at(D("99.5")), D("2"))
        self.assertEqual(self.book.apply_delta(BID, D("99.5"), D("3"), 3.0), D("2"))
        self.assertEqual(self.book.apply_delta(BID, D("99.50"), D("0"), 4.0), D("3"))
        self.assertEqual(self.book.bids.top(5), [(D("99"), D("4"))])

    def test_prices_of_many_digits_stay_apart(self):
        # past 15 characters a price's decimals are read from the Decimal: keys stay exact
        prices = [D("123456789012.12345678"), D("123456789012.12345679"), D("0.00000001"), D("7E-10"), D("5")]
        book, model = OrderBook("test", "TEST"), Model([(price, D("1")) for price in prices])
        book.apply_snapshot([(price, D("1")) for price in prices], [], at=1.0)
        self.assertEqual(book.bids.top(10), model.levels(BID))
        for price, size in (
            (D("123456789012.123456785"), D("2")),
            (D("123456789012.12345678"), D("0")),
            (D("6E-10"), D("3")),
        ):
            self.assertEqual(book.apply_delta(BID, price, size, 2.0), model.apply(BID, price, size))
        self.assertEqual(book.bids.top(10), model.levels(BID))

    def test_deltas_are_checked(self):
        self.assertInvalid("size", self.book.apply_delta, BID, D("99.99"), D("-1"), 2.0)
        self.assertInvalid("size", self.book.apply_delta, BID, D("100.00"), D("-1"), 2.0)
        self.assertInvalid("price", self.book.apply_delta, BID, 99.99, D("1"), 2.0)
        self.assertInvalid("price", self.book.apply_delta, BID, "99.99", D("1"), 2.0)
        self.assertInvalid("price", self.book.apply_delta, ASK, D("NaN"), D("1"), 2.0)
        self.assertInvalid("price", self.book.apply_delta, ASK, D("-5"), D("1"), 2.0)
        self.assertInvalid("side", self.book.apply_delta, "buy", D("99.99"), D("1"), 2.0)
        self.assertInvalid("depth", self.book.bids.top, -1)
        self.assertEqual(self.book.bids.top(0), [])
        self.assertEqual(self.book.bids.best, (D("100.00"), D("1")))  # nothing changed


if __name__ == "__main__":
    unittest.main()
