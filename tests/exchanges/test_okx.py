"""OKX's translations: markets from the instruments answer, books (sequence chain and checksum, with
OKX's documented checksum examples), trades, tickers, candles and errors; the made-up capture
(tests/fixtures/README.md) replayed and regenerated."""

import contextlib
import io
import json
import tempfile
import unittest
import zlib
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.cli import main as xwrap
from exchange_wrapper.config import load_settings
from exchange_wrapper.core.book import BookSide
from exchange_wrapper.core.errors import (
    ConfigError,
    ExchangeRejected,
    InvalidParameter,
    MarketClosed,
    PrecisionError,
    RateLimited,
)
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Problem, Resync, Ticker, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import adapter_class
from exchange_wrapper.exchanges.okx import public as okx
from exchange_wrapper.exchanges.okx.private import OkxPrivate
from exchange_wrapper.exchanges.private import private_adapter_class
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, FIXTURES, MarketsContract, captured_body
from tests.exchanges.test_okx_feed import BOOK_MESSAGES, FINAL, PAIRS
from tests.fixtures.okx.make_capture import generate

BODY = captured_body("OKX.0", "https://www.okx.com/api/v5/public/instruments")
RAW = {instrument["instId"]: instrument for instrument in json.loads(BODY)["data"]}
CANDLES_BODY = captured_body("OKX.0", "https://www.okx.com/api/v5/market/history-candles")
BTC, ETH = Pair("BTC", "USDT"), Pair("ETH", "USDT")
TABLE = SymbolTable("okx", okx.parse_markets(BODY))


def instruments(**changes):
    """The instruments answer with BTC-USDT alone, ``changes`` made to it."""
    return json.dumps({"code": "0", "msg": "", "data": [{**RAW["BTC-USDT"], **changes}]})


class OkxMarketsTest(MarketsContract, unittest.TestCase):
    module = okx
    body = BODY
    response_name = "GET /api/v5/public/instruments on okx"

    def expected_pairs(self):
        return {inst_id: Pair(raw["baseCcy"], raw["quoteCcy"]) for inst_id, raw in RAW.items()}

    def test_markets_field_by_field(self):
        for inst_id, raw in RAW.items():
            market = self.table.market_of(inst_id)
            with self.subTest(inst_id=inst_id):
                self.assertEqual(market.tick_size, Decimal(raw["tickSz"]))
                self.assertEqual(market.size_step, Decimal(raw["lotSz"]))
                self.assertEqual(market.min_size, Decimal(raw["minSz"]))
                self.assertEqual((market.min_notional, market.max_size, market.funds_step), (0, None, None))
                self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.0008"), Decimal("0.001")))
        btc = self.table.market(BTC)
        self.assertEqual(
            (btc.symbol, btc.tick_size, btc.size_step, btc.min_size),
            ("BTC-USDT", Decimal("0.1"), Decimal("0.00000001"), Decimal("0.00001")),
        )
        self.assertEqual(self.table.to_symbol("ETH_BTC"), "ETH-BTC")

    def test_only_live_instruments_trade(self):
        self.assertEqual(
            {m.symbol: m.status for m in self.markets if m.status is not MarketStatus.ONLINE},
            {"LUNA-USDT": MarketStatus.OFFLINE, "XYZ-USDT": MarketStatus.OFFLINE},  # suspend, preopen
        )
        with self.assertRaises(MarketClosed):
            check_order(self.table.market("LUNA_USDT"), side="buy", type="limit", size=Decimal(5), price=Decimal(1))

    def test_rounding_and_minimum_on_the_instruments_precision(self):
        btc = self.table.market(BTC)
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("97000.19"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345678"), Decimal("97000.1")))
        with self.assertRaises(PrecisionError):
            check_order(btc, side="buy", type="limit", size=Decimal("0.000009"), price=Decimal("97000"))

    def test_malformed_instruments_are_refused_naming_the_field(self):
        cases = [
            (instruments(tickSz="0"), "tickSz of BTC-USDT on okx: expected a decimal greater than 0, got '0'"),
            (instruments(lotSz=None), 'lotSz of BTC-USDT on okx: missing, expected a decimal string such as "0.01"'),
            (
                json.dumps({"code": "0", "msg": "", "data": {}}),
                "data of GET /api/v5/public/instruments on okx: expected a JSON list, got {}",
            ),
        ]
        for body, message in cases:
            self.assertRefused(InvalidParameter, message, okx.parse_markets, body)

    def test_okx_error_codes(self):
        self.assertRefused(
            ExchangeRejected,
            "okx refused the request (HTTP 200): 51001 Instrument ID does not exist",
            okx.parse_markets,
            '{"code":"51001","msg":"Instrument ID does not exist","data":[]}',
        )
        with self.assertRaises(RateLimited):
            okx.parse_markets('{"code":"50011","msg":"Too Many Requests","data":[]}')


def adapter(pairs=(BTC, ETH)):
    return okx.OkxAdapter(TABLE, pairs)


BOOK_TIME = 1597026383.085
"""The ``ts`` of every book message below (the documentation's example), as Unix seconds."""


def book_message(action, inst_id, bids, asks, previous, sequence, checksum):
    data = {"asks": asks, "bids": bids, "ts": "1597026383085", "checksum": checksum}
    data.update(prevSeqId=previous, seqId=sequence)
    return json.dumps({"arg": {"channel": "books", "instId": inst_id}, "action": action, "data": [data]})


def signed_crc32(text):
    value = zlib.crc32(text.encode())
    return value - 2**32 if value >= 2**31 else value


class DocumentedChecksumTest(unittest.TestCase):
    """OKX's two documented checksum examples (docs-v5, "Order book channel", "Checksum"), the books
    exactly as documented (levels ``[price, size, liquidated orders, orders]``), sent as snapshots
    with the CRC32 of the documented check string, through the adapter into a book of the hub."""

    EXAMPLES = [
        (
            [["3366.1", "7", "0", "3"], ["3366", "6", "3", "4"]],
            [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"]],
            "3366.1:7:3366.8:9:3366:6:3368:8",  # both sides of equal length: bid, ask, bid, ask
            -1881014294,
        ),
        (
            [["3366.1", "7", "0", "3"]],
            [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"], ["3372", "8", "3", "4"]],
            "3366.1:7:3366.8:9:3368:8:3372:8",  # fewer bids: the asks go on alone
            831078360,
        ),
    ]

    def checked(self, message):
        """The hub's checksum counters after ``message`` on a fresh BTC-USDT book."""
        hub, okx_adapter = MarketDataHub(), adapter((BTC,))
        hub.exchange("okx")
        okx_adapter.add_books(hub, [BTC])
        hub.handle("okx", okx_adapter.parser().parse(message, 0.0), 0.0)
        counters = hub.counters("okx")
        return hub.book("okx", BTC), (counters["checksums_verified"], counters["checksums_failed"])

    def test_the_documented_examples_check_out(self):
        for bids, asks, text, value in self.EXAMPLES:
            with self.subTest(text=text):
                self.assertEqual(signed_crc32(text), value)
                book, counters = self.checked(book_message("snapshot", "BTC-USDT", bids, asks, -1, 1, value))
                self.assertEqual(counters, (1, 0))
                self.assertEqual(okx_adapter_checksum(book), value)
                self.assertTrue(book.live)

    def test_a_book_that_differs_fails_its_checksum(self):
        bids, asks, _, value = self.EXAMPLES[0]
        spoiled = [["3366.1", "7", "0", "3"], ["3366", "6.5", "3", "4"]]
        book, counters = self.checked(book_message("snapshot", "BTC-USDT", spoiled, asks, -1, 1, value))
        self.assertEqual(counters, (0, 1))
        self.assertFalse(book.live)
        self.assertEqual(
            book.stale_reason, f"checksum_mismatch: exchange checksum {value}, book's {okx_adapter_checksum(book)}"
        )


def okx_adapter_checksum(book):
    return adapter((BTC,)).checksum(book, TABLE.market(BTC))


class ParseTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()
        self.parser = self.adapter.parser()

    def parse(self, message):
        return self.parser.parse(message, 1.5)

    def test_subscriptions(self):
        self.assertEqual(
            [json.loads(m) for m in self.adapter.subscribe([BTC, ETH], 0.0)],
            [
                {
                    "op": "subscribe",
                    "args": [
                        {"channel": channel, "instId": inst_id}
                        for channel in ("books", "trades", "tickers")
                        for inst_id in ("BTC-USDT", "ETH-USDT")
                    ],
                }
            ],
        )
        self.assertEqual([json.loads(m)["op"] for m in self.adapter.unsubscribe([BTC])], ["unsubscribe"])
        self.assertEqual(
            [json.loads(m) for m in self.adapter.resubscribe([ETH], 0.0)],
            [{"op": op, "args": [{"channel": "books", "instId": "ETH-USDT"}]} for op in ("unsubscribe", "subscribe")],
        )

    def test_many_pairs_are_subscribed_in_requests_of_100(self):
        listed = [{**RAW["BTC-USDT"], "instId": f"C{n}-USDT", "baseCcy": f"C{n}"} for n in range(250)]
        table = SymbolTable("okx", okx.parse_markets(json.dumps({"code": "0", "msg": "", "data": listed})))
        pairs = [Pair(f"C{n}", "USDT") for n in range(250)]
        sent = okx.OkxAdapter(table, pairs).subscribe(pairs, 0.0)
        requests = [json.loads(m) for m in sent]
        self.assertEqual([len(r["args"]) for r in requests], [300, 300, 150])
        self.assertEqual(
            [arg["instId"] for r in requests for arg in r["args"] if arg["channel"] == "books"],
            [f"C{n}-USDT" for n in range(250)],
        )
        self.assertLess(max(map(len, sent)), 16_000)  # OKX's limit: 64 KB of channels a request

    def test_a_snapshot_then_updates_that_chain_on_seq_ids(self):
        [snapshot, check] = self.parse(
            book_message(
                "snapshot", "BTC-USDT", [["97000.1", "0.5", "0", "2"]], [["97000.2", "1.25", "0", "1"]], -1, 10, 77
            )
        )
        self.assertEqual(
            snapshot,
            BookSnapshot(
                BTC, [(Decimal("97000.1"), Decimal("0.5"))], [(Decimal("97000.2"), Decimal("1.25"))], 10, BOOK_TIME
            ),
        )
        self.assertEqual(check, BookDelta(BTC, (), checksum=77, time=BOOK_TIME))
        [update] = self.parse(
            book_message("update", "BTC-USDT", [["97000.1", "0", "0", "0"]], [["97000.3", "2", "0", "3"]], 10, 15, -5)
        )
        self.assertEqual(
            update,
            BookDelta(
                BTC,
                [(BookSide.BID, Decimal("97000.1"), Decimal(0)), (BookSide.ASK, Decimal("97000.3"), Decimal(2))],
                checksum=-5,
                time=BOOK_TIME,
            ),
        )
        # "no update": prevSeqId is seqId; a sequence reset: seqId below prevSeqId. Both follow.
        self.assertEqual(
            self.parse(book_message("update", "BTC-USDT", [], [], 15, 15, -5)),
            [BookDelta(BTC, [], checksum=-5, time=BOOK_TIME)],
        )
        self.assertEqual(
            self.parse(book_message("update", "BTC-USDT", [], [], 15, 3, -5)),
            [BookDelta(BTC, [], checksum=-5, time=BOOK_TIME)],
        )
        self.assertEqual(
            self.parse(book_message("update", "BTC-USDT", [], [], 3, 9, -5)),
            [BookDelta(BTC, [], checksum=-5, time=BOOK_TIME)],
        )

    def test_a_broken_chain_is_a_resync_of_that_book_until_its_next_snapshot(self):
        self.parse(book_message("snapshot", "BTC-USDT", [], [], -1, 10, 1))
        self.parse(book_message("snapshot", "ETH-USDT", [], [], -1, 500, 1))
        self.assertEqual(
            self.parse(book_message("update", "BTC-USDT", [["1", "1", "0", "1"]], [], 12, 20, 1)),
            [Resync(BTC, Problem.SEQUENCE_GAP, "update 20 follows 12, not 10")],
        )
        self.assertEqual(len(self.parse(book_message("update", "ETH-USDT", [], [], 500, 501, 1))), 1)  # others go on
        [snapshot, _] = self.parse(book_message("snapshot", "BTC-USDT", [], [], -1, 40, 1))
        self.assertEqual(snapshot.sequence, 40)
        self.assertEqual(
            self.parse(book_message("update", "BTC-USDT", [], [], 40, 41, 1)),
            [BookDelta(BTC, [], checksum=1, time=BOOK_TIME)],
        )
        # an update before any snapshot on this connection is a gap too
        fresh = self.adapter.parser()
        self.assertEqual(
            fresh.parse(book_message("update", "BTC-USDT", [], [], 40, 41, 1), 0.0),
            [Resync(BTC, Problem.SEQUENCE_GAP, "update 41 follows 40, not None")],
        )

    def test_a_zero_checksum_is_no_checksum(self):
        # OKX's JSON book channels send 0 since 23 June 2026: nothing to check, the seqIds are the check
        [_, check] = self.parse(book_message("snapshot", "BTC-USDT", [], [], -1, 10, 0))
        self.assertEqual(check, BookDelta(BTC, (), checksum=None, time=BOOK_TIME))

    def test_trades_name_the_taker(self):
        # the documentation's example
        message = (
            '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474",'
            '"px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"0",'
            '"seqId":1234}]}'
        )
        self.assertEqual(
            self.parse(message),
            [Trade(BTC, "130639474", Decimal("42219.9"), Decimal("0.12060306"), Side.BUY, 1630048897.897)],
        )

    def test_tickers(self):
        # the documentation's example
        message = (
            '{"arg":{"channel":"tickers","instId":"ETH-USDT"},"data":[{"instType":"SPOT","instId":"ETH-USDT",'
            '"last":"9999.99","lastSz":"0.1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5",'
            '"open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222",'
            '"sodUtc0":"2222","sodUtc8":"2222","ts":"1597026383085"}]}'
        )
        self.assertEqual(
            self.parse(message),
            [
                Ticker(
                    ETH,
                    Decimal("8888.88"),
                    Decimal("9999.99"),
                    1597026383.085,
                    bid_size=Decimal(5),
                    ask_size=Decimal(11),
                    last=Decimal("9999.99"),
                    volume_24h=Decimal(2222),
                )
            ],
        )
        empty = message.replace('"bidPx":"8888.88","bidSz":"5"', '"bidPx":"","bidSz":""')
        [ticker] = self.parse(empty)
        self.assertEqual((ticker.bid, ticker.bid_size), (None, None))

    def test_errors_acks_pongs_and_other_instruments(self):
        error = (
            '{"event":"error","code":"60012","msg":"Invalid request: {\\"op\\": \\"subscribe\\"}","connId":"a4d3ae55"}'
        )
        self.assertEqual(self.parse(error), [FeedError('60012 Invalid request: {"op": "subscribe"}')])
        self.assertEqual(
            self.parse('{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a"}'), []
        )
        self.assertEqual(self.parse("pong"), [])
        self.assertEqual(self.parse(b"pong"), [])
        self.assertEqual(self.parse(book_message("snapshot", "DOGE-USDT", [], [], -1, 1, 1)), [])
        with self.assertRaises(InvalidParameter):
            self.parse(book_message("partial", "BTC-USDT", [], [], -1, 1, 1))


class CandlesTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def test_the_request_asks_the_range_with_okx_s_exclusive_bounds(self):
        request = self.adapter.candles_request(BTC, 300, 1_795_262_400, 1_795_262_400 + 100 * 300)
        self.assertEqual(request.path, "/api/v5/market/history-candles")
        self.assertEqual(
            request.params,
            {"instId": "BTC-USDT", "bar": "5m", "before": 1_795_262_399_999, "after": 1_795_292_400_000, "limit": 100},
        )
        self.assertEqual(self.adapter.candles_request(BTC, 86400, 0, 86400).params["bar"], "1Dutc")

    def test_a_request_out_of_bounds_is_refused(self):
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.candles_request(BTC, 120, 0, 1200)
        self.assertIn("interval: expected one of 60, 180, 300", str(raised.exception))
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.candles_request(BTC, 60, 0, 101 * 60)
        self.assertEqual(
            str(raised.exception), "end: expected after start, and at most 100 intervals after it, got 6060"
        )

    def test_rows_newest_first_become_candles_oldest_first(self):
        rows = json.loads(CANDLES_BODY)["data"]
        candles = self.adapter.parse_candles(CANDLES_BODY, BTC, 60)
        self.assertEqual(len(candles), len(rows))
        self.assertEqual([c.start for c in candles], sorted(int(row[0]) // 1000 for row in rows))
        newest = rows[0]
        self.assertEqual(
            candles[-1], Candle(BTC, int(newest[0]) // 1000, 60, *(Decimal(value) for value in newest[1:6]))
        )

    def test_malformed_candles_and_errors(self):
        row = [
            "1597026383085",
            "3.721",
            "3.743",
            "3.677",
            "3.708",
            "8422410",
            "22698348.04828491",
            "12698348.04828491",
            "0",
        ]
        cases = [
            (
                json.dumps({"code": "0", "msg": "", "data": [[1597026383085, *row[1:]]]}),
                InvalidParameter,
                "ts of BTC_USDT candle 0 on okx: expected a string, got 1597026383085",
            ),
            (
                json.dumps({"code": "0", "msg": "", "data": [["1597026383.085", *row[1:]]]}),
                InvalidParameter,
                "ts of BTC_USDT candle 0 on okx: expected a time in milliseconds, as a string of digits, "
                "got '1597026383.085'",
            ),
            (
                json.dumps({"code": "0", "msg": "", "data": [row[:5]]}),
                InvalidParameter,
                "GET candles of BTC_USDT on okx[0]: expected a row of 9 columns: ts, o, h, l, c, vol, volCcy, "
                "volCcyQuote, confirm, got ['1597026383085', '3.721', '3.743', '3.677', '3.708']",
            ),
            (
                '{"code":"51000","msg":"Parameter bar error","data":[]}',
                ExchangeRejected,
                "okx refused the request (HTTP 200): 51000 Parameter bar error",
            ),
        ]
        for body, error, message in cases:
            with self.subTest(message=message), self.assertRaises(error) as raised:
                self.adapter.parse_candles(body, BTC, 60)
            self.assertEqual(str(raised.exception), message)
        [candle] = self.adapter.parse_candles(json.dumps({"code": "0", "msg": "", "data": [row]}), BTC, 60)
        self.assertEqual((candle.start, candle.volume), (1597026383, Decimal("8422410")))


class SettingsTest(unittest.TestCase):
    def load(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            handle.write(text)
        try:
            return load_settings(handle.name, env={})
        finally:
            Path(handle.name).unlink()

    def test_okx_follows_its_default_pairs_in_paper_mode(self):
        settings = self.load("{}")
        self.assertEqual(settings.exchanges.okx.pairs, ["BTC_USDT", "ETH_USDT", "SOL_USDT"])
        self.assertIs(adapter_class("okx"), okx.OkxAdapter)

    def test_live_mode_needs_the_passphrase_too(self):
        with self.assertRaises(ConfigError) as raised:
            self.load('{"exchanges": {"okx": {"mode": "live", "api_key": "k", "api_secret": "s"}}}')
        self.assertIn("setting exchanges.okx.passphrase: expected a value for live trading", str(raised.exception))
        settings = self.load(
            '{"exchanges": {"okx": {"mode": "live", "api_key": "k", "api_secret": "s", "passphrase": "p"}}}'
        )
        self.assertEqual(settings.exchanges.okx.mode, "live")
        self.assertIs(private_adapter_class("okx"), OkxPrivate)


class OkxCaptureTest(unittest.TestCase):
    """The made-up capture replayed, against the same capture read independently
    (tests/exchanges/test_okx_feed.py: plain json, a dict per side)."""

    FILES = [CAPTURES / "OKX.0", CAPTURES / "OKX.ws.0.0"]

    def test_xwrap_replay_checks_every_checksum_and_ends_with_no_corrupt_book(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = xwrap(["replay", "--exchange", "okx", *map(str, self.FILES)])
        report = json.loads(out.getvalue())
        self.assertEqual(status, 0)
        self.assertEqual(
            (report["corrupt"], report["checksums"], report["sequence_gaps"], report["resyncs"]),
            ([], {"verified": len(BOOK_MESSAGES), "failed": 0}, 0, 0),
        )
        self.assertEqual({book["state"] for book in report["books"].values()}, {"live"})

    def test_replayed_books_equal_the_capture_read_independently(self):
        replay = Replay("okx", self.FILES)
        replay.run()
        for inst_id, (bids, asks) in FINAL.items():
            with self.subTest(inst_id=inst_id):
                book = replay.hub.book("okx", PAIRS[inst_id])
                self.assertEqual((dict(book.bids), dict(book.asks)), (bids, asks))

    def test_the_capture_is_what_the_script_writes(self):
        rest, ws = generate((FIXTURES / "okx" / "instruments.json").read_text(encoding="utf-8"))
        self.assertEqual((CAPTURES / "OKX.0").read_text(encoding="utf-8").splitlines(), rest)
        self.assertEqual((CAPTURES / "OKX.ws.0.0").read_text(encoding="utf-8").splitlines(), ws)


if __name__ == "__main__":
    unittest.main()
