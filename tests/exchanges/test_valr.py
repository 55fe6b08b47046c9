"""VALR's translations: markets from the pairs answer, the OB_L1_DIFF book (sequence and checksum),
trades, market summaries, buckets and errors; the made-up capture (tests/fixtures/README.md)
replayed and regenerated."""

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
from exchange_wrapper.core.errors import ConfigError, ExchangeRejected, InvalidParameter, MarketClosed, PrecisionError
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Problem, Ticker, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import adapter_class
from exchange_wrapper.exchanges.valr import public as valr
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, FIXTURES, MarketsContract, captured_body
from tests.exchanges.test_valr_feed import BOOK_MESSAGES, FINAL, PAIRS
from tests.fixtures.valr.make_capture import generate

BODY = captured_body("VALR.0", "https://api.valr.com/v1/public/pairs")
RAW = {pair["symbol"]: pair for pair in json.loads(BODY)}
BUCKETS_BODY = captured_body("VALR.0", "https://api.valr.com/v1/public/BTCZAR/buckets")
BTC, ETH, BTC_USDC = Pair("BTC", "ZAR"), Pair("ETH", "ZAR"), Pair("BTC", "USDC")
TABLE = SymbolTable("valr", valr.parse_markets(BODY))


def pairs(**changes):
    """The pairs answer with BTCZAR alone, ``changes`` made to it."""
    return json.dumps([{**RAW["BTCZAR"], **changes}])


class ValrMarketsTest(MarketsContract, unittest.TestCase):
    module = valr
    body = BODY
    response_name = "GET /v1/public/pairs on valr"

    def expected_pairs(self):
        return {
            symbol: Pair(raw["baseCurrency"], raw["quoteCurrency"])
            for symbol, raw in RAW.items()
            if raw["currencyPairType"] == "SPOT"
        }

    def test_markets_field_by_field(self):
        for symbol in self.expected_pairs():
            raw, market = RAW[symbol], self.table.market_of(symbol)
            with self.subTest(symbol=symbol):
                self.assertEqual(market.tick_size, Decimal(raw["tickSize"]))
                self.assertEqual(market.size_step, Decimal(1).scaleb(-int(raw["baseDecimalPlaces"])))
                self.assertEqual(
                    (market.min_size, market.max_size), (Decimal(raw["minBaseAmount"]), Decimal(raw["maxBaseAmount"]))
                )
                self.assertEqual(
                    (market.min_notional, market.max_notional),
                    (Decimal(raw["minQuoteAmount"]), Decimal(raw["maxQuoteAmount"])),
                )
        btc = self.table.market(BTC)
        self.assertEqual(
            (btc.symbol, btc.tick_size, btc.size_step, btc.min_size, btc.min_notional),
            ("BTCZAR", Decimal(1), Decimal("0.00000001"), Decimal("0.00001"), Decimal(10)),
        )
        self.assertEqual(self.table.to_symbol("SOL_BTC"), "SOLBTC")

    def test_futures_are_not_spot_markets(self):
        self.assertEqual(
            [raw["symbol"] for raw in RAW.values() if raw["currencyPairType"] == "FUTURE"], ["BTCUSDTPERP"]
        )
        self.assertNotIn("BTCUSDTPERP", [m.symbol for m in self.markets])

    def test_fees_by_the_kind_of_pair(self):
        fees = {m.symbol: (m.maker_fee, m.taker_fee) for m in self.markets}
        self.assertEqual(fees["BTCZAR"], (Decimal("0.0018"), Decimal("0.0035")))  # quoted in rand
        self.assertEqual(fees["BTCUSDC"], (Decimal("0.0008"), Decimal("0.001")))  # quoted in a crypto currency
        self.assertEqual(fees["SOLBTC"], (Decimal("0.0008"), Decimal("0.001")))
        self.assertEqual(fees["USDCUSDT"], (Decimal("0.0005"), Decimal("0.001")))  # a stable coin for another

    def test_only_active_pairs_trade(self):
        self.assertEqual(
            {m.symbol: m.status for m in self.markets if m.status is not MarketStatus.ONLINE},
            {"LUNAZAR": MarketStatus.OFFLINE},
        )
        with self.assertRaises(MarketClosed):
            check_order(self.table.market("LUNA_ZAR"), side="buy", type="limit", size=Decimal(5), price=Decimal(1))

    def test_rounding_and_minimums_on_the_pairs_precision(self):
        btc = self.table.market(BTC)
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("1700000.7"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345678"), Decimal("1700000")))
        with self.assertRaises(PrecisionError):
            check_order(btc, side="buy", type="limit", size=Decimal("0.000009"), price=Decimal("1700000"))
        with self.assertRaises(PrecisionError):  # 0.00001 BTC at R 900,000 is R 9: under R 10
            check_order(btc, side="buy", type="limit", size=Decimal("0.00001"), price=Decimal("900000"))

    def test_malformed_pairs_are_refused_naming_the_field(self):
        cases = [
            (pairs(tickSize="0"), "tickSize of BTCZAR on valr: expected a decimal greater than 0, got '0'"),
            (
                pairs(baseDecimalPlaces="eight"),
                "baseDecimalPlaces of BTCZAR on valr: expected a count of decimal places such as \"8\", got 'eight'",
            ),
            (
                pairs(minBaseAmount=None),
                'minBaseAmount of BTCZAR on valr: missing, expected a decimal string such as "0.01"',
            ),
            (json.dumps({"pairs": []}), "GET /v1/public/pairs on valr: expected a JSON list, got {'pairs': []}"),
        ]
        for body, message in cases:
            self.assertRefused(InvalidParameter, message, valr.parse_markets, body)

    def test_valr_refusals(self):
        self.assertRefused(
            ExchangeRejected,
            "valr refused the request (HTTP 400): -11 Unknown error",
            valr.parse_markets,
            '{"code":-11,"message":"Unknown error"}',
        )


def adapter(followed=(BTC, ETH)):
    return valr.ValrAdapter(TABLE, followed)


def book_message(kind, symbol, bids, asks, sequence, checksum):
    return json.dumps(
        {"type": kind, "ps": symbol, "d": {"lc": 1790133277857, "a": asks, "b": bids, "sq": sequence, "cs": checksum}}
    )


class ChecksumTest(unittest.TestCase):
    """VALR's checksum as its documentation words it ("the top 25 bids and asks, written best bid,
    best ask, next bid, next ask, each as price:quantity, joined with ':'", the unsigned CRC32),
    over levels of a live OB_L1_SNAPSHOT frame, sent as snapshots through the adapter into a book
    of the hub."""

    EXAMPLES = [
        (
            [["86476", "0.0115"], ["86453", "0.04"], ["86452", "0.0682"]],
            [["86491", "0.0598"], ["86503", "0.04"], ["86504", "0.0995"]],
            "86476:0.0115:86491:0.0598:86453:0.04:86503:0.04:86452:0.0682:86504:0.0995",
        ),
        (
            [["86476", "0.0115"]],
            [["86491", "0.0598"], ["86503", "0.04"], ["86504", "0.0995"]],
            "86476:0.0115:86491:0.0598:86503:0.04:86504:0.0995",  # fewer bids: the asks go on alone
        ),
    ]

    def checked(self, message):
        """The hub's book and checksum counters after ``message`` on a fresh BTCZAR book."""
        hub, valr_adapter = MarketDataHub(), adapter((BTC,))
        hub.exchange("valr")
        valr_adapter.add_books(hub, [BTC])
        hub.handle("valr", valr_adapter.parse(message, 0.0), 0.0)
        counters = hub.counters("valr")
        return hub.book("valr", BTC), (counters["checksums_verified"], counters["checksums_failed"])

    def test_the_documented_rule_checks_out_unsigned(self):
        for bids, asks, text in self.EXAMPLES:
            value = zlib.crc32(text.encode())
            with self.subTest(text=text):
                book, counters = self.checked(book_message("OB_L1_SNAPSHOT", "BTCZAR", bids, asks, 5, value))
                self.assertEqual(counters, (1, 0))
                self.assertTrue(book.live)
                self.assertEqual(adapter((BTC,)).checksum(book, TABLE.market(BTC)), value)
        self.assertGreater(zlib.crc32(self.EXAMPLES[1][2].encode()), 2**31)  # a signed CRC would differ

    def test_a_book_that_differs_fails_its_checksum(self):
        bids, asks, text = self.EXAMPLES[0]
        value = zlib.crc32(text.encode())
        spoiled = [bids[0], ["86453", "0.041"], bids[2]]
        book, counters = self.checked(book_message("OB_L1_SNAPSHOT", "BTCZAR", spoiled, asks, 5, value))
        self.assertEqual(counters, (0, 1))
        self.assertFalse(book.live)
        self.assertTrue(book.stale_reason.startswith(f"checksum_mismatch: exchange checksum {value}, book's "))


class ParseTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def parse(self, message):
        return self.adapter.parse(message, 1.5)

    def test_subscriptions_name_every_pair_of_their_event(self):
        def sent(messages):
            return [json.loads(m) for m in messages]

        def subscription(events, symbols):
            return {"type": "SUBSCRIBE", "subscriptions": [{"event": e, "pairs": symbols} for e in events]}

        events = ("OB_L1_DIFF", "NEW_TRADE", "MARKET_SUMMARY_UPDATE")
        self.assertEqual(sent(self.adapter.subscribe([BTC], 0.0)), [subscription(events, ["BTCZAR"])])
        self.assertEqual(sent(self.adapter.subscribe([ETH, BTC], 0.0)), [subscription(events, ["BTCZAR", "ETHZAR"])])
        self.assertEqual(
            sent(self.adapter.resubscribe([BTC], 0.0)),
            [subscription(("OB_L1_DIFF",), ["ETHZAR"]), subscription(("OB_L1_DIFF",), ["BTCZAR", "ETHZAR"])],
        )
        self.assertEqual(sent(self.adapter.unsubscribe([BTC])), [subscription(events, ["ETHZAR"])])
        self.assertEqual(sent(self.adapter.unsubscribe([ETH])), [subscription(events, [])])  # VALR's unsubscribe

    def test_a_snapshot_then_diffs_with_their_sequence(self):
        [snapshot, check] = self.parse(
            book_message("OB_L1_SNAPSHOT", "BTCZAR", [["1700000", "0.5"]], [["1700001", "1.25"]], 907135, 77)
        )
        self.assertEqual(
            snapshot,
            BookSnapshot(
                BTC, [(Decimal(1700000), Decimal("0.5"))], [(Decimal(1700001), Decimal("1.25"))], 907135, 1790133277.857
            ),
        )
        self.assertEqual(check, BookDelta(BTC, (), checksum=77, time=1790133277.857))
        # the probe's first diff after its snapshot: an ask removed, another added, no bids
        [diff] = self.parse(
            '{"type":"OB_L1_DIFF","ps":"ETHZAR","d":{"lc":1790133283064,"a":[["86503","0"],["86516","0.04"]],'
            '"b":[],"sq":907136,"cs":4082567684}}'
        )
        self.assertEqual(
            diff,
            BookDelta(
                ETH,
                [(BookSide.ASK, Decimal(86503), Decimal(0)), (BookSide.ASK, Decimal(86516), Decimal("0.04"))],
                907136,
                907136,
                4082567684,
                1790133283.064,
            ),
        )

    def test_a_diff_that_skips_a_sequence_number_makes_the_book_stale(self):
        hub = MarketDataHub()
        hub.exchange("valr")
        self.adapter.add_books(hub, [BTC])
        snapshot = book_message("OB_L1_SNAPSHOT", "BTCZAR", [["100", "1"]], [["101", "1"]], 5, 0)
        hub.handle("valr", [e for e in self.parse(snapshot) if isinstance(e, BookSnapshot)], 0.0)
        diff = json.loads(book_message("OB_L1_DIFF", "BTCZAR", [["100", "2"]], [], 7, 0))
        [delta] = self.parse(json.dumps(diff))
        hub.handle("valr", [delta._replace(checksum=None)], 0.0)
        book = hub.book("valr", BTC)
        self.assertEqual(book.stale_reason, "sequence_gap: update 7 does not follow 5")
        self.assertEqual(hub.counters("valr")[Problem.SEQUENCE_GAP.value], 1)

    def test_trades_name_the_taker(self):
        # the documentation's example, with the id its schema lists
        message = (
            '{"type":"NEW_TRADE","currencyPairSymbol":"BTCUSDC","data":{"price":"9500","quantity":"0.001",'
            '"currencyPair":"BTCUSDC","tradedAt":"2019-04-25T19:51:55.393Z","takerSide":"buy",'
            '"id":"0a8e3a1c-7d4b-4e0f-9a57-1b6f4f8c2d11"}}'
        )
        self.adapter = adapter((BTC_USDC,))
        self.assertEqual(
            self.parse(message),
            [
                Trade(
                    BTC_USDC,
                    "0a8e3a1c-7d4b-4e0f-9a57-1b6f4f8c2d11",
                    Decimal(9500),
                    Decimal("0.001"),
                    Side.BUY,
                    1556221915.393,
                )
            ],
        )

    def test_market_summaries_are_tickers(self):
        # a live frame's fields, on a spot pair
        message = (
            '{"type":"MARKET_SUMMARY_UPDATE","currencyPairSymbol":"BTCZAR","data":{"currencyPairSymbol":"BTCZAR",'
            '"askPrice":"86491","bidPrice":"86476","lastTradedPrice":"86355","previousClosePrice":"85518",'
            '"baseVolume":"10.0569","quoteVolume":"865059.997","highPrice":"86706","lowPrice":"85117",'
            '"created":"2026-09-23T03:14:35.175Z","changeFromPrevious":"0.97"}}'
        )
        self.assertEqual(
            self.parse(message),
            [
                Ticker(
                    BTC,
                    Decimal(86476),
                    Decimal(86491),
                    1790133275.175,
                    last=Decimal(86355),
                    volume_24h=Decimal("10.0569"),
                )
            ],
        )

    def test_errors_acks_pongs_and_other_pairs(self):
        error = '{"type":"ERROR","message":"Channel OB_L1_DIFF, pair NOPEZAR combination invalid"}'
        self.assertEqual(self.parse(error), [FeedError("Channel OB_L1_DIFF, pair NOPEZAR combination invalid")])
        self.assertEqual(self.parse('{"type":"SUBSCRIBED","message":"OB_L1_DIFF:BTCZAR"}'), [])
        self.assertEqual(self.parse('{"type":"PONG"}'), [])
        self.assertEqual(self.parse('{"type":"PONG","message":"NO_SUBSCRIPTIONS"}'), [])
        self.assertEqual(self.parse(book_message("OB_L1_SNAPSHOT", "BTCUSDTPERP", [], [], 1, 1)), [])
        self.assertEqual(
            self.parse('{"type":"MARK_PRICE_UPDATE","currencyPairSymbol":"BTCZAR","data":{"price":"1"}}'), []
        )


class CandlesTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def test_the_request_asks_the_buckets_opening_before_end(self):
        request = self.adapter.candles_request(BTC, 300, 1_795_262_400, 1_795_262_400 + 300 * 300)
        self.assertEqual(request.path, "/v1/public/BTCZAR/buckets")
        self.assertEqual(request.params, {"periodSeconds": 300, "startTime": 1_795_262_400, "endTime": 1_795_352_399})

    def test_a_request_out_of_bounds_is_refused(self):
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.candles_request(BTC, 120, 0, 1200)
        self.assertIn("interval: expected one of 60, 300, 900", str(raised.exception))
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.candles_request(BTC, 60, 0, 301 * 60)
        self.assertEqual(
            str(raised.exception), "end: expected after start, and at most 300 intervals after it, got 18060"
        )

    def test_buckets_newest_first_become_candles_oldest_first(self):
        rows = json.loads(BUCKETS_BODY)
        candles = self.adapter.parse_candles(BUCKETS_BODY, BTC, 60)
        self.assertEqual(len(candles), len(rows))
        self.assertEqual([c.start for c in candles], sorted(c.start for c in candles))
        newest = rows[0]
        self.assertEqual(
            candles[-1],
            Candle(
                BTC,
                candles[-1].start,
                60,
                *(Decimal(newest[name]) for name in ("open", "high", "low", "close", "volume")),
            ),
        )
        self.assertEqual(candles[-1].start % 60, 0)

    def test_the_documented_example(self):
        body = (
            '[{"currencyPairSymbol":"BTCUSDC","bucketPeriodInSeconds":60,"startTime":"2025-07-22T12:56:00Z",'
            '"open":"119350","high":"119350","low":"119350","close":"119350","volume":"0","quoteVolume":"0"}]'
        )
        self.assertEqual(
            self.adapter.parse_candles(body, BTC_USDC, 60),
            [Candle(BTC_USDC, 1753188960, 60, *[Decimal(119350)] * 4, Decimal(0))],
        )

    def test_malformed_buckets_and_refusals(self):
        cases = [
            (
                '[{"startTime":"yesterday","open":"1","high":"1","low":"1","close":"1","volume":"0"}]',
                InvalidParameter,
                "startTime of BTC_ZAR bucket 0 on valr: expected Unix seconds",
            ),
            (
                '[{"startTime":"2025-07-22T12:56:00Z","open":"1","high":"1","low":"1","close":"1"}]',
                InvalidParameter,
                "volume of BTC_ZAR bucket 0 on valr: missing",
            ),
            (
                '{"code":-21,"message":"Too many buckets requested"}',
                ExchangeRejected,
                "valr refused the request (HTTP 400): -21 Too many buckets requested",
            ),
        ]
        for body, error, message in cases:
            with self.subTest(message=message), self.assertRaises(error) as raised:
                self.adapter.parse_candles(body, BTC, 60)
            self.assertTrue(str(raised.exception).startswith(message), str(raised.exception))


class SettingsTest(unittest.TestCase):
    def load(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            handle.write(text)
        try:
            return load_settings(handle.name, env={})
        finally:
            Path(handle.name).unlink()

    def test_valr_follows_its_default_pairs_in_paper_mode(self):
        settings = self.load("{}")
        self.assertEqual(settings.exchanges.valr.pairs, ["BTC_ZAR", "ETH_ZAR", "BTC_USDC"])
        self.assertEqual(settings.exchanges.valr.mode, "paper")
        self.assertIs(adapter_class("valr"), valr.ValrAdapter)

    def test_live_mode_takes_the_account_s_key_and_secret(self):
        with self.assertRaises(ConfigError) as raised:
            self.load('{"exchanges": {"valr": {"mode": "live", "api_key": "k"}}}')
        self.assertIn("exchanges.valr.api_secret", str(raised.exception))
        live = self.load('{"exchanges": {"valr": {"mode": "live", "api_key": "k", "api_secret": "s"}}}')
        self.assertEqual(live.exchanges.valr.mode, "live")


class ValrCaptureTest(unittest.TestCase):
    """The made-up capture replayed, against the same capture read independently
    (tests/exchanges/test_valr_feed.py: plain json, a dict per side)."""

    FILES = [CAPTURES / "VALR.0", CAPTURES / "VALR.ws.0.0"]

    def test_xwrap_replay_checks_every_checksum_and_ends_with_no_corrupt_book(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = xwrap(["replay", "--exchange", "valr", *map(str, self.FILES)])
        report = json.loads(out.getvalue())
        self.assertEqual(status, 0)
        self.assertEqual(
            (report["corrupt"], report["checksums"], report["sequence_gaps"], report["resyncs"]),
            ([], {"verified": len(BOOK_MESSAGES), "failed": 0}, 0, 0),
        )
        self.assertEqual({book["state"] for book in report["books"].values()}, {"live"})

    def test_replayed_books_equal_the_capture_read_independently(self):
        replay = Replay("valr", self.FILES)
        replay.run()
        for symbol, (bids, asks) in FINAL.items():
            with self.subTest(symbol=symbol):
                book = replay.hub.book("valr", PAIRS[symbol])
                self.assertEqual((dict(book.bids), dict(book.asks)), (bids, asks))

    def test_the_capture_is_what_the_script_writes(self):
        rest, ws = generate((FIXTURES / "valr" / "pairs.json").read_text(encoding="utf-8"))
        self.assertEqual((CAPTURES / "VALR.0").read_text(encoding="utf-8").splitlines(), rest)
        self.assertEqual((CAPTURES / "VALR.ws.0.0").read_text(encoding="utf-8").splitlines(), ws)


if __name__ == "__main__":
    unittest.main()
