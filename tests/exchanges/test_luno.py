"""Luno's translations: markets from its markets answer (XBT read as BTC), the market-by-order
stream aggregated to price levels (Luno's documented create, delete and trade examples through the
adapter into a book), its sequence as the books' integrity rule, trades, candles and errors; the
made-up capture (tests/fixtures/README.md) replayed and regenerated."""

import base64
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
from exchange_wrapper.core.errors import ConfigError, ExchangeRejected, InvalidParameter, RateLimited
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, Problem, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials, adapter_class
from exchange_wrapper.exchanges.luno import public as luno
from exchange_wrapper.exchanges.private import private_adapter_class
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, FIXTURES, MarketsContract, captured_body
from tests.exchanges.test_luno_feed import FINAL, MESSAGES, PAIRS
from tests.fixtures.luno.make_capture import generate

BODY = captured_body("LUNO.0", "https://api.luno.com/api/exchange/1/markets")
RAW = {market["market_id"]: market for market in json.loads(BODY)["markets"]}
BTC, ETH = Pair("BTC", "ZAR"), Pair("ETH", "ZAR")
TABLE = SymbolTable("luno", luno.parse_markets(BODY))
KEY = Credentials("cnz2yjswbv3jd", "0hydMZDb9HRR3Qq-iqALwZtXLkbLR4fWxtDZvkB9h4I")  # the documented example key
STREAM = "wss://ws.luno.com/api/1/stream/"
T = 1_700_000_000.0  # the time of update()'s messages (Luno's timestamp, ms)


def markets(**changes):
    """The markets answer with XBTZAR alone, ``changes`` made to it."""
    return json.dumps({"markets": [{**RAW["XBTZAR"], **changes}]})


class LunoMarketsTest(MarketsContract, unittest.TestCase):
    module = luno
    body = BODY
    response_name = "GET /api/exchange/1/markets on luno"

    def expected_pairs(self):
        common = {"XBT": "BTC"}
        return {
            market_id: Pair(
                common.get(raw["base_currency"], raw["base_currency"]),
                common.get(raw["counter_currency"], raw["counter_currency"]),
            )
            for market_id, raw in RAW.items()
        }

    def test_markets_field_by_field(self):
        market = TABLE.market(BTC)
        self.assertEqual(
            (market.symbol, market.tick_size, market.size_step, market.min_size, market.status),
            ("XBTZAR", Decimal(1), Decimal("0.000001"), Decimal("0.0001"), MarketStatus.ONLINE),
        )
        eth_btc = TABLE.market(Pair("ETH", "BTC"))
        self.assertEqual(
            (eth_btc.symbol, eth_btc.tick_size, eth_btc.size_step), ("ETHXBT", Decimal("0.000001"), Decimal("0.0001"))
        )
        self.assertEqual(TABLE.to_symbol("BTC_EUR"), "XBTEUR")

    def test_only_active_markets_trade(self):
        self.assertIs(TABLE.market(Pair("XRP", "ZAR")).status, MarketStatus.OFFLINE)  # POST_ONLY in the answer
        [suspended] = luno.parse_markets(markets(trading_status="SUSPENDED"))
        self.assertIs(suspended.status, MarketStatus.OFFLINE)

    def test_malformed_markets_are_refused_naming_the_field(self):
        cases = [
            (markets(price_scale="0"), "price_scale of XBTZAR on luno: expected a whole number, got '0'"),
            (markets(volume_scale=-1), "volume_scale of XBTZAR on luno: expected a whole number of 0 or more, got -1"),
            (
                markets(min_volume=None),
                'min_volume of XBTZAR on luno: missing, expected a decimal string such as "0.01"',
            ),
            (
                json.dumps({"markets": [{"trading_status": "ACTIVE"}]}),
                "market_id of entry 0 on luno: missing, expected a string",
            ),
            (
                json.dumps({"error": "x"}),
                "markets of GET /api/exchange/1/markets on luno: missing, expected a JSON list",
            ),
        ]
        for body, message in cases:
            with self.subTest(message=message), self.assertRaises(InvalidParameter) as raised:
                luno.parse_markets(body)
            self.assertEqual(str(raised.exception), message)


def adapter(pairs=(BTC, ETH), credentials=KEY):
    return luno.LunoAdapter(TABLE, pairs, credentials)


def state(sequence, bids=(), asks=()):
    return json.dumps(
        {"sequence": str(sequence), "asks": list(asks), "bids": list(bids), "status": "ACTIVE", "timestamp": 1}
    )


def update(sequence, timestamp=1_700_000_000_000, trades=None, create=None, delete=None):
    return json.dumps(
        {
            "sequence": str(sequence),
            "trade_updates": trades,
            "create_update": create,
            "delete_update": delete,
            "status_update": None,
            "timestamp": timestamp,
        }
    )


# Luno's documented examples of the market stream's updates (luno.com/en/developers/api, Streaming API)
CREATE = {"order_id": "BXMC2CJ7HNB88U4", "type": "BID", "price": "1234.00", "volume": "1.23"}
DELETE = {"order_id": "BXMC2CJ7HNB88U4"}
TRADE = {
    "sequence": 24509303,
    "base": "0.1",
    "counter": "5232.00",
    "maker_order_id": "BXMC2CJ7HNB88U4",
    "taker_order_id": "BXMC2CJ7HNB88U5",
}


class StreamTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()
        self.parser = self.adapter.connection_parser(STREAM + "XBTZAR")
        self.hub = MarketDataHub()
        self.adapter.add_books(self.hub, [BTC])

    def feed(self, message):
        events = self.parser.parse(message, 1.0)
        return events, self.hub.handle("luno", events, 1.0)

    def levels(self):
        book = self.hub.book("luno", BTC)
        return dict(book.bids), dict(book.asks)

    def test_one_connection_a_market_each_opened_with_the_key(self):
        self.assertEqual(
            self.adapter.connections("wss://ws.luno.com"), [(STREAM + "XBTZAR", [BTC]), (STREAM + "ETHZAR", [ETH])]
        )
        self.assertEqual(
            self.adapter.subscribe([BTC], 0),
            ['{"api_key_id":"cnz2yjswbv3jd","api_key_secret":"0hydMZDb9HRR3Qq-iqALwZtXLkbLR4fWxtDZvkB9h4I"}'],
        )
        self.assertIsNone(self.adapter.stream_refused())
        self.assertEqual(
            adapter(credentials=None).stream_refused(),
            "Luno's market stream needs an API key: set exchanges.luno.api_key and api_secret",
        )
        self.assertNotIn(KEY.secret, repr(self.adapter.credentials))
        self.assertEqual(self.adapter.connection_parser(STREAM + "ETHZAR").pair, ETH)
        self.assertIsNone(self.adapter.parser().pair)  # no connection: Luno's messages name no market
        self.assertEqual(self.adapter.parser().parse(update(5, create=CREATE), 1.0), [])

    def test_the_state_becomes_price_levels_and_the_documented_updates_change_them(self):
        bids = [
            {"id": "BXMC2CJ7HNB88U4", "price": "1234.00", "volume": "1.23"},
            {"id": "BXBIDTWOSAMEPRC", "price": "1234.00", "volume": "0.5"},
            {"id": "BXBIDLOWER00001", "price": "1230.00", "volume": "2"},
        ]
        asks = [{"id": "BXASK0000000001", "price": "1240.00", "volume": "0.7"}]
        [snapshot], _ = self.feed(state(100, bids, asks))
        self.assertEqual(
            snapshot,
            BookSnapshot(
                BTC,
                [(Decimal("1234.00"), Decimal("1.73")), (Decimal("1230.00"), Decimal(2))],
                [(Decimal("1240.00"), Decimal("0.7"))],
                100,
                0.001,
            ),
        )
        # Trade: the maker order reduced by base, at its own price; it was a bid, so the taker sold
        events, resyncs = self.feed(update(101, trades=[TRADE]))
        self.assertEqual(
            events,
            [
                BookDelta(BTC, [(BookSide.BID, Decimal("1234.00"), Decimal("1.63"))], 101, 101, time=T),
                Trade(BTC, "24509303", Decimal("1234.00"), Decimal("0.1"), Side.SELL, 1_700_000_000.0),
            ],
        )
        self.assertEqual(resyncs, ())
        # Delete: the order gone, its level keeps the other order
        events, _ = self.feed(update(102, delete=DELETE))
        self.assertEqual(
            events, [BookDelta(BTC, [(BookSide.BID, Decimal("1234.00"), Decimal("0.50"))], 102, 102, time=T)]
        )
        # Create: the documented order again, added to its level's total
        events, _ = self.feed(update(103, create=CREATE))
        self.assertEqual(
            events, [BookDelta(BTC, [(BookSide.BID, Decimal("1234.00"), Decimal("1.73"))], 103, 103, time=T)]
        )
        self.assertEqual(
            self.levels(),
            ({Decimal("1234.00"): Decimal("1.73"), Decimal(1230): Decimal(2)}, {Decimal(1240): Decimal("0.7")}),
        )

    def test_a_taker_order_takes_makers_whole_and_its_rest_rests_in_one_message(self):
        asks = [
            {"id": "BXASKA", "price": "1240", "volume": "0.5"},
            {"id": "BXASKB", "price": "1240", "volume": "0.2"},
            {"id": "BXASKC", "price": "1241", "volume": "1"},
        ]
        self.feed(state(7, [{"id": "BXBID", "price": "1200", "volume": "1"}], asks))
        trades = [
            {"sequence": 1, "base": "0.5", "counter": "620", "maker_order_id": "BXASKA", "taker_order_id": "BXTAKER"},
            {"sequence": 2, "base": "0.2", "counter": "248", "maker_order_id": "BXASKB", "taker_order_id": "BXTAKER"},
        ]
        rest = {"order_id": "BXTAKER", "type": "BID", "price": "1240", "volume": "0.3"}
        events, _ = self.feed(update(8, trades=trades, create=rest))
        self.assertEqual(
            events,
            [
                BookDelta(
                    BTC,
                    [(BookSide.ASK, Decimal(1240), Decimal(0)), (BookSide.BID, Decimal(1240), Decimal("0.3"))],
                    8,
                    8,
                    time=T,
                ),
                Trade(BTC, "1", Decimal(1240), Decimal("0.5"), Side.BUY, 1_700_000_000.0),
                Trade(BTC, "2", Decimal(1240), Decimal("0.2"), Side.BUY, 1_700_000_000.0),
            ],
        )
        self.assertEqual(
            self.levels(), ({Decimal(1240): Decimal("0.3"), Decimal(1200): Decimal(1)}, {Decimal(1241): Decimal(1)})
        )
        events, _ = self.feed(update(9, delete={"order_id": "BXASKA"}))  # gone already with its trade
        self.assertEqual(events, [BookDelta(BTC, [], 9, 9, time=T)])

    def test_the_sequence_is_the_integrity_rule(self):
        self.assertEqual(self.feed(update(5, create=CREATE)), ([], ()))  # no state yet: nothing to apply to
        self.feed(state(10, [], [{"id": "BXASK", "price": "1240", "volume": "1"}]))
        self.assertEqual(self.feed(update(10, create=CREATE)), ([], ()))  # old: dropped, as Luno's client does
        self.feed(update(11, create=CREATE))
        events, resyncs = self.feed(update(13, delete=DELETE))  # 12 never came
        self.assertEqual(
            [(r.pair, r.problem, r.detail) for r in resyncs],
            [(BTC, Problem.SEQUENCE_GAP, "update 13 does not follow 11")],
        )
        self.assertFalse(self.hub.book("luno", BTC).live)
        # a new connection's state starts over
        self.parser = self.adapter.connection_parser(STREAM + "XBTZAR")
        self.hub.resyncing("luno", [BTC])
        self.feed(state(20, [{"id": "BXNEW", "price": "1230", "volume": "3"}], []))
        self.assertTrue(self.hub.book("luno", BTC).live)
        self.assertEqual(self.levels(), ({Decimal(1230): Decimal(3)}, {}))

    def test_keep_alives_and_malformed_updates(self):
        self.assertEqual(self.parser.parse('""', 1.0), [])
        self.assertEqual(self.parser.parse(b'""', 1.0), [])
        self.feed(state(1, [{"id": "BXBID", "price": "1200", "volume": "1"}], []))
        cases = [
            (update(2, create={**CREATE, "type": "BUY"}), "create_update.type on luno: expected BID or ASK, got 'BUY'"),
            (
                update(2, trades=[TRADE]),
                "trade_updates.maker_order_id on luno: expected an order of the book, got 'BXMC2CJ7HNB88U4'",
            ),
            (
                update(2, trades=[{**TRADE, "maker_order_id": "BXBID", "base": "2"}]),
                "trade_updates.base on luno: expected at most the order's 1, got Decimal('2')",
            ),
            (
                update(2, trades=[{**TRADE, "maker_order_id": "BXBID", "base": "0"}]),
                "trade_updates.base on luno: expected an amount above 0, got '0'",
            ),
            (
                json.dumps({"sequence": "x"}),
                "sequence on luno: expected a whole number (as a string of digits), got 'x'",
            ),
            ("[]", "message on luno: expected a JSON object, got []"),
        ]
        for message, error in cases:
            with self.subTest(error=error), self.assertRaises(InvalidParameter) as raised:
                self.parser.parse(message, 1.0)
            self.assertEqual(str(raised.exception), error)


class CandlesTest(unittest.TestCase):
    def test_the_request_asks_from_since_with_the_key(self):
        request = adapter().candles_request(BTC, 60, 1_700_000_000, 1_700_060_000)
        token = base64.b64encode(f"{KEY.key}:{KEY.secret}".encode()).decode()
        self.assertEqual(
            (request.path, request.params, dict(request.headers)),
            (
                "/api/exchange/1/candles",
                {"pair": "XBTZAR", "since": 1_700_000_000_000, "duration": 60},
                {"Authorization": f"Basic {token}"},
            ),
        )
        self.assertEqual(dict(adapter(credentials=None).candles_request(BTC, 300, 0, 300).headers), {})

    def test_a_request_out_of_bounds_is_refused(self):
        for interval, end, message in [
            (
                120,
                1200,
                "interval: expected one of 60, 300, 900, 1800, 3600, 10800, 14400, 28800, 86400, 259200, 604800 "
                "seconds, got 120",
            ),
            (60, 60 * 1001, "end: expected after start, and at most 1000 intervals after it, got 60060"),
            (60, 0, "end: expected after start, and at most 1000 intervals after it, got 0"),
        ]:
            with self.subTest(message=message), self.assertRaises(InvalidParameter) as raised:
                adapter().candles_request(BTC, interval, 0, end)
            self.assertEqual(str(raised.exception), message)

    def test_candles_oldest_first_and_errors(self):
        body = json.dumps(
            {
                "candles": [
                    {
                        "timestamp": 1_700_000_060_000,
                        "open": "2",
                        "close": "3",
                        "high": "4",
                        "low": "1",
                        "volume": "0.5",
                    },
                    {
                        "timestamp": 1_700_000_000_000,
                        "open": "1",
                        "close": "2",
                        "high": "2",
                        "low": "1",
                        "volume": "0.25",
                    },
                ],
                "duration": 60,
                "pair": "XBTZAR",
            }
        )
        self.assertEqual(
            adapter().parse_candles(body, BTC, 60),
            [
                Candle(BTC, 1_700_000_000, 60, Decimal(1), Decimal(2), Decimal(1), Decimal(2), Decimal("0.25")),
                Candle(BTC, 1_700_000_060, 60, Decimal(2), Decimal(4), Decimal(1), Decimal(3), Decimal("0.5")),
            ],
        )
        self.assertEqual(adapter().parse_candles('{"candles":[],"duration":60,"pair":"XBTZAR"}', BTC, 60), [])
        with self.assertRaises(RateLimited):
            adapter().parse_candles('{"error":"Too many requests","error_code":"ErrTooManyRequests"}', BTC, 60)
        with self.assertRaises(ExchangeRejected) as raised:
            adapter().parse_candles('{"error":"Unauthorised","error_code":"ErrUnauthorised"}', BTC, 60)
        self.assertEqual(str(raised.exception), "luno refused the request (HTTP 200): ErrUnauthorised Unauthorised")
        with self.assertRaises(InvalidParameter) as raised:
            adapter().parse_candles(
                '{"candles":[{"timestamp":1,"open":"1","close":"1","high":"1","low":"1"}]}', BTC, 60
            )
        self.assertEqual(
            str(raised.exception),
            'volume of BTC_ZAR candle 0 on luno: missing, expected a decimal string such as "0.01"',
        )


class SettingsTest(unittest.TestCase):
    def load(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            handle.write(text)
        try:
            return load_settings(handle.name, env={})
        finally:
            Path(handle.name).unlink()

    def test_luno_follows_its_default_pairs_in_paper_mode(self):
        settings = self.load("{}")
        self.assertEqual(settings.exchanges.luno.pairs, ["BTC_ZAR", "ETH_ZAR"])
        self.assertIs(adapter_class("luno"), luno.LunoAdapter)

    def test_live_mode_takes_the_key_id_and_secret(self):
        settings = self.load('{"exchanges": {"luno": {"mode": "live", "api_key": "k", "api_secret": "s"}}}')
        self.assertEqual((settings.exchanges.luno.mode, settings.exchanges.luno.api_key), ("live", "k"))
        self.assertEqual(private_adapter_class("luno").name, "luno")
        with self.assertRaises(ConfigError) as raised:
            self.load('{"exchanges": {"luno": {"mode": "live", "api_key": "k"}}}')
        self.assertEqual(
            str(raised.exception),
            "setting exchanges.luno.api_secret: expected a value for live trading (in the settings file or "
            "XWRAP_LUNO_API_SECRET)",
        )


class LunoCaptureTest(unittest.TestCase):
    """The made-up capture replayed, against the same capture read independently
    (tests/exchanges/test_luno_feed.py: plain json, every order by id)."""

    FILES = [CAPTURES / "LUNO.0", CAPTURES / "LUNO.ws.0.0", CAPTURES / "LUNO.ws.1.0"]

    def test_xwrap_replay_follows_both_connections_and_ends_with_no_corrupt_book(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = xwrap(["replay", "--exchange", "luno", *map(str, self.FILES)])
        report = json.loads(out.getvalue())
        self.assertEqual(status, 0)
        trades = sum(len(msg.get("trade_updates") or ()) for _, msg in MESSAGES if isinstance(msg, dict))
        self.assertEqual(
            (report["corrupt"], report["sequence_gaps"], report["resyncs"], report["trades"], report["messages"]),
            ([], 0, 0, trades, len(MESSAGES)),
        )
        self.assertEqual(sorted(report["books"]), ["BTC_ZAR", "ETH_ZAR"])
        self.assertEqual({book["state"] for book in report["books"].values()}, {"live"})

    def test_replayed_books_equal_the_capture_read_independently(self):
        replay = Replay("luno", self.FILES)
        replay.run()
        for market, (bids, asks) in FINAL.items():
            with self.subTest(market=market):
                book = replay.hub.book("luno", PAIRS[market])
                self.assertEqual((dict(book.bids), dict(book.asks)), (bids, asks))

    def test_the_capture_is_what_the_script_writes(self):
        rest, *streams = generate((FIXTURES / "luno" / "markets.json").read_text(encoding="utf-8"))
        self.assertEqual((CAPTURES / "LUNO.0").read_text(encoding="utf-8").splitlines(), rest)
        for name, lines in zip(("LUNO.ws.0.0", "LUNO.ws.1.0"), streams):
            self.assertEqual((CAPTURES / name).read_text(encoding="utf-8").splitlines(), lines)


if __name__ == "__main__":
    unittest.main()
