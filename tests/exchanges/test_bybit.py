"""Bybit's translations: markets from the instruments answer, books (update ids, the restart's
snapshot), trades, tickers, klines and errors, on Bybit's documented examples; the made-up capture
(tests/fixtures/README.md) replayed and regenerated."""

import contextlib
import io
import json
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.cli import main as xwrap
from exchange_wrapper.config import load_settings
from exchange_wrapper.core.book import BookSide
from exchange_wrapper.core.errors import ExchangeRejected, InvalidParameter, MarketClosed, PrecisionError, RateLimited
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Ticker, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import adapter_class
from exchange_wrapper.exchanges.bybit import public as bybit
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, FIXTURES, MarketsContract, captured_body
from tests.exchanges.test_bybit_feed import FINAL, PAIRS
from tests.fixtures.bybit.make_capture import generate

BODY = captured_body("BYBIT.0", "https://api.bybit.com/v5/market/instruments-info")
RAW = {instrument["symbol"]: instrument for instrument in json.loads(BODY)["result"]["list"]}
CANDLES_BODY = captured_body("BYBIT.0", "https://api.bybit.com/v5/market/kline")
BTC, ETH = Pair("BTC", "USDT"), Pair("ETH", "USDT")
TABLE = SymbolTable("bybit", bybit.parse_markets(BODY))


def instruments(**changes):
    """The instruments answer with BTCUSDT alone, ``changes`` made to its lot size filter."""
    raw = RAW["BTCUSDT"]
    listed = {**raw, "lotSizeFilter": {**raw["lotSizeFilter"], **changes}}
    return json.dumps({"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": [listed]}})


class BybitMarketsTest(MarketsContract, unittest.TestCase):
    module = bybit
    body = BODY
    response_name = "GET /v5/market/instruments-info on bybit"

    def expected_pairs(self):
        return {symbol: Pair(raw["baseCoin"], raw["quoteCoin"]) for symbol, raw in RAW.items()}

    def test_markets_field_by_field(self):
        for symbol, raw in RAW.items():
            market, lots = self.table.market_of(symbol), raw["lotSizeFilter"]
            with self.subTest(symbol=symbol):
                self.assertEqual(market.tick_size, Decimal(raw["priceFilter"]["tickSize"]))
                self.assertEqual(market.size_step, Decimal(lots["basePrecision"]))
                self.assertEqual(
                    (market.min_size, market.max_size), (Decimal(lots["minOrderQty"]), Decimal(lots["maxOrderQty"]))
                )
                self.assertEqual(
                    (market.min_notional, market.max_notional),
                    (Decimal(lots["minOrderAmt"]), Decimal(lots["maxOrderAmt"])),
                )
                self.assertEqual(market.funds_step, Decimal(lots["quotePrecision"]))
                self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.001"), Decimal("0.001")))
        btc = self.table.market(BTC)
        # the documentation's example instrument
        self.assertEqual(
            (btc.symbol, btc.tick_size, btc.size_step, btc.min_size, btc.min_notional),
            ("BTCUSDT", Decimal("0.01"), Decimal("0.000001"), Decimal("0.000048"), Decimal(1)),
        )
        self.assertEqual(self.table.to_symbol("ETH_BTC"), "ETHBTC")

    def test_only_trading_instruments_trade(self):
        self.assertEqual(
            {m.symbol: m.status for m in self.markets if m.status is not MarketStatus.ONLINE},
            {"XYZUSDT": MarketStatus.OFFLINE},  # PreLaunch
        )
        with self.assertRaises(MarketClosed):
            check_order(self.table.market("XYZ_USDT"), side="buy", type="limit", size=Decimal(5), price=Decimal(1))

    def test_rounding_and_minimums_on_the_instruments_precision(self):
        btc = self.table.market(BTC)
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("97000.129"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.123456"), Decimal("97000.12")))
        with self.assertRaises(PrecisionError):  # under minOrderQty
            check_order(btc, side="buy", type="limit", size=Decimal("0.000047"), price=Decimal("97000"))
        with self.assertRaises(PrecisionError):  # over minOrderQty, under minOrderAmt (1 USDT)
            check_order(btc, side="buy", type="limit", size=Decimal("0.00005"), price=Decimal("10000"))

    def test_malformed_instruments_are_refused_naming_the_field(self):
        cases = [
            (
                instruments(basePrecision="0"),
                "lotSizeFilter.basePrecision of BTCUSDT on bybit: expected a decimal greater than 0, got '0'",
            ),
            (
                instruments(minOrderAmt=None),
                'lotSizeFilter.minOrderAmt of BTCUSDT on bybit: missing, expected a decimal string such as "0.01"',
            ),
            (
                json.dumps({"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": {}}}),
                "result.list of GET /v5/market/instruments-info on bybit: expected a JSON list, got {}",
            ),
        ]
        for body, message in cases:
            self.assertRefused(InvalidParameter, message, bybit.parse_markets, body)

    def test_bybit_error_codes(self):
        self.assertRefused(
            ExchangeRejected,
            "bybit refused the request (HTTP 200): 10001 params error: category is invalid",
            bybit.parse_markets,
            '{"retCode":10001,"retMsg":"params error: category is invalid","result":{},"retExtInfo":{},"time":1}',
        )
        with self.assertRaises(RateLimited):
            bybit.parse_markets('{"retCode":10006,"retMsg":"Too many visits!","result":{},"retExtInfo":{},"time":1}')


def adapter(pairs=(BTC, ETH)):
    return bybit.BybitAdapter(TABLE, pairs)


BOOK_TIME = 1672304484.976
"""The matching engine's ``cts`` of every book message below (the documentation's example), as Unix seconds."""


def book_message(kind, symbol, bids, asks, update, cts=True):
    data = {"s": symbol, "b": bids, "a": asks, "u": update, "seq": 7961638724}
    message = {"topic": f"orderbook.200.{symbol}", "type": kind, "ts": 1672304484978, "data": data}
    return json.dumps({**message, **({"cts": 1672304484976} if cts else {})})


class ParseTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def parse(self, message):
        return self.adapter.parse(message, 1.5)

    def test_subscriptions(self):
        topics = [f"{t}.{s}" for s in ("BTCUSDT", "ETHUSDT") for t in ("orderbook.200", "publicTrade", "tickers")]
        self.assertEqual(
            [json.loads(m) for m in self.adapter.subscribe([BTC, ETH], 0.0)], [{"op": "subscribe", "args": topics}]
        )
        self.assertEqual(
            [json.loads(m) for m in self.adapter.unsubscribe([BTC])], [{"op": "unsubscribe", "args": topics[:3]}]
        )
        self.assertEqual(
            [json.loads(m) for m in self.adapter.resubscribe([ETH], 0.0)],
            [{"op": op, "args": ["orderbook.200.ETHUSDT"]} for op in ("unsubscribe", "subscribe")],
        )

    def test_many_pairs_are_subscribed_ten_topics_a_request(self):
        listed = [{**RAW["BTCUSDT"], "symbol": f"C{n}USDT", "baseCoin": f"C{n}"} for n in range(7)]
        body = json.dumps({"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": listed}})
        table = SymbolTable("bybit", bybit.parse_markets(body))
        pairs = [Pair(f"C{n}", "USDT") for n in range(7)]
        requests = [json.loads(m) for m in bybit.BybitAdapter(table, pairs).subscribe(pairs, 0.0)]
        self.assertEqual([len(r["args"]) for r in requests], [10, 10, 1])
        self.assertEqual(
            [topic for r in requests for topic in r["args"] if topic.startswith("orderbook")],
            [f"orderbook.200.C{n}USDT" for n in range(7)],
        )

    def test_a_snapshot_then_deltas_with_their_update_ids(self):
        # the documentation's example, as the 200-level topic
        [snapshot] = self.parse(
            book_message(
                "snapshot",
                "BTCUSDT",
                [["16493.50", "0.006"], ["16493.00", "0.100"]],
                [["16611.00", "0.029"], ["16612.00", "0.213"]],
                18521288,
            )  # fmt: skip
        )
        self.assertEqual(
            snapshot,
            BookSnapshot(
                BTC,
                [(Decimal("16493.50"), Decimal("0.006")), (Decimal("16493.00"), Decimal("0.100"))],
                [(Decimal("16611.00"), Decimal("0.029")), (Decimal("16612.00"), Decimal("0.213"))],
                18521288,
                BOOK_TIME,
            ),
        )
        [delta] = self.parse(book_message("delta", "BTCUSDT", [["16493.50", "0"]], [["16611.00", "0.5"]], 18521289))
        self.assertEqual(
            delta,
            BookDelta(
                BTC,
                [(BookSide.BID, Decimal("16493.50"), Decimal(0)), (BookSide.ASK, Decimal("16611.00"), Decimal("0.5"))],
                first=18521289,
                last=18521289,
                time=BOOK_TIME,
            ),
        )
        # a message without the matching engine's time: the feed's ``ts``
        [delta] = self.parse(book_message("delta", "BTCUSDT", [], [], 18521290, cts=False))
        self.assertEqual(delta.time, 1672304484.978)
        with self.assertRaises(InvalidParameter):
            self.parse(book_message("partial", "BTCUSDT", [], [], 1))

    def test_a_jump_of_u_makes_the_book_stale_and_a_restart_snapshot_u_1_replaces_it(self):
        hub = MarketDataHub()
        hub.exchange("bybit")
        self.adapter.add_books(hub, [BTC])

        def apply(message):
            hub.handle("bybit", self.parse(message), 0.0)
            return hub.book("bybit", BTC)

        apply(book_message("snapshot", "BTCUSDT", [["100.00", "1"]], [["101.00", "1"]], 500))
        self.assertTrue(apply(book_message("delta", "BTCUSDT", [["99.00", "2"]], [], 501)).live)
        with self.assertLogs("exchange_wrapper.marketdata.hub", "WARNING"):
            book = apply(book_message("delta", "BTCUSDT", [["98.00", "2"]], [], 503))  # 502 never came
        self.assertEqual(book.stale_reason, "sequence_gap: update 503 does not follow 501")
        # Bybit's service restarted: the snapshot with u 1 overwrites the book, the ids start again
        book = apply(book_message("snapshot", "BTCUSDT", [["100.50", "3"]], [["101.50", "4"]], 1))
        self.assertTrue(book.live)
        self.assertEqual((dict(book.bids), dict(book.asks)), ({Decimal("100.50"): 3}, {Decimal("101.50"): 4}))
        self.assertTrue(apply(book_message("delta", "BTCUSDT", [["100.50", "0"]], [], 2)).live)
        self.assertEqual(dict(hub.book("bybit", BTC).bids), {})

    def test_trades_name_the_taker(self):
        # the documentation's example
        message = (
            '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,'
            '"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",'
            '"i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}'
        )
        self.assertEqual(
            self.parse(message),
            [
                Trade(
                    BTC,
                    "20f43950-d8dd-5b31-9112-a178eb6023af",
                    Decimal("16578.50"),
                    Decimal("0.001"),
                    Side.BUY,
                    1672304486.865,
                )  # fmt: skip
            ],
        )

    def test_spot_tickers_carry_the_last_price_and_volume(self):
        # the documentation's spot example: no best bid and ask in it
        message = (
            '{"topic":"tickers.BTCUSDT","ts":1673853746003,"type":"snapshot","cs":2588407389,"data":{'
            '"symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99","lowPrice24h":"20575.00",'
            '"prevPrice24h":"20704.93","volume24h":"6780.866843","turnover24h":"141946527.22907118",'
            '"price24hPcnt":"0.0196","usdIndexPrice":"21120.2400136"}}'
        )
        self.assertEqual(
            self.parse(message),
            [Ticker(BTC, None, None, 1673853746.003, last=Decimal("21109.77"), volume_24h=Decimal("6780.866843"))],
        )

    def test_errors_acks_pongs_and_other_symbols(self):
        refused = (
            '{"success":false,"ret_msg":"error:handler not found,topic:orderbook.200.NOSUCH",'
            '"conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b","req_id":"","op":"subscribe"}'
        )
        self.assertEqual(
            self.parse(refused), [FeedError("subscribe: error:handler not found,topic:orderbook.200.NOSUCH")]
        )
        ack = '{"success":true,"ret_msg":"subscribe","conn_id":"2324d924","req_id":"","op":"subscribe"}'
        self.assertEqual(self.parse(ack), [])
        self.assertEqual(self.parse('{"success":true,"ret_msg":"pong","conn_id":"0970e817","op":"ping"}'), [])
        self.assertEqual(self.parse(book_message("snapshot", "DOGEUSDT", [], [], 1)), [])
        self.assertEqual(self.parse(book_message("snapshot", "BTCUSDT", [], [], 1).replace(".200.", ".50.")), [])


class CandlesTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def test_the_request_asks_the_range_up_to_not_including_end(self):
        request = self.adapter.candles_request(BTC, 300, 1_795_262_400, 1_795_262_400 + 100 * 300)
        self.assertEqual(request.path, "/v5/market/kline")
        self.assertEqual(
            request.params,
            {
                "category": "spot",
                "symbol": "BTCUSDT",
                "interval": "5",
                "start": 1_795_262_400_000,
                "end": 1_795_292_399_999,
                "limit": 100,
            },
        )
        self.assertEqual(self.adapter.candles_request(BTC, 86400, 0, 86400).params["interval"], "D")

    def test_a_request_out_of_bounds_is_refused(self):
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.candles_request(BTC, 120, 0, 1200)
        self.assertIn("interval: expected one of 60, 180, 300", str(raised.exception))
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.candles_request(BTC, 60, 0, 1001 * 60)
        self.assertEqual(
            str(raised.exception), "end: expected after start, and at most 1000 intervals after it, got 60060"
        )

    def test_rows_newest_first_become_candles_oldest_first(self):
        rows = json.loads(CANDLES_BODY)["result"]["list"]
        candles = self.adapter.parse_candles(CANDLES_BODY, BTC, 60)
        self.assertEqual(len(candles), len(rows))
        self.assertEqual([c.start for c in candles], sorted(int(row[0]) // 1000 for row in rows))
        newest = rows[0]
        self.assertEqual(
            candles[-1], Candle(BTC, int(newest[0]) // 1000, 60, *(Decimal(value) for value in newest[1:6]))
        )

    def test_malformed_klines_and_errors(self):
        # a row of the documentation's example
        row = ["1670608800000", "17071", "17073", "17027", "17055.5", "268611", "15.74462667"]

        def answer(rows):
            return json.dumps({"retCode": 0, "retMsg": "OK", "result": {"symbol": "BTCUSDT", "list": rows}})

        cases = [
            (
                answer([[1670608800000, *row[1:]]]),
                InvalidParameter,
                "startTime of BTC_USDT kline 0 on bybit: expected a string, got 1670608800000",
            ),
            (
                answer([["1670608800.000", *row[1:]]]),
                InvalidParameter,
                "startTime of BTC_USDT kline 0 on bybit: expected a time in milliseconds, as a string of digits, "
                "got '1670608800.000'",
            ),
            (
                answer([row[:5]]),
                InvalidParameter,
                "GET klines of BTC_USDT on bybit[0]: expected a row of 7 columns: startTime, openPrice, highPrice, "
                "lowPrice, closePrice, volume, turnover, got ['1670608800000', '17071', '17073', '17027', '17055.5']",
            ),
            (
                '{"retCode":10001,"retMsg":"Invalid period!","result":{},"retExtInfo":{},"time":1}',
                ExchangeRejected,
                "bybit refused the request (HTTP 200): 10001 Invalid period!",
            ),
        ]
        for body, error, message in cases:
            with self.subTest(message=message), self.assertRaises(error) as raised:
                self.adapter.parse_candles(body, BTC, 60)
            self.assertEqual(str(raised.exception), message)
        [candle] = self.adapter.parse_candles(answer([row]), BTC, 60)
        self.assertEqual((candle.start, candle.close, candle.volume), (1670608800, Decimal("17055.5"), Decimal(268611)))


class SettingsTest(unittest.TestCase):
    def test_bybit_follows_its_default_pairs_in_paper_mode(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            handle.write("{}")
        try:
            settings = load_settings(handle.name, env={})
        finally:
            Path(handle.name).unlink()
        self.assertEqual(
            (settings.exchanges.bybit.pairs, settings.exchanges.bybit.mode),
            (["BTC_USDT", "ETH_USDT", "SOL_USDT"], "paper"),
        )
        self.assertIs(adapter_class("bybit"), bybit.BybitAdapter)


class BybitCaptureTest(unittest.TestCase):
    """The made-up capture replayed, against the same capture read independently
    (tests/exchanges/test_bybit_feed.py: plain json, a dict per side)."""

    FILES = [CAPTURES / "BYBIT.0", CAPTURES / "BYBIT.ws.0.0"]

    def test_xwrap_replay_ends_with_no_corrupt_book_and_no_gap(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = xwrap(["replay", "--exchange", "bybit", *map(str, self.FILES)])
        report = json.loads(out.getvalue())
        self.assertEqual(status, 0)
        self.assertEqual((report["corrupt"], report["sequence_gaps"], report["resyncs"]), ([], 0, 0))
        self.assertEqual({book["state"] for book in report["books"].values()}, {"live"})

    def test_replayed_books_equal_the_capture_read_independently(self):
        replay = Replay("bybit", self.FILES)
        replay.run()
        for symbol, (bids, asks) in FINAL.items():
            with self.subTest(symbol=symbol):
                book = replay.hub.book("bybit", PAIRS[symbol])
                self.assertEqual((dict(book.bids), dict(book.asks)), (bids, asks))

    def test_the_capture_is_what_the_script_writes(self):
        rest, ws = generate((FIXTURES / "bybit" / "instruments.json").read_text(encoding="utf-8"))
        self.assertEqual((CAPTURES / "BYBIT.0").read_text(encoding="utf-8").splitlines(), rest)
        self.assertEqual((CAPTURES / "BYBIT.ws.0.0").read_text(encoding="utf-8").splitlines(), ws)


if __name__ == "__main__":
    unittest.main()
